"""Shared fixtures: device selection, the shared data folder, and the CUDA skip policy (STYLE rule 10)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """``$PYREPAIR_DATA`` if set, else ``../shared/data`` beside the repository, else None."""
    env = os.environ.get("PYREPAIR_DATA")
    if env and Path(env).is_dir():
        return Path(env)
    cand = REPO_ROOT.parent / "shared" / "data"
    return cand if cand.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder holding mnist.npz, fashion_mnist.npz, cifar10_*.npz; skips the test cleanly when absent."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("../shared/data not present (set PYREPAIR_DATA to a folder with the npz files)")
    return d


def _require_cuda() -> bool:
    return os.environ.get("PYREPAIR_REQUIRE_CUDA") == "1"


def _test_devices(config: pytest.Config) -> list[str]:
    opt = config.getoption("--device") or os.environ.get("PYREPAIR_TEST_DEVICE") or "cpu"
    if opt == "all":
        return ["cpu", "cuda"]
    return [d.strip() for d in opt.split(",") if d.strip()]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device",
        default=None,
        help="devices for the `device` fixture: cpu (default), cuda, all, or a comma list "
        "(also PYREPAIR_TEST_DEVICE)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        params = [
            pytest.param(d, marks=pytest.mark.cuda, id=d) if d.startswith("cuda") else pytest.param(d, id=d)
            for d in _test_devices(metafunc.config)
        ]
        metafunc.parametrize("device", params)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`cuda` tests skip without a usable GPU and CUDA build; PYREPAIR_REQUIRE_CUDA=1 makes that a failure."""
    if item.get_closest_marker("cuda") is None:
        return
    import pyrepair

    info = pyrepair.build_info()
    if info["cuda"] and torch.cuda.is_available():
        return
    why = (f"CUDA not usable (CUDA kernels built: {info['cuda']}, "
           f"torch.cuda.is_available(): {torch.cuda.is_available()})")
    if _require_cuda():
        pytest.fail(f"PYREPAIR_REQUIRE_CUDA=1 but {why}", pytrace=False)
    pytest.skip(why)
