"""The one device switch (DESIGN 'Kernel contract', STYLE rule 3).

Public kernel functions validate their inputs, then call :func:`select` to pick ``"cpu"``, ``"cuda"`` or
``"reference"``, and use the helpers below to hand buffers to :mod:`pyrepair._core`:

* CPU tensors cross as zero-copy numpy views (:func:`cpu_array`);
* CUDA tensors cross as ``data_ptr()`` plus the *current* torch stream and the device index (:func:`cuda_launch`),
  so kernels are ordered with the caller's torch work;
* numpy arrays and any DLPack producer (cupy, jax, ...) are accepted through :func:`to_torch` (zero copy where the
  producer allows it) and results go back to the kind the caller gave (:func:`restore`).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import warnings
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

from . import _backend
from .errors import ArgumentError, BackendUnavailableError, DeviceError, DTypeError, PyrepairWarning, UnknownNameError

__all__ = ["BACKENDS", "Kind", "check_backend", "cpu_array", "cuda_launch", "restore", "select", "to_torch"]

log = logging.getLogger(__name__)

BACKENDS = ("auto", "cpu", "cuda", "reference")
Backend = Literal["auto", "cpu", "cuda", "reference"]
Resolved = Literal["cpu", "cuda", "reference"]

_REBUILD_HINT = (
    "pyrepair was built without CUDA kernels; reinstall with a CUDA compiler on PATH and "
    "`PYREPAIR_CUDA=ON pip install --force-reinstall --no-deps .` (optionally PYREPAIR_CUDA_ARCHS=90), "
    "or move the tensor to the CPU"
)
_warned_reference = False


def select(fn: str, device: torch.device | str, backend: str = "auto") -> Resolved:
    """Pick the implementation of a kernel for data on ``device``.

    * ``"reference"``: the torch reference, on any device.
    * ``"auto"``: ``"cuda"`` for CUDA devices, ``"cpu"`` for CPU; on a CPU device without the compiled core it
      falls back to the reference with a :class:`~pyrepair.errors.PyrepairWarning` (never silently; no warning
      when the user disabled the core on purpose with ``PYREPAIR_DISABLE_CORE=1``).
    * ``"cpu"`` / ``"cuda"``: that compiled back-end, which must match the data's device.

    Raises:
        UnknownNameError: ``backend`` is not one of :data:`BACKENDS`.
        DeviceError: an explicit back-end does not match the device, or the device type is unsupported.
        BackendUnavailableError: the compiled core or its CUDA kernels are missing (the message says how to
            rebuild). A CUDA tensor never silently takes a slow path.
    """
    global _warned_reference
    if backend not in BACKENDS:
        raise UnknownNameError(
            f"{fn}: unknown backend {backend!r}; valid: {', '.join(BACKENDS)}", name=backend, valid=BACKENDS
        )
    dev = torch.device(device)
    if backend == "reference":
        return "reference"
    if dev.type not in ("cpu", "cuda"):
        raise DeviceError(f"{fn}: device {dev} is not supported by the compiled kernels; use backend='reference'")
    want = dev.type if backend == "auto" else backend
    if want != dev.type:
        raise DeviceError(f"{fn}: backend={backend!r} cannot process data on device {dev}")
    if want == "cuda":
        if not _backend.has_core():
            _backend.core(fn)  # raises with the build hint
        if not _backend.cuda_built():
            raise BackendUnavailableError(f"{fn}: {_REBUILD_HINT}")
        return "cuda"
    if not _backend.has_core():
        if backend == "cpu":
            _backend.core(fn)  # raises with the build hint
        disabled = os.environ.get("PYREPAIR_DISABLE_CORE") == "1"  # asked for: no warning
        if not _warned_reference and not disabled:
            _warned_reference = True
            warnings.warn(
                f"{fn}: the compiled core is not available, using the slow torch reference kernels. "
                + _backend._SOURCE_TREE_HINT.format(err=_backend._load_core()[1]),
                PyrepairWarning,
                stacklevel=3,
            )
        log.debug("%s: falling back to the reference back-end", fn)
        return "reference"
    return "cpu"


def check_backend(backend: Any, fn: str) -> Backend:
    """Check a ``backend=`` argument where no data is at hand yet (module and method constructors), so that a bad
    choice fails at construction, not at the first ``forward``.

    ``"auto"`` and ``"reference"`` always work; ``"cpu"`` needs the compiled core; ``"cuda"`` needs a CUDA build and a
    visible CUDA device (data on another device is still caught by :func:`select` when the call comes).

    Raises:
        UnknownNameError: ``backend`` is not one of :data:`BACKENDS`.
        BackendUnavailableError: the compiled core, or its CUDA kernels, are missing (with the rebuild hint).
        DeviceError: ``backend="cuda"`` on a machine where torch sees no CUDA device.
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise UnknownNameError(
            f"{fn}: unknown backend {backend!r}; valid: {', '.join(BACKENDS)}", name=backend, valid=BACKENDS
        )
    if backend in ("cpu", "cuda") and not _backend.has_core():
        _backend.core(fn)  # raises with the build hint
    if backend == "cuda":
        if not _backend.cuda_built():
            raise BackendUnavailableError(f"{fn}: backend='cuda': {_REBUILD_HINT}")
        if not torch.cuda.is_available():
            raise DeviceError(f"{fn}: backend='cuda' needs a CUDA device, but CUDA is not available on this machine")
    return backend  # type: ignore[return-value]


