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

import contextlib
import logging
import math
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)
from tqdm.auto import tqdm

from ._checks import check_image, check_in, check_int, check_labels, check_positive, format_shape
from .errors import CheckpointError, DeviceError, DTypeError, PyrepairWarning, ShapeError

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
"""Version of the checkpoint layout written by :func:`save_checkpoint`."""

OPTIMIZERS: tuple[str, ...] = ("adam", "adamw", "sgd")
"""Optimizer names accepted by :func:`fit`."""

SCHEDULERS: tuple[str, ...] = ("cosine", "none", "step")
"""Learning-rate schedule names accepted by :func:`fit`."""

PathLike = str | os.PathLike[str]
Callback = Callable[[int, dict[str, Any], nn.Module], Any]
"""``cb(epoch, record, model)``, called after each epoch; a truthy return value stops training."""
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
DataArg = Sequence[Any] | Dataset | DataLoader

_FIT = "pyrepair.train.fit"
_EVALUATE = "pyrepair.train.evaluate"
_PREDICT = "pyrepair.train.predict"
_SAVE = "pyrepair.train.save_checkpoint"
_LOAD = "pyrepair.train.load_checkpoint"
_RESOLVE = "pyrepair.train.resolve_device"


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
            raise ValueError(f"{fn}: no record has a value for metric {metric!r}")
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
            raise TypeError(f"{fn}: d must be a mapping with a list under 'epochs', got {type(d).__name__}")
        records = []
        for i, r in enumerate(d["epochs"]):
            if not isinstance(r, Mapping):
                raise TypeError(f"{fn}: d['epochs'][{i}] must be a dict, got {type(r).__name__}")
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
# Devices, AMP, progress
# --------------------------------------------------------------------------------------------------------------------


def resolve_device(device: str | int | torch.device | None = None) -> torch.device:
    """Turn a device request into a concrete, available ``torch.device``.

    Args:
        device: ``None`` or ``"auto"`` (CUDA when available, else CPU), a device string (``"cpu"``, ``"cuda"``,
            ``"cuda:1"``, ``"mps"``), a CUDA ordinal (``int``) or a ``torch.device``. ``"cuda"`` without an index
            resolves to the current CUDA device.

    Returns:
        The ``torch.device``; CUDA devices always carry an index.

    Raises:
        DeviceError: the string is not a device, or the device is not available (no CUDA, an index beyond the
            visible GPUs, no MPS).
        TypeError: ``device`` has an unsupported type.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    fn = _RESOLVE
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")
    if isinstance(device, bool) or not isinstance(device, (str, int, torch.device)):
        raise TypeError(f"{fn}: device must be None, 'auto', a str, an int or a torch.device, got {device!r}")
    if isinstance(device, int):
        if device < 0:
            raise DeviceError(f"{fn}: device index must be >= 0, got {device}")
        dev = torch.device("cuda", device)
    elif isinstance(device, str):
        try:
            dev = torch.device(device.strip())
        except (RuntimeError, ValueError) as e:
            raise DeviceError(
                f"{fn}: invalid device {device!r}; expected 'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps'"
            ) from e
    else:
        dev = device
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"{fn}: device {str(dev)!r} requested but CUDA is not available "
                f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); use device='cpu' or 'auto'"
            )
        count = torch.cuda.device_count()
        index = torch.cuda.current_device() if dev.index is None else dev.index
        if index >= count:
            raise DeviceError(f"{fn}: device {str(dev)!r} requested but only {count} CUDA device(s) are visible")
        return torch.device("cuda", index)
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError(f"{fn}: device 'mps' requested but MPS is not available")
    return dev


def _model_device(model: nn.Module) -> torch.device:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def _input_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype of the model's first floating parameter/buffer (inputs are cast to it), else float32."""
    for t in model.parameters():
        if t.is_floating_point():
            return t.dtype
    for t in model.buffers():
        if t.is_floating_point():
            return t.dtype
    return torch.float32


