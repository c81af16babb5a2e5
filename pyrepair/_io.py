"""Atomic file writes: the one place where pyrepair writes a file that must never be seen half-written.

Every writer (checkpoints, JSON results, exported data sets) goes through :func:`atomic_write`: the content is written
to a temporary file in the destination's folder, flushed and fsynced, then renamed over the destination with
``os.replace`` (atomic on POSIX and Windows), and the folder is fsynced so the rename survives a crash. The
destination therefore always holds either its previous complete content or the new one, and no temporary file
survives an error.

It also holds the one checkpoint reader and the content hash every checkpoint writer stores
(:func:`content_digest`, :func:`save_hashed`, :func:`load_hashed`): :func:`pyrepair.train.save_checkpoint`,
:meth:`pyrepair.methods.RepairResult.save` (through ``save_checkpoint``) and
:func:`pyrepair.wavelet.stylizer.save_wct2` all write and verify it with the same code.

This module sits at the bottom of the import graph (it imports only :mod:`pyrepair.errors`, a leaf) so that kernel
packages, ``train`` and ``methods`` can all use it.

Example:
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = atomic_write(pathlib.Path(d) / "a.txt", lambda f: f.write(b"hello"))
    ...     p.read_bytes()
    b'hello'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import uuid
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import torch

from .errors import (
    ArgumentTypeError,
    CheckpointError,
    DeviceError,
    PathIsDirectoryError,
    PathNotFoundError,
    PyrepairWarning,
)

__all__ = [
    "DIGEST_KEY",
    "PathLike",
    "atomic_json_dump",
    "atomic_torch_save",
    "atomic_write",
    "check_map_location",
    "check_path",
    "content_digest",
    "load_hashed",
    "save_hashed",
]

PathLike = str | os.PathLike[str]
"""A file system path: ``str`` or ``os.PathLike``."""


def check_path(path: Any, name: str, fn: str, *, file: bool = False, exists: bool = False) -> Path:
    """``path`` as an expanded ``Path``.

    Args:
        path: a ``str`` or ``os.PathLike``.
        name: the caller's argument name, for the message.
        fn: the calling public function, for the message.
        file: the path must name a file (to read or write), so an existing folder is an error.
        exists: the path must exist (a file to read).

    Returns:
        The ``Path`` with ``~`` expanded.

    Raises:
        ArgumentTypeError: ``path`` is neither a ``str`` nor ``os.PathLike``.
        PathNotFoundError: ``exists`` and nothing is at ``path`` (also a ``FileNotFoundError``).
        PathIsDirectoryError: ``file`` and ``path`` is a folder (also an ``IsADirectoryError``).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError(f"{fn}: {name} must be a str or os.PathLike, got {type(path).__name__} {path!r}")
    p = Path(os.fspath(path)).expanduser()
    if exists and not p.exists():
        raise PathNotFoundError(f"{fn}: {name} not found: {p}")
    if file and p.is_dir():
        raise PathIsDirectoryError(f"{fn}: {name} must be a file path, got a directory: {p}")
    return p


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


# --------------------------------------------------------------------------------------------------------------------
# Checkpoints with a content hash
# --------------------------------------------------------------------------------------------------------------------

DIGEST_KEY = "sha256"
"""Key of the content hash in a hashed checkpoint dict (a 64-character lowercase hex string)."""


def _feed(h: Any, path: str, value: Any) -> None:
    """Feed one value into ``h`` in a canonical, type-tagged form (recursive over containers).

    Invariant: the byte stream depends only on the *content* (key order of dicts as stored, which ``torch.load``
    preserves; tensor dtype, shape and bytes), never on the device, strides or storage sharing, so the digest of a
    loaded object equals the digest computed before saving.
    """
    if isinstance(value, torch.Tensor):
        t = value.detach().to("cpu").contiguous().reshape(-1)
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        h.update(f"T|{path}|{t.dtype}|{list(value.shape)}|{len(raw)}|".encode())
        h.update(raw)
    elif isinstance(value, Mapping):
        h.update(f"D|{path}|{len(value)}|".encode())
        for k, v in value.items():
            h.update(f"K|{type(k).__name__}|{k!r}|".encode())
            _feed(h, f"{path}/{k!r}", v)
    elif isinstance(value, (list, tuple)):
        h.update(f"L|{path}|{type(value).__name__}|{len(value)}|".encode())
        for i, v in enumerate(value):
            _feed(h, f"{path}/{i}", v)
    else:  # plain leaves: None, bool, int, float, str, bytes, torch.Size, ...
        h.update(f"V|{path}|{type(value).__name__}|{value!r}|".encode())


def content_digest(obj: Mapping[str, Any]) -> str:
    """sha256 (hex) over every entry of ``obj`` except :data:`DIGEST_KEY`, in a deterministic order.

    Each tensor contributes its name (the path of keys leading to it), dtype, shape and raw bytes; every other leaf
    its path, type name and ``repr``. The same content therefore always gives the same digest, wherever its
    tensors live.

    Example:
        >>> d = {"w": torch.zeros(2), "epoch": 1}
        >>> content_digest(d) == content_digest({"w": torch.zeros(2), "epoch": 1, "sha256": "x"})
        True
        >>> content_digest(d) == content_digest({"w": torch.ones(2), "epoch": 1})
        False
    """
    h = hashlib.sha256()
    _feed(h, "", {k: v for k, v in obj.items() if k != DIGEST_KEY})
    return h.hexdigest()


