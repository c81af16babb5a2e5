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
from ._checks import INT64_MAX, check_device, check_int, check_positive, check_seed, format_shape, torch_seed
from .errors import ArgumentError, ArgumentTypeError, DeviceError

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
    """``torch.testing.assert_close`` with pyrepair's per-dtype tolerances; compares across devices.

    Raises:
        AssertionError: the tensors differ beyond the tolerances (the comparison's result).
        ArgumentTypeError: ``actual``/``expected`` are not tensors, or ``rtol``/``atol`` are not numbers.
        DeviceError: a tensor is on the meta device (no values to compare).
        ArgumentError: ``rtol``/``atol`` negative or not finite.
    """
    fn = "pyrepair.testing.assert_close"
    for name, t in (("actual", actual), ("expected", expected)):
        if not isinstance(t, torch.Tensor):
            raise ArgumentTypeError(f"{fn}: {name} must be a torch.Tensor, got {type(t).__name__}")
        if t.device.type == "meta":
            raise DeviceError(f"{fn}: {name} is on the meta device (no values to compare), got shape "
                              f"{format_shape(t.shape)}")
    d_rtol, d_atol = tolerance(expected.dtype)
    rtol = d_rtol if rtol is None else check_positive(rtol, "rtol", fn, allow_zero=True)
    atol = d_atol if atol is None else check_positive(atol, "atol", fn, allow_zero=True)
    torch.testing.assert_close(actual.detach().cpu(), expected.detach().cpu(), rtol=rtol, atol=atol, **kwargs)


def make_images(b: int, c: int, h: int, w: int, *, seed: int = 0, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A reproducible (B, C, H, W) batch in [0, 1] with smooth structure plus noise (not constant, not pure noise).

    ``seed`` is an int in [0, 2^64) (:func:`pyrepair._checks.check_seed`); ``b >= 0``; ``c``, ``h``, ``w >= 1``;
    ``dtype`` a floating-point torch dtype.

    Raises:
        ArgumentTypeError: a size is not an int, ``dtype`` is not a floating-point ``torch.dtype``.
        ArgumentError: a size out of range, or ``b * c * h * w`` above 2^63 - 1 (no torch tensor holds more).
    """
    fn = "pyrepair.testing.make_images"
    g = torch.Generator().manual_seed(torch_seed(check_seed(seed, fn)))
    device = check_device(device, fn, allow_none=False)
    b = check_int(b, "b", fn, min_value=0)
    c, h, w = (check_int(v, k, fn, min_value=1) for k, v in (("c", c), ("h", h), ("w", w)))
    if b * c * h * w > INT64_MAX:
        raise ArgumentError(f"{fn}: b * c * h * w must be at most 2^63 - 1 elements, got {b} * {c} * {h} * {w}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ArgumentTypeError(f"{fn}: dtype must be a floating-point torch.dtype, got {dtype!r}")
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
