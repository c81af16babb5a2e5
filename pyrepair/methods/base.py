"""The shape every repair method shares: ``Method(**hparams).repair(model, train, failures, ...) -> RepairResult``.

* :class:`RepairMethod` is the abstract base. Hyper-parameters go to the constructor (validated there), data to
  :meth:`RepairMethod.repair`, which is implemented once here: it validates the data, deep-copies the model (the
  user's model object, its weights and its train/eval modes are never changed unless ``inplace=True``), measures
  accuracy before, calls the subclass hook ``_fit``, measures accuracy after and returns a :class:`RepairResult`.
* :class:`FineTuningMethod` adds the fine-tuning hyper-parameters shared by DeepRepair and its baselines
  (``shared/spec/deeprepair.md`` §A.7, §A.8): every one of them fine-tunes the pre-trained model on ``D^t ∪ D^c``
  with the same optimiser and budget and differs only in the loss of one step.
* :func:`finetune` is that fine-tuning: SGD (momentum 0.9, Nesterov, weight decay 5e-4) with a per-step cosine
  schedule to 0 over the epoch budget, shuffling with an explicit generator reseeded every epoch, a ``step`` callable
  that turns a batch into a loss. It runs on :class:`pyrepair._loop.TrainLoop`, the loop :func:`pyrepair.train.fit`
  runs on too (per-step and per-epoch hooks, resume, callbacks, one NaN check).

Terms of the DeepRepair protocol (§A.1, §A.2): ``D^t`` is the training set (``train``), ``D^c`` the collected failure
cases (``failures``), ``D^v`` the clean test set (usually ``val``) and ``D^e`` the held-out failures used only to
measure repair.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from pyrepair.methods import FineTune
    >>> x, y = torch.rand(32, 1, 8, 8), torch.arange(32) % 2
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    >>> result = FineTune(epochs=1, batch_size=16).repair(model, (x, y), (x[:4], y[:4]), val=(x, y), progress=False)
    >>> sorted(result.metrics), result.model is model
    (['failures', 'seconds', 'val'], False)
"""

from __future__ import annotations

import copy
import json
import logging
import math
import numbers
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset

from .._checks import check_finite, check_in, check_int, check_positive, check_range, check_seed, format_shape
from .._images import ImageData, as_image_data
from .._io import atomic_json_dump
from .._loop import OPTIMIZERS as _LOOP_OPTIMIZERS
from .._loop import (
    Callback,
    LoopHooks,
    LoopState,
    StepFn,
    TrainLoop,
    as_loader,
    batched_loader,
    check_callbacks,
    check_label_range,
    check_model_input,
    check_not_empty,
    cross_entropy_step,
    first_image,
    len_or_none,
    make_optimizer,
    resolve_device,
    resolve_progress,
    run_eval,
)
from ..errors import ArgumentError, ArgumentTypeError, CheckpointError, PyrepairError, ShapeError
from ..patch import combination_record, install_combination
from ..train import History, evaluate, load_checkpoint, save_checkpoint

__all__ = [
    "DataArg",
    "DeviceArg",
    "FineTuningMethod",
    "RepairMethod",
    "RepairResult",
    "StepFn",
    "cross_entropy_step",
    "finetune",
    "union",
]

logger = logging.getLogger(__name__)

DataArg = Sequence[Any] | Dataset
"""An ``(images, labels)`` pair (float ``[N, C, H, W]`` in ``[0, 1]``, integer ``[N]``) or a map-style/iterable
torch ``Dataset`` yielding ``(image, label)``."""

DeviceArg = str | int | torch.device | None
"""A device request, as accepted by :func:`pyrepair.train.resolve_device`."""

OPTIMIZERS: tuple[str, ...] = _LOOP_OPTIMIZERS
"""Optimizer names accepted by :func:`finetune`: ``("adam", "adamw", "sgd")``."""

SCHEDULERS: tuple[str, ...] = ("cosine", "none")
"""Learning-rate schedules accepted by :func:`finetune`: per-step cosine annealing to 0, or constant."""

_FINETUNE = "pyrepair.methods.finetune"
_EVAL_BATCH = 512


# --------------------------------------------------------------------------------------------------------------------
# Data helpers
# --------------------------------------------------------------------------------------------------------------------


