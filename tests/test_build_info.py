from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import pyrepair
from pyrepair import _backend


def test_build_info_keys_and_types():
    info = pyrepair.build_info()
    for key in ("version", "core", "cuda", "cuda_archs", "openmp", "openmp_threads", "compiler", "cuda_devices",
                "torch", "torch_cuda"):
        assert key in info, key
    assert info["version"] == pyrepair.__version__
    assert info["core"] is True, "tests run against an installed package with its compiled core"
    assert isinstance(info["cuda_archs"], list)
    assert info["openmp_threads"] >= 1
    assert isinstance(info["compiler"], str) and info["compiler"]
    if info["cuda"]:
        assert info["cuda_archs"], "a CUDA build reports its architectures"
        assert all(a.isdigit() for a in info["cuda_archs"])
    else:
        assert info["cuda_archs"] == []


def test_cuda_build_imports_without_gpu():
    """A CUDA build must import and report zero devices on a machine without a driver (CI's case)."""
    info = pyrepair.build_info()
    if not torch.cuda.is_available():
        assert info["cuda_devices"] == 0
    assert isinstance(_backend.cuda_device_count(), int)


def test_import_does_not_load_submodules_or_touch_gpu():
    code = (
        "import sys, pyrepair; "
        "assert 'pyrepair.train' not in sys.modules; "
        "assert 'pyrepair._core' not in sys.modules; "
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_set_num_threads_roundtrip_and_errors():
    before = pyrepair.get_num_threads()
    try:
        pyrepair.set_num_threads(1)
        assert pyrepair.get_num_threads() == 1
    finally:
        pyrepair.set_num_threads(before)
    with pytest.raises(ValueError, match=r"set_num_threads: n must be in \[1, 2\^63 - 1\], got 0"):
        pyrepair.set_num_threads(0)
    with pytest.raises(TypeError, match="n must be an int"):
        pyrepair.set_num_threads(1.5)


def test_submodules_lazy_and_unknown_attribute():
    assert pyrepair.random.uniform(3).shape == (3,)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pyrepair.nope  # noqa: B018


@pytest.mark.cuda
def test_require_cuda_means_cuda_build():
    info = pyrepair.build_info()
    assert info["cuda"], "PYREPAIR_REQUIRE_CUDA=1 but pyrepair was built without CUDA kernels"
    assert info["cuda_devices"] >= 1
