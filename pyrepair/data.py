"""Dataset loaders: small offline image-classification sets as float tensors.

Every loader returns an :class:`ImageData` pair ``(images, labels)``: ``images`` is a contiguous ``float32`` tensor of
shape ``(N, C, H, W)`` with values in ``[0, 1]`` and ``labels`` a contiguous ``int64`` tensor of shape ``(N,)``.
Nothing is ever downloaded: data comes from files already on disk, or (for ``digits``) from scikit-learn's bundled
copy.

Datasets (see :func:`names` and :func:`info`):

* ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images, values 0..16 scaled to ``[0, 1]``). It is
  embedded, so it never needs ``root``. The train/test split is a fixed stratified 80/20 split (see
  :data:`DIGITS_SPLIT_SEED`), identical on every call and every machine.
* ``mnist``, ``fashion_mnist``: from ``<name>.npz`` (keys ``x_train``, ``y_train``, ``x_test``, ``y_test``; uint8
  ``(N, 28, 28)``) or from the original idx files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each also gzipped as ``.gz`` and also in the dotted
  spelling ``train-images.idx3-ubyte``). ``fashion_mnist`` is also looked for in Debian's
  ``/usr/share/datasets/fashion-mnist/`` (``apt-get install dataset-fashion-mnist``).
* ``cifar10``: four sources, chosen by ``variant``:

  - ``"full"``: the complete exact data, either the original python batches (``cifar-10-batches-py/data_batch_1``
    .. ``data_batch_5``, ``test_batch``) or a full ``cifar10.npz`` (uint8 NHWC ``x_train``, ``y_train``,
    ``x_test``, ``y_test``).
  - ``"exact_subset"``: ``cifar10_exact_subset.npz``, exact original pixels but **only part of the data**: 8,068
    train images (canonical train indices 0-3999, 10000-11016, 20000-21016, 30000-31016, 40000-41016) and the first
    1,017 test images. Accuracies on it are not comparable with full CIFAR-10 numbers.
  - ``"jpeg_q75"``: ``cifar10_jpeg_q75.npz``, the full 10,000 test images and the first 20,000 train images, but the
    pixels went through a JPEG quality-75 re-encode and are **lossy** (mean abs error about 5.8/255). Loading it
    emits a :class:`~pyrepair.errors.PyrepairWarning`. Fine for pipeline tests and relative comparisons; never quote
    accuracies from it as CIFAR-10 results.
  - ``"auto"`` (default): the first one found of full batches, ``cifar10.npz``, the exact subset, the JPEG copy.

Files are looked for in the directories listed by :func:`search_paths`: ``root`` (if given), then ``root/<name>``,
then each directory of ``$PYREPAIR_DATA`` (``os.pathsep``-separated) and its ``<name>`` sub-folder (for
``fashion_mnist`` finally the Debian folder). The library never looks anywhere else implicitly.

Parsed arrays are cached in-process per (file, modification time, size), so repeated loads are cheap; every call
returns freshly allocated tensors that the caller may modify freely.

Example:
    >>> from pyrepair import data
    >>> images, labels = data.load("digits", "test")
    >>> images.shape, labels.dtype
    (torch.Size([359, 1, 8, 8]), torch.int64)
"""

from __future__ import annotations

import functools
import gzip
import logging
import os
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import INT64_MAX, check_in, format_shape
from ._images import ImageData, as_image_data
from .errors import (
    ArgumentError,
    ArgumentTypeError,
    DataFormatError,
    DataNotFoundError,
    DTypeError,
    PyrepairWarning,
    ShapeError,
)

__all__ = [
    "DIGITS_SPLIT_SEED",
    "DIGITS_TEST_FRACTION",
    "DataFormatError",
    "FailureSplit",  # noqa: F822 - moved to pyrepair.scenarios, resolved lazily by __getattr__
    "ImageData",
    "as_image_data",
    "clear_cache",
    "failure_split",
    "info",
    "load",
    "names",
    "search_paths",
]

logger = logging.getLogger(__name__)

