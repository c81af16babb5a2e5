"""Atomic file writes: the one place where pyrepair writes a file that must never be seen half-written.

Every writer (checkpoints, JSON results, exported data sets) goes through :func:`atomic_write`: the content is written
to a temporary file in the destination's folder, flushed and fsynced, then renamed over the destination with
``os.replace`` (atomic on POSIX and Windows), and the folder is fsynced so the rename survives a crash. The
destination therefore always holds either its previous complete content or the new one, and no temporary file
survives an error.

This module sits at the bottom of the import graph (it imports nothing from pyrepair) so that kernel packages,
``train`` and ``methods`` can all use it.

Example:
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = atomic_write(pathlib.Path(d) / "a.txt", lambda f: f.write(b"hello"))
    ...     p.read_bytes()
    b'hello'
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

__all__ = ["PathLike", "atomic_json_dump", "atomic_torch_save", "atomic_write", "check_path"]

PathLike = str | os.PathLike[str]
"""A file system path: ``str`` or ``os.PathLike``."""


def check_path(path: Any, name: str, fn: str) -> Path:
    """``path`` as an expanded ``Path``.

    Args:
        path: a ``str`` or ``os.PathLike``.
        name: the caller's argument name, for the message.
        fn: the calling public function, for the message.

    Returns:
        The ``Path`` with ``~`` expanded.

    Raises:
        TypeError: ``path`` is neither a ``str`` nor ``os.PathLike``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{fn}: {name} must be a str or os.PathLike, got {type(path).__name__}")
    return Path(os.fspath(path)).expanduser()


def _fsync_dir(directory: Path) -> None:
    """fsync a folder so that a rename inside it is durable (POSIX only; best effort)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: PathLike, writer: Callable[[IO[bytes]], Any], *, make_parents: bool = True) -> Path:
    """Write a file atomically: ``writer`` fills a temporary file that then replaces ``path``.

    Args:
        path: the destination file.
        writer: ``writer(f)`` writes the content to ``f``, a binary file opened for writing (seekable, so
            ``zipfile.ZipFile(f, "w")`` and ``torch.save(obj, f)`` work). Its return value is ignored.
        make_parents: create missing parent folders; ``False`` raises ``FileNotFoundError`` instead.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        FileNotFoundError: the parent folder is missing and ``make_parents`` is ``False``.
        Exception: whatever ``writer`` raises; ``path`` is then unchanged and the temporary file is removed.
    """
    dest = Path(os.fspath(path))
    if make_parents:
        dest.parent.mkdir(parents=True, exist_ok=True)
    elif not dest.parent.is_dir():
        raise FileNotFoundError(f"the folder of {str(dest)!r} does not exist")
    # a hidden name in the same folder: same file system, so os.replace is a rename, never a copy
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for a plain open()
    try:
        with os.fdopen(fd, "wb") as f:
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(dest.parent)
    return dest


def atomic_torch_save(obj: Any, path: PathLike) -> Path:
    """``torch.save(obj, path)`` through :func:`atomic_write` (missing parent folders are created)."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def atomic_json_dump(obj: Any, path: PathLike, *, indent: int = 2) -> Path:
    """Write ``obj`` as UTF-8 JSON (``indent`` spaces, a final newline) through :func:`atomic_write`."""
    text = json.dumps(obj, indent=indent, sort_keys=False) + "\n"  # serialise first: a TypeError leaves no file
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))