def _amp_settings(amp: bool | None, dev: torch.device, fn: str) -> tuple[bool, torch.dtype | None, bool]:
    """Returns ``(enabled, dtype, use_grad_scaler)``."""
    if amp is not None and not isinstance(amp, bool):
        raise TypeError(f"{fn}: amp must be None, True or False, got {amp!r}")
    if dev.type == "cuda":
        if amp is False:
            return False, None, False
        if torch.cuda.is_bf16_supported():
            return True, torch.bfloat16, False
        return True, torch.float16, True
    if dev.type == "cpu":
        if amp:
            return True, torch.bfloat16, False
        return False, None, False
    if amp:
        warnings.warn(
            f"{fn}: amp=True is only supported on CUDA and CPU; training on {dev} in full precision",
            PyrepairWarning,
            stacklevel=3,
        )
    return False, None, False


def _grad_scaler() -> Any:
    if hasattr(torch.amp, "GradScaler"):  # torch >= 2.3
        return torch.amp.GradScaler("cuda")
    return torch.cuda.amp.GradScaler()  # pragma: no cover


def _autocast(dev: torch.device, enabled: bool, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[Any]:
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=dev.type, dtype=dtype)


def _resolve_progress(progress: bool | None, fn: str) -> bool:
    if progress is None:
        if os.environ.get("PYREPAIR_PROGRESS", "").strip() == "0":
            return False
        stream = sys.stderr
        try:
            return bool(stream is not None and stream.isatty())
        except (AttributeError, ValueError):
            return False
    if not isinstance(progress, bool):
        raise TypeError(f"{fn}: progress must be None, True or False, got {progress!r}")
    return progress


def _seed_for(seed: int, epoch: int, stream: int) -> int:
    """A 63-bit seed derived from ``(seed, epoch, stream)``; independent streams for shuffling and layers."""
    state = np.random.SeedSequence([seed, epoch, stream]).generate_state(1, dtype=np.uint64)[0]
    return int(state) & ((1 << 63) - 1)


def _seed_globals(value: int, dev: torch.device) -> None:
    torch.random.default_generator.manual_seed(value)
    if dev.type == "cuda":
        with torch.cuda.device(dev):
            torch.cuda.manual_seed(value)


@contextlib.contextmanager
def _forked_rng(dev: torch.device) -> Iterator[None]:
    """Fork the CPU RNG and, on CUDA, the RNG of the training device only (those are all ``fit`` seeds)."""
    devices = [dev.index] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        yield


def _save_modes(model: nn.Module) -> list[tuple[nn.Module, bool]]:
    return [(m, m.training) for m in model.modules()]


def _restore_modes(modes: list[tuple[nn.Module, bool]]) -> None:
    for m, training in modes:
        m.training = training


# --------------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------------


def _to_tensor(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    return x


def _as_loader(
    data: Any,
    batch_size: int,
    shuffle: bool,
    generator: torch.Generator | None,
    fn: str,
    *,
    name: str = "data",
    pin_memory: bool = False,
) -> DataLoader:
    """Wrap ``data`` in a ``DataLoader``.

    Args:
        data: an ``(images, labels)`` tuple/list of tensors (or numpy arrays), a ``Dataset`` yielding
            ``(image, label)`` or a ``DataLoader`` (returned unchanged).
        batch_size: samples per batch.
        shuffle: reshuffle every time the loader is iterated (ignored for iterable datasets and given loaders).
        generator: the generator that drives shuffling.
        fn: qualified name of the public function, for messages.
        name: the argument name, for messages.
        pin_memory: pin host memory (only worth it when training on CUDA).

    Returns:
        The loader.

    Raises:
        ShapeError, DTypeError: malformed tensors.
        ValueError: no samples.
        TypeError: unsupported ``data`` type.
    """
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset):
        if isinstance(data, IterableDataset):
            return DataLoader(data, batch_size=batch_size, pin_memory=pin_memory)
        try:
            n = len(data)  # type: ignore[arg-type]
        except TypeError:
            n = None
        if n == 0:
            raise ValueError(f"{fn}: {name} must hold at least one sample, got an empty {type(data).__name__}")
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator, pin_memory=pin_memory)
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise TypeError(
                f"{fn}: {name} must be an (images, labels) pair, got a {type(data).__name__} of {len(data)}"
            )
        images, labels = (_to_tensor(v) for v in data)
        sizes = check_image(images, f"{name}[0] (images)", fn, spec="N,C,H,W", channels=None)
        n = sizes["N"]
        if n == 0:
            raise ValueError(
                f"{fn}: {name} must hold at least one sample, got images of shape {format_shape(images.shape)}"
            )
        if not isinstance(labels, torch.Tensor):
            raise DTypeError(f"{fn}: {name}[1] (labels) must be a torch.Tensor, got {type(labels).__name__}")
        if labels.ndim == 1 and labels.shape[0] != n:
            raise ShapeError(
                f"{fn}: {name} images and labels must have the same N, got images {format_shape(images.shape)} "
                f"and labels {format_shape(labels.shape)}",
                actual_shape=tuple(labels.shape),
                expected="N",
            )
        check_labels(labels, n, f"{name}[1] (labels)", fn)
        if labels.min() < 0:
            raise ValueError(f"{fn}: {name}[1] (labels) must be >= 0, got minimum {int(labels.min())}")
        dataset = TensorDataset(images, labels.long())
        # Index the tensors with a whole batch of indices at once (fast), not sample by sample.
        base = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        sampler = BatchSampler(base, batch_size=batch_size, drop_last=False)
        # pinning applies to host memory only: tensors already on the GPU are batched where they are
        pin = pin_memory and images.device.type == "cpu" and labels.device.type == "cpu"
        return DataLoader(dataset, sampler=sampler, batch_size=None, generator=generator, pin_memory=pin)
    raise TypeError(
        f"{fn}: {name} must be an (images, labels) tuple of tensors, a torch Dataset or a DataLoader, "
        f"got {type(data).__name__}"
    )