#: Seed of the fixed stratified ``digits`` split (``numpy.random.RandomState``, whose stream numpy keeps frozen).
DIGITS_SPLIT_SEED = 0
#: Fraction of each ``digits`` class that goes to the test split (rounded half up per class).
DIGITS_TEST_FRACTION = 0.2

ENV_VAR = "PYREPAIR_DATA"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

_SPLITS = ("train", "test", "all")
_CIFAR_VARIANTS = ("auto", "full", "exact_subset", "jpeg_q75")
_PLAIN_VARIANTS = ("auto", "full")


# --------------------------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------------------------

_DIGIT_CLASSES = [str(i) for i in range(10)]
_FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
_CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

_INFO: dict[str, dict[str, Any]] = {
    "cifar10": {
        "classes": _CIFAR_CLASSES,
        "channels": 3,
        "size": (32, 32),
        "description": (
            "CIFAR-10 (Krizhevsky 2009), 32x32 RGB, 50k train / 10k test. Variants: 'full' (python batches or "
            "cifar10.npz), 'exact_subset' (exact pixels, PARTIAL: 8,068 train / 1,017 test), 'jpeg_q75' (LOSSY JPEG "
            "q75 pixels, 20k train / full 10k test; not for reporting CIFAR-10 results)."
        ),
    },
    "digits": {
        "classes": _DIGIT_CLASSES,
        "channels": 1,
        "size": (8, 8),
        "description": (
            "scikit-learn's bundled 8x8 handwritten digits (1,797 images, UCI optdigits test set), values 0..16 "
            f"scaled to [0, 1]; fixed stratified {1 - DIGITS_TEST_FRACTION:.0%}/{DIGITS_TEST_FRACTION:.0%} "
            f"train/test split (seed {DIGITS_SPLIT_SEED}). Embedded: needs no files."
        ),
    },
    "fashion_mnist": {
        "classes": _FASHION_CLASSES,
        "channels": 1,
        "size": (28, 28),
        "description": "Fashion-MNIST (Zalando, MIT licence), 28x28 grayscale clothing images, 60k train / 10k test.",
    },
    "mnist": {
        "classes": _DIGIT_CLASSES,
        "channels": 1,
        "size": (28, 28),
        "description": "MNIST handwritten digits (LeCun, Cortes, Burges; CC BY-SA 3.0), 28x28 grayscale, 60k / 10k.",
    },
}

# Extra sub-folder names looked in below each search directory, after ``<name>`` (torchvision's layout).
_SUBDIR_ALIASES: dict[str, tuple[str, ...]] = {
    "cifar10": (),
    "digits": (),
    "fashion_mnist": ("fashion-mnist", "FashionMNIST/raw"),
    "mnist": ("MNIST/raw",),
}

_NPZ_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": ("fashion_mnist.npz", "fashion-mnist.npz"),
}

_IDX_STEMS = {
    ("train", "images"): ("train-images", "idx3"),
    ("train", "labels"): ("train-labels", "idx1"),
    ("test", "images"): ("t10k-images", "idx3"),
    ("test", "labels"): ("t10k-labels", "idx1"),
}

_CIFAR_BATCH_DIR = "cifar-10-batches-py"
_CIFAR_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
_CIFAR_FULL_NPZ = "cifar10.npz"
_CIFAR_SUBSET_NPZ = "cifar10_exact_subset.npz"
_CIFAR_JPEG_NPZ = "cifar10_jpeg_q75.npz"

_JPEG_WARNING = (
    "pyrepair.data.load: using cifar10_jpeg_q75.npz, whose pixels are LOSSY (JPEG quality 75 re-encode, mean abs "
    "error about 5.8/255). It is fine for pipeline tests and relative comparisons, but do not report accuracies on it "
    "as CIFAR-10 results or use it where exact pixels matter (e.g. eps=8/255 robustness); provide the original "
    "cifar-10-batches-py for exact data."
)


def names() -> list[str]:
    """Return the names of the data sets :func:`load` knows, sorted.

    Returns:
        ``["cifar10", "digits", "fashion_mnist", "mnist"]``.
    """
    return sorted(_INFO)


