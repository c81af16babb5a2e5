"""The typed stub pyrepair/_core.pyi and the compiled module export the same names (STYLE rule 14)."""

from __future__ import annotations

import ast
from pathlib import Path

import pyrepair
from pyrepair import _backend

CUDA_ONLY = {"random_fill_cuda", "cuda_device_count", "transform_warp_cuda", "transform_point_cuda",
             "transform_enhance_cuda", "corrupt_cuda", "corrupt_blur_cuda",
             "corrupt2_cuda", "corrupt_elastic_cuda",
             "corrupt_snow_cuda", "corrupt_frost_cuda", "corrupt_spatter_cuda",
             "corrupt_jpeg_cuda",
             "wavelet_dwt_cuda", "wavelet_idwt_cuda", "wavelet_moments_cuda", "wavelet_eigh_cuda",
             "wavelet_wct_apply_cuda"}


def _stub_names() -> set[str]:
    stub = Path(pyrepair.__file__).with_name("_core.pyi")
    tree = ast.parse(stub.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_stub_matches_module():
    core = _backend.core()
    public = {n for n in dir(core) if not n.startswith("_")}
    stub = _stub_names()
    if not pyrepair.build_info()["cuda"]:
        stub -= CUDA_ONLY
    assert public == stub, f"in module only: {public - stub}; in stub only: {stub - public}"


def test_cuda_only_names_are_in_stub():
    assert CUDA_ONLY <= _stub_names()