class _Union(Dataset):
    """The concatenation of several data sets, yielding ``(image tensor, int64 label tensor)``.

    When every part is an :class:`ImageData` the union is ``batched``: indexing it with a list of indices gathers a
    whole batch from the parts at once (no per-sample Python loop and no copy of the parts, which for CIFAR-sized
    ``D^t`` would double the memory). Otherwise it is a per-sample map-style dataset whose labels are normalised to
    0-d int64 tensors, so the default collate can stack samples coming from different parts.
    """

    def __init__(self, parts: Sequence[ImageData | Dataset]) -> None:
        self.parts = list(parts)
        sizes = [p.images.shape[0] if isinstance(p, ImageData) else len(p) for p in self.parts]  # type: ignore[arg-type]
        self.offsets = torch.tensor([0, *torch.tensor(sizes).cumsum(0).tolist()], dtype=torch.long)
        self.batched = all(isinstance(p, ImageData) for p in self.parts)
        first = self.parts[0]
        self.dtype = first.images.dtype if isinstance(first, ImageData) else torch.float32
        self.device = first.images.device if isinstance(first, ImageData) else torch.device("cpu")

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _locate(self, idx: torch.Tensor) -> torch.Tensor:
        n = len(self)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise IndexError(f"index out of range for a union of {n} samples")
        return torch.bucketize(idx, self.offsets[1:], right=True)

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(index, numbers.Integral) or (isinstance(index, torch.Tensor) and index.ndim == 0):
            i = int(index)
            k = int(self._locate(torch.tensor([i]))[0])
            local = i - int(self.offsets[k])
            part = self.parts[k]
            if isinstance(part, ImageData):
                return part.images[local], part.labels[local]
            item = part[local]
            return torch.as_tensor(item[0]), torch.as_tensor(item[1], dtype=torch.long)
        if not self.batched:
            raise ArgumentTypeError("batched indexing needs tensor parts")
        idx = torch.as_tensor(index, dtype=torch.long).reshape(-1)
        which = self._locate(idx)
        first = self.parts[0]
        assert isinstance(first, ImageData)
        x = torch.empty((idx.numel(), *first.images.shape[1:]), dtype=self.dtype, device=self.device)
        y = torch.empty(idx.numel(), dtype=torch.long, device=self.device)
        for k, part in enumerate(self.parts):
            assert isinstance(part, ImageData)
            sel = (which == k).nonzero().squeeze(1)
            if sel.numel():
                local = idx[sel] - self.offsets[k]
                sel_d, local_d = sel.to(self.device), local.to(part.images.device)
                x[sel_d] = part.images[local_d].to(device=self.device, dtype=self.dtype)
                y[sel_d] = part.labels[local_d].to(self.device)
        return x, y


def union(*parts: ImageData | Dataset) -> ImageData | Dataset:
    """The union ``D^t ∪ D^c`` of validated data sets (one part is returned as is); see :class:`_Union`."""
    if len(parts) == 1:
        return parts[0]
    return _Union(parts)


def _make_train_loader(data: Any, batch_size: int, generator: torch.Generator, fn: str, pin_memory: bool) -> DataLoader:
    if isinstance(data, _Union) and data.batched:
        # the batched-index path that as_loader uses for one tensor pair
        return batched_loader(data, batch_size, True, generator, pin_memory and data.device.type == "cpu")
    if isinstance(data, ImageData):
        data = (data.images, data.labels)
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        pin_memory = pin_memory and data[0].device.type == "cpu"
    return as_loader(data, batch_size, True, generator, fn, name="data", pin_memory=pin_memory)


def _check_data(data: Any, name: str, fn: str) -> ImageData | Dataset:
    """Validate one data argument of :meth:`RepairMethod.repair`: a tensor pair (→ ImageData) or a Dataset."""
    if isinstance(data, DataLoader):
        raise ArgumentTypeError(
            f"{fn}: {name} must be an (images, labels) pair or a torch Dataset, got a DataLoader "
            f"(pass its .dataset; batching and shuffling are set by the method's batch_size and the seed)"
        )
    if isinstance(data, Dataset):
        if not isinstance(data, IterableDataset):
            check_not_empty(data, name, fn)
        return data
    return as_image_data(data, fn, name=name)


def _sample_shape(data: ImageData | Dataset) -> tuple[int, ...] | None:
    """The ``(C, H, W)`` of one sample, or ``None`` when it cannot be read cheaply."""
    if isinstance(data, ImageData):
        return tuple(int(s) for s in data.images.shape[1:])
    if isinstance(data, IterableDataset):
        return None
    try:
        item = data[0]
        return tuple(int(s) for s in torch.as_tensor(item[0]).shape)
    except Exception:  # noqa: BLE001 - a user dataset may fail in many ways; the loader reports it later
        return None


# --------------------------------------------------------------------------------------------------------------------
# The fine-tuning loop
# --------------------------------------------------------------------------------------------------------------------


