"""Exception types raised by pyrepair.

Every exception subclasses both :class:`PyrepairError` (catch anything from the library) and the builtin a user
would expect (``ValueError`` for bad values and shapes, ``TypeError`` for bad dtypes, ``RuntimeError`` for a missing
back-end), so ``except ValueError`` keeps working in code that does not know pyrepair.
"""

from __future__ import annotations

from collections.abc import Sequence

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
]


class PyrepairError(Exception):
    """Base class of every error raised on purpose by pyrepair."""


class PyrepairWarning(UserWarning):
    """Base class of the warnings pyrepair emits (slow fall-backs, lossy data variants)."""


class ShapeError(PyrepairError, ValueError):
    """A tensor or array has the wrong rank or size.

    Attributes:
        actual_shape: the shape that was given.
        expected: a description of the expected shape, e.g. ``"B,C,H,W"``.
    """

    def __init__(self, message: str, *, actual_shape: Sequence[int] | None = None, expected: str | None = None):
        super().__init__(message)
        self.actual_shape = tuple(actual_shape) if actual_shape is not None else None
        self.expected = expected


class DTypeError(PyrepairError, TypeError):
    """A tensor or array has a dtype the function does not accept."""


class ArgumentError(PyrepairError, ValueError):
    """An argument's value is not accepted (out of range, inconsistent with another argument, ...)."""


class ArgumentTypeError(PyrepairError, TypeError):
    """An argument has the wrong Python type (e.g. a float or a bool where an int is expected)."""


class ValueRangeError(ArgumentError):
    """Values are NaN/inf or outside the range the function accepts (images: ``[0, 1]``; seeds: ``[0, 2^64)``)."""


class DeviceError(PyrepairError, ValueError):
    """Tensors are on different devices, or on a device the function cannot use."""


class UnknownNameError(PyrepairError, ValueError):
    """A name (dataset, architecture, corruption, back-end, ...) is not one of the valid choices.

    Attributes:
        name: the name that was given.
        valid: the valid names, sorted.
    """

    def __init__(self, message: str, *, name: object = None, valid: Sequence[str] = ()):
        super().__init__(message)
        self.name = name
        self.valid = tuple(valid)


class BackendUnavailableError(PyrepairError, RuntimeError):
    """A back-end (the compiled core, its CUDA kernels) was asked for but is not available in this build."""


class SolverError(PyrepairError, RuntimeError):
    """The constraint solver found no repair (infeasible, time limit or solver failure) and the caller asked for
    strictness (``pyrepair.patch.repair_layer(..., strict=True)``); the message gives the status."""


class DataNotFoundError(PyrepairError, FileNotFoundError):
    """A dataset's files were not found; the message lists the file names and the places searched."""


class PathNotFoundError(PyrepairError, FileNotFoundError):
    """A file the function must read (a checkpoint to resume from), or the folder it must write into, does not
    exist; the message names the function, the argument and the path."""


class PathIsDirectoryError(PyrepairError, IsADirectoryError):
    """An argument that must name a file names an existing folder; the message names the function, the argument and
    the path."""


class DataFormatError(PyrepairError, ValueError):
    """A data file exists but cannot be parsed (bad magic number, truncated, missing keys, labels out of range)."""


class CheckpointError(PyrepairError, ValueError):
    """A file is not a pyrepair checkpoint, or one whose layout this version cannot read."""