def save_hashed(obj: Mapping[str, Any], path: PathLike) -> Path:
    """``torch.save`` ``obj`` plus its :func:`content_digest` under :data:`DIGEST_KEY`, atomically."""
    out = dict(obj)
    out[DIGEST_KEY] = content_digest(out)
    return atomic_torch_save(out, path)


def check_map_location(map_location: Any, fn: str) -> None:
    """Raise :class:`DeviceError` when ``map_location`` names a CUDA device on a machine without CUDA.

    ``torch.load`` would otherwise fail with a ``RuntimeError`` that reads like a corrupt file. Callables and
    dicts are passed through unchecked (torch applies them per storage).
    """
    dev: torch.device | None = None
    if isinstance(map_location, torch.device):
        dev = map_location
    elif isinstance(map_location, str):
        try:
            dev = torch.device(map_location.strip())
        except (RuntimeError, ValueError) as e:
            raise DeviceError(
                f"{fn}: map_location must be a device such as 'cpu', 'cuda' or 'cuda:<index>', got {map_location!r}"
            ) from e
    elif isinstance(map_location, int) and not isinstance(map_location, bool):
        if map_location < 0:
            raise DeviceError(f"{fn}: map_location as a CUDA index must be >= 0, got {map_location}")
        dev = torch.device("cuda", map_location)
    if dev is not None and dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            f"{fn}: map_location {map_location!r} asks for CUDA but CUDA is not available on this machine; "
            "use map_location='cpu'"
        )


def _short(e: BaseException) -> str:
    """The first line of an exception message, without torch's advice to unpickle with ``weights_only=False``."""
    first = (str(e).strip().splitlines() or [""])[0]
    if "weights_only" in first or len(first) > 160:
        return type(e).__name__
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


def load_hashed(
    path: PathLike,
    fn: str,
    *,
    format: str,
    what: str,
    map_location: Any = "cpu",
    max_version: int | None = None,
) -> dict[str, Any]:
    """Read a checkpoint dict written by :func:`save_hashed` and verify it; every failure is one clear line.

    Args:
        path: the file.
        fn: the calling public function, for messages.
        format: the required value of the file's ``"format"`` entry.
        what: a description of the file kind, e.g. ``"pyrepair checkpoint"``.
        map_location: as for ``torch.load``; a CUDA device on a machine without CUDA is a :class:`DeviceError`.
        max_version: refuse files whose integer ``"version"`` entry is above this (written by a newer pyrepair),
            before the hash is looked at; ``None``: no version check.

    Returns:
        The dict, without :data:`DIGEST_KEY`.

    Raises:
        PathNotFoundError, PathIsDirectoryError (a ``FileNotFoundError``, an ``IsADirectoryError``),
            PermissionError: the path cannot be read as a file.
        DeviceError: ``map_location`` names CUDA and CUDA is not available.
        CheckpointError: the file is empty, not a torch file, holds anything but tensors and plain containers,
            lacks the ``format`` entry, or its content does not match its stored hash (damaged); the message
            names the file and never advises ``weights_only=False``.

    Warns:
        PyrepairWarning: a file written before content hashes existed (its integrity cannot be checked).
    """
    src = Path(os.fspath(path)).expanduser()
    check_map_location(map_location, fn)
    if not src.exists():
        raise PathNotFoundError(f"{fn}: {what} file not found: {src}")
    if src.is_dir():
        raise PathIsDirectoryError(f"{fn}: path must be a {what} file, got a directory: {src}")
    if src.stat().st_size == 0:
        raise CheckpointError(f"{fn}: {src} is not a {what}: the file is empty")
    try:
        obj = torch.load(src, map_location=map_location, weights_only=True)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except pickle.UnpicklingError as e:
        # weights_only rejected a global: a pickle of arbitrary objects, or a damaged pickle stream
        raise CheckpointError(
            f"{fn}: {src} is not a {what}: it holds objects other than tensors and plain containers, or is "
            f"damaged ({_short(e)})"
        ) from None
    except (RuntimeError, zipfile.BadZipFile, EOFError, ValueError, KeyError, OSError, UnicodeError) as e:
        raise CheckpointError(f"{fn}: {src} is not a {what}, or is damaged ({_short(e)})") from None
    except Exception as e:  # noqa: BLE001 - unpickling a damaged stream fails in many ways
        raise CheckpointError(f"{fn}: {src} is not a {what}, or is damaged ({_short(e)})") from None
    if not isinstance(obj, Mapping) or obj.get("format") != format:
        raise CheckpointError(f"{fn}: {src} is not a {what} (no 'format': {format!r} entry)")
    out = dict(obj)
    version = out.get("version")
    if max_version is not None and isinstance(version, int) and version > max_version:
        raise CheckpointError(
            f"{fn}: {src} has layout version {version}, newer than this pyrepair reads ({max_version}); "
            "upgrade pyrepair"
        )
    stored = out.pop(DIGEST_KEY, None)
    if stored is None:
        # The hash is an additive key (older readers ignore it), so files from before it existed are still valid:
        # they load, with a warning that damage to them cannot be detected.
        warnings.warn(
            f"{fn}: {src} has no content hash (written by an older pyrepair); it is loaded, but damage to it "
            "cannot be detected. Save it again to add one.",
            PyrepairWarning,
            stacklevel=3,
        )
        return out
    if not isinstance(stored, str) or stored != content_digest(out):
        raise CheckpointError(
            f"{fn}: {src} is damaged: its content does not match the sha256 stored in it (the file was changed "
            "or corrupted after it was written)"
        )
    return out
