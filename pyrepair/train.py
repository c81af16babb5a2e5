"""Training, evaluation, prediction and checkpoints for image classifiers.

The functions here work on any ``torch.nn.Module`` that maps a float image batch ``[N, C, H, W]`` to logits
``[N, K]``. Data may be given as an ``(images, labels)`` pair of tensors, a map-style or iterable
``torch.utils.data.Dataset`` yielding ``(image, label)``, or a ready ``DataLoader`` (used as is).

Reproducibility: :func:`fit` never draws from the global random number generators as they stand. Shuffling uses an
explicit ``torch.Generator``, and the global RNGs (needed by dropout and other random layers) are seeded inside
``torch.random.fork_rng`` so the caller's RNG state is restored when ``fit`` returns. Both are reseeded at the start
of every epoch from ``(seed, epoch)``, so on CPU the same seed and data give bit-identical weights, and a run resumed
from a checkpoint continues exactly as an uninterrupted one.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from pyrepair.train import evaluate, fit
    >>> x, y = torch.randn(64, 1, 8, 8), torch.randint(0, 2, (64,))
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    >>> history = fit(model, (x, y), epochs=2, batch_size=16, progress=False)
    >>> len(history)
    2
    >>> sorted(evaluate(model, (x, y)))[:2]
    ['accuracy', 'correct']
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ._checks import check_in, check_int, check_positive, check_range, check_seed
from ._io import PathLike, check_path, load_hashed, save_hashed
from ._loop import OPTIMIZERS as _LOOP_OPTIMIZERS
from ._loop import (
    Callback,
    LoopHooks,
    LoopState,
    LossFn,
    TrainLoop,
    amp_settings,
    as_loader,
    check_callbacks,
    check_label_range,
    check_logits,
    check_loss_fn,
    check_model,
    check_model_input,
    first_image,
    grad_scaler,
    make_optimizer,
    on_device,
    resolve_device,
    resolve_progress,
    run_eval,
)
from ._loop import predict as predict_logits
from .errors import ArgumentError, ArgumentTypeError, CheckpointError, PyrepairWarning

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "Callback",
    "Checkpoint",
    "CheckpointError",
    "History",
    "OPTIMIZERS",
    "SCHEDULERS",
    "evaluate",
    "fit",
    "load_checkpoint",
    "predict",
    "resolve_device",
    "save_checkpoint",
]

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "pyrepair-checkpoint"
"""Value of the ``"format"`` key that marks a file written by :func:`save_checkpoint`."""

CHECKPOINT_VERSION = 1
"""Version of the checkpoint layout written by :func:`save_checkpoint`.

