"""Export a corrupted copy of a data set in the CIFAR-10-C layout, streaming (bounded memory), written atomically.

Layout of the ``.npz`` (``np.load(path)[key]``):

* one array per corruption, named by the corruption (``"gaussian_noise"``, ...): uint8 ``(S * N, H, W, C)`` with the
  S severities stacked in the order given, so row ``k * N + i`` is image ``i`` at ``severities[k]`` (the CIFAR-10-C
  index layout ``(s - 1) * N + i`` for the default ``severities=(1, ..., 5)``);
* ``labels``: the labels tiled S times, uint8 when all labels fit (as CIFAR-10-C's ``labels.npy``), else int64;
* ``severities``: uint8 ``(S * N,)``, the severity of each row.

Pixels are stored as the reference data sets store them: ``np.uint8(x * 255)`` (truncation).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from .._checks import check_images, check_int
from .._images import as_image_data
from .._io import atomic_write, check_path
from .._loop import resolve_progress
from ..errors import ArgumentError, PathIsDirectoryError, PathNotFoundError
from . import MIN_SIZE, RANGE_TOLERANCE, _check_name, _check_seed, apply
from . import severity as _sev

__all__ = ["make_dataset"]

_FN = "pyrepair.corrupt.make_dataset"


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def make_dataset(
    images: Any,
    labels: Any,
    path: str | os.PathLike[str],
    *,
    names: Sequence[str] | None = None,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    seed: int = 0,
    scale: str = "auto",
    chunk_size: int = 1000,
    progress: bool | None = None,
) -> Path:
    """Corrupt a data set with every (corruption, severity) and write it as one CIFAR-10-C-layout ``.npz``.

    Memory stays bounded by one chunk of corrupted images: each corruption streams into a ``.npy`` memory map in a
    temporary folder next to ``path``; the maps are then zipped (uncompressed, ZIP64) into ``path`` through
    ``pyrepair._io.atomic_write`` (a temporary file renamed over ``path``). No temporary file survives, also on
    error.

    Image ``i`` uses RNG stream ``index_offset = i`` with key ``seed`` for every corruption and severity, so the file
    does not depend on ``chunk_size``.

    Args:
        images: float tensor ``(N, C, H, W)`` in [0, 1] or uint8 numpy ``(N, H, W, C)`` / ``(N, H, W)``.
        labels: integer class ids ``(N,)`` (tensor, array or sequence).
        path: output file; ``.npz`` is appended when missing. Parent folders must exist.
        names: corruptions to write (default: all implemented, :func:`pyrepair.corrupt.names`).
        severities: severities to stack, in this order (each 1..5, no repeats).
        seed: RNG key in ``[0, 2^64)``.
        scale: ``"auto"``, ``"cifar"`` or ``"imagenet"``.
        chunk_size: images corrupted per call.
        progress: tqdm bar on stderr; ``None``: only when stderr is a terminal.

    Returns:
        The path written.

    Raises:
        UnknownNameError: a corruption name is unknown.
        ValueError: empty/repeated/out-of-range severities, bad ``chunk_size``, bad image values.
        ShapeError, DTypeError: bad images or labels (see :func:`pyrepair.data.as_image_data`).
        ArgumentTypeError: ``path`` is not a ``str`` or ``os.PathLike``.
        PathNotFoundError: the parent folder of ``path`` does not exist (also a ``FileNotFoundError``).
        PathIsDirectoryError: ``path`` (or ``path`` + ``.npz``) is an existing folder (an ``IsADirectoryError``).
    """
    fn = _FN
    from . import names as implemented

    chosen = tuple(implemented() if names is None else names)
    if not chosen:
        raise ArgumentError(f"{fn}: names must not be empty")
    for n in chosen:
        _check_name(n, fn)
    if len(set(chosen)) != len(chosen):
        raise ArgumentError(f"{fn}: names must not repeat, got {list(chosen)}")
    sev = tuple(check_int(s, "severities", fn, min_value=1, max_value=5) for s in severities)
    if not sev or len(set(sev)) != len(sev):
        raise ArgumentError(f"{fn}: severities must be a non-empty sequence without repeats, got {list(severities)}")
    seed = _check_seed(seed, "seed", fn)
    chunk_size = check_int(chunk_size, "chunk_size", fn, min_value=1)
    if scale not in _sev.SCALES:
        raise ArgumentError(f"{fn}: unknown scale {scale!r}; valid: {', '.join(_sev.SCALES)}")
    show = resolve_progress(progress, fn)

    out = check_path(path, "path", fn, file=True)
    if out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")
    if not out.parent.is_dir():
        raise PathNotFoundError(f"{fn}: the folder of path does not exist: {str(out.parent)!r}")
    if out.is_dir():
        raise PathIsDirectoryError(f"{fn}: path must be a file path, got a directory: {out}")

    data = as_image_data((images, labels), fn, name="(images, labels)")
    n, c, h, w = (int(s) for s in data.images.shape)
    uint8_in = isinstance(images, np.ndarray) and images.dtype == np.uint8
    if not uint8_in:  # once here, so that errors name make_dataset and show the whole batch's shape
        check_images(data.images, fn, min_size=MIN_SIZE, tol=RANGE_TOLERANCE)
    # corrupt from the caller's representation: uint8 in -> apply's uint8 path (truncation); float in -> float path
    src: Any = images if uint8_in else data.images.detach()


    lab = data.labels.cpu().numpy()
    lab = lab.astype(np.uint8) if lab.size and int(lab.max()) <= 255 else lab.astype(np.int64)
    s_total = len(sev) * n

    tmpdir = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    bar = None
    try:
        if show:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(chosen) * s_total, desc="make_dataset", unit="img")
        npy_files: list[tuple[str, Path]] = []
        for name in chosen:
            f = tmpdir / f"{name}.npy"
            mm = np.lib.format.open_memmap(f, mode="w+", dtype=np.uint8, shape=(s_total, h, w, c))
            for k, s in enumerate(sev):
                for start in range(0, n, chunk_size):
                    stop = min(n, start + chunk_size)
                    y = apply(src[start:stop], name, s, seed=seed, scale=scale, index_offset=start)
                    if not uint8_in:
                        y = (torch.floor(y.float() * 255.0).clamp_(0, 255).to(torch.uint8)  # np.uint8(x * 255)
                             .permute(0, 2, 3, 1).cpu().numpy())
                    elif y.ndim == 3:  # (N, H, W) grey
                        y = y[..., None]
                    mm[k * n + start : k * n + stop] = y
                    if bar is not None:
                        bar.update(stop - start)
            mm.flush()
            del mm
            npy_files.append((name, f))

        def write_npz(fobj: IO[bytes]) -> None:
            with zipfile.ZipFile(fobj, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                for name, f in npy_files:
                    zf.write(f, arcname=f"{name}.npy")
                    f.unlink()  # keep disk use near one copy
                zf.writestr("labels.npy", _npy_bytes(np.tile(lab, len(sev))))
                zf.writestr("severities.npy", _npy_bytes(np.repeat(np.asarray(sev, dtype=np.uint8), n)))

        atomic_write(out, write_npz, make_parents=False)
    finally:
        if bar is not None:
            bar.close()
        shutil.rmtree(tmpdir, ignore_errors=True)
    return out
