"""Helpers for testing code built on pyrepair (and pyrepair's own tests).

Example:
    >>> from pyrepair.testing import make_images
    >>> make_images(2, 3, 8, 8, seed=0).shape
    torch.Size([2, 3, 8, 8])
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from . import _backend
from ._checks import check_device, check_seed, torch_seed

__all__ = ["assert_close", "available_devices", "make_images", "num_threads", "tolerance"]

# Default (rtol, atol) per dtype for comparing a compiled kernel with its reference.
_TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-10, 1e-10),
    torch.float32: (1e-5, 1e-5),
    torch.float16: (1e-3, 1e-3),
    torch.bfloat16: (1e-2, 1e-2),
}


def available_devices() -> list[str]:
    """``["cpu"]`` plus ``"cuda"`` when CUDA kernels are built and torch sees a GPU."""
    return ["cpu", "cuda"] if _backend.cuda_available() else ["cpu"]


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    """``(rtol, atol)`` used by :func:`assert_close` for ``dtype``."""
    return _TOLERANCES.get(dtype, (0.0, 0.0))


def assert_close(actual: torch.Tensor, expected: torch.Tensor, *, rtol: float | None = None,
                 atol: float | None = None, **kwargs: Any) -> None:
    """``torch.testing.assert_close`` with pyrepair's per-dtype tolerances; compares across devices."""
    d_rtol, d_atol = tolerance(expected.dtype)
    torch.testing.assert_close(
        actual.detach().cpu(), expected.detach().cpu(),
        rtol=d_rtol if rtol is None else rtol, atol=d_atol if atol is None else atol, **kwargs,
    )


def make_images(b: int, c: int, h: int, w: int, *, seed: int = 0, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A reproducible (B, C, H, W) batch in [0, 1] with smooth structure plus noise (not constant, not pure noise).

    ``seed`` is an int in [0, 2^64) (:func:`pyrepair._checks.check_seed`).
    """
    fn = "pyrepair.testing.make_images"
    g = torch.Generator().manual_seed(torch_seed(check_seed(seed, fn)))
    device = check_device(device, fn, allow_none=False)
    yy = torch.linspace(0, 1, h).view(1, 1, h, 1)
    xx = torch.linspace(0, 1, w).view(1, 1, 1, w)
    phase = torch.rand(b, c, 1, 1, generator=g) * 6.283
    smooth = 0.5 + 0.3 * torch.sin(6.0 * xx + phase) * torch.cos(4.0 * yy + phase)
    img = (smooth + 0.15 * torch.rand(b, c, h, w, generator=g)).clamp_(0, 1)
    return img.to(device=device, dtype=dtype)


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Run the block with the compiled CPU kernels on ``n`` threads, restoring the previous count afterwards."""
    before = _backend.get_num_threads()
    _backend.set_num_threads(n)
    try:
        yield
    finally:
        _backend.set_num_threads(before)
