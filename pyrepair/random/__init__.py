"""Counter-based random numbers on the Philox 4x32-10 core: the same numbers on CPU and CUDA, for any thread count.

Every draw is a pure function of ``(seed, stream, index)``: ``uniform(n, seed)[i]`` equals
``uniform(1, seed, offset=i)[0]``, on every device and back-end. Kernels of the other families (noise corruptions,
augmentations) draw from the same generator in C++ and CUDA, keyed by seed, image index and element index.

Example:
    >>> import pyrepair
    >>> u = pyrepair.random.uniform((2, 3), seed=7)
    >>> u.shape, u.dtype
    (torch.Size([2, 3]), torch.float32)
    >>> bool(((u > 0) & (u < 1)).all())
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .. import _backend, _dispatch
from .._checks import check_device, check_int, check_seed
from ..errors import ArgumentError, DTypeError, ShapeError
from . import reference

__all__ = ["bits", "normal", "uniform"]

_U64 = 2**64
_MAX_ELEMENTS = 2**60  # 8-byte elements: beyond this torch's storage size overflows
_DIST = {"bits": 0, "uniform": 1, "normal": 2}


def _shape(shape: int | Sequence[int], fn: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    if isinstance(shape, torch.Size):
        shape = tuple(shape)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape
    ):
        raise ShapeError(f"{fn}: shape must be an int or a sequence of ints, got {shape!r}")
    if any(int(s) < 0 for s in shape):
        raise ShapeError(f"{fn}: shape must have non-negative sizes, got {tuple(shape)}")
    out = tuple(int(s) for s in shape)
    n = math.prod(out)
    if n > _MAX_ELEMENTS:
        raise ShapeError(
            f"{fn}: shape {out} has {n} elements, more than a tensor can hold (at most 2^60)", actual_shape=out,
            expected="at most 2^60 elements",
        )
    return out


def _u64(value: int, name: str, fn: str) -> int:
    if name == "seed":
        return check_seed(value, fn, name)
    return check_int(value, name, fn, min_value=0, max_value=_U64 - 1)


def _generate(
    dist: str, shape: int | Sequence[int], seed: int, stream: int, offset: int, device: torch.device | str | None,
    backend: str, fn: str,
) -> torch.Tensor:
    shape_t = _shape(shape, fn)
    seed = _u64(seed, "seed", fn)
    stream = _u64(stream, "stream", fn)
    offset = _u64(offset, "offset", fn)
    n = math.prod(shape_t)
    if offset + n > _U64:
        raise ArgumentError(f"{fn}: offset + number of elements must be <= 2^64, got offset={offset}, n={n}")
    dev = check_device(device, fn) or torch.device("cpu")
    impl = _dispatch.select(fn, dev, backend)
    if impl == "reference":
        if offset + n >= 2**63:
            raise ArgumentError(f"{fn}: the reference back-end supports offset + n < 2^63, got {offset + n}")
        ref = {"bits": reference.bits, "uniform": reference.uniform, "normal": reference.normal}[dist]
        return ref(n, seed, stream, offset, dev).reshape(shape_t)
    out_dtype = torch.int32 if dist == "bits" else torch.float32  # int32 storage holds the uint32 bit patterns
    out = torch.empty(n, dtype=out_dtype, device=dev)
    if impl == "cuda":
        stream_handle, index = _dispatch.cuda_launch(out)
        _backend.core(fn).random_fill_cuda(out.data_ptr(), n, seed, stream, offset, _DIST[dist], stream_handle, index)
    else:
        arr = _dispatch.cpu_array(out, "out")
        if dist == "bits":
            arr = arr.view(np.uint32)
        _backend.core(fn).random_fill_cpu(arr, seed, stream, offset, _DIST[dist])
    if dist == "bits":
        out = out.to(torch.int64) & 0xFFFFFFFF
    return out.reshape(shape_t)


def _float_dtype(dtype: torch.dtype, fn: str) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise DTypeError(f"{fn}: dtype must be a floating-point torch.dtype, got {dtype!r}")
    return dtype


def bits(
    shape: int | Sequence[int],
    seed: int = 0,
    *,
    stream: int = 0,
    offset: int = 0,
    device: torch.device | str | None = None,
    backend: str = "auto",
) -> torch.Tensor:
    """Raw 32-bit words of the Philox stream.

    Args:
        shape: output shape; elements are taken in row-major order from the stream.
        seed: 64-bit key, in [0, 2^64).
        stream: independent sub-stream under the same seed, in [0, 2^64).
        offset: index of the first element within the stream (skip-ahead is free).
        device: where to generate (default CPU).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Returns:
        int64 tensor of ``shape`` with values in [0, 2^32); identical on every back-end and device.

    Raises:
        ShapeError: bad ``shape`` (also more than 2^60 elements). ValueError/TypeError: ``seed``, ``stream``,
        ``offset`` out of range. DeviceError: ``device`` not a device name (``"gpu"``) or CUDA not available.
        UnknownNameError, DeviceError, BackendUnavailableError: see :func:`pyrepair._dispatch.select`.
    """
    return _generate("bits", shape, seed, stream, offset, device, backend, "pyrepair.random.bits")


def uniform(
    shape: int | Sequence[int],
    seed: int = 0,
    *,
    low: float = 0.0,
    high: float = 1.0,
    stream: int = 0,
    offset: int = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    backend: str = "auto",
) -> torch.Tensor:
    """Uniform numbers in the open interval (low, high).

    float32 (and float16/bfloat16, drawn in float32 then cast): the unit draws are ``((w >> 9) + 0.5) * 2^-23`` for
    each 32-bit word ``w``: exactly representable in float32, hence bit-identical on CPU, CUDA and the reference,
    and never exactly 0 or 1. float64: 52 random bits per element, ``((w0 >> 6) * 2^26 + (w1 >> 6) + 0.5) * 2^-52``
    from words ``2 g`` and ``2 g + 1`` of the stream, scaled in float64. The result is computed in ``dtype`` and
    clamped to the ``dtype`` values strictly inside ``(low, high)``, so the interval stays open after rounding.
    Arguments as in :func:`bits`.

    Returns:
        tensor of ``shape`` and ``dtype`` (floating) on ``device``.

    Raises:
        ValueError: ``low``/``high`` not finite, ``low >= high``, or no ``dtype`` value strictly between them;
        others as in :func:`bits`.
    """
    fn = "pyrepair.random.uniform"
    dtype = _float_dtype(dtype, fn)
    if not (_is_real(low) and _is_real(high) and math.isfinite(low) and math.isfinite(high) and low < high):
        raise ArgumentError(f"{fn}: low and high must be finite with low < high, got low={low!r}, high={high!r}")
    lo_in, hi_in = _open_bounds(float(low), float(high), dtype, fn)
    if dtype == torch.float64:
        u = _unit52(shape, seed, stream, offset, device, backend, fn, 0)
        out = u if (low, high) == (0.0, 1.0) else u * (float(high) - float(low)) + float(low)
    else:  # float32 draws (bit-identical to the compiled kernels), then the cast
        out = _generate("uniform", shape, seed, stream, offset, device, backend, fn)
        if (low, high) != (0.0, 1.0):
            out = out * (high - low) + low
        out = out.to(dtype)
    if (low, high) != (0.0, 1.0) or dtype.itemsize < 4:
        out = out.clamp_(lo_in, hi_in)  # rounding of low + u * (high - low) may land on an end point
    return out


def _is_real(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _open_bounds(low: float, high: float, dtype: torch.dtype, fn: str) -> tuple[float, float]:
    """The smallest and largest ``dtype`` values strictly inside ``(low, high)``."""
    lo_d = torch.tensor(low, dtype=dtype)
    hi_d = torch.tensor(high, dtype=dtype)
    if float(lo_d) <= low:
        lo_d = torch.nextafter(lo_d, torch.tensor(math.inf, dtype=dtype))
    if float(hi_d) >= high:
        hi_d = torch.nextafter(hi_d, torch.tensor(-math.inf, dtype=dtype))
    if not float(lo_d) <= float(hi_d):
        raise ArgumentError(
            f"{fn}: no {dtype} value lies strictly between low={low!r} and high={high!r}; widen the interval or use "
            "dtype=torch.float64"
        )
    return float(lo_d), float(hi_d)


def _unit52(
    shape: int | Sequence[int], seed: int, stream: int, offset: int, device: torch.device | str | None, backend: str,
    fn: str, first: int,
) -> torch.Tensor:
    """float64 uniforms in (0, 1): 52 random bits, the midpoints of the 2^-52 grid. :func:`uniform` uses words
    ``2 g`` and ``2 g + 1`` of element ``g = offset + i``; :func:`normal` uses 4 words per element and ``first``
    (0 or 2) picks the pair of Box-Muller's first or second uniform."""
    shape_t = _shape(shape, fn)
    offset = _u64(offset, "offset", fn)
    n = math.prod(shape_t)
    per = 4 if fn.endswith("normal") else 2
    if (offset + n) * per > _U64:
        raise ArgumentError(
            f"{fn}: float64 draws use {per} words per element, so offset + number of elements must be <= 2^64 / {per}, "
            f"got offset={offset}, n={n}"
        )
    w = _generate("bits", (n, per), seed, stream, offset * per, device, backend, fn)
    hi = w[:, first] >> 6  # 26 bits
    lo = w[:, first + 1] >> 6  # 26 bits
    # (k + 1/2) 2^-52 for k < 2^52 is exact in float64 and strictly inside (0, 1) (with 53 bits the top value
    # (2^53 - 1/2) 2^-53 would round to 1.0)
    return ((hi * 2**26 + lo).to(torch.float64) + 0.5).mul_(2.0**-52).reshape(shape_t)