def _check_optim_args(
    fn: str,
    epochs: Any,
    batch_size: Any,
    lr: Any,
    optimizer: Any,
    momentum: Any,
    nesterov: Any,
    weight_decay: Any,
    scheduler: Any,
) -> dict[str, Any]:
    """Validate the shared optimisation hyper-parameters; returns them normalised (errors name arg and value)."""
    out: dict[str, Any] = {
        "epochs": check_int(epochs, "epochs", fn, min_value=1),
        "batch_size": check_int(batch_size, "batch_size", fn, min_value=1),
        "lr": check_positive(lr, "lr", fn),
    }
    if not isinstance(optimizer, str):
        raise ArgumentTypeError(f"{fn}: optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    out["optimizer"] = optimizer.strip().lower()
    check_in("optimizer", out["optimizer"], OPTIMIZERS, fn)
    out["momentum"] = check_range(momentum, "momentum", fn, 0.0, 1.0)
    if not isinstance(nesterov, bool):
        raise ArgumentTypeError(f"{fn}: nesterov must be True or False, got {nesterov!r}")
    if nesterov and out["optimizer"] == "sgd" and out["momentum"] == 0:
        raise ArgumentError(f"{fn}: nesterov=True needs momentum > 0, got momentum={momentum!r}")
    out["nesterov"] = nesterov
    out["weight_decay"] = check_positive(weight_decay, "weight_decay", fn, allow_zero=True)
    if not isinstance(scheduler, str):
        raise ArgumentTypeError(f"{fn}: scheduler must be one of {', '.join(SCHEDULERS)}, got {scheduler!r}")
    out["scheduler"] = scheduler.strip().lower()
    check_in("scheduler", out["scheduler"], SCHEDULERS, fn)
    return out


def _num_classes(model: nn.Module, image: torch.Tensor, dev: torch.device, fn: str) -> int:
    """K from one forward of a single image in eval mode (no gradients, no change to BatchNorm statistics)."""
    return check_model_input(model, image, dev, fn, "data images")


def _check_unit_range(data: ImageData | Dataset | None, name: str, fn: str) -> None:
    """Raise ``ValueError`` when a tensor set's images leave ``[0, 1]`` (a ``Dataset`` is checked on its first
    sample only: reading every sample up front would cost a full pass).

    A private helper rather than a ``_checks`` function: only the repair methods need a whole-tensor value range.
    """
    if data is None:
        return
    x = data.images if isinstance(data, ImageData) else first_image(data)
    if x is None or x.numel() == 0 or not x.is_floating_point():
        return
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        where = "" if isinstance(data, ImageData) else " (first sample)"
        raise ArgumentError(
            f"{fn}: {name} images must lie in [0, 1] (the augmentations and the models' normalisation assume it), "
            f"got values in [{lo:.6g}, {hi:.6g}]{where}; divide 0..255 images by 255, or pass check_range=False "
            "for data in another range on purpose"
        )


def finetune(
    model: nn.Module,
    data: DataArg,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 0.01,
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd",
    momentum: float = 0.9,
    nesterov: bool = True,
    weight_decay: float = 5e-4,
    scheduler: Literal["cosine", "none"] = "cosine",
    seed: int = 0,
    device: DeviceArg = None,
    progress: bool | None = None,
    step: StepFn | None = None,
    val: DataArg | None = None,
    callbacks: Iterable[Callback] | Callback = (),
    max_grad_norm: float | None = None,
) -> History:
    """Fine-tune ``model`` in place with a custom per-batch loss; the loop shared by every repair method.

    Optimisation follows ``shared/spec/deeprepair.md`` §A.7: SGD with momentum 0.9, Nesterov and weight decay 5e-4,
    the learning rate annealed per step with a cosine from ``lr`` to 0 over the whole budget of ``epochs`` (the
    paper's code anneals over 100 epochs' worth of steps whatever the budget; we anneal over the actual one).

    Randomness is reproducible and private, as in :func:`pyrepair.train.fit`: at the start of every epoch the
    shuffling generator, the ``generator`` handed to ``step`` (on the training device) and the global RNGs used by
    dropout are reseeded from ``(seed, epoch)``, inside ``torch.random.fork_rng`` so the caller's RNG state is
    unchanged. On CPU, the same seed, data and initial weights give bit-identical weights.

    The model is moved to ``device`` (and stays there); the train/eval modes of its submodules are restored when
    the function returns. Training runs in train mode, validation in eval mode without gradients.

    Args:
        model: a classifier mapping float ``[N, C, H, W]`` images to ``[N, K]`` logits.
        data: training data: an ``(images, labels)`` pair of tensors, a ``Dataset`` yielding ``(image, label)``, or
            a ``DataLoader`` (used as is; then ``batch_size`` and the shuffling seed do not apply).
        epochs: number of passes over ``data``; >= 1.
        batch_size: samples per step; >= 1.
        lr: initial learning rate; > 0.
        optimizer: ``"sgd"`` (with ``momentum`` and ``nesterov``), ``"adam"`` or ``"adamw"``.
        momentum: SGD momentum; >= 0.
        nesterov: Nesterov momentum for SGD (needs ``momentum > 0``).
        weight_decay: L2 penalty (decoupled for ``"adamw"``); >= 0.
        scheduler: ``"cosine"`` (per step, to 0 at the end of the budget) or ``"none"`` (constant ``lr``).
        seed: seed of shuffling, augmentation and random layers; >= 0.
        device: where to train; see :func:`pyrepair.train.resolve_device` (default: CUDA if available, else CPU).
        progress: tqdm bars over batches; ``None`` shows them only when stderr is a terminal and
            ``PYREPAIR_PROGRESS`` is not ``"0"``.
        step: ``step(model, images, labels, generator) -> scalar loss`` (see :data:`StepFn`); default plain
            cross-entropy.
        val: optional validation data (pair or Dataset); adds ``val_loss`` / ``val_accuracy`` to every record.
        callbacks: ``cb(epoch, record, model)`` called after every epoch (``epoch`` 1-based, ``record`` a copy of
            the history record); a truthy return value stops training after that epoch.
        max_grad_norm: clip the global gradient norm to this value before every step; ``None`` (default): no
            clipping; > 0.

    Returns:
        The :class:`~pyrepair.train.History`; each record has ``epoch``, ``train_loss`` (mean of the step losses,
        weighted by batch size), ``lr`` (at the first step of the epoch), ``seconds`` and, with ``val``,
        ``val_loss`` and ``val_accuracy``.

    Raises:
        ValueError: bad numbers (``epochs < 1``, ``lr <= 0``, Nesterov without momentum, ...), empty data, labels
            outside the model's ``[0, K)``.
        ShapeError, DTypeError: malformed images or labels.
        UnknownNameError: unknown optimizer or scheduler name (the message lists the valid ones).
        TypeError: ``step`` is not callable or returns something other than a scalar tensor.
        FloatingPointError: the loss became NaN or infinite (the message gives epoch and batch; the weights were not
            updated with it).
        DeviceError: ``device`` is not available.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> x, y = torch.rand(64, 1, 8, 8), torch.arange(64) % 2
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
        >>> history = finetune(model, (x, y), epochs=2, batch_size=16, val=(x, y), progress=False)
        >>> [r["epoch"] for r in history], history.epochs[0]["lr"]
        ([1, 2], 0.01)
    """
    fn = _FINETUNE
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"{fn}: model must be a torch.nn.Module, got {type(model).__name__}")
    args = _check_optim_args(fn, epochs, batch_size, lr, optimizer, momentum, nesterov, weight_decay, scheduler)
    epochs, batch_size, lr = args["epochs"], args["batch_size"], args["lr"]
    seed = check_seed(seed, fn)
    if step is None:
        step = cross_entropy_step
    elif not callable(step):
        raise ArgumentTypeError(
            f"{fn}: step must be a callable step(model, images, "
            f"labels, generator) -> loss, got {step!r}"
        )
    cbs = check_callbacks(callbacks, fn)
    dev = resolve_device(device, fn)
    show = resolve_progress(progress, fn)
    pin = dev.type == "cuda"

    shuffle_gen = torch.Generator()
    loader = _make_train_loader(data, batch_size, shuffle_gen, fn, pin)
    val_loader = None if val is None else as_loader(val, _EVAL_BATCH, False, None, fn, name="val")

    model.to(dev)
    opt = make_optimizer(args["optimizer"], model, lr, fn, weight_decay=args["weight_decay"],
                         momentum=args["momentum"], nesterov=args["nesterov"])  # fmt: skip
    n_classes: list[int] = []  # K, from one forward of the first image (labels are checked before the step)
    user_step = step

    def checked_step(module: nn.Module, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> Any:
        if not n_classes:
            n_classes.append(_num_classes(module, x[0], dev, fn))
        check_label_range(y, n_classes[0], fn, "data")  # before the loss: bad targets abort CUDA kernels
        return user_step(module, x, y, gen)

    def validate(m: nn.Module, e1: int) -> dict[str, Any]:
        assert val_loader is not None
        res = run_eval(m, val_loader, dev, None, fn, "val", show, desc=f"val {e1}/{epochs}")
        return {"val_loss": res["loss"], "val_accuracy": res["accuracy"]}

    hooks = [] if args["scheduler"] == "none" else [_CosineLR(lr, epochs, len_or_none(loader))]
    loop = TrainLoop(
        model, loader, checked_step, opt, epochs=epochs, seed=seed, device=dev, fn=fn, hooks=hooks, callbacks=cbs,
        validate=None if val_loader is None else validate, shuffle_generator=shuffle_gen, progress=show, log=logger,
        max_grad_norm=max_grad_norm,
    )  # fmt: skip
    return History(loop.run())


class _CosineLR(LoopHooks):
    """Cosine annealing of the learning rate from ``lr`` to 0 over the whole budget (§A.7), set before every step;
    once per epoch when the loader has no length."""

    def __init__(self, lr: float, epochs: int, steps_per_epoch: int | None) -> None:
        self.lr, self.per_step = lr, bool(steps_per_epoch)
        self.total = epochs * steps_per_epoch if steps_per_epoch else epochs

    def _set(self, state: LoopState, t: int) -> None:
        value = 0.5 * self.lr * (1.0 + math.cos(math.pi * min(t, self.total) / self.total))
        for g in state.optimizer.param_groups:
            g["lr"] = value

    def on_epoch_start(self, state: LoopState) -> None:
        if not self.per_step:
            self._set(state, state.epoch)

    def before_step(self, state: LoopState, images: torch.Tensor, labels: Any) -> tuple[torch.Tensor, Any]:
        if self.per_step:
            self._set(state, state.step)
        return images, labels


# --------------------------------------------------------------------------------------------------------------------
# RepairResult
# --------------------------------------------------------------------------------------------------------------------


def _read_json(path: Path, fn: str) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"{fn}: {path.name} not found in {path.parent} (expected a RepairResult.save folder)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{fn}: {path} is not valid JSON ({e})") from e


