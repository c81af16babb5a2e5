"""Input validation at the public boundary (STYLE rule 5).

Each check raises a :mod:`pyrepair.errors` exception whose message names the calling function, the argument, what
was expected and what was given: ``"pyrepair.corrupt.apply: images must have shape [B, C, H, W], got [3, 32, 32]"``.

Two contracts live here and nowhere else (issue 13):

* images: :func:`check_images` (structure + one fused value pass; public functions expose ``check_range=False`` to
  skip the value pass), :func:`check_image` being its structural part;
* seeds: :func:`check_seed` (an int in ``[0, 2^64)``, bools rejected) and :func:`torch_seed` (the value handed to
  torch's seeding APIs).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from .errors import (
    ArgumentError,
    ArgumentTypeError,
    DeviceError,
    DTypeError,
    PyrepairWarning,
    ShapeError,
    UnknownNameError,
    ValueRangeError,
)

__all__ = [
    "RANGE_TOLERANCE",
    "INT64_MAX",
    "SEED_LIMIT",
    "ImageCheck",
    "check_device",
    "check_dtype",
    "check_images",
    "check_seed",
    "check_finite",
    "check_image",
    "check_in",
    "check_int",
    "check_labels",
    "check_not_meta",
    "check_positive",
    "check_range",
    "check_same_device",
    "check_shape",
    "format_shape",
    "torch_seed",
]

RANGE_TOLERANCE = 1e-4
"""How far outside ``[0, 1]`` image values may lie before :func:`check_images` rejects them (rounding slack)."""

SEED_LIMIT = 2**64
"""Seeds are ints in ``[0, SEED_LIMIT)`` everywhere in pyrepair."""

INT64_MAX = 2**63 - 1
"""The largest count, size or index :func:`check_int` accepts unless told otherwise: torch sizes, indices and loop
counters are int64, so a larger Python int can never be honoured (it would overflow inside torch or run forever)."""


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
    """Check a float image batch's structure (no value pass): :func:`check_images` with ``check_range=False``.

    Kept for the call sites that validate values elsewhere (or never: features, training data); new code calls
    :func:`check_images`. Returns the named sizes (``{"B": ..., "C": ..., "H": ..., "W": ...}``).
    """
    return check_images(x, fn, name, spec=spec, channels=channels, min_size=min_size, check_range=False).sizes


def _reject_meta(x: torch.Tensor, name: str, fn: str) -> None:
    if x.device.type == "meta":
        raise DeviceError(
            f"{fn}: {name} is on the meta device (no data); move it to 'cpu' or 'cuda', "
            f"got shape {format_shape(x.shape)}"
        )


def check_dtype(x: Any, allowed: Collection[Any], name: str, fn: str) -> None:
    """Check that ``x.dtype`` (torch or numpy) is one of ``allowed``."""
    dtype = getattr(x, "dtype", None)
    if dtype not in allowed:
        names = ", ".join(sorted(str(a) for a in allowed))
        raise DTypeError(f"{fn}: {name} must have dtype in {{{names}}}, got {dtype}")


def check_labels(y: Any, n: int, name: str, fn: str, *, num_classes: int | None = None) -> None:
    """Check an integer label vector of length ``n``: class ids, so values ``>= 0``, and ``< num_classes`` when the
    number of classes is known (one min/max pass)."""
    if not isinstance(y, torch.Tensor):
        raise DTypeError(f"{fn}: {name} must be a torch.Tensor, got {type(y).__name__}")
    check_shape(y, "N", name, fn, N=n)
    _reject_meta(y, name, fn)
    if y.dtype.is_floating_point or y.dtype == torch.bool or y.is_complex():
        raise DTypeError(f"{fn}: {name} must be an integer tensor (int64 preferred), got {y.dtype}")
    if y.numel():
        lo_t, hi_t = torch.aminmax(y)
        lo, hi = int(lo_t), int(hi_t)
        if num_classes is not None and (lo < 0 or hi >= num_classes):
            raise ArgumentError(f"{fn}: {name} must lie in [0, {num_classes}), got values in [{lo}, {hi}]")
        if lo < 0:
            raise ArgumentError(f"{fn}: {name} must be >= 0 (class ids), got values in [{lo}, {hi}]")


def check_not_meta(x: torch.Tensor, name: str, fn: str) -> None:
    """Raise :class:`DeviceError` for a tensor on the ``meta`` device (it has a shape but no values)."""
    _reject_meta(x, name, fn)


def check_finite(x: Any, name: str, fn: str) -> None:
    """Raise ``ValueError`` if ``x`` holds NaN or infinity (counts them in the message)."""
    if isinstance(x, torch.Tensor):
        _reject_meta(x, name, fn)
        if not x.dtype.is_floating_point or x.numel() == 0:
            return
        bad = int((~torch.isfinite(x)).sum())
    else:
        arr = np.asarray(x)
        if not np.issubdtype(arr.dtype, np.floating) or arr.size == 0:
            return
        bad = int((~np.isfinite(arr)).sum())
    if bad:
        raise ValueRangeError(f"{fn}: {name} must be finite, got {bad} NaN/inf value(s)")


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


def _bound(v: int) -> str:
    """``2^k - 1`` for the large limits (``2^63 - 1``, ``2^56 - 1``), the number otherwise."""
    if v >= 2**20 and (v + 1) & v == 0:
        return f"2^{(v + 1).bit_length() - 1} - 1"
    return str(v)


def check_int(
    value: Any, name: str, fn: str, *, min_value: int | None = None, max_value: int | None = INT64_MAX
) -> int:
    """Check an integer argument (bools rejected) in ``[min_value, max_value]`` and return it as ``int``.

    ``max_value`` defaults to :data:`INT64_MAX` (no count, size or index beyond torch's int64 can be honoured);
    pass ``None`` for no upper bound, a smaller value where the function has a real limit. Seeds go through
    :func:`check_seed` instead.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ArgumentTypeError(f"{fn}: {name} must be an int, got {type(value).__name__} {value!r}")
    v = int(value)
    if (min_value is not None and v < min_value) or (max_value is not None and v > max_value):
        lo = "-inf" if min_value is None else _bound(min_value)
        hi = "inf" if max_value is None else _bound(max_value)
        raise ArgumentError(f"{fn}: {name} must be in [{lo}, {hi}], got {v}")
    return v


def check_positive(value: Any, name: str, fn: str, *, allow_zero: bool = False) -> float:
    """Check a finite real number > 0 (>= 0 with ``allow_zero``) and return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"{fn}: {name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ArgumentError(f"{fn}: {name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {value!r}")
    return v


def check_range(value: Any, name: str, fn: str, lo: float, hi: float) -> float:
    """Check a finite real number in the closed interval ``[lo, hi]`` and return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"{fn}: {name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not (lo <= v <= hi):
        raise ArgumentError(f"{fn}: {name} must be in [{lo}, {hi}], got {value!r}")
    return v


class ImageCheck(NamedTuple):
    """What :func:`check_images` found.

    Attributes:
        sizes: the named sizes, e.g. ``{"B": 4, "C": 3, "H": 32, "W": 32}``.
        in_range: ``True`` when the values were checked and all lie in ``[0, 1]`` exactly (nothing to clip);
            ``False`` when some lie within the tolerance outside, or when the value pass was skipped.
    """

    sizes: dict[str, int]
    in_range: bool


def _user_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` that points at the first frame outside the pyrepair package."""
    import os
    import sys

    root = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(root):
        frame = frame.f_back
        level += 1
    return level


def _shape_error(fn: str, name: str, what: str, shape: Sequence[int], spec: str) -> ShapeError:
    return ShapeError(f"{fn}: {name} {what}, got shape {format_shape(shape)}", actual_shape=tuple(shape), expected=spec)


def check_images(
    x: Any,
    fn: str,
    name: str = "images",
    *,
    spec: str = "B,C,H,W",
    channels: Collection[int] | None = (1, 3),
    min_size: int = 1,
    check_range: bool = True,
    tol: float = RANGE_TOLERANCE,
    given_shape: Sequence[int] | None = None,
    layout_hint: bool = True,
) -> ImageCheck:
    """The one image validator of pyrepair: every public function taking an image batch calls it once.

    Checks, in this order, each with a message ``"<fn>: <name> must ..., got ..."``:

    1. ``x`` is a dense (strided) ``torch.Tensor`` (:class:`DTypeError` otherwise);
    2. it is not on the ``meta`` device (no data to check: :class:`DeviceError`);
    3. its rank and named dimensions match ``spec`` (:class:`ShapeError`);
    4. its dtype is real floating point (:class:`DTypeError`; uint8 gets the ``x.float() / 255`` hint);
    5. ``C`` is one of ``channels``; a tensor that looks channels-last (last dimension 1 or 3, ``C`` > 4) gets a
       :class:`ShapeError` saying so, or a :class:`PyrepairWarning` when ``channels`` is ``None`` (any ``C``);
    6. ``H`` and ``W`` are at least ``min_size``;
    7. unless ``check_range=False``: every value is finite and in ``[-tol, 1 + tol]``
       (:class:`ValueRangeError`, a ``ValueError``). This is one fused ``torch.aminmax`` pass (NaN propagates
       through min/max, infinities show up as extremes) and one host synchronisation; everything else is O(1).

    Args:
        x: the tensor.
        fn: the public function's qualified name, e.g. ``"pyrepair.transform.autocontrast"``.
        name: the argument's name.
        spec: named dimensions (``"B,C,H,W"``, ``"C,H,W"``, ``"N,C,H,W"``).
        channels: allowed sizes of ``C`` (``None``: any).
        min_size: smallest allowed ``H`` and ``W``.
        check_range: run the value pass (the public opt-out of the same name skips it).
        tol: slack around ``[0, 1]``.
        given_shape: the shape the user passed, reported in messages when ``x`` is an internal view of it (a
            uint8 NHWC array made NCHW, one image made a batch).
        layout_hint: look for a channels-last layout in step 5.

    Returns:
        :class:`ImageCheck` ``(sizes, in_range)``.
    """
    if not isinstance(x, torch.Tensor):
        raise DTypeError(f"{fn}: {name} must be a torch.Tensor, got {type(x).__name__}")
    shown = tuple(x.shape) if given_shape is None else tuple(int(s) for s in given_shape)
    if x.layout != torch.strided:
        raise DTypeError(f"{fn}: {name} must be a dense (strided) tensor, got layout {x.layout}")
    if x.device.type == "meta":
        _reject_meta(x.reshape(shown) if x.numel() == math.prod(shown) else x, name, fn)
    dims = _dims(spec)
    expected = "[" + ", ".join(dims) + "]"
    if x.ndim != len(dims):
        raise ShapeError(
            f"{fn}: {name} must have shape {expected} ({len(dims)} dimensions), got {format_shape(shown)}",
            actual_shape=shown,
            expected=spec,
        )
    sizes = dict(zip(dims, x.shape, strict=True))
    for d, size in sizes.items():
        if d.isdigit() and size != int(d):  # a literal pins the size ("N,3,H,W")
            raise _shape_error(fn, name, f"must have shape {expected}", shown, spec)
    if not x.dtype.is_floating_point:
        hint = " (convert with x.float() / 255)" if x.dtype == torch.uint8 else ""
        raise DTypeError(f"{fn}: {name} must be a floating-point tensor with values in [0, 1], got {x.dtype}{hint}")
    c = sizes.get("C")
    if c is not None:
        last = int(x.shape[-1])
        looks_nhwc = layout_hint and dims[-1] != "C" and last in (1, 3) and c > 4
        if channels is not None and c not in channels:
            allowed = " or ".join(str(k) for k in sorted(channels))
            hint = ""
            if looks_nhwc:
                hint = {4: " (it looks channels-last [N, H, W, C]; pass x.permute(0, 3, 1, 2))",
                        3: " (it looks channels-last [H, W, C]; pass x.permute(2, 0, 1))"}.get(
                    len(shown), " (it looks channels-last; move the channel dimension before H and W)")
            what = f"must have {allowed} channels (dimension C of [{spec}]){hint}"
            raise _shape_error(fn, name, what, shown, spec)
        if looks_nhwc:
            warnings.warn(
                f"{fn}: {name} of shape {format_shape(shown)} looks channels-last (last dimension {last}, C={c}); "
                f"pyrepair expects {expected}",
                PyrepairWarning,
                stacklevel=_user_stacklevel(),
            )
    for d in ("H", "W"):
        if d in sizes and sizes[d] < min_size:
            raise _shape_error(fn, name, f"must be at least {min_size} px in {d}", shown, spec)
    if not check_range or x.numel() == 0:
        return ImageCheck(sizes, False if not check_range else True)
    lo_t, hi_t = torch.aminmax(x.detach())
    lo, hi = float(lo_t), float(hi_t)  # the one host synchronisation
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = int((~torch.isfinite(x.detach())).sum())  # error path only
        raise ValueRangeError(
            f"{fn}: {name} must be finite, got {bad} NaN/inf value(s) (shape {format_shape(shown)})"
        )
    if lo < -tol or hi > 1 + tol:
        raise ValueRangeError(
            f"{fn}: {name} must hold values in [0, 1], got values in [{lo:.6g}, {hi:.6g}] "
            "(scale uint8-range data by 1/255; pass check_range=False to skip this check)"
        )
    return ImageCheck(sizes, lo >= 0.0 and hi <= 1.0)


def check_seed(seed: Any, fn: str, name: str = "seed") -> int:
    """Check a seed: an int (numpy ints too, bools rejected) in ``[0, 2^64)``; returns it as ``int``.

    Raises:
        TypeError: not an int.
        ValueError: negative or ``>= 2^64``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ArgumentTypeError(
            f"{fn}: {name} must be an int, got {type(seed).__name__} {seed!r} (a seed is an int in [0, 2^64))"
        )
    v = int(seed)
    if not 0 <= v < SEED_LIMIT:
        raise ValueRangeError(f"{fn}: {name} must be in [0, {SEED_LIMIT - 1}], got {v} (a seed is an int in [0, 2^64))")
    return v


def torch_seed(seed: int) -> int:
    """Map a checked seed in ``[0, 2^64)`` to the value handed to torch's seeding APIs.

    ``torch.manual_seed`` and ``torch.Generator.manual_seed`` accept the whole range ``[0, 2^64)``, so this is the
    identity; every place that seeds torch goes through it, so a torch whose range were narrower would need one
    change here. Never pass a seed to torch through another path (``torch.tensor(seed)`` or an int64 argument
    overflows for seeds ``>= 2^63``).
    """
    return int(seed)


def check_device(device: Any, fn: str, name: str = "device", *, allow_none: bool = True) -> torch.device | None:
    """Parse a ``device=`` argument (``torch.device``, ``"cpu"``, ``"cuda:0"``, an int CUDA index) into a
    :class:`torch.device`, with a :class:`DeviceError` naming ``fn`` for strings torch cannot parse (``"gpu"``) and a
    CUDA device on a machine without CUDA."""
    if device is None and allow_none:
        return None
    if isinstance(device, bool) or not isinstance(device, (torch.device, str, int, np.integer)):
        raise DeviceError(f"{fn}: {name} must be a torch.device, a string such as 'cpu' or 'cuda:0', or a CUDA index, "
                          f"got {type(device).__name__} {device!r}")
    try:
        if isinstance(device, (int, np.integer)):  # an index means a CUDA device, as in torch.cuda APIs
            if int(device) < 0:
                raise ArgumentError(device)
            dev = torch.device("cuda", int(device))
        else:
            dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise DeviceError(f"{fn}: {name} must be a device such as 'cpu' or 'cuda:0', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"{fn}: {name}={device!r} is a CUDA device but CUDA is not available on this machine")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise DeviceError(
            f"{fn}: {name}={device!r} names CUDA device {dev.index}, but only {torch.cuda.device_count()} exist"
        )
    return dev