The ``"sha256"`` content hash was added without a version bump: it is an extra key that older readers ignore, so
older pyrepair versions still read new files, and files without it (written before it existed) still load, with a
:class:`~pyrepair.errors.PyrepairWarning`."""

OPTIMIZERS: tuple[str, ...] = _LOOP_OPTIMIZERS
"""Optimizer names accepted by :func:`fit`: ``("adam", "adamw", "sgd")``."""

SCHEDULERS: tuple[str, ...] = ("cosine", "none", "step")
"""Learning-rate schedule names accepted by :func:`fit`."""

DataArg = Sequence[Any] | Dataset | DataLoader

_FIT = "pyrepair.train.fit"
_EVALUATE = "pyrepair.train.evaluate"
_PREDICT = "pyrepair.train.predict"
_SAVE = "pyrepair.train.save_checkpoint"
_LOAD = "pyrepair.train.load_checkpoint"


# --------------------------------------------------------------------------------------------------------------------
# History and Checkpoint
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class History:
    """Per-epoch training records returned by :func:`fit`.

    Each record is a plain dict with keys ``"epoch"`` (1-based), ``"train_loss"``, ``"train_accuracy"``, ``"lr"``
    (the learning rate used during the epoch), ``"seconds"`` and, when validation data was given, ``"val_loss"``
    and ``"val_accuracy"``. Accuracies are fractions in ``[0, 1]``.

    Attributes:
        epochs: the records, oldest first.

    Example:
        >>> h = History([{"epoch": 1, "val_accuracy": 0.7}, {"epoch": 2, "val_accuracy": 0.9}])
        >>> h.best("val_accuracy")["epoch"], h.last["epoch"]
        (2, 2)
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.epochs)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.epochs)

    @property
    def last(self) -> dict[str, Any] | None:
        """The most recent record, or ``None`` when no epoch has run."""
        return self.epochs[-1] if self.epochs else None

    def values(self, metric: str) -> list[Any]:
        """The values of ``metric`` over the records that have it, oldest first.

        Args:
            metric: a record key such as ``"train_loss"``.

        Returns:
            The list of values (empty when no record has the key).
        """
        return [r[metric] for r in self.epochs if metric in r]

    def best(self, metric: str = "val_accuracy", mode: Literal["max", "min"] | None = None) -> dict[str, Any]:
        """The record with the best value of ``metric``; the earliest one wins ties.

        Args:
            metric: a record key, e.g. ``"val_accuracy"`` or ``"val_loss"``.
            mode: ``"max"`` or ``"min"``; by default ``"min"`` for metrics whose name ends in ``"loss"`` or is
                ``"seconds"``, ``"max"`` otherwise. NaN values are never best.

        Returns:
            The best record (the stored dict itself).

        Raises:
            UnknownNameError: no record has ``metric``; the message lists the metrics that exist.
            ValueError: ``mode`` is not ``"max"`` or ``"min"``.
        """
        fn = "pyrepair.train.History.best"
        if mode is None:
            mode = "min" if metric.endswith("loss") or metric == "seconds" else "max"
        check_in("mode", mode, ("max", "min"), fn)
        candidates = [r for r in self.epochs if metric in r and r[metric] is not None]
        if not candidates:
            available = sorted({k for r in self.epochs for k in r})
            check_in("metric", metric, available, fn)  # raises: listed metrics exist but none of them is `metric`
        if not candidates:
            raise ArgumentError(f"{fn}: no record has a value for metric {metric!r}")
        finite = [r for r in candidates if not (isinstance(r[metric], float) and math.isnan(r[metric]))]
        pool = finite or candidates
        key = (lambda r: r[metric]) if mode == "max" else (lambda r: -r[metric])
        best = pool[0]
        for r in pool[1:]:
            if key(r) > key(best):
                best = r
        return best

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict copy (``{"epochs": [...]}``), JSON-able and safe for ``torch.load(weights_only=True)``."""
        return {"epochs": [dict(r) for r in self.epochs]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> History:
        """Rebuild a :class:`History` from :meth:`to_dict` output.

        Args:
            d: a mapping with key ``"epochs"`` holding a list of record dicts.

        Returns:
            A new :class:`History`.

        Raises:
            TypeError: ``d`` is not a mapping with a list of dicts under ``"epochs"``.
        """
        fn = "pyrepair.train.History.from_dict"
        if not isinstance(d, Mapping) or not isinstance(d.get("epochs"), (list, tuple)):
            raise ArgumentTypeError(f"{fn}: d must be a mapping with a list under 'epochs', got {type(d).__name__}")
        records = []
        for i, r in enumerate(d["epochs"]):
            if not isinstance(r, Mapping):
                raise ArgumentTypeError(f"{fn}: d['epochs'][{i}] must be a dict, got {type(r).__name__}")
            records.append(dict(r))
        return cls(records)


@dataclass
class Checkpoint:
    """The contents of a checkpoint file, as returned by :func:`load_checkpoint`.

    Attributes:
        path: the file that was read.
        state_dict: the model's ``state_dict``.
        config: the model's ``pyrepair_config`` (architecture name and constructor arguments), or ``None``.
        epoch: number of completed training epochs, or ``None``.
        history: the training :class:`History`, or ``None``.
        metadata: torch and pyrepair versions, write time, the ``fit`` arguments and any user metadata.
        optimizer_state: the optimizer's ``state_dict``, or ``None``.
        scheduler_state: the learning-rate scheduler's ``state_dict``, or ``None``.
        scaler_state: the AMP ``GradScaler``'s ``state_dict``, or ``None``.
        model: the model the weights were loaded into (the one passed in, or one built from ``config``), or
            ``None`` when neither was available.
        version: the checkpoint layout version.
    """

    path: Path
    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any] | None = None
    epoch: int | None = None
    history: History | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    optimizer_state: dict[str, Any] | None = None
    scheduler_state: dict[str, Any] | None = None
    scaler_state: dict[str, Any] | None = None
    model: nn.Module | None = None
    version: int = CHECKPOINT_VERSION


# --------------------------------------------------------------------------------------------------------------------
# Evaluation and prediction
# --------------------------------------------------------------------------------------------------------------------


def evaluate(
    model: nn.Module,
    data: DataArg,
    *,
    batch_size: int = 512,
    device: str | int | torch.device | None = None,
    loss_fn: LossFn | None = None,
    progress: bool | None = False,
) -> dict[str, Any]:
    """Accuracy and loss of ``model`` on ``data``.

    The model is run in eval mode without gradients; the train/eval mode of every submodule is restored
    afterwards, and so is its device when ``device`` moved it.

    Args:
        model: a classifier mapping ``[N, C, H, W]`` floats to ``[N, K]`` logits.
        data: an ``(images, labels)`` pair of tensors, a ``Dataset`` yielding ``(image, label)`` or a
            ``DataLoader``.
        batch_size: samples per forward pass (ignored for a ``DataLoader``).
        device: where to run; ``None`` runs where the model's parameters are. Another device moves the model
            there for the call and back afterwards.
        loss_fn: ``loss_fn(logits, labels) -> scalar`` averaged over the batch; default cross-entropy.
        progress: show a tqdm bar over batches; ``None`` decides as :func:`fit` does.

    Returns:
        ``{"accuracy": float in [0, 1], "loss": float (mean per sample), "n": int, "correct": int,
        "per_class_accuracy": list of K floats}``; classes absent from ``data`` get ``nan``.

    Raises:
        ValueError: empty data, labels outside ``[0, K)``, or NaN/inf images.
        ShapeError, DTypeError: malformed images or labels, or images the model does not accept (checked with one
            forward of the first image before the evaluation; the message gives the model's expected input when
            it is a :mod:`pyrepair.models` model).
        DeviceError: ``device`` is not available (the message lists the valid forms).

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> evaluate(model, (torch.zeros(2, 1, 2, 2), torch.tensor([0, 1])))["n"]
        2
    """
    fn = _EVALUATE
    check_model(model, fn)
    batch_size = check_int(batch_size, "batch_size", fn, min_value=1)
    check_loss_fn(loss_fn, fn)
    show = resolve_progress(progress, fn)
    with on_device(model, device, fn) as dev:
        loader = as_loader(data, batch_size, False, None, fn, name="data", pin_memory=dev.type == "cuda")
        _check_fits_model(model, data, dev, fn, "data")
        return run_eval(model, loader, dev, loss_fn, fn, "data", show)


def _check_fits_model(model: nn.Module, data: Any, dev: torch.device, fn: str, name: str) -> int | None:
    """Before any pass over ``data``: one forward of its first image (a :class:`ShapeError` when the model does not
    accept its shape) and, for a tensor pair, its labels against the model's ``K`` outputs. Returns ``K`` (``None``
    when the first image cannot be read cheaply; the per-batch checks still apply)."""
    image = first_image(data)
    if image is None:
        return None
    k = check_model_input(model, image, dev, fn, f"{name} images")
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[1], (torch.Tensor, np.ndarray)):
        labels = torch.as_tensor(data[1])
        if labels.numel():
            check_label_range(labels, k, fn, name)
    return k


def predict(
    model: nn.Module,
    images: torch.Tensor | np.ndarray,
    *,
    batch_size: int = 512,
    device: str | int | torch.device | None = None,
) -> torch.Tensor:
    """Logits of ``model`` for a batch of images.

    The model is run in eval mode without gradients; its train/eval modes (and its device, when ``device`` moved
    it) are restored afterwards.

    Args:
        model: a classifier mapping ``[N, C, H, W]`` floats to ``[N, K]`` logits.
        images: float tensor (or numpy array) of shape ``[N, C, H, W]``.
        batch_size: samples per forward pass.
        device: where to run; ``None`` runs where the model's parameters are.

    Returns:
        float32 logits of shape ``[N, K]`` on the CPU.

    Raises:
        ShapeError, DTypeError: ``images`` is not a float ``[N, C, H, W]`` tensor, or the model does not accept
            images of its ``[C, H, W]``.
        ValueError: ``images`` is empty or holds NaN/inf.
        DeviceError: ``device`` is not available.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> predict(model, torch.zeros(5, 1, 2, 2)).shape
        torch.Size([5, 3])
    """
    return predict_logits(model, images, _PREDICT, batch_size=batch_size, device=device)


# --------------------------------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------------------------------


def _pyrepair_version() -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pyrepair")
        except PackageNotFoundError:
            pass
    except ImportError:  # pragma: no cover - importlib.metadata is stdlib on 3.8+
        pass
    try:
        from . import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover
        return None


def _to_plain(value: Any, name: str, fn: str) -> Any:
    """Copy ``value`` into containers that ``torch.load(weights_only=True)`` accepts."""
    if value is None or isinstance(value, torch.Tensor):
        return value
    for plain in (bool, int, float, str):  # also strips subclasses such as TorchVersion or IntEnum
        if isinstance(value, plain):
            return plain(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (torch.dtype, torch.device)):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            key = k if isinstance(k, (str, int, float, bool)) or k is None else str(k)
            out[key] = _to_plain(v, f"{name}[{k!r}]", fn)
        return out
    if isinstance(value, tuple):
        return tuple(_to_plain(v, f"{name}[{i}]", fn) for i, v in enumerate(value))
    if isinstance(value, (list, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_to_plain(v, f"{name}[{i}]", fn) for i, v in enumerate(items)]
    raise ArgumentTypeError(
        f"{fn}: {name} must hold only plain values (dict, list, tuple, str, numbers, None, tensors), "
        f"got {type(value).__name__}"
    )


def save_checkpoint(
    path: PathLike,
    model: nn.Module,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    epoch: int | None = None,
    history: History | Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    scaler: Any | None = None,
) -> Path:
    """Save a model (and optionally its training state) atomically.

    The file is written to a temporary file in the same folder, flushed and fsynced, then renamed over ``path``,
    so ``path`` always holds either the previous complete checkpoint or the new one, never a partial file.

    The file is a ``torch.save`` of a dict with keys ``"format"`` (``"pyrepair-checkpoint"``), ``"version"``,
    ``"state_dict"``, ``"config"`` (``model.pyrepair_config`` when present), ``"optimizer"``, ``"scheduler"``,
    ``"scaler"``, ``"epoch"``, ``"history"``, ``"metadata"`` and ``"sha256"``; it holds only plain containers and
    tensors, so :func:`load_checkpoint` can read it with ``torch.load(weights_only=True)``. ``"sha256"`` is the
    content hash of every other entry (:func:`pyrepair._io.content_digest`: per tensor its name, dtype, shape and
    bytes; per plain value its path, type and ``repr``), which :func:`load_checkpoint` verifies.

    Args:
        path: destination file; missing parent folders are created.
        model: the model whose ``state_dict`` is saved.
        optimizer: optimizer whose state is saved for resuming.
        scheduler: learning-rate scheduler whose state is saved.
        epoch: number of completed epochs.
        history: training history (a :class:`History` or its ``to_dict()``).
        metadata: extra plain values (str, numbers, lists, dicts); added to the automatic ``torch_version``,
            ``pyrepair_version`` and ``time`` entries (and override them on a clash).
        scaler: AMP ``GradScaler`` whose state is saved.

    Returns:
        The path written.

    Raises:
        TypeError: a bad argument type, or metadata/history values that are not plain.
        ValueError: ``epoch`` is negative.
        PathIsDirectoryError: ``path`` is an existing folder (also an ``IsADirectoryError``).

    Example:
        >>> import tempfile
        >>> model = torch.nn.Linear(2, 2)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_checkpoint(Path(d) / "m.pt", model, epoch=0)
        ...     load_checkpoint(p, torch.nn.Linear(2, 2)).epoch
        0
    """
    fn = _SAVE
    dest = check_path(path, "path", fn, file=True)
    check_model(model, fn)
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise ArgumentTypeError(
            f"{fn}: optimizer must be a torch.optim.Optimizer "
            f"or None, got {type(optimizer).__name__}"
        )
    if scheduler is not None and not callable(getattr(scheduler, "state_dict", None)):
        raise ArgumentTypeError(f"{fn}: scheduler must have a state_dict() method, got {type(scheduler).__name__}")
    if epoch is not None:
        epoch = check_int(epoch, "epoch", fn, min_value=0)
    if isinstance(history, History):
        hist: dict[str, Any] | None = history.to_dict()
    elif history is None:
        hist = None
    elif isinstance(history, Mapping):
        hist = History.from_dict(history).to_dict()
    else:
        raise ArgumentTypeError(f"{fn}: history must be a History, its to_dict() or None, got {type(history).__name__}")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise ArgumentTypeError(f"{fn}: metadata must be a mapping or None, got {type(metadata).__name__}")
    meta: dict[str, Any] = {
        "torch_version": str(torch.__version__),
        "pyrepair_version": _pyrepair_version(),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    meta.update(_to_plain(dict(metadata or {}), "metadata", fn))
    config = getattr(model, "pyrepair_config", None)
    obj = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "state_dict": model.state_dict(),
        "config": _to_plain(config, "model.pyrepair_config", fn),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "epoch": epoch,
        "history": _to_plain(hist, "history", fn),
        "metadata": meta,
    }
    return save_hashed(obj, dest)


def load_checkpoint(
    path: PathLike,
    model: nn.Module | None = None,
    *,
    map_location: str | torch.device | None = "cpu",
) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (or by :func:`fit` with ``checkpoint=``).

    The file is read with ``torch.load(weights_only=True)``, so loading never runs code from the file, and its
    content is checked against the sha256 stored in it, so a damaged file never loads.

    Old checkpoints (written before content hashes, without a ``"sha256"`` entry) are loaded with a
    :class:`~pyrepair.errors.PyrepairWarning` saying that damage to them cannot be detected (save them again to add
    one); they are not refused, because every checkpoint written so far is such a file.

    Args:
        path: the checkpoint file.
        model: a model to load the weights into (strictly: keys and shapes must match). When ``None`` and the
            checkpoint has a config, the model is built with ``pyrepair.models.from_config``.
        map_location: where to put the loaded tensors (as for ``torch.load``).

    Returns:
        A :class:`Checkpoint`; its ``model`` is the model holding the weights, or ``None`` when no model was
        given and the checkpoint has no config.

    Raises:
        PathNotFoundError: ``path`` does not exist (also a ``FileNotFoundError``).
        PathIsDirectoryError: ``path`` is a folder (also an ``IsADirectoryError``).
        DeviceError: ``map_location`` names a CUDA device and CUDA is not available.
        CheckpointError: the file is not a pyrepair checkpoint (empty, text, random bytes, a foreign pickle, a
            plain ``torch.save`` of something else), is damaged (its content does not match its sha256), or was
            written by a newer layout version. The message names the file.
        ArgumentError: the weights do not fit ``model`` (missing or unexpected keys, other sizes).

    Warns:
        PyrepairWarning: a checkpoint without a content hash (written by an older pyrepair).

    Example:
        >>> ckpt = load_checkpoint("run/last.pt", model)  # doctest: +SKIP
        >>> ckpt.epoch, ckpt.history.last["val_accuracy"]  # doctest: +SKIP
        (10, 0.93)
    """
    fn = _LOAD
    src = check_path(path, "path", fn)
    if model is not None:
        check_model(model, fn)
    obj = load_hashed(src, fn, format=CHECKPOINT_FORMAT, what="pyrepair checkpoint", map_location=map_location,
                      max_version=CHECKPOINT_VERSION)
    version = obj.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{fn}: {src} is not a pyrepair checkpoint (bad version {version!r})")
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{fn}: checkpoint {src} has layout version {version}, newer than this pyrepair reads "
            f"({CHECKPOINT_VERSION}); upgrade pyrepair"
        )
    state_dict = obj.get("state_dict")
    if not isinstance(state_dict, Mapping):
        raise CheckpointError(f"{fn}: {src} is not a pyrepair checkpoint (no state_dict)")
    config = obj.get("config")
    if model is None and config is not None:
        from .models import from_config  # lazy: models imports heavy architecture code

        model = from_config(config)
    if model is not None:
        try:
            model.load_state_dict(state_dict)
        except RuntimeError as e:  # missing/unexpected keys, size mismatches: the model is not the one saved
            detail = " ".join(str(e).split())
            raise ArgumentError(
                f"{fn}: model ({type(model).__name__}) does not match the checkpoint {src}: {detail[:300]}"
            ) from e
    hist = obj.get("history")
    return Checkpoint(
        path=src,
        state_dict=dict(state_dict),
        config=config,
        epoch=obj.get("epoch"),
        history=History.from_dict(hist) if hist is not None else None,
        metadata=dict(obj.get("metadata") or {}),
        optimizer_state=obj.get("optimizer"),
        scheduler_state=obj.get("scheduler"),
        scaler_state=obj.get("scaler"),
        model=model,
        version=version,
    )


