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
from .._checks import check_int
from ..errors import DTypeError, ShapeError
from . import reference

__all__ = ["bits", "normal", "uniform"]

_U64 = 2**64
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
    return tuple(int(s) for s in shape)


def _u64(value: int, name: str, fn: str) -> int:
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
        raise ValueError(f"{fn}: offset + number of elements must be <= 2^64, got offset={offset}, n={n}")
    dev = torch.device("cpu" if device is None else device)
    impl = _dispatch.select(fn, dev, backend)
    if impl == "reference":
        if offset + n >= 2**63:
            raise ValueError(f"{fn}: the reference back-end supports offset + n < 2^63, got {offset + n}")
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
        ShapeError: bad ``shape``. ValueError/TypeError: ``seed``, ``stream``, ``offset`` out of range.
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

    The unit draws are ``((w >> 9) + 0.5) * 2^-23`` for each 32-bit word ``w``: exactly representable in float32,
    hence bit-identical on CPU, CUDA and the reference, and never exactly 0 or 1. Arguments as in :func:`bits`.

    Returns:
        tensor of ``shape`` and ``dtype`` (floating) on ``device``.

    Raises:
        ValueError: ``low``/``high`` not finite or ``low >= high``; others as in :func:`bits`.
    """
    fn = "pyrepair.random.uniform"
    dtype = _float_dtype(dtype, fn)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{fn}: low and high must be finite with low < high, got low={low!r}, high={high!r}")
    out = _generate("uniform", shape, seed, stream, offset, device, backend, fn)
    if (low, high) != (0.0, 1.0):
        out = out * (high - low) + low
    return out.to(dtype)


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
    relative), not bit for bit. Arguments as in :func:`bits`.

    Raises:
        ValueError: ``mean`` not finite or ``std`` negative or not finite; others as in :func:`bits`.
    """
    fn = "pyrepair.random.normal"
    dtype = _float_dtype(dtype, fn)
    if not (math.isfinite(mean) and math.isfinite(std) and std >= 0):
        raise ValueError(f"{fn}: mean must be finite and std finite and >= 0, got mean={mean!r}, std={std!r}")
    out = _generate("normal", shape, seed, stream, offset, device, backend, fn)
    if (mean, std) != (0.0, 1.0):
        out = out * std + mean
    return out.to(dtype)