@dataclass
class RepairResult:
    """What :meth:`RepairMethod.repair` returns.

    Attributes:
        model: the repaired model (a copy of the user's unless ``inplace=True``), in eval mode, on the device it was
            trained on.
        history: per-epoch training records (:class:`~pyrepair.train.History`).
        metrics: accuracies (fractions in ``[0, 1]``) before and after repair, ``{"val": {"before": .., "after":
            ..}, "failures": {"before": .., "after": ..}, "seconds": ..}``; a set that was not given is absent.
            ``"failures"`` is measured on the ``failures`` passed to ``repair`` (``D^c``); repair accuracy on
            held-out failures (``D^e``, §A.9) is measured by the caller with :func:`pyrepair.train.evaluate`.
            ``"seconds"`` is the wall time of the training itself (without the before/after evaluations).
        method: the method's registry name (``"augmix"``, ``"finetune"``, ...).
        config: the method's hyper-parameters (JSON-able).
        info: what the method found along the way, JSON-able, for reports (e.g. DeepRepair's failure clusters under
            ``"clusters"``); empty for methods that record nothing.

    Example:
        >>> result.save("out/augmix")  # doctest: +SKIP
        >>> RepairResult.load("out/augmix").metrics["val"]  # doctest: +SKIP
        {'before': 0.981, 'after': 0.975}
    """

    model: nn.Module
    history: History
    metrics: dict[str, Any]
    method: str
    config: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``model.pt``, ``metrics.json``, ``history.json``, ``config.json`` and ``info.json`` into ``directory``.

        ``model.pt`` is a :func:`pyrepair.train.save_checkpoint` file (weights, the model's ``pyrepair_config`` when
        it has one, the history, and method/config/metrics in its metadata, with the sha256 content hash that
        :meth:`load` verifies); ``config.json`` holds
        ``{"method": ..., "config": {...}}``. Existing files are replaced, each one atomically. A run-time expert
        ensemble (NNRepair's ``naive``/``confidence``/``votes``) is stored as the plain model's weights plus the
        experts' record (:func:`pyrepair.patch.combination_record`) in the metadata; :meth:`load` rebuilds it.

        Args:
            directory: the folder; created (with parents) when missing.

        Returns:
            The folder, as a ``Path``.

        Raises:
            TypeError: ``directory`` is not a path, or ``metrics``/``config`` hold values that are not plain.
            NotADirectoryError: ``directory`` exists and is a file.
        """
        fn = "pyrepair.methods.RepairResult.save"
        if not isinstance(directory, (str, os.PathLike)):
            raise ArgumentTypeError(f"{fn}: directory must be a str or os.PathLike, got {type(directory).__name__}")
        out = Path(os.fspath(directory)).expanduser()
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(f"{fn}: directory must be a folder, got an existing file: {out}")
        out.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {"method": self.method, "config": self.config, "metrics": self.metrics}
        plain, combination = combination_record(self.model)  # a run-time expert ensemble: plain weights + record
        if combination is not None:
            meta["combination"] = combination
        save_checkpoint(out / "model.pt", plain, history=self.history, metadata=meta)
        atomic_json_dump(self.metrics, out / "metrics.json")
        atomic_json_dump(self.history.to_dict(), out / "history.json")
        atomic_json_dump({"method": self.method, "config": self.config}, out / "config.json")
        atomic_json_dump(self.info, out / "info.json")
        return out

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        model: nn.Module | None = None,
        *,
        map_location: str | torch.device | None = "cpu",
    ) -> RepairResult:
        """Read a folder written by :meth:`save`.

        Args:
            directory: the folder.
            model: a model of the same architecture to load the weights into; needed only when the saved model had
                no ``pyrepair_config`` (models from :func:`pyrepair.models.create` have one and are rebuilt).
            map_location: where to put the weights (as for ``torch.load``).

        Returns:
            The :class:`RepairResult`, its model in eval mode.

        Raises:
            FileNotFoundError: the folder or one of its four files is missing.
            DeviceError: ``map_location`` names a CUDA device and CUDA is not available.
            CheckpointError: ``model.pt`` is not a pyrepair checkpoint, is damaged (its content does not match the
                sha256 stored in it), holds no architecture config and no ``model`` was given, or a JSON file is
                malformed.

        Warns:
            PyrepairWarning: ``model.pt`` was written before content hashes existed (damage cannot be detected).
            RuntimeError: the weights do not fit ``model``.
        """
        fn = "pyrepair.methods.RepairResult.load"
        if not isinstance(directory, (str, os.PathLike)):
            raise ArgumentTypeError(f"{fn}: directory must be a str or os.PathLike, got {type(directory).__name__}")
        src = Path(os.fspath(directory)).expanduser()
        if not src.is_dir():
            raise FileNotFoundError(f"{fn}: folder not found: {src}")
        metrics = _read_json(src / "metrics.json", fn)
        hist = _read_json(src / "history.json", fn)
        cfg = _read_json(src / "config.json", fn)
        if not isinstance(cfg, Mapping) or "method" not in cfg:
            raise CheckpointError(f"{fn}: {src / 'config.json'} must hold {{'method': ..., 'config': ...}}")
        if not (src / "model.pt").is_file():
            raise FileNotFoundError(f"{fn}: model.pt not found in {src}")
        ck = load_checkpoint(src / "model.pt", model, map_location=map_location)
        if ck.model is None:
            raise CheckpointError(
                f"{fn}: {src / 'model.pt'} holds no architecture config (the model had no pyrepair_config); "
                "pass model=<an instance of the same architecture> to load the weights into"
            )
        repaired = ck.model
        combination = ck.metadata.get("combination")
        if combination is not None:
            try:
                repaired = install_combination(repaired, combination, inplace=True)
            except PyrepairError as e:
                raise CheckpointError(f"{fn}: {src / 'model.pt'} holds a malformed expert combination ({e})") from e
        repaired.eval()
        return cls(
            model=repaired,
            history=History.from_dict(hist),
            metrics=dict(metrics),
            method=str(cfg["method"]),
            config=dict(cfg.get("config") or {}),
            info=dict(_read_json(src / "info.json", fn)) if (src / "info.json").is_file() else {},
        )


# --------------------------------------------------------------------------------------------------------------------
# RepairMethod
# --------------------------------------------------------------------------------------------------------------------


class RepairMethod(ABC):
    """Base class of every repair method: ``Method(**hparams).repair(model, train, failures, ...)``.

    Subclasses validate their hyper-parameters in ``__init__``, store them with :meth:`_set_config` (they become
    :attr:`config`), set the class attribute ``name`` and implement :meth:`_fit`. They may override
    :meth:`_check_inputs` to reject data they cannot use.
    """

    name: ClassVar[str] = "method"
    """The registry name (``pyrepair.methods.create(name)``)."""

    _config: dict[str, Any]

    def _set_config(self, **hparams: Any) -> None:
        self._config = dict(hparams)

    @property
    def config(self) -> dict[str, Any]:
        """The hyper-parameters, as a JSON-able dict (a copy)."""
        return copy.deepcopy(getattr(self, "_config", {}))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"

    def _fn(self, verb: str = "repair") -> str:
        return f"pyrepair.methods.{type(self).__name__}.{verb}"

    def _check_inputs(self, train: ImageData | Dataset, failures: ImageData | Dataset | None, fn: str) -> None:
        """Hook: reject data this method cannot use (the base class accepts anything valid)."""
        return None

    @abstractmethod
    def _fit(
        self,
        model: nn.Module,
        train: ImageData | Dataset,
        failures: ImageData | Dataset | None,
        *,
        val: ImageData | Dataset | None,
        device: torch.device,
        seed: int,
        progress: bool | None,
        callbacks: list[Callback],
    ) -> History | tuple[History, dict[str, Any]] | tuple[History, dict[str, Any], nn.Module]:
        """Repair ``model`` in place (it is already a copy, on ``device``) and return the training history, or
        ``(history, info)`` where ``info`` is a JSON-able dict that becomes :attr:`RepairResult.info`, or
        ``(history, info, repaired)`` when the repaired classifier is a new module (a wrapper around ``model``, such
        as NNRepair's run-time ensemble of intermediate-layer experts) that becomes :attr:`RepairResult.model`.

        ``train``, ``failures`` and ``val`` are validated: :class:`~pyrepair.data.ImageData` for tensor pairs,
        torch ``Dataset`` otherwise.
        """

    def repair(
        self,
        model: nn.Module,
        train: DataArg,
        failures: DataArg | None = None,
        *,
        val: DataArg | None = None,
        device: DeviceArg = None,
        seed: int = 0,
        progress: bool | None = None,
        inplace: bool = False,
        callbacks: Iterable[Callback] | Callback = (),
        check_range: bool = True,
    ) -> RepairResult:
        """Repair a trained classifier and measure it before and after.

        The user's model is deep-copied first, so its weights, device and train/eval modes are never changed
        (``inplace=True`` skips the copy: then the model itself is trained, moved to ``device`` and left in eval
        mode). Images are expected in ``[0, 1]`` (the augmentations assume it); normalisation belongs inside the
        model (``pyrepair.models.create(..., mean=, std=)``).

        Args:
            model: the trained classifier, float ``[N, C, H, W]`` -> ``[N, K]`` logits.
            train: the training set ``D^t``: an ``(images, labels)`` pair (float ``[N, C, H, W]`` tensor or numpy
                array, integer ``[N]``) or a torch ``Dataset`` yielding ``(image, label)``.
            failures: the collected failure cases ``D^c``, same forms; methods with ``include_failures=True`` train
                on ``D^t ∪ D^c`` and need it.
            val: optional clean evaluation set (``D^v``): accuracy before/after, and ``val_accuracy`` per epoch.
            device: where to train; default CUDA when available, else CPU.
            seed: seed of every random draw (shuffling, augmentation, dropout); >= 0. Same seed, data and model give
                the same repaired weights on CPU.
            progress: tqdm bars; ``None`` shows them only on a terminal.
            inplace: train the given model instead of a copy.
            callbacks: ``cb(epoch, record, model)`` after each epoch; a truthy return value stops training.
            check_range: reject images outside ``[0, 1]`` (tensor sets in full, a ``Dataset``'s first sample);
                ``False`` accepts data in another range on purpose. NaN/inf images are always rejected.

        Returns:
            A :class:`RepairResult` whose ``model`` is in eval mode.

        Raises:
            TypeError: ``model`` is not an ``nn.Module`` (or cannot be deep-copied: use ``inplace=True``), data of an
                unsupported type (a ``DataLoader``: pass its dataset), a callback that is not callable.
            ShapeError, DTypeError: malformed images or labels, or ``train``/``failures``/``val`` images of
                different ``[C, H, W]``.
            ValueError: empty data, labels outside the model's ``[0, K)``, NaN/inf images, images outside
                ``[0, 1]`` (unless ``check_range=False``), ``failures`` missing when the method trains on them, a
                negative seed.
            ShapeError: the model does not accept the images' ``[C, H, W]`` (one forward of one image before
                anything else runs; the message gives the model's expected input for :mod:`pyrepair.models`
                models).
            FloatingPointError: the training loss became NaN or infinite.
            DeviceError: ``device`` is not available.

        Example:
            >>> result = AugMixRepair(epochs=2).repair(model, train, failures, val=test)  # doctest: +SKIP
            >>> result.metrics["failures"], result.metrics["val"]  # doctest: +SKIP
            ({'before': 0.0, 'after': 0.62}, {'before': 0.981, 'after': 0.976})
        """
        fn = self._fn()
        if not isinstance(model, nn.Module):
            raise ArgumentTypeError(f"{fn}: model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(inplace, bool):
            raise ArgumentTypeError(f"{fn}: inplace must be True or False, got {inplace!r}")
        if not isinstance(check_range, bool):
            raise ArgumentTypeError(f"{fn}: check_range must be True or False, got {check_range!r}")
        seed = check_seed(seed, fn)
        cbs = check_callbacks(callbacks, fn)
        tr = _check_data(train, "train", fn)
        fa = None if failures is None else _check_data(failures, "failures", fn)
        va = None if val is None else _check_data(val, "val", fn)
        ref = _sample_shape(tr)
        for name, d in (("failures", fa), ("val", va)):
            other = None if d is None else _sample_shape(d)
            if ref is not None and other is not None and other != ref:
                raise ShapeError(
                    f"{fn}: {name} images must have the [C, H, W] of train, {format_shape(ref)}, "
                    f"got {format_shape(other)}",
                    actual_shape=other,
                    expected="C,H,W",
                )
        for name, d in (("train", tr), ("failures", fa), ("val", va)):
            if isinstance(d, ImageData):
                check_finite(d.images, f"{name} images", fn)
            if check_range:
                _check_unit_range(d, name, fn)
        self._check_inputs(tr, fa, fn)
        dev = resolve_device(device, fn)

        if inplace:
            work = model
        else:
            try:
                work = copy.deepcopy(model)
            except Exception as e:  # noqa: BLE001 - deepcopy fails with many types
                raise ArgumentTypeError(
                    f"{fn}: could not copy the model ({type(e).__name__}: {e}); pass inplace=True to repair it in place"
                ) from e
        work.to(dev)

        # Before anything runs: the model accepts the images (one forward of one image, ShapeError otherwise), and
        # labels lie in [0, K) for tensor data, so the message names the argument.
        first = tr.images[0] if isinstance(tr, ImageData) else first_image(tr)
        if first is not None:
            k = check_model_input(work, first, dev, fn, "train images")
            for name, d in (("train", tr), ("failures", fa), ("val", va)):
                if isinstance(d, ImageData) and d.labels.numel():
                    check_label_range(d.labels, k, fn, name)

        sets = {"val": va, "failures": fa}
        before = {key: _accuracy(work, d) for key, d in sets.items() if d is not None}
        logger.info("%s: before repair: %s", type(self).__name__, _fmt(before))
        t0 = time.perf_counter()
        fitted = self._fit(work, tr, fa, val=va, device=dev, seed=seed, progress=progress, callbacks=cbs)
        history, info = fitted[:2] if isinstance(fitted, tuple) else (fitted, {})
        if isinstance(fitted, tuple) and len(fitted) == 3:  # the method returned a new module (a wrapper of work)
            work = fitted[2]
        seconds = time.perf_counter() - t0
        after = {key: _accuracy(work, d) for key, d in sets.items() if d is not None}
        logger.info("%s: after repair (%.1f s): %s", type(self).__name__, seconds, _fmt(after))
        work.eval()
        metrics: dict[str, Any] = {key: {"before": before[key], "after": after[key]} for key in before}
        metrics["seconds"] = seconds
        return RepairResult(model=work, history=history, metrics=metrics, method=self.name, config=self.config,
                            info=info)


def _accuracy(model: nn.Module, data: ImageData | Dataset) -> float:
    arg: Any = (data.images, data.labels) if isinstance(data, ImageData) else data
    return float(evaluate(model, arg, batch_size=_EVAL_BATCH)["accuracy"])


def _fmt(acc: Mapping[str, float]) -> str:
    return ", ".join(f"{k} accuracy {v:.4f}" for k, v in acc.items()) or "no evaluation data"


# --------------------------------------------------------------------------------------------------------------------
# FineTuningMethod
# --------------------------------------------------------------------------------------------------------------------


class FineTuningMethod(RepairMethod):
    """A repair method that fine-tunes the model on ``D^t ∪ D^c`` with :func:`finetune` and its own step loss.

    Holds the optimisation hyper-parameters shared by DeepRepair and its baselines (§A.7, §A.8); a subclass sets
    ``name``, validates its own hyper-parameters, calls ``super().__init__(...)`` with the shared ones and
    overrides :meth:`_step`.

    Defaults are for fine-tuning an already trained model: ``lr=0.01`` with a cosine to 0 over ``epochs=10``. The
    paper trains with ``lr=0.1`` (SGD, Nesterov, weight decay 5e-4, batch 128) on schedules long enough to act
    almost like training from scratch; pass ``lr=0.1, epochs=...`` to reproduce that.

    Args:
        epochs: fine-tuning epochs over ``D^t ∪ D^c``; >= 1.
        batch_size: samples per step; >= 1.
        lr: initial learning rate (cosine-annealed to 0 per step); > 0.
        momentum: SGD momentum; >= 0.
        nesterov: Nesterov momentum (needs ``momentum > 0``).
        weight_decay: L2 penalty; >= 0.
        optimizer: ``"sgd"`` (the paper's), ``"adam"`` or ``"adamw"``.
        scheduler: ``"cosine"`` or ``"none"``.
        include_failures: train on ``D^t ∪ D^c`` (the baselines' protocol, §A.8); ``repair`` then needs
            ``failures``. ``False`` trains on ``D^t`` only.

    Raises:
        TypeError, ValueError, UnknownNameError: an invalid hyper-parameter (the message names it and its value).
    """

    def __init__(
        self,
        *,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 0.01,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 5e-4,
        optimizer: Literal["sgd", "adam", "adamw"] = "sgd",
        scheduler: Literal["cosine", "none"] = "cosine",
        include_failures: bool = True,
    ) -> None:
        fn = f"pyrepair.methods.{type(self).__name__}"
        args = _check_optim_args(fn, epochs, batch_size, lr, optimizer, momentum, nesterov, weight_decay, scheduler)
        if not isinstance(include_failures, bool):
            raise ArgumentTypeError(f"{fn}: include_failures must be True or False, got {include_failures!r}")
        self.epochs: int = args["epochs"]
        self.batch_size: int = args["batch_size"]
        self.lr: float = args["lr"]
        self.momentum: float = args["momentum"]
        self.nesterov: bool = args["nesterov"]
        self.weight_decay: float = args["weight_decay"]
        self.optimizer: str = args["optimizer"]
        self.scheduler: str = args["scheduler"]
        self.include_failures = include_failures
        self._set_config(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            include_failures=self.include_failures,
        )

    def _add_config(self, **hparams: Any) -> None:
        """Record method-specific hyper-parameters (placed before the shared ones in :attr:`config`)."""
        self._config = {**hparams, **self._config}

    def _check_inputs(self, train: ImageData | Dataset, failures: ImageData | Dataset | None, fn: str) -> None:
        if self.include_failures and failures is None:
            raise ArgumentError(
                f"{fn}: {type(self).__name__}(include_failures=True) fine-tunes on D^t ∪ D^c, so failures must be "
                "given (the collected failure cases); pass failures=(images, labels) or construct the method with "
                "include_failures=False"
            )
        if self.include_failures:
            self._check_union(train, failures, fn)

    def _check_union(self, train: ImageData | Dataset, failures: ImageData | Dataset | None, fn: str) -> None:
        for name, d in (("train", train), ("failures", failures)):
            if isinstance(d, IterableDataset):
                raise ArgumentTypeError(
                    f"{fn}: {name} must be an (images, labels) pair or a map-style Dataset to be combined into "
                    f"D^t ∪ D^c, got an IterableDataset ({type(d).__name__}); pass include_failures=False to train "
                    "on train alone"
                )

    def _training_data(self, train: ImageData | Dataset, failures: ImageData | Dataset | None) -> ImageData | Dataset:
        if self.include_failures and failures is not None:
            return union(train, failures)
        return train

    def _step(
        self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """One step's loss (see :data:`StepFn`); plain cross-entropy here."""
        return cross_entropy_step(model, images, labels, generator)

    def _fit(
        self,
        model: nn.Module,
        train: ImageData | Dataset,
        failures: ImageData | Dataset | None,
        *,
        val: ImageData | Dataset | None,
        device: torch.device,
        seed: int,
        progress: bool | None,
        callbacks: list[Callback],
    ) -> History | tuple[History, dict[str, Any]]:
        return self._finetune(model, train, failures, step=self._step, val=val, device=device, seed=seed,
                              progress=progress, callbacks=callbacks)

    def _finetune(
        self,
        model: nn.Module,
        train: ImageData | Dataset,
        failures: ImageData | Dataset | None,
        *,
        step: StepFn,
        val: ImageData | Dataset | None,
        device: torch.device,
        seed: int,
        progress: bool | None,
        callbacks: list[Callback],
    ) -> History:
        """:func:`finetune` on :meth:`_training_data` with this method's optimisation settings and ``step``."""
        data = self._training_data(train, failures)
        return finetune(
            model,
            data,  # type: ignore[arg-type]
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer=self.optimizer,  # type: ignore[arg-type]
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
            scheduler=self.scheduler,  # type: ignore[arg-type]
            seed=seed,
            device=device,
            progress=progress,
            step=step,
            val=val,
            callbacks=callbacks,
        )