def info(name: str) -> dict[str, Any]:
    """Describe a data set without loading it.

    Args:
        name: one of :func:`names`.

    Returns:
        A new dict with ``classes`` (list of class names, index = label), ``channels`` (int), ``size`` (``(H, W)``
        of the stored images), ``num_classes`` (int), ``description`` (str), ``splits`` (valid ``split`` values)
        and ``variants`` (valid ``variant`` values).

    Raises:
        UnknownNameError: ``name`` is not a known data set.
    """
    check_in("dataset name", name, _INFO, "pyrepair.data.info")
    entry = _INFO[name]
    return {
        "classes": list(entry["classes"]),
        "channels": entry["channels"],
        "size": tuple(entry["size"]),
        "num_classes": len(entry["classes"]),
        "description": entry["description"],
        "splits": list(_SPLITS),
        "variants": list(_CIFAR_VARIANTS if name == "cifar10" else _PLAIN_VARIANTS),
    }


# --------------------------------------------------------------------------------------------------------------------
# Search paths
# --------------------------------------------------------------------------------------------------------------------


def _base_dirs(root: str | os.PathLike[str] | None, fn: str) -> list[tuple[Path, bool]]:
    """``[(dir, is_root)]``: ``root`` then each ``$PYREPAIR_DATA`` entry."""
    out: list[tuple[Path, bool]] = []
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise ArgumentTypeError(f"{fn}: root must be a str or os.PathLike, got {type(root).__name__} {root!r}")
        out.append((Path(root).expanduser(), True))
    for part in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if part.strip():
            out.append((Path(part.strip()).expanduser(), False))
    return out


def search_paths(root: str | os.PathLike[str] | None = None, name: str | None = None) -> list[Path]:
    """List the directories :func:`load` looks in, in order.

    The order is ``root``, ``root/<name>`` (plus torchvision-style aliases such as ``root/MNIST/raw``), then for each
    directory ``D`` in ``$PYREPAIR_DATA`` (``os.pathsep``-separated) ``D`` and ``D/<name>`` (and aliases), and for
    ``fashion_mnist`` finally ``/usr/share/datasets/fashion-mnist``. Directories that do not exist are listed too
    (they are skipped when loading); duplicates are removed. For ``cifar10``, the ``cifar-10-batches-py`` folder is
    looked for inside each of these directories (or a directory may itself be that folder).

    Args:
        root: an explicit data directory, searched first.
        name: a data set name; ``None`` lists only the base directories (``root`` and ``$PYREPAIR_DATA``). For
            ``digits``, which is embedded, the list is empty.

    Returns:
        The directories, in search order.

    Raises:
        UnknownNameError: ``name`` is not a known data set.
        TypeError: ``root`` is not a str or path.
    """
    fn = "pyrepair.data.search_paths"
    _base_dirs(root, fn)  # checks root's type, also where it is not used (digits)
    if name is not None:
        check_in("dataset name", name, _INFO, fn)
        if name == "digits":
            return []
    out: list[Path] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        key = os.path.normpath(os.path.abspath(p))
        if key not in seen:
            seen.add(key)
            out.append(p)

    for base, _ in _base_dirs(root, fn):
        add(base)
        if name is not None:
            add(base / name)
            for alias in _SUBDIR_ALIASES[name]:
                add(base / alias)
    if name == "fashion_mnist":
        add(DEBIAN_FASHION_MNIST)
    return out


# --------------------------------------------------------------------------------------------------------------------
# File parsing (cached)
# --------------------------------------------------------------------------------------------------------------------


def _file_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=24)
def _cached_npz_array(path: str, mtime_ns: int, size: int, key: str) -> np.ndarray:
    del mtime_ns, size  # part of the cache key only
    try:
        with np.load(path, allow_pickle=False) as z:
            if key not in z.files:
                raise DataFormatError(
                    f"pyrepair.data.load: {path} has no array {key!r}; it holds {', '.join(sorted(z.files)) or 'none'}"
                )
            arr = np.array(z[key])  # own copy
    except DataFormatError:
        raise
    except Exception as e:  # zipfile.BadZipFile, OSError, ValueError (pickled object arrays), EOFError
        raise DataFormatError(f"pyrepair.data.load: cannot read {path} as a numpy .npz archive: {e}") from e
    return _readonly(arr)