def normal(
    shape: int | Sequence[int],
    seed: int = 0,
    *,
    mean: float = 0.0,
    std: float = 1.0,
    stream: int = 0,
    offset: int = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    backend: str = "auto",
) -> torch.Tensor:
    """Normal numbers ``mean + std * z`` with ``z`` from Box-Muller on pairs of Philox words.

    CPU and CUDA draw the same integers; after ``log``/``sin``/``cos`` they agree to a few ULP (about 1e-6
    relative), not bit for bit. ``dtype=torch.float64`` runs Box-Muller in float64 on two 52-bit uniforms (words
    ``4 g .. 4 g + 3``). Arguments as in :func:`bits`.

    Raises:
        ValueError: ``mean`` not finite or ``std`` negative or not finite; others as in :func:`bits`.
    """
    fn = "pyrepair.random.normal"
    dtype = _float_dtype(dtype, fn)
    if not (_is_real(mean) and _is_real(std) and math.isfinite(mean) and math.isfinite(std) and std >= 0):
        raise ArgumentError(f"{fn}: mean must be finite and std finite and >= 0, got mean={mean!r}, std={std!r}")
    if dtype == torch.float64:  # Box-Muller in float64 on two 52-bit uniforms (4 words per element)
        u1 = _unit52(shape, seed, stream, offset, device, backend, fn, 0)
        u2 = _unit52(shape, seed, stream, offset, device, backend, fn, 2)
        out = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(u2 * (2.0 * math.pi))
    else:
        out = _generate("normal", shape, seed, stream, offset, device, backend, fn)
    if (mean, std) != (0.0, 1.0):
        out = out * std + mean
    return out.to(dtype)