# --------------------------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------------------------


def _make_scheduler(name: str, opt: torch.optim.Optimizer, epochs: int) -> Any | None:
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.1)
    return None


_RESUME_KEYS = ("seed", "batch_size", "optimizer", "scheduler", "epochs", "loss_fn")


def fit(
    model: nn.Module,
    data: DataArg,
    epochs: int = 1,
    *,
    val: DataArg | None = None,
    batch_size: int = 128,
    lr: float = 1e-3,
    optimizer: Literal["adam", "adamw", "sgd"] | torch.optim.Optimizer = "adam",
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    scheduler: Literal["none", "cosine", "step"] = "none",
    loss_fn: LossFn | None = None,
    seed: int = 0,
    device: str | int | torch.device | None = None,
    amp: bool | None = None,
    progress: bool | None = None,
    checkpoint: PathLike | None = None,
    resume: PathLike | None = None,
    max_grad_norm: float | None = None,
    callbacks: Iterable[Callback] | Callback = (),
) -> History:
    """Train ``model`` in place on ``data`` and return the per-epoch history.

    ``fit`` modifies ``model``: its weights are updated and it is moved to ``device`` (it stays there). The
    train/eval mode of every submodule is restored when ``fit`` returns. Training runs in train mode; validation
    in eval mode without gradients.

    Randomness: batches are shuffled with a private ``torch.Generator``, and the global CPU (and training CUDA
    device) RNGs used by dropout and similar layers are seeded inside ``torch.random.fork_rng``, so the caller's
    RNG state is unchanged afterwards. Both are reseeded at the start of every epoch from ``(seed, epoch)``: on
    CPU the same seed, data and initial weights give bit-identical results, and a run resumed from a checkpoint
    matches an uninterrupted one. A given ``DataLoader`` is used as is; if it shuffles without its own generator,
    it draws from the (seeded) global RNG and is reproducible too.

    Mixed precision: ``amp=None`` enables autocast on CUDA only (bfloat16 where supported, else float16 with a
    ``GradScaler``). ``amp=True`` on CPU uses bfloat16 autocast (slow on CPUs without bf16 support); on other
    devices it warns and trains in full precision.

    Args:
        model: a classifier mapping ``[N, C, H, W]`` floats to ``[N, K]`` logits.
        data: training data: an ``(images, labels)`` pair of tensors (float ``[N, C, H, W]``, integer ``[N]``), a
            ``Dataset`` yielding ``(image, label)``, or a ``DataLoader`` (used as is).
        epochs: total number of epochs (including those already done when resuming); >= 1.
        val: optional validation data in the same forms; adds ``val_loss`` / ``val_accuracy`` to each record.
        batch_size: samples per step (ignored for a ``DataLoader``); >= 1.
        lr: learning rate; > 0. Ignored when ``optimizer`` is an instance.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` (with ``momentum``), or a ready ``torch.optim.Optimizer``
            over the model's parameters (then ``lr``, ``weight_decay`` and ``momentum`` are ignored).
        weight_decay: L2 penalty (decoupled for ``"adamw"``); >= 0.
        momentum: SGD momentum; >= 0.
        scheduler: per-epoch learning-rate schedule: ``"none"``, ``"cosine"`` (cosine annealing to 0 over
            ``epochs``) or ``"step"`` (x0.1 every ``max(1, epochs // 3)`` epochs).
        loss_fn: ``loss_fn(logits, labels) -> scalar`` averaged over the batch; default cross-entropy.
        seed: seed for shuffling and random layers; >= 0.
        device: where to train; see :func:`resolve_device` (default: CUDA if available, else CPU).
        amp: mixed precision, see above.
        progress: tqdm bars over batches; ``None`` shows them only when stderr is a terminal and the
            environment variable ``PYREPAIR_PROGRESS`` is not ``"0"``.
        checkpoint: file to save (atomically) after every epoch, with optimizer and scheduler state.
        resume: checkpoint to continue from: restores weights, optimizer, scheduler, completed epochs and history,
            then trains up to ``epochs`` in total. May be the same file as ``checkpoint``.
        max_grad_norm: clip the global gradient norm to this value; > 0.
        callbacks: callables ``cb(epoch, record, model)`` run after each epoch (``epoch`` is 1-based, ``record``
            a copy of the history record); a truthy return value stops training after that epoch.

    Returns:
        The :class:`History`, including the records restored from ``resume``. Per-epoch summaries are also
        logged at INFO level on the ``pyrepair.train`` logger.

    Raises:
        ValueError: bad numbers (``epochs < 1``, ``lr <= 0``, ...), empty data, NaN/inf images, labels outside the
            model's ``[0, K)`` (checked before the first step for tensor pairs, per batch otherwise).
        ShapeError, DTypeError: malformed images or labels (the message names ``data`` or ``val``), or images the
            model does not accept (one forward of the first image before training).
        TypeError: ``callbacks`` is neither a callable nor an iterable of callables.
        UnknownNameError: unknown optimizer or scheduler name; the message lists the valid names.
        FloatingPointError: the training loss became NaN or infinite (the message gives epoch and batch).
        PathNotFoundError: ``resume`` does not exist (also a ``FileNotFoundError``).
        PathIsDirectoryError: ``checkpoint`` or ``resume`` is an existing folder (also an ``IsADirectoryError``).
        CheckpointError: ``resume`` is not a pyrepair checkpoint or lacks optimizer state.
        DeviceError: ``device`` is not available (the message lists the valid forms).

    Example:
        >>> x, y = torch.randn(64, 1, 8, 8), torch.randint(0, 2, (64,))
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
        >>> h = fit(model, (x, y), epochs=3, val=(x, y), scheduler="cosine", progress=False)
        >>> [r["epoch"] for r in h.epochs], "val_accuracy" in h.last
        ([1, 2, 3], True)
    """
    fn = _FIT
    check_model(model, fn)
    epochs = check_int(epochs, "epochs", fn, min_value=1)
    batch_size = check_int(batch_size, "batch_size", fn, min_value=1)
    lr = check_positive(lr, "lr", fn)
    weight_decay = check_positive(weight_decay, "weight_decay", fn, allow_zero=True)
    momentum = check_range(momentum, "momentum", fn, 0.0, 1.0)
    seed = check_seed(seed, fn)
    if max_grad_norm is not None:
        max_grad_norm = check_positive(max_grad_norm, "max_grad_norm", fn)
    if not isinstance(scheduler, str):
        raise ArgumentTypeError(
            f"{fn}: scheduler must be one of {', '.join(SCHEDULERS)}, got {type(scheduler).__name__}"
        )
    sched_name = scheduler.strip().lower()
    check_in("scheduler", sched_name, SCHEDULERS, fn)
    if isinstance(optimizer, str):
        check_in("optimizer", optimizer.strip().lower(), OPTIMIZERS, fn)
    check_loss_fn(loss_fn, fn)
    cbs = check_callbacks(callbacks, fn)
    # found now, not after the first epoch
    ckpt_path = check_path(checkpoint, "checkpoint", fn, file=True) if checkpoint is not None else None
    resume_path = check_path(resume, "resume", fn, file=True, exists=True) if resume is not None else None
    dev = resolve_device(device, fn)
    amp_enabled, amp_dtype, use_scaler = amp_settings(amp, dev, fn)
    show = resolve_progress(progress, fn)

    generator = torch.Generator()
    pin = dev.type == "cuda"
    train_loader = as_loader(data, batch_size, True, generator, fn, name="data", pin_memory=pin)
    val_loader = None if val is None else as_loader(val, batch_size, False, None, fn, name="val", pin_memory=pin)

    model.to(dev)
    _check_fits_model(model, data, dev, fn, "data")  # before the first step: shape and label range
    if val is not None:
        _check_fits_model(model, val, dev, fn, "val")
    opt = make_optimizer(optimizer, model, lr, fn, weight_decay=weight_decay, momentum=momentum)
    sched = _make_scheduler(sched_name, opt, epochs)
    scaler = grad_scaler() if use_scaler else None
    fit_args = {
        "seed": seed,
        "batch_size": batch_size,
        "lr": lr,
        "optimizer": optimizer.strip().lower() if isinstance(optimizer, str) else type(optimizer).__name__,
        "scheduler": sched_name,
        "epochs": epochs,
        "weight_decay": weight_decay,
        "momentum": momentum,
        "loss_fn": "cross_entropy" if loss_fn is None else getattr(loss_fn, "__name__", type(loss_fn).__name__),
        "amp": str(amp_dtype).replace("torch.", "") if amp_enabled else None,
        "device": str(dev),
    }

    history = History()
    start = 0
    if resume_path is not None:
        ck = load_checkpoint(resume_path, model, map_location=dev)
        if ck.optimizer_state is None:
            raise CheckpointError(f"{fn}: cannot resume from {resume_path}: it holds no optimizer state")
        opt.load_state_dict(ck.optimizer_state)
        if sched is not None:
            if ck.scheduler_state is not None:
                sched.load_state_dict(ck.scheduler_state)
            else:
                warnings.warn(
                    f"{fn}: {resume_path} holds no scheduler state; the {sched_name!r} schedule restarts",
                    PyrepairWarning,
                    stacklevel=2,
                )
        if scaler is not None and ck.scaler_state is not None:
            scaler.load_state_dict(ck.scaler_state)
        start = int(ck.epoch or 0)
        history = ck.history if ck.history is not None else History()
        old = ck.metadata.get("fit")
        if isinstance(old, Mapping):
            keys = [k for k in _RESUME_KEYS if k != "epochs" or sched is not None]  # epochs shapes the schedule
            changed = [k for k in keys if k in old and old[k] != fit_args[k]]
            if changed:
                diffs = ", ".join(f"{k}: {old[k]!r} -> {fit_args[k]!r}" for k in changed)
                warnings.warn(
                    f"{fn}: resuming {resume_path} with different settings ({diffs}); the run will not match an "
                    "uninterrupted one",
                    PyrepairWarning,
                    stacklevel=2,
                )
        logger.info("resumed from %s after %d epoch(s)", resume_path, start)
        if start >= epochs:
            logger.info("checkpoint already has %d of %d epoch(s); nothing to train", start, epochs)

    def step(module: nn.Module, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> tuple[Any, Any]:
        logits = module(x)
        k = check_logits(logits, x.shape[0], fn)
        check_label_range(y, k, fn, "data")  # before the loss: out-of-range targets abort CUDA kernels
        loss = F.cross_entropy(logits.float(), y) if loss_fn is None else loss_fn(logits, y)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ArgumentTypeError(f"{fn}: loss_fn must return a scalar tensor, got {type(loss).__name__}")
        return loss, logits

    def validate(m: nn.Module, e1: int) -> dict[str, Any]:
        assert val_loader is not None
        res = run_eval(m, val_loader, dev, loss_fn, fn, "val", show, amp_enabled, amp_dtype, desc=f"val {e1}/{epochs}")
        return {"val_loss": res["loss"], "val_accuracy": res["accuracy"]}

    hooks = [] if ckpt_path is None else [_FitCheckpoint(ckpt_path, history, {"fit": fit_args})]
    loop = TrainLoop(
        model, train_loader, step, opt, epochs=epochs, seed=seed, device=dev, fn=fn, scheduler=sched,
        scaler=scaler, amp_dtype=amp_dtype if amp_enabled else None, max_grad_norm=max_grad_norm, hooks=hooks,
        callbacks=cbs, validate=None if val_loader is None else validate, shuffle_generator=generator,
        progress=show, log=logger,
    )  # fmt: skip
    loop.state.epoch = start
    loop.state.records = history.epochs  # the loop appends to the History fit returns
    loop.run()
    return history


class _FitCheckpoint(LoopHooks):
    """Writes :func:`fit`'s checkpoint file (the :func:`save_checkpoint` format) after every epoch."""

    def __init__(self, path: Path, history: History, metadata: dict[str, Any]) -> None:
        self.path, self.history, self.metadata = path, history, metadata

    def on_epoch_end(self, state: LoopState, record: dict[str, Any]) -> None:
        save_checkpoint(
            self.path, state.model, optimizer=state.optimizer, scheduler=state.scheduler, epoch=state.epoch + 1,
            history=self.history, metadata=self.metadata, scaler=state.scaler,
        )  # fmt: skip