def _npz_array(path: Path, key: str) -> np.ndarray:
    return _cached_npz_array(*_file_key(path), key)


_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _parse_idx(raw: bytes, path: str) -> np.ndarray:
    """Parse the idx format: magic ``00 00 <dtype> <ndim>``, then ``ndim`` big-endian uint32 sizes, then the data."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        head = raw[:4].hex(" ") if raw else "(empty file)"
        raise DataFormatError(
            f"pyrepair.data.load: {path} is not a valid idx file: bad magic number {head} (expected 00 00 <type> "
            "<ndim>, e.g. 00 00 08 03 for images and 00 00 08 01 for labels); the file is corrupt or not idx"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFormatError(f"pyrepair.data.load: {path} is truncated: the idx header needs {header} bytes")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        raise DataFormatError(
            f"pyrepair.data.load: {path} is truncated or padded: header says shape {format_shape(dims)} "
            f"({count * dtype.itemsize} data bytes), file has {len(raw) - header}"
        )
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


@functools.lru_cache(maxsize=8)
def _cached_idx(path: str, mtime_ns: int, size: int) -> np.ndarray:
    del mtime_ns, size
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as e:
        raise DataFormatError(f"pyrepair.data.load: cannot read {path}: {e}") from e
    return _readonly(_parse_idx(raw, path))


def _idx_array(path: Path) -> np.ndarray:
    return _cached_idx(*_file_key(path))


@functools.lru_cache(maxsize=6)
def _cached_cifar_batch(path: str, mtime_ns: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    del mtime_ns, size
    try:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")  # noqa: S301 - trusted local file, see load()'s docstring
    except Exception as e:  # UnpicklingError, EOFError, truncated files, ...
        raise DataFormatError(f"pyrepair.data.load: cannot unpickle CIFAR-10 batch {path}: {e}") from e
    if not isinstance(d, dict):
        raise DataFormatError(f"pyrepair.data.load: {path} holds a {type(d).__name__}, expected a CIFAR-10 batch dict")

    def get(key: str) -> Any:
        for k in (key.encode(), key):
            if k in d:
                return d[k]
        raise DataFormatError(f"pyrepair.data.load: CIFAR-10 batch {path} has no {key!r} entry")

    x = np.asarray(get("data"))
    y = np.asarray(get("labels"))
    if x.dtype != np.uint8:
        raise DTypeError(f"pyrepair.data.load: 'data' in {path} must be uint8, got {x.dtype}")
    if x.ndim != 2 or x.shape[1] != 3 * 32 * 32:
        raise ShapeError(
            f"pyrepair.data.load: 'data' in {path} must have shape [N, 3072], got {format_shape(x.shape)}",
            actual_shape=x.shape,
            expected="N,3072",
        )
    x = np.array(x.reshape(-1, 3, 32, 32))  # rows are CHW, row-major: already NCHW
    y = _check_labels_array(y, x.shape[0], 10, path, "labels")
    return _readonly(x), _readonly(y)


def clear_cache() -> None:
    """Drop every parsed array held by the in-process cache (frees memory; later loads re-read the files)."""
    _cached_npz_array.cache_clear()
    _cached_idx.cache_clear()
    _cached_cifar_batch.cache_clear()
    _digits_arrays.cache_clear()


# --------------------------------------------------------------------------------------------------------------------
# Validation of arrays read from files
# --------------------------------------------------------------------------------------------------------------------


def _check_labels_array(y: np.ndarray, n: int, num_classes: int, path: str, key: str) -> np.ndarray:
    if y.ndim != 1:
        raise ShapeError(
            f"pyrepair.data.load: {key} in {path} must have shape [N], got {format_shape(y.shape)}",
            actual_shape=y.shape,
            expected="N",
        )
    if y.shape[0] != n:
        raise ShapeError(
            f"pyrepair.data.load: {path} holds {n} images but {y.shape[0]} labels ({key})",
            actual_shape=y.shape,
            expected=f"{n}",
        )
    if not (np.issubdtype(y.dtype, np.integer)):
        raise DTypeError(f"pyrepair.data.load: {key} in {path} must be integer, got {y.dtype}")
    if y.size and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise DataFormatError(
            f"pyrepair.data.load: {key} in {path} must lie in [0, {num_classes}), got [{int(y.min())}, {int(y.max())}]"
        )
    return y.astype(np.int64)


def _check_images_array(x: np.ndarray, shape: tuple[int, ...], path: str, key: str) -> None:
    """``shape`` is the expected per-image shape, e.g. ``(28, 28)`` or ``(32, 32, 3)``."""
    if x.ndim != 1 + len(shape) or tuple(x.shape[1:]) != shape:
        expected = "[N, " + ", ".join(str(s) for s in shape) + "]"
        raise ShapeError(
            f"pyrepair.data.load: {key} in {path} must have shape {expected}, got {format_shape(x.shape)}",
            actual_shape=x.shape,
            expected="N," + ",".join(str(s) for s in shape),
        )
    if x.dtype != np.uint8:
        raise DTypeError(f"pyrepair.data.load: {key} in {path} must be uint8, got {x.dtype}")


# --------------------------------------------------------------------------------------------------------------------
# Sources: each finds its files in one directory and reads them as (uint8 images, layout, int64 labels) parts
# --------------------------------------------------------------------------------------------------------------------

_Part = tuple[np.ndarray, str, np.ndarray]  # (uint8 images, "NHW" | "NHWC" | "NCHW", int64 labels)


@dataclass(frozen=True)
class _Source:
    label: str  # e.g. "mnist.npz in /data" for logs
    variant: str
    read: Callable[[], list[_Part]]


def _parts_splits(split: str) -> tuple[str, ...]:
    return ("train", "test") if split == "all" else (split,)


def _npz_source(path: Path, split: str, img_shape: tuple[int, ...], layout: str, num_classes: int) -> list[_Part]:
    parts: list[_Part] = []
    for s in _parts_splits(split):
        x = _npz_array(path, f"x_{s}")
        y = _npz_array(path, f"y_{s}")
        _check_images_array(x, img_shape, str(path), f"x_{s}")
        parts.append((x, layout, _check_labels_array(y, x.shape[0], num_classes, str(path), f"y_{s}")))
    return parts


def _find_idx(d: Path, split: str, kind: str) -> Path | None:
    stem, idx = _IDX_STEMS[(split, kind)]
    for base in (f"{stem}-{idx}-ubyte", f"{stem}.{idx}-ubyte"):
        for fname in (base, base + ".gz"):
            p = d / fname
            if p.is_file():
                return p
    return None


def _idx_source(paths: dict[str, tuple[Path, Path]]) -> list[_Part]:
    parts: list[_Part] = []
    for _s, (xp, yp) in paths.items():
        x = _idx_array(xp)
        y = _idx_array(yp)
        _check_images_array(x, (28, 28), str(xp), "images")
        if y.ndim == 1 and y.shape[0] != x.shape[0]:
            raise ShapeError(
                f"pyrepair.data.load: {xp} holds {x.shape[0]} images but {yp} holds {y.shape[0]} labels",
                actual_shape=y.shape,
                expected=str(x.shape[0]),
            )
        parts.append((x, "NHW", _check_labels_array(y, x.shape[0], 10, str(yp), "labels")))
    return parts


def _mnist_like_sources(name: str, split: str, dirs: list[Path]) -> tuple[list[_Source], list[str]]:
    wanted = list(_NPZ_NAMES[name])
    for s in _parts_splits(split):
        for kind in ("images", "labels"):
            stem, idx = _IDX_STEMS[(s, kind)]
            wanted.append(f"{stem}-{idx}-ubyte[.gz]")
    sources: list[_Source] = []
    for d in dirs:
        if not d.is_dir():
            continue
        for fname in _NPZ_NAMES[name]:
            p = d / fname
            if p.is_file():
                sources.append(_Source(str(p), "full", functools.partial(_npz_source, p, split, (28, 28), "NHW", 10)))
        found: dict[str, tuple[Path, Path]] = {}
        for s in _parts_splits(split):
            xp, yp = _find_idx(d, s, "images"), _find_idx(d, s, "labels")
            if xp is not None and yp is not None:
                found[s] = (xp, yp)
        if len(found) == len(_parts_splits(split)):
            sources.append(_Source(f"idx files in {d}", "full", functools.partial(_idx_source, found)))
    return sources, wanted


def _batch_dirs(d: Path) -> list[Path]:
    return [d / _CIFAR_BATCH_DIR, d]


def _cifar_batches_source(bdir: Path, split: str) -> list[_Part]:
    parts: list[_Part] = []
    for s in _parts_splits(split):
        for b in _CIFAR_BATCHES[s]:
            x, y = _cached_cifar_batch(*_file_key(bdir / b))
            parts.append((x, "NCHW", y))
    return parts


def _cifar_sources(split: str, variant: str, dirs: list[Path]) -> tuple[list[_Source], list[str]]:
    existing = [d for d in dirs if d.is_dir()]
    want_batches = [b for s in _parts_splits(split) for b in _CIFAR_BATCHES[s]]
    batches: list[_Source] = []
    seen: set[str] = set()
    for d in existing:
        for bdir in _batch_dirs(d):
            key = os.path.normpath(os.path.abspath(bdir))
            if key in seen:
                continue
            seen.add(key)
            if all((bdir / b).is_file() for b in want_batches):
                read = functools.partial(_cifar_batches_source, bdir, split)
                batches.append(_Source(f"CIFAR-10 python batches in {bdir}", "full", read))

    def npz(fname: str, var: str) -> list[_Source]:
        return [
            _Source(str(d / fname), var, functools.partial(_npz_source, d / fname, split, (32, 32, 3), "NHWC", 10))
            for d in existing
            if (d / fname).is_file()
        ]

    batch_names = f"{_CIFAR_BATCH_DIR}/{{{','.join(want_batches)}}}"
    by_variant: dict[str, tuple[list[str], Callable[[], list[_Source]]]] = {
        "full": ([batch_names, _CIFAR_FULL_NPZ], lambda: batches + npz(_CIFAR_FULL_NPZ, "full")),
        "exact_subset": ([_CIFAR_SUBSET_NPZ], lambda: npz(_CIFAR_SUBSET_NPZ, "exact_subset")),
        "jpeg_q75": ([_CIFAR_JPEG_NPZ], lambda: npz(_CIFAR_JPEG_NPZ, "jpeg_q75")),
    }
    order = ("full", "exact_subset", "jpeg_q75") if variant == "auto" else (variant,)
    sources: list[_Source] = []
    wanted: list[str] = []
    for v in order:
        files, make = by_variant[v]
        wanted += files
        sources += make()
    return sources, wanted


# --------------------------------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------------------------------


def _as_nchw(x: np.ndarray, layout: str) -> np.ndarray:
    if layout == "NHW":
        return x[:, None]
    if layout == "NHWC":
        return x.transpose(0, 3, 1, 2)
    return x


def _to_tensors(parts: list[_Part], limit: int | None, scale: float) -> ImageData:
    """Concatenate parts (first ``limit`` rows) into fresh float32 NCHW / int64 tensors (never views of the cache)."""
    n_total = sum(p[0].shape[0] for p in parts)
    n = n_total if limit is None else min(limit, n_total)
    c, h, w = _as_nchw(parts[0][0][:0], parts[0][1]).shape[1:]
    images = np.empty((n, c, h, w), dtype=np.float32)
    labels = np.empty((n,), dtype=np.int64)
    o = 0
    for x, layout, y in parts:
        k = min(x.shape[0], n - o)
        if k <= 0:
            break
        np.divide(_as_nchw(x[:k], layout), np.float32(scale), out=images[o : o + k], dtype=np.float32)
        labels[o : o + k] = y[:k]
        o += k
    return ImageData(torch.from_numpy(images), torch.from_numpy(labels))


def _resize(images: torch.Tensor, size: tuple[int, int], chunk: int = 4096) -> torch.Tensor:
    if tuple(images.shape[-2:]) == size:
        return images
    out = torch.empty((images.shape[0], images.shape[1], *size), dtype=images.dtype)
    for i in range(0, images.shape[0], chunk):
        r = F.interpolate(images[i : i + chunk], size=size, mode="bilinear", align_corners=False, antialias=True)
        out[i : i + chunk] = r.clamp_(0.0, 1.0)
    return out


def _check_size(size: Any, fn: str) -> tuple[int, int] | None:
    if size is None:
        return None

    def ok(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 1 <= int(v) <= _MAX_SIZE

    if ok(size):
        return (int(size), int(size))
    if isinstance(size, (tuple, list)) and len(size) == 2 and all(ok(v) for v in size):
        return (int(size[0]), int(size[1]))
    raise ArgumentError(
        f"{fn}: size must be an int in [1, {_MAX_SIZE}] or a (height, width) pair of them, got {size!r}"
    )


_MAX_SIZE = 2**16
"""Largest image side :func:`load` resizes to (far above any data set here; larger sizes cannot be allocated)."""


def _check_limit(limit: Any, fn: str) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or not 1 <= int(limit) <= INT64_MAX:
        raise ArgumentError(f"{fn}: limit must be None or an int in [1, 2^63 - 1], got {limit!r}")
    return int(limit)


# --------------------------------------------------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(images (N,1,8,8) float64 in 0..16, labels int64, train_idx, test_idx)``, all read-only."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    x, y = load_digits(return_X_y=True)
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1, 8, 8)
    y = np.asarray(y, dtype=np.int64)
    rs = np.random.RandomState(DIGITS_SPLIT_SEED)  # legacy generator: stream frozen across numpy versions
    test: list[np.ndarray] = []
    for c in range(10):
        idx = np.flatnonzero(y == c)
        n_test = int(np.floor(DIGITS_TEST_FRACTION * idx.size + 0.5))
        test.append(rs.permutation(idx)[:n_test])
    test_idx = np.sort(np.concatenate(test))
    train_mask = np.ones(y.size, dtype=bool)
    train_mask[test_idx] = False
    train_idx = np.flatnonzero(train_mask)
    return _readonly(x), _readonly(y), _readonly(train_idx), _readonly(test_idx)


def _load_digits(split: str, limit: int | None) -> ImageData:
    x, y, train_idx, test_idx = _digits_arrays()
    if split == "train":
        x, y = x[train_idx], y[train_idx]
    elif split == "test":
        x, y = x[test_idx], y[test_idx]
    return _to_tensors([(x, "NCHW", y)], limit, 16.0)


# --------------------------------------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------------------------------------


def load(
    name: str,
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    *,
    size: int | tuple[int, int] | None = None,
    variant: str = "auto",
    limit: int | None = None,
) -> ImageData:
    """Load an image-classification data set from local files as float tensors.

    Files are looked for in :func:`search_paths` order (``root``, ``root/<name>``, ``$PYREPAIR_DATA``,
    ``$PYREPAIR_DATA/<name>``, ...); nothing is downloaded. ``digits`` is embedded and ignores ``root``. See the
    module docstring for the accepted file formats.

    Security: CIFAR-10's original python batches are pickles, read with ``pickle.load(f, encoding="bytes")``.
    Unpickling can run arbitrary code, so only point ``root`` / ``$PYREPAIR_DATA`` at trusted files. ``.npz`` files are
    read with ``allow_pickle=False``.

    Args:
        name: one of :func:`names`: ``"cifar10"``, ``"digits"``, ``"fashion_mnist"``, ``"mnist"``.
        split: ``"train"``, ``"test"`` or ``"all"`` (train followed by test; for ``digits`` all 1,797 images in
            scikit-learn's order).
        root: a directory to search before ``$PYREPAIR_DATA``.
        size: resize to ``size x size`` (int) or ``(H, W)`` with bilinear antialiased interpolation, clamped to
            ``[0, 1]``; ``None`` keeps the stored size.
        variant: ``"auto"`` or, for ``cifar10`` only, ``"full"``, ``"exact_subset"`` (exact pixels, partial: 8,068
            train / 1,017 test) or ``"jpeg_q75"`` (lossy pixels, 20,000 train / 10,000 test; warns). ``"auto"``
            picks the first found of full batches, ``cifar10.npz``, the exact subset, the JPEG copy. For the other
            data sets ``"full"`` is accepted as a synonym of ``"auto"``.
        limit: keep only the first ``limit`` images (quick runs); ``None`` keeps all.

    Returns:
        ``ImageData(images, labels)``: fresh tensors, safe to modify.

    Shape:
        - images: ``(N, C, H, W)`` float32 in ``[0, 1]``; ``C`` is 1 for ``digits``/``mnist``/``fashion_mnist`` and 3
          for ``cifar10``; ``(H, W)`` is the stored size (8x8, 28x28, 32x32) or ``size``.
        - labels: ``(N,)`` int64 in ``[0, num_classes)``.

    Raises:
        UnknownNameError: unknown ``name``, ``split`` or ``variant`` (the message lists the valid values).
        ValueError: bad ``size`` or ``limit``.
        DataNotFoundError: no file found; the message lists the file names and every directory searched.
        ShapeError: a file holds arrays of the wrong shape, or different numbers of images and labels.
        DTypeError: a file holds arrays of the wrong dtype.
        DataFormatError: a file is corrupt (bad idx magic number, truncated, missing keys, labels out of range).

    Warns:
        PyrepairWarning: when the lossy ``cifar10_jpeg_q75.npz`` is used.
    """
    fn = "pyrepair.data.load"
    check_in("dataset name", name, _INFO, fn)
    _base_dirs(root, fn)  # checks root's type, also where it is not used (digits)
    check_in("split", split, _SPLITS, fn)
    check_in("variant", variant, _CIFAR_VARIANTS if name == "cifar10" else _PLAIN_VARIANTS, fn)
    size_hw = _check_size(size, fn)
    n_limit = _check_limit(limit, fn)

    if name == "digits":
        data = _load_digits(split, n_limit)
        source = "sklearn.datasets.load_digits"
    else:
        dirs = search_paths(root, name)
        if name == "cifar10":
            sources, wanted = _cifar_sources(split, variant, dirs)
        else:
            sources, wanted = _mnist_like_sources(name, split, dirs)
        if not sources:
            listed = "\n".join(f"  {d}" + ("" if d.is_dir() else "  (does not exist)") for d in dirs) or "  (none)"
            raise DataNotFoundError(
                f"{fn}: data set {name!r} (split {split!r}, variant {variant!r}) not found. Looked for "
                f"{', '.join(wanted)} in these directories, in order:\n{listed}\n"
                f"Pass root=<directory> or set the {ENV_VAR} environment variable to a directory holding these files."
            )
        chosen = sources[0]
        if chosen.variant == "jpeg_q75":
            warnings.warn(_JPEG_WARNING, PyrepairWarning, stacklevel=2)
        elif chosen.variant == "exact_subset":
            logger.info(
                "%s: using %s: exact pixels but only a PARTIAL CIFAR-10 (8,068 train / 1,017 test)", fn, chosen.label
            )
        data = _to_tensors(chosen.read(), n_limit, 255.0)
        source = chosen.label
    logger.debug("%s: loaded %s/%s from %s: %d images", fn, name, split, source, data.images.shape[0])
    if size_hw is not None:
        data = ImageData(_resize(data.images, size_hw).contiguous(), data.labels)
    return data


# --------------------------------------------------------------------------------------------------------------------
# Moved names
# --------------------------------------------------------------------------------------------------------------------


def failure_split(*args: Any, **kwargs: Any) -> Any:
    """Deprecated alias of :func:`pyrepair.scenarios.corruption_failures` (same arguments, same result).

    Warns:
        DeprecationWarning: always; use :func:`pyrepair.scenarios.corruption_failures`.
    """
    warnings.warn(
        "pyrepair.data.failure_split is deprecated; use pyrepair.scenarios.corruption_failures (same arguments)",
        DeprecationWarning,
        stacklevel=2,
    )
    from .scenarios import corruption_failures  # lazy: scenarios imports the corruption kernels

    return corruption_failures(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "FailureSplit":  # moved to pyrepair.scenarios; kept importable from here
        from .scenarios import FailureSplit

        return FailureSplit
    raise AttributeError(f"module 'pyrepair.data' has no attribute {name!r}")