Kind = Literal["torch", "numpy", "dlpack"]


class Converted(NamedTuple):
    """A tensor view of user data and what to turn results back into."""

    tensor: torch.Tensor
    kind: Kind
    origin: Any  # the object the user gave (its type decides how results go back)


def to_torch(x: Any, name: str, fn: str) -> Converted:
    """Accept a torch tensor, a numpy array or any DLPack producer, without copying where possible.

    Raises:
        DTypeError: ``x`` is none of those.
    """
    if isinstance(x, torch.Tensor):
        return Converted(x, "torch", x)
    if isinstance(x, np.ndarray):
        arr = x
        if not arr.flags.writeable:  # torch warns on read-only arrays; a private copy keeps the user's data safe
            arr = arr.copy()
        return Converted(torch.from_numpy(arr), "numpy", x)
    if hasattr(x, "__dlpack__"):
        return Converted(torch.from_dlpack(x), "dlpack", x)
    raise DTypeError(
        f"{fn}: {name} must be a torch.Tensor, a numpy.ndarray or a DLPack-capable array, got {type(x).__name__}"
    )


def restore(t: torch.Tensor, conv: Converted) -> Any:
    """Return ``t`` as the kind of object ``conv`` was made from (torch tensor, numpy array, or the DLPack
    producer's own array type via its module's ``from_dlpack``)."""
    if conv.kind == "torch":
        return t
    if conv.kind == "numpy":
        return t.detach().cpu().numpy()
    root = type(conv.origin).__module__.split(".")[0]
    mod = sys.modules.get(root) or importlib.import_module(root)
    from_dlpack = getattr(mod, "from_dlpack", None)
    if from_dlpack is None:  # unknown producer: torch tensors are DLPack producers too
        return t
    return from_dlpack(t.detach())


def cpu_array(t: torch.Tensor, name: str = "tensor") -> np.ndarray:
    """Zero-copy numpy view of a contiguous CPU tensor (the buffer the C++ kernel reads or writes)."""
    if t.device.type != "cpu" or not t.is_contiguous():
        raise ArgumentError(f"internal: {name} must be a contiguous CPU tensor, got device={t.device}")
    return t.detach().numpy()


def cuda_launch(t: torch.Tensor) -> tuple[int, int]:
    """``(stream handle, device index)`` for launching a kernel on ``t``'s device, on torch's current stream.

    Launching on the current stream orders the kernel after the work that produced the inputs and before the
    reuse of their memory by torch's caching allocator.
    """
    if t.device.type != "cuda":
        raise DeviceError(f"internal: expected a CUDA tensor, got device={t.device}")
    index = t.device.index if t.device.index is not None else torch.cuda.current_device()
    return int(torch.cuda.current_stream(index).cuda_stream), int(index)
