"""pyrepair: repair trained PyTorch image classifiers on a compiled C++/CUDA core.

Layers (see ``DESIGN.md``): ``pyrepair.cli`` over ``pyrepair.methods`` over building blocks over the public kernel
APIs (``pyrepair.random``, ``pyrepair.transform``, ``pyrepair.corrupt``, ``pyrepair.wavelet``; ``slicer`` as it
lands) over ``pyrepair._core``. Beside them: ``pyrepair.data`` (loaders), ``pyrepair.models`` (reference
architectures), ``pyrepair.train`` (fit / evaluate / checkpoints) and ``pyrepair.metrics`` (clean, per-corruption
and held-out-failure accuracy).

Importing pyrepair is cheap and never touches the GPU; submodules load on first use.

Example:
    >>> import pyrepair
    >>> sorted(pyrepair.build_info())[:3]
    ['compiler', 'core', 'cuda']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from ._backend import build_info, cuda_available, get_num_threads, set_num_threads  # noqa: E402
from .errors import (  # noqa: E402
    ArgumentError,
    ArgumentTypeError,
    BackendUnavailableError,
    CheckpointError,
    DataFormatError,
    DataNotFoundError,
    DeviceError,
    DTypeError,
    PathIsDirectoryError,
    PathNotFoundError,
    PyrepairError,
    PyrepairWarning,
    ShapeError,
    SolverError,
    UnknownNameError,
    ValueRangeError,
)

_SUBMODULES = ("augment", "cli", "corrupt", "data", "methods", "metrics", "models", "patch", "random", "scenarios",
               "testing", "train", "transform", "wavelet")

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "BackendUnavailableError",
    "CheckpointError",
    "DTypeError",
    "DataFormatError",
    "DataNotFoundError",
    "DeviceError",
    "PathIsDirectoryError",
    "PathNotFoundError",
    "PyrepairError",
    "PyrepairWarning",
    "ShapeError",
    "SolverError",
    "UnknownNameError",
    "ValueRangeError",
    "__version__",
    "build_info",
    "cuda_available",
    "get_num_threads",
    "set_num_threads",
    *_SUBMODULES,
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'pyrepair' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))


if TYPE_CHECKING:  # pragma: no cover
    from . import (  # noqa: F401
        augment,
        cli,
        corrupt,
        data,
        methods,
        metrics,
        models,
        random,
        scenarios,
        testing,
        train,
        transform,
        wavelet,
    )