def _len_or_none(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _unpack_batch(batch: Any, fn: str, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(batch, Mapping):
        raise TypeError(f"{fn}: {name} must yield (images, labels) batches, got a {type(batch).__name__}")
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(f"{fn}: {name} must yield (images, labels) batches, got {type(batch).__name__}")
    x, y = batch[0], batch[1]
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise DTypeError(
            f"{fn}: {name} must yield tensor batches, got images {type(x).__name__} and labels {type(y).__name__}"
        )
    sizes = check_image(x, f"{name} images", fn, spec="N,C,H,W", channels=None)
    check_labels(y, sizes["N"], f"{name} labels", fn)
    return x, y


def _check_logits(logits: Any, n: int, fn: str) -> int:
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{fn}: model must return a logits tensor [N, K], got {type(logits).__name__}")
    if logits.ndim != 2 or logits.shape[0] != n:
        raise ShapeError(
            f"{fn}: model must return logits of shape [N, K] with N={n}, got {format_shape(logits.shape)}",
            actual_shape=tuple(logits.shape),
            expected="N,K",
        )
    return int(logits.shape[1])


def _check_label_range(y: torch.Tensor, k: int, fn: str, name: str) -> None:
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= k:
        raise ValueError(
            f"{fn}: {name} labels must lie in [0, {k}) (the model outputs {k} classes), got values in [{lo}, {hi}]"
        )


def _check_model(model: Any, fn: str) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{fn}: model must be a torch.nn.Module, got {type(model).__name__}")


def _check_loss_fn(loss_fn: Any, fn: str) -> None:
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"{fn}: loss_fn must be a callable (logits, labels) -> scalar tensor, got {loss_fn!r}")


# --------------------------------------------------------------------------------------------------------------------
# Evaluation and prediction
# --------------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _on_device(model: nn.Module, device: str | int | torch.device | None) -> Iterator[torch.device]:
    """Run on ``device`` (default: where the model is), moving the model there and back again if needed."""
    home = _model_device(model)
    dev = home if device is None else resolve_device(device)
    moved = dev != home
    if moved:
        model.to(dev)
    try:
        yield dev
    finally:
        if moved:
            model.to(home)


def _run_eval(
    model: nn.Module,
    loader: DataLoader,
    dev: torch.device,
    loss_fn: LossFn | None,
    fn: str,
    name: str,
    show: bool,
    amp_enabled: bool = False,
    amp_dtype: torch.dtype | None = None,
    desc: str = "evaluate",
) -> dict[str, Any]:
    modes = _save_modes(model)
    model.eval()
    loss_sum: torch.Tensor | None = None
    class_correct: torch.Tensor | None = None
    class_total: torch.Tensor | None = None
    k = 0
    in_dtype = _input_dtype(model)
    try:
        with torch.no_grad():
            bar = tqdm(loader, desc=desc, total=_len_or_none(loader), disable=not show, leave=False, unit="batch")
            for batch in bar:
                x, y = _unpack_batch(batch, fn, name)
                x = x.to(dev, dtype=in_dtype, non_blocking=True)
                with _autocast(dev, amp_enabled, amp_dtype):
                    logits = model(x)
                k_b = _check_logits(logits, x.shape[0], fn)
                if class_correct is None:
                    k = k_b
                    class_correct = torch.zeros(k, dtype=torch.long, device=dev)
                    class_total = torch.zeros(k, dtype=torch.long, device=dev)
                    loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
                elif k_b != k:
                    raise ShapeError(f"{fn}: model returned {k_b} classes for one batch and {k} for another")
                _check_label_range(y, k, fn, name)
                y = y.to(dev, non_blocking=True).long()
                logits = logits.float()
                if loss_fn is None:
                    batch_loss = F.cross_entropy(logits, y, reduction="sum")
                else:
                    batch_loss = torch.as_tensor(loss_fn(logits, y), device=dev).reshape(()) * y.shape[0]
                assert loss_sum is not None and class_total is not None
                loss_sum += batch_loss.detach().double()
                hit = (logits.argmax(dim=1) == y).long()
                # index_add_ rather than bincount/boolean indexing: no host sync per batch on CUDA
                class_total.index_add_(0, y, torch.ones_like(y))
                class_correct.index_add_(0, y, hit)
    finally:
        _restore_modes(modes)
    if class_correct is None or class_total is None or loss_sum is None or int(class_total.sum()) == 0:
        raise ValueError(f"{fn}: {name} must hold at least one sample, got none")
    total = class_total.cpu().tolist()
    hits = class_correct.cpu().tolist()
    n, correct = int(sum(total)), int(sum(hits))
    return {
        "accuracy": correct / n,
        "loss": float(loss_sum) / n,
        "n": n,
        "correct": correct,
        "per_class_accuracy": [h / t if t else float("nan") for h, t in zip(hits, total, strict=True)],
    }


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
        ValueError: empty data, or labels outside ``[0, K)``.
        ShapeError, DTypeError: malformed images or labels.
        DeviceError: ``device`` is not available.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> evaluate(model, (torch.zeros(2, 1, 2, 2), torch.tensor([0, 1])))["n"]
        2
    """
    fn = _EVALUATE
    _check_model(model, fn)
    batch_size = check_int(batch_size, "batch_size", fn, min_value=1)
    _check_loss_fn(loss_fn, fn)
    show = _resolve_progress(progress, fn)
    with _on_device(model, device) as dev:
        loader = _as_loader(data, batch_size, False, None, fn, name="data", pin_memory=dev.type == "cuda")
        return _run_eval(model, loader, dev, loss_fn, fn, "data", show)


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
        ShapeError, DTypeError: ``images`` is not a float ``[N, C, H, W]`` tensor.
        ValueError: ``images`` is empty.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> predict(model, torch.zeros(5, 1, 2, 2)).shape
        torch.Size([5, 3])
    """
    fn = _PREDICT
    _check_model(model, fn)
    batch_size = check_int(batch_size, "batch_size", fn, min_value=1)
    images = _to_tensor(images)
    sizes = check_image(images, "images", fn, spec="N,C,H,W", channels=None)
    n = sizes["N"]
    if n == 0:
        raise ValueError(f"{fn}: images must hold at least one image, got shape {format_shape(images.shape)}")
    outs: list[torch.Tensor] = []
    modes = _save_modes(model)
    try:
        with _on_device(model, device) as dev:
            model.eval()
            with torch.no_grad():
                in_dtype = _input_dtype(model)
                for i in range(0, n, batch_size):
                    x = images[i : i + batch_size].to(dev, dtype=in_dtype, non_blocking=True)
                    logits = model(x)
                    _check_logits(logits, x.shape[0], fn)
                    outs.append(logits.float().cpu())
    finally:
        _restore_modes(modes)
    return torch.cat(outs)


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
    raise TypeError(
        f"{fn}: {name} must hold only plain values (dict, list, tuple, str, numbers, None, tensors), "
        f"got {type(value).__name__}"
    )


def _check_path(path: Any, name: str, fn: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{fn}: {name} must be a str or os.PathLike, got {type(path).__name__}")
    return Path(os.fspath(path)).expanduser()


def _fsync_dir(directory: Path) -> None:
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


def _atomic_torch_save(obj: Any, path: Path) -> None:
    """Write ``obj`` to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for a plain open()
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


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
    ``"scaler"``, ``"epoch"``, ``"history"`` and ``"metadata"``; it holds only plain containers and tensors, so
    :func:`load_checkpoint` can read it with ``torch.load(weights_only=True)``.

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

    Example:
        >>> import tempfile
        >>> model = torch.nn.Linear(2, 2)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_checkpoint(Path(d) / "m.pt", model, epoch=0)
        ...     load_checkpoint(p, torch.nn.Linear(2, 2)).epoch
        0
    """
    fn = _SAVE
    dest = _check_path(path, "path", fn)
    _check_model(model, fn)
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"{fn}: optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
    if scheduler is not None and not callable(getattr(scheduler, "state_dict", None)):
        raise TypeError(f"{fn}: scheduler must have a state_dict() method, got {type(scheduler).__name__}")
    if epoch is not None:
        epoch = check_int(epoch, "epoch", fn, min_value=0)
    if isinstance(history, History):
        hist: dict[str, Any] | None = history.to_dict()
    elif history is None:
        hist = None
    elif isinstance(history, Mapping):
        hist = History.from_dict(history).to_dict()
    else:
        raise TypeError(f"{fn}: history must be a History, its to_dict() or None, got {type(history).__name__}")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"{fn}: metadata must be a mapping or None, got {type(metadata).__name__}")
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
    _atomic_torch_save(obj, dest)
    return dest


def load_checkpoint(
    path: PathLike,
    model: nn.Module | None = None,
    *,
    map_location: str | torch.device | None = "cpu",
) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (or by :func:`fit` with ``checkpoint=``).

    The file is read with ``torch.load(weights_only=True)``, so loading never runs code from the file.

    Args:
        path: the checkpoint file.
        model: a model to load the weights into (strictly: keys and shapes must match). When ``None`` and the
            checkpoint has a config, the model is built with ``pyrepair.models.from_config``.
        map_location: where to put the loaded tensors (as for ``torch.load``).

    Returns:
        A :class:`Checkpoint`; its ``model`` is the model holding the weights, or ``None`` when no model was
        given and the checkpoint has no config.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the file is not a pyrepair checkpoint, or was written by a newer layout version.
        RuntimeError: the weights do not fit ``model`` (from ``load_state_dict``).

    Example:
        >>> ckpt = load_checkpoint("run/last.pt", model)  # doctest: +SKIP
        >>> ckpt.epoch, ckpt.history.last["val_accuracy"]  # doctest: +SKIP
        (10, 0.93)
    """
    fn = _LOAD
    src = _check_path(path, "path", fn)
    if model is not None:
        _check_model(model, fn)
    if not src.exists():
        raise FileNotFoundError(f"{fn}: checkpoint file not found: {src}")
    if src.is_dir():
        raise IsADirectoryError(f"{fn}: path must be a checkpoint file, got a directory: {src}")
    try:
        obj = torch.load(src, map_location=map_location, weights_only=True)
    except OSError:
        raise
    except Exception as e:  # unpickling and zip errors of many kinds
        raise CheckpointError(f"not a pyrepair checkpoint: {src} ({type(e).__name__}: {e})") from e
    if not isinstance(obj, Mapping) or obj.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"not a pyrepair checkpoint: {src} (no 'format': '{CHECKPOINT_FORMAT}' entry)")
    version = obj.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"not a pyrepair checkpoint: {src} (bad version {version!r})")
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{fn}: checkpoint {src} has layout version {version}, newer than this pyrepair reads "
            f"({CHECKPOINT_VERSION}); upgrade pyrepair"
        )
    state_dict = obj.get("state_dict")
    if not isinstance(state_dict, Mapping):
        raise CheckpointError(f"not a pyrepair checkpoint: {src} (no state_dict)")
    config = obj.get("config")
    if model is None and config is not None:
        from .models import from_config  # lazy: models imports heavy architecture code

        model = from_config(config)
    if model is not None:
        model.load_state_dict(state_dict)
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


def _make_optimizer(
    optimizer: str | torch.optim.Optimizer,
    model: nn.Module,
    lr: float,
    weight_decay: float,
    momentum: float,
    fn: str,
) -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(
            f"{fn}: optimizer must be one of {', '.join(OPTIMIZERS)} or a torch.optim.Optimizer, "
            f"got {type(optimizer).__name__}"
        )
    name = optimizer.strip().lower()
    check_in("optimizer", name, OPTIMIZERS, fn)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{fn}: model has no trainable parameters (all have requires_grad=False)")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _make_scheduler(name: str, opt: torch.optim.Optimizer, epochs: int) -> Any | None:
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.1)
    return None


def _train_epoch(
    model: nn.Module,
    loader: DataLoader,
    opt: torch.optim.Optimizer,
    scaler: Any | None,
    loss_fn: LossFn | None,
    dev: torch.device,
    amp_enabled: bool,
    amp_dtype: torch.dtype | None,
    max_grad_norm: float | None,
    epoch: int,
    epochs: int,
    show: bool,
    fn: str,
) -> tuple[float, float, int]:
    """One pass over ``loader``; returns ``(mean loss, accuracy, samples)``."""
    params = [p for group in opt.param_groups for p in group["params"]]
    in_dtype = _input_dtype(model)
    loss_sum, correct, n = 0.0, 0, 0
    total = _len_or_none(loader)
    bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", total=total, disable=not show, leave=False, unit="batch")
    for b, batch in enumerate(bar, 1):
        x, y = _unpack_batch(batch, fn, "data")
        opt.zero_grad(set_to_none=True)
        x = x.to(dev, dtype=in_dtype, non_blocking=True)
        with _autocast(dev, amp_enabled, amp_dtype):
            logits = model(x)
            k = _check_logits(logits, x.shape[0], fn)
            _check_label_range(y, k, fn, "data")  # before the loss: out-of-range targets abort CUDA kernels
            y = y.to(dev, non_blocking=True).long()
            loss = F.cross_entropy(logits.float(), y) if loss_fn is None else loss_fn(logits, y)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise TypeError(f"{fn}: loss_fn must return a scalar tensor, got {type(loss).__name__}")
        loss = loss.reshape(())
        if scaler is not None:
            scaler.scale(loss).backward()
        else:
            loss.backward()
        hits = (logits.detach().argmax(dim=1) == y).sum()
        loss_v, hits_v = torch.stack([loss.detach().float(), hits.float()]).tolist()  # one sync per batch
        if not math.isfinite(loss_v):
            opt.zero_grad(set_to_none=True)
            where = f"epoch {epoch}, batch {b}" + (f" of {total}" if total is not None else "")
            raise FloatingPointError(
                f"{fn}: training loss is {loss_v} at {where}; the weights were not updated with it. "
                "Try a lower lr, max_grad_norm, or check the data for NaN/inf values."
            )
        if max_grad_norm is not None:
            if scaler is not None:
                scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        bs = int(x.shape[0])
        loss_sum += loss_v * bs
        correct += int(hits_v)
        n += bs
        if show:
            bar.set_postfix(loss=f"{loss_sum / n:.4f}", acc=f"{correct / n:.3f}", refresh=False)
    bar.close()
    if n == 0:
        raise ValueError(f"{fn}: data must hold at least one sample, got none in epoch {epoch}")
    return loss_sum / n, correct / n, n


_RESUME_KEYS = ("seed", "batch_size", "optimizer", "scheduler", "epochs", "loss_fn")


def _end_of_epoch(epoch: int, epochs: int, record: dict[str, Any], model: nn.Module, callbacks: Sequence[Any]) -> bool:
    """Log the epoch's record and run the callbacks (each sees a copy); True when one of them asks to stop."""
    logger.info("epoch %d/%d: %s", epoch, epochs, ", ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch"))
    stop = False
    for cb in callbacks:
        if cb(epoch, dict(record), model):
            stop = True  # every callback still runs for this epoch
    if stop:
        logger.info("early stop requested by a callback after epoch %d/%d", epoch, epochs)
    return stop


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
        ValueError: bad numbers (``epochs < 1``, ``lr <= 0``, ...), empty data, labels outside the model's
            ``[0, K)``.
        ShapeError, DTypeError: malformed images or labels (the message names ``data`` or ``val``).
        UnknownNameError: unknown optimizer or scheduler name; the message lists the valid names.
        FloatingPointError: the training loss became NaN or infinite (the message gives epoch and batch).
        FileNotFoundError: ``resume`` does not exist.
        CheckpointError: ``resume`` is not a pyrepair checkpoint or lacks optimizer state.
        DeviceError: ``device`` is not available.

    Example:
        >>> x, y = torch.randn(64, 1, 8, 8), torch.randint(0, 2, (64,))
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
        >>> h = fit(model, (x, y), epochs=3, val=(x, y), scheduler="cosine", progress=False)
        >>> [r["epoch"] for r in h.epochs], "val_accuracy" in h.last
        ([1, 2, 3], True)
    """
    fn = _FIT
    _check_model(model, fn)
    epochs = check_int(epochs, "epochs", fn, min_value=1)
    batch_size = check_int(batch_size, "batch_size", fn, min_value=1)
    lr = check_positive(lr, "lr", fn)
    weight_decay = check_positive(weight_decay, "weight_decay", fn, allow_zero=True)
    momentum = check_positive(momentum, "momentum", fn, allow_zero=True)
    seed = check_int(seed, "seed", fn, min_value=0)
    if max_grad_norm is not None:
        max_grad_norm = check_positive(max_grad_norm, "max_grad_norm", fn)
    if not isinstance(scheduler, str):
        raise TypeError(f"{fn}: scheduler must be one of {', '.join(SCHEDULERS)}, got {type(scheduler).__name__}")
    sched_name = scheduler.strip().lower()
    check_in("scheduler", sched_name, SCHEDULERS, fn)
    if isinstance(optimizer, str):
        check_in("optimizer", optimizer.strip().lower(), OPTIMIZERS, fn)
    _check_loss_fn(loss_fn, fn)
    cbs: list[Callback] = [callbacks] if callable(callbacks) else list(callbacks)
    for i, cb in enumerate(cbs):
        if not callable(cb):
            raise TypeError(f"{fn}: callbacks[{i}] must be callable cb(epoch, record, model), got {cb!r}")
    ckpt_path = _check_path(checkpoint, "checkpoint", fn) if checkpoint is not None else None
    resume_path = _check_path(resume, "resume", fn) if resume is not None else None
    if resume_path is not None and not resume_path.exists():
        raise FileNotFoundError(f"{fn}: resume checkpoint not found: {resume_path}")
    dev = resolve_device(device)
    amp_enabled, amp_dtype, use_scaler = _amp_settings(amp, dev, fn)
    show = _resolve_progress(progress, fn)

    generator = torch.Generator()
    pin = dev.type == "cuda"
    train_loader = _as_loader(data, batch_size, True, generator, fn, name="data", pin_memory=pin)
    val_loader = None if val is None else _as_loader(val, batch_size, False, None, fn, name="val", pin_memory=pin)

    model.to(dev)
    opt = _make_optimizer(optimizer, model, lr, weight_decay, momentum, fn)
    sched = _make_scheduler(sched_name, opt, epochs)
    scaler = _grad_scaler() if use_scaler else None
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

    modes = _save_modes(model)
    try:
        with _forked_rng(dev):
            for epoch in range(start, epochs):
                e1 = epoch + 1
                _seed_globals(_seed_for(seed, epoch, 0), dev)
                generator.manual_seed(_seed_for(seed, epoch, 1))
                lr_now = float(opt.param_groups[0]["lr"])
                t0 = time.perf_counter()
                model.train()
                train_loss, train_acc, _ = _train_epoch(
                    model, train_loader, opt, scaler, loss_fn, dev, amp_enabled, amp_dtype, max_grad_norm,
                    e1, epochs, show, fn,
                )  # fmt: skip
                record: dict[str, Any] = {"epoch": e1, "train_loss": train_loss, "train_accuracy": train_acc}
                if val_loader is not None:
                    res = _run_eval(
                        model, val_loader, dev, loss_fn, fn, "val", show, amp_enabled, amp_dtype,
                        desc=f"val {e1}/{epochs}",
                    )  # fmt: skip
                    record["val_loss"] = res["loss"]
                    record["val_accuracy"] = res["accuracy"]
                record["lr"] = lr_now
                if sched is not None:
                    sched.step()
                record["seconds"] = time.perf_counter() - t0
                history.epochs.append(record)
                if ckpt_path is not None:
                    save_checkpoint(
                        ckpt_path, model, optimizer=opt, scheduler=sched, epoch=e1, history=history,
                        metadata={"fit": fit_args}, scaler=scaler,
                    )  # fmt: skip
                if _end_of_epoch(e1, epochs, record, model, cbs):
                    break
    finally:
        _restore_modes(modes)
    return history
