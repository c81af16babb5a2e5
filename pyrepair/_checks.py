"""Input validation at the public boundary (STYLE rule 5).

Each check raises a :mod:`pyrepair.errors` exception whose message names the calling function, the argument, what
was expected and what was given: ``"pyrepair.corrupt.apply: images must have shape [B, C, H, W], got [3, 32, 32]"``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from typing import Any

import numpy as np
import torch

from .errors import DeviceError, DTypeError, ShapeError, UnknownNameError

__all__ = [
    "check_dtype",
    "check_finite",
    "check_image",
    "check_in",
    "check_int",
    "check_labels",
    "check_positive",
    "check_range",
    "check_same_device",
    "check_shape",
    "format_shape",
]


def format_shape(shape: Iterable[int]) -> str:
    """``(3, 32, 32)`` -> ``"[3, 32, 32]"``."""
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def _dims(spec: str) -> list[str]:
    return [d.strip() for d in spec.split(",") if d.strip()]


def check_shape(x: Any, spec: str, name: str, fn: str, **fixed: int) -> dict[str, int]:
    """Check that ``x`` has the named dimensions of ``spec`` (``"B,C,H,W"``) and return their sizes.

    Keyword arguments pin sizes, e.g. ``check_shape(p, "B,K", "params", fn, K=7)``. A dimension name that is an
    integer literal (``"B,3"``) pins that size too.

    Raises:
        ShapeError: wrong rank or a pinned size that differs.
    """
    dims = _dims(spec)
    shape = tuple(int(s) for s in x.shape)
    expected = "[" + ", ".join(dims) + "]"
    if len(shape) != len(dims):
        raise ShapeError(
            f"{fn}: {name} must have shape {expected} ({len(dims)} dimensions), got {format_shape(shape)}",
            actual_shape=shape,
            expected=spec,
        )
    sizes: dict[str, int] = {}
    for d, s in zip(dims, shape, strict=True):
        want = int(d) if d.isdigit() else fixed.get(d)
        if want is not None and s != want:
            raise ShapeError(
                f"{fn}: {name} must have shape {expected} with {d}={want}, got {format_shape(shape)}",
                actual_shape=shape,
                expected=spec,
            )
        if not d.isdigit():
            if d in sizes and sizes[d] != s:
                raise ShapeError(
                    f"{fn}: {name} must have shape {expected} with equal {d} sizes, got {format_shape(shape)}",
                    actual_shape=shape,
                    expected=spec,
                )
            sizes[d] = s
    return sizes


def check_image(
    x: Any,
    name: str,
    fn: str,
    *,
    spec: str = "B,C,H,W",
    channels: Collection[int] | None = (1, 3),
    min_size: int = 1,
) -> dict[str, int]:
    """Check a float image batch: a torch tensor of shape ``spec`` with floating dtype and allowed channel count.

    Returns the named sizes (``{"B": ..., "C": ..., "H": ..., "W": ...}``).
    """
    if not isinstance(x, torch.Tensor):
        raise DTypeError(f"{fn}: {name} must be a torch.Tensor, got {type(x).__name__}")
    sizes = check_shape(x, spec, name, fn)
    if not x.dtype.is_floating_point:
        raise DTypeError(f"{fn}: {name} must be a floating-point tensor (float32 preferred), got {x.dtype}")
    if channels is not None and "C" in sizes and sizes["C"] not in channels:
        allowed = " or ".join(str(c) for c in sorted(channels))
        raise ShapeError(
            f"{fn}: {name} must have {allowed} channels (dimension C of [{spec}]), got shape {format_shape(x.shape)}",
            actual_shape=tuple(x.shape),
            expected=spec,
        )
    for d in ("H", "W"):
        if d in sizes and sizes[d] < min_size:
            raise ShapeError(
                f"{fn}: {name} must be at least {min_size} px in {d}, got shape {format_shape(x.shape)}",
                actual_shape=tuple(x.shape),
                expected=spec,
            )
    return sizes


def check_dtype(x: Any, allowed: Collection[Any], name: str, fn: str) -> None:
    """Check that ``x.dtype`` (torch or numpy) is one of ``allowed``."""
    dtype = getattr(x, "dtype", None)
    if dtype not in allowed:
        names = ", ".join(sorted(str(a) for a in allowed))
        raise DTypeError(f"{fn}: {name} must have dtype in {{{names}}}, got {dtype}")


def check_labels(y: Any, n: int, name: str, fn: str, *, num_classes: int | None = None) -> None:
    """Check an integer label vector of length ``n`` (values in ``[0, num_classes)`` when given)."""
    if not isinstance(y, torch.Tensor):
        raise DTypeError(f"{fn}: {name} must be a torch.Tensor, got {type(y).__name__}")
    check_shape(y, "N", name, fn, N=n)
    if y.dtype.is_floating_point or y.dtype == torch.bool or y.is_complex():
        raise DTypeError(f"{fn}: {name} must be an integer tensor (int64 preferred), got {y.dtype}")
    if num_classes is not None and y.numel():
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"{fn}: {name} must lie in [0, {num_classes}), got values in [{lo}, {hi}]")


def check_finite(x: Any, name: str, fn: str) -> None:
    """Raise ``ValueError`` if ``x`` holds NaN or infinity (counts them in the message)."""
    if isinstance(x, torch.Tensor):
        if not x.dtype.is_floating_point or x.numel() == 0:
            return
        bad = int((~torch.isfinite(x)).sum())
    else:
        arr = np.asarray(x)
        if not np.issubdtype(arr.dtype, np.floating) or arr.size == 0:
            return
        bad = int((~np.isfinite(arr)).sum())
    if bad:
        raise ValueError(f"{fn}: {name} must be finite, got {bad} NaN/inf value(s)")


def check_same_device(fn: str, **tensors: torch.Tensor) -> None:
    """Check that all named tensors live on one device."""
    devices = {n: t.device for n, t in tensors.items()}
    if len(set(devices.values())) > 1:
        listed = ", ".join(f"{n} on {d}" for n, d in devices.items())
        raise DeviceError(f"{fn}: tensors must be on the same device, got {listed}")


def check_in(name: str, value: Any, allowed: Collection[Any], fn: str) -> None:
    """Check that ``value`` is one of ``allowed``; the message lists the valid choices."""
    if value not in allowed:
        valid = sorted(str(a) for a in allowed)
        raise UnknownNameError(
            f"{fn}: unknown {name} {value!r}; valid: {', '.join(valid)}", name=value, valid=valid
        )


def check_int(value: Any, name: str, fn: str, *, min_value: int | None = None, max_value: int | None = None) -> int:
    """Check an integer argument (bools rejected) within optional bounds and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}: {name} must be an int, got {type(value).__name__} {value!r}")
    v = int(value)
    if (min_value is not None and v < min_value) or (max_value is not None and v > max_value):
        lo = "-inf" if min_value is None else str(min_value)
        hi = "inf" if max_value is None else str(max_value)
        raise ValueError(f"{fn}: {name} must be in [{lo}, {hi}], got {v}")
    return v


def check_positive(value: Any, name: str, fn: str, *, allow_zero: bool = False) -> float:
    """Check a finite real number > 0 (>= 0 with ``allow_zero``) and return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{fn}: {name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {value!r}")
    return v


def check_range(value: Any, name: str, fn: str, lo: float, hi: float) -> float:
    """Check a finite real number in the closed interval ``[lo, hi]`` and return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not (lo <= v <= hi):
        raise ValueError(f"{fn}: {name} must be in [{lo}, {hi}], got {value!r}")
    return v
