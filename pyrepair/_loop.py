"""The one training loop and its machinery: every fit, fine-tune and repair in pyrepair runs on :class:`TrainLoop`.

Who uses it: :func:`pyrepair.train.fit`, :func:`pyrepair.methods.finetune` (every fine-tuning repair method),
:func:`pyrepair.wavelet.stylizer.train_wct2`, and the repair methods to come (DeepRepair, SENSEI, DARE, NNrepair).
It sits low in the import graph (it imports only :mod:`pyrepair._checks`, :mod:`pyrepair._io` and
:mod:`pyrepair.errors`), so kernel packages may use it too; it never imports ``data``, ``train`` or ``methods``.

What it holds:

* devices and precision: :func:`resolve_device`, :func:`model_device`, :func:`input_dtype`, :func:`on_device`,
  :func:`amp_settings`, :func:`grad_scaler`, :func:`autocast`;
* reproducible randomness: :func:`seed_for` (independent 63-bit seeds per ``(seed, epoch, stream)``),
  :func:`seed_globals`, :func:`forked_rng` (the caller's RNG state is restored afterwards), :func:`rng_state` /
  :func:`set_rng_state`;
* train/eval modes: :func:`save_modes` / :func:`restore_modes`;
* progress bars: :func:`resolve_progress` (``None``: only on a terminal, and not when ``PYREPAIR_PROGRESS=0``);
* data: :func:`as_loader` (tensor pairs are indexed a whole batch at a time), :func:`unpack_batch`,
  :func:`len_or_none`, :func:`check_logits`, :func:`check_label_range`;
* evaluation: :func:`run_eval` (loss, accuracy, per-class accuracy), :func:`predict` (logits in batches);
* the loop: :class:`TrainLoop` with :class:`LoopHooks` and :class:`LoopState`.

The loop, per epoch ``e`` (0-based) from ``state.epoch`` to ``epochs``::

    seed the global RNGs, the shuffling generator and the step generator from (seed, e)   # streams 0, 1, 2
    hooks.on_epoch_start(state)                      # SENSEI: GA search; DistributedSampler.set_epoch(e)
    for every batch:
        images, labels = prepare(batch)              # validated, on the device, in the model's dtype
        images, labels = hooks.before_step(state, images, labels)   # SENSEI: the worst variant; per-step lr
        loss[, logits] = step(module, images, labels, generator)    # under autocast when AMP is on
        backward (scaled), NaN/inf check (one message), optional clipping, optimizer step,
        per-step scheduler; hooks.after_step(state, loss)
    record = {"epoch", "train_loss"[, "train_accuracy"], validate(...) keys, "lr", "seconds"}
    per-epoch scheduler; hooks.on_epoch_end(state, record)       # DARE: history; fit: its checkpoint file
    checkpoint (atomic) when a path was given; callbacks(epoch, record, model): a truthy return stops

Reseeding from ``(seed, epoch)`` at every epoch start is what makes a resumed run (:meth:`TrainLoop.load`)
bit-identical to an uninterrupted one on CPU: nothing carries over from one epoch to the next but the weights and
the optimizer/scheduler/scaler state, all of which the checkpoint holds (with the RNG states, for hooks that draw
outside the per-epoch streams).

Distributed training (not implemented yet; this is the seam): a :class:`LoopHooks` subclass overrides
:meth:`LoopHooks.wrap_model` to return ``DistributedDataParallel(model)`` (the step then runs the wrapped module;
the optimizer, checkpoints and callbacks keep the plain model), builds the loader with a ``DistributedSampler`` and
calls its ``set_epoch`` in :meth:`LoopHooks.on_epoch_start`, and writes checkpoints on rank 0 only.

Example:
    >>> import torch
    >>> from torch import nn
    >>> x, y = torch.rand(32, 1, 4, 4), torch.arange(32) % 2
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    >>> gen = torch.Generator()
    >>> loader = as_loader((x, y), 8, True, gen, "example")
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> loop = TrainLoop(model, loader, cross_entropy_step, opt, epochs=2, shuffle_generator=gen, fn="example")
    >>> [r["epoch"] for r in loop.run()]
    [1, 2]
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
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

from ._checks import (
    check_finite,
    check_image,
    check_in,
    check_int,
    check_labels,
    check_positive,
    check_seed,
    format_shape,
    torch_seed,
)
from ._io import PathLike, check_path, load_hashed, save_hashed
from .errors import (
    ArgumentError,
    ArgumentTypeError,
    CheckpointError,
    DeviceError,
    DTypeError,
    PyrepairWarning,
    ShapeError,
)

__all__ = [
    "LOOP_STATE_FORMAT",
    "OPTIMIZERS",
    "Callback",
    "LoopHooks",
    "LoopState",
    "LossFn",
    "StepFn",
    "TrainLoop",
    "amp_settings",
    "as_loader",
    "autocast",
    "batched_loader",
    "check_callbacks",
    "check_label_range",
    "check_logits",
    "check_loss_fn",
    "check_model",
    "check_model_input",
    "check_not_empty",
    "cross_entropy_step",
    "first_image",
    "forked_rng",
    "grad_scaler",
    "input_dtype",
    "len_or_none",
    "log_epoch",
    "make_optimizer",
    "model_device",
    "on_device",
    "predict",
    "resolve_device",
    "resolve_progress",
    "restore_modes",
    "rng_state",
    "run_eval",
    "save_modes",
    "seed_for",
    "seed_globals",
    "set_rng_state",
    "to_tensor",
    "unpack_batch",
]

logger = logging.getLogger(__name__)

Callback = Callable[[int, dict[str, Any], nn.Module], Any]
"""``cb(epoch, record, model)``, called after each epoch; a truthy return value stops training."""

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``loss_fn(logits, labels) -> scalar tensor`` averaged over the batch."""

StepFn = Callable[[nn.Module, torch.Tensor, Any, torch.Generator], Any]
"""``step(model, images, labels, generator) -> loss`` or ``(loss, logits)``: one step's forward pass and loss.

``images`` (``[B, C, H, W]``, the model's floating dtype) and ``labels`` (``[B]`` int64, or ``None`` for unlabelled
data) are on the training device; ``model`` is in train mode (the module from :meth:`LoopHooks.wrap_model`);
``generator`` is a ``torch.Generator`` on the training device, reseeded every epoch, that the step uses for all its
random draws. The step returns a scalar loss tensor, or ``(loss, logits)`` to have the loop record
``train_accuracy``. It must not call ``backward`` or touch the optimizer."""

LOOP_STATE_FORMAT = "pyrepair-loop-state"
"""Value of the ``"format"`` key of a :meth:`TrainLoop.save` file."""

_RESOLVE = "pyrepair.train.resolve_device"


# --------------------------------------------------------------------------------------------------------------------
# Devices, precision, progress
# --------------------------------------------------------------------------------------------------------------------


_DEVICE_FORMS = "None, 'auto', 'cpu', 'cuda', 'cuda:<index>', 'mps', a CUDA index (int) or a torch.device"


def resolve_device(device: str | int | torch.device | None = None, fn: str = _RESOLVE) -> torch.device:
    """Turn a device request into a concrete, available ``torch.device``.

    Args:
        device: ``None`` or ``"auto"`` (CUDA when available, else CPU), a device string (``"cpu"``, ``"cuda"``,
            ``"cuda:1"``, ``"mps"``), a CUDA ordinal (``int``) or a ``torch.device``. ``"cuda"`` without an index
            resolves to the current CUDA device.
        fn: the calling public function, named in every message (e.g. ``"pyrepair.train.fit"``).

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
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")
    if isinstance(device, bool) or not isinstance(device, (str, int, torch.device)):
        raise ArgumentTypeError(f"{fn}: device must be one of {_DEVICE_FORMS}, got {device!r}")
    if isinstance(device, int):
        if device < 0:
            raise DeviceError(f"{fn}: device index must be >= 0, got {device}; valid forms: {_DEVICE_FORMS}")
        dev = torch.device("cuda", device)
    elif isinstance(device, str):
        try:
            dev = torch.device(device.strip())
        except (RuntimeError, ValueError):
            raise DeviceError(f"{fn}: invalid device {device!r}; valid forms: {_DEVICE_FORMS}") from None
    else:
        dev = device
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"{fn}: device {device!r} requested but CUDA is not available "
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


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (else buffer), CPU for a model without either."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def input_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype of the model's first floating parameter/buffer (inputs are cast to it), else float32."""
    for t in model.parameters():
        if t.is_floating_point():
            return t.dtype
    for t in model.buffers():
        if t.is_floating_point():
            return t.dtype
    return torch.float32


@contextlib.contextmanager
def on_device(
    model: nn.Module, device: str | int | torch.device | None, fn: str = _RESOLVE
) -> Iterator[torch.device]:
    """Run on ``device`` (default: where the model is), moving the model there and back again if needed."""
    home = model_device(model)
    dev = home if device is None else resolve_device(device, fn)
    moved = dev != home
    if moved:
        model.to(dev)
    try:
        yield dev
    finally:
        if moved:
            model.to(home)


def amp_settings(amp: bool | None, dev: torch.device, fn: str) -> tuple[bool, torch.dtype | None, bool]:
    """Mixed-precision choice for ``amp`` on ``dev``: ``(enabled, dtype, use_grad_scaler)``.

    ``None``: autocast on CUDA only (bfloat16 where supported, else float16 with a ``GradScaler``); ``True`` on CPU:
    bfloat16; elsewhere ``True`` warns and trains in full precision.
    """
    if amp is not None and not isinstance(amp, bool):
        raise ArgumentTypeError(f"{fn}: amp must be None, True or False, got {amp!r}")
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


def grad_scaler() -> Any:
    """A CUDA ``GradScaler`` (float16 autocast)."""
    if hasattr(torch.amp, "GradScaler"):  # torch >= 2.3
        return torch.amp.GradScaler("cuda")
    return torch.cuda.amp.GradScaler()  # pragma: no cover


def autocast(dev: torch.device, enabled: bool, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[Any]:
    """``torch.autocast`` on ``dev`` with ``dtype`` when ``enabled``, else a no-op context."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=dev.type, dtype=dtype)


def resolve_progress(progress: bool | None, fn: str) -> bool:
    """Whether to show tqdm bars: ``None`` means only when stderr is a terminal and ``PYREPAIR_PROGRESS`` is not
    ``"0"``.

    Raises:
        TypeError: ``progress`` is not ``None``, ``True`` or ``False``.
    """
    if progress is None:
        if os.environ.get("PYREPAIR_PROGRESS", "").strip() == "0":
            return False
        stream = sys.stderr
        try:
            return bool(stream is not None and stream.isatty())
        except (AttributeError, ValueError):
            return False
    if not isinstance(progress, bool):
        raise ArgumentTypeError(f"{fn}: progress must be None, True or False, got {progress!r}")
    return progress


# --------------------------------------------------------------------------------------------------------------------
# Randomness and modes
# --------------------------------------------------------------------------------------------------------------------


def seed_for(seed: int, epoch: int, stream: int, fn: str = "pyrepair._loop.seed_for") -> int:
    """A 63-bit seed derived from ``(seed, epoch, stream)``: independent streams for layers (0), shuffling (1) and
    the step generator (2). ``seed`` follows the one seed contract (an int in ``[0, 2^64)``,
    :func:`pyrepair._checks.check_seed`; ``fn`` names the public caller in the error); the result is in
    ``[0, 2^63)``, which every torch seeding API accepts."""
    seed = check_seed(seed, fn)
    state = np.random.SeedSequence([seed, epoch, stream]).generate_state(1, dtype=np.uint64)[0]
    return int(state) & ((1 << 63) - 1)


def seed_globals(value: int, dev: torch.device) -> None:
    """Seed the global CPU RNG and, on CUDA, the RNG of ``dev`` (``value`` in ``[0, 2^64)``, mapped by
    :func:`pyrepair._checks.torch_seed`)."""
    value = torch_seed(check_seed(value, "pyrepair._loop.seed_globals", "value"))
    torch.random.default_generator.manual_seed(value)
    if dev.type == "cuda":
        with torch.cuda.device(dev):
            torch.cuda.manual_seed(value)


@contextlib.contextmanager
def forked_rng(dev: torch.device) -> Iterator[None]:
    """Fork the CPU RNG and, on CUDA, the RNG of the training device only (those are all the loop seeds)."""
    devices = [dev.index] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        yield


def rng_state(dev: torch.device, *generators: torch.Generator | None) -> dict[str, Any]:
    """The global CPU RNG state, the CUDA RNG state of ``dev`` (CUDA only) and each generator's state (or None)."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if dev.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(dev)
    state["generators"] = [None if g is None else g.get_state() for g in generators]
    return state


def set_rng_state(state: Mapping[str, Any], dev: torch.device, *generators: torch.Generator | None) -> None:
    """Restore what :func:`rng_state` returned (the CUDA state only on CUDA, generators only where both exist)."""
    torch.set_rng_state(state["cpu"].cpu())
    if dev.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"].cpu(), dev)
    for g, s in zip(generators, state.get("generators") or (), strict=False):
        if g is not None and s is not None:
            g.set_state(s.cpu())


def save_modes(model: nn.Module) -> list[tuple[nn.Module, bool]]:
    """The train/eval flag of every submodule, for :func:`restore_modes`."""
    return [(m, m.training) for m in model.modules()]


def restore_modes(modes: list[tuple[nn.Module, bool]]) -> None:
    """Put back the flags :func:`save_modes` recorded."""
    for m, training in modes:
        m.training = training


# --------------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------------


def to_tensor(x: Any) -> Any:
    """A numpy array as a tensor (zero copy when contiguous); anything else unchanged."""
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    return x


def as_loader(
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
        The loader. A tensor pair is indexed a whole batch at a time (a ``BatchSampler`` as sampler), not sample by
        sample.

    Raises:
        ShapeError, DTypeError: malformed tensors.
        ValueError: no samples, NaN/inf images in a tensor pair (other forms are checked per batch by
            :func:`unpack_batch`).
        TypeError: unsupported ``data`` type.
    """
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset):
        if isinstance(data, IterableDataset):
            return DataLoader(data, batch_size=batch_size, pin_memory=pin_memory)
        check_not_empty(data, name, fn)
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator, pin_memory=pin_memory)
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ArgumentTypeError(
                f"{fn}: {name} must be an (images, labels) pair, got a {type(data).__name__} of {len(data)}"
            )
        images, labels = (to_tensor(v) for v in data)
        sizes = check_image(images, f"{name}[0] (images)", fn, spec="N,C,H,W", channels=None)
        n = sizes["N"]
        if n == 0:
            raise ArgumentError(
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
        check_labels(labels, n, f"{name}[1] (labels)", fn)  # integer class ids >= 0
        check_finite(images, f"{name}[0] (images)", fn)  # NaN images give accuracy 1/K and loss nan, silently
        dataset = TensorDataset(images, labels.long())
        return batched_loader(dataset, batch_size, shuffle, generator, pin_memory and images.device.type == "cpu"
                              and labels.device.type == "cpu")  # fmt: skip
    raise ArgumentTypeError(
        f"{fn}: {name} must be an (images, labels) tuple of tensors, a torch Dataset or a DataLoader, "
        f"got {type(data).__name__}"
    )


def check_not_empty(data: Dataset, name: str, fn: str) -> None:
    """Raise ``ValueError`` when a map-style dataset has length 0 (datasets without a length pass)."""
    try:
        n = len(data)  # type: ignore[arg-type]
    except TypeError:
        return
    if n == 0:
        raise ArgumentError(f"{fn}: {name} must hold at least one sample, got an empty {type(data).__name__}")


def batched_loader(
    dataset: Dataset, batch_size: int, shuffle: bool, generator: torch.Generator | None, pin_memory: bool
) -> DataLoader:
    """A loader that indexes ``dataset`` with a whole batch of indices at once (``dataset[list_of_indices]``).

    For datasets whose ``__getitem__`` accepts a list of indices (``TensorDataset``, the methods' union of tensor
    sets): no per-sample Python loop and no collate. ``pin_memory`` applies to host tensors only.
    """
    base = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    sampler = BatchSampler(base, batch_size=batch_size, drop_last=False)
    return DataLoader(dataset, sampler=sampler, batch_size=None, generator=generator, pin_memory=pin_memory)


def len_or_none(loader: Any) -> int | None:
    """``len(loader)``, or ``None`` when it has no length (iterable datasets)."""
    try:
        return len(loader)
    except TypeError:
        return None


def unpack_batch(batch: Any, fn: str, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate one ``(images, labels)`` batch: images finite float ``[N, C, H, W]``, labels integer ``[N]``."""
    if isinstance(batch, Mapping):
        raise ArgumentTypeError(f"{fn}: {name} must yield (images, labels) batches, got a {type(batch).__name__}")
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ArgumentTypeError(f"{fn}: {name} must yield (images, labels) batches, got {type(batch).__name__}")
    x, y = batch[0], batch[1]
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise DTypeError(
            f"{fn}: {name} must yield tensor batches, got images {type(x).__name__} and labels {type(y).__name__}"
        )
    sizes = check_image(x, f"{name} images", fn, spec="N,C,H,W", channels=None)
    check_labels(y, sizes["N"], f"{name} labels", fn)
    check_finite(x, f"{name} images", fn)
    return x, y


def check_logits(logits: Any, n: int, fn: str) -> int:
    """Check that the model returned ``[n, K]`` logits; returns ``K``."""
    if not isinstance(logits, torch.Tensor):
        raise ArgumentTypeError(f"{fn}: model must return a logits tensor [N, K], got {type(logits).__name__}")
    if logits.ndim != 2 or logits.shape[0] != n:
        raise ShapeError(
            f"{fn}: model must return logits of shape [N, K] with N={n}, got {format_shape(logits.shape)}",
            actual_shape=tuple(logits.shape),
            expected="N,K",
        )
    return int(logits.shape[1])


def check_label_range(y: torch.Tensor, k: int, fn: str, name: str) -> None:
    """Check that labels lie in ``[0, k)`` (before the loss: out-of-range targets abort CUDA kernels)."""
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= k:
        raise ArgumentError(
            f"{fn}: {name} labels must lie in [0, {k}) (the model outputs {k} classes), got values in [{lo}, {hi}]"
        )


def _expected_input(model: nn.Module) -> str:
    """The input a ``pyrepair.models.create`` model expects, from its ``pyrepair_config``; "" when unknown."""
    cfg = getattr(model, "pyrepair_config", None)
    if isinstance(cfg, Mapping) and "in_channels" in cfg and "input_size" in cfg:
        size = cfg["input_size"]
        h, w = (size, size) if isinstance(size, int) else tuple(size)
        return f"[N, {cfg['in_channels']}, {h}, {w}] (its pyrepair_config, arch {cfg.get('arch')!r})"
    return ""


def check_model_input(model: nn.Module, image: torch.Tensor, dev: torch.device, fn: str, name: str) -> int:
    """Check that ``model`` accepts ``image`` (``[C, H, W]``) and return its number of outputs ``K``.

    ``name`` is the noun of the message, e.g. ``"data images"`` or ``"images"``.

    One forward of the single image in eval mode under ``torch.no_grad()`` (so BatchNorm statistics and the
    model's modes are unchanged), before any training or evaluation starts. A ``RuntimeError`` from that forward
    (a shape mismatch deep in a conv or matmul) becomes a :class:`ShapeError` naming ``fn``, ``name``'s image
    shape and, for ``pyrepair.models`` models, the input the model expects.

    Raises:
        ShapeError: the model rejects images of this shape, or does not return ``[1, K]`` logits.
    """
    modes = save_modes(model)
    try:
        model.eval()
        with torch.no_grad():
            x = image.unsqueeze(0).to(dev, dtype=input_dtype(model))
            try:
                logits = model(x)
            except torch.cuda.OutOfMemoryError:  # a RuntimeError too, but not a shape problem
                raise
            except RuntimeError as e:
                expected = _expected_input(model)
                first = (str(e).strip().splitlines() or [""])[0]
                raise ShapeError(
                    f"{fn}: {name} of shape [N, {', '.join(str(int(d)) for d in image.shape)}] do not fit "
                    f"the model" + (f", which expects {expected}" if expected else "")
                    + f" (forward pass failed: {first})",
                    actual_shape=(-1, *(int(d) for d in image.shape)),
                    expected=expected or None,
                ) from None
            return check_logits(logits, 1, fn)
    finally:
        restore_modes(modes)


def first_image(data: Any) -> torch.Tensor | None:
    """The first image ``[C, H, W]`` of a tensor pair, a map-style dataset or a loader; ``None`` when unreadable."""
    try:
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x = to_tensor(data[0])
            return x[0] if isinstance(x, torch.Tensor) and x.ndim == 4 and x.shape[0] else None
        if isinstance(data, DataLoader):
            data = data.dataset
        if isinstance(data, IterableDataset) or not isinstance(data, Dataset):
            return None
        item = data[0]
        x = to_tensor(item[0]) if isinstance(item, (tuple, list)) else None
        return x if isinstance(x, torch.Tensor) and x.ndim == 3 and x.is_floating_point() else None
    except Exception:  # noqa: BLE001 - a user dataset may fail in many ways; the loader reports it later
        return None


def check_model(model: Any, fn: str) -> None:
    """Raise ``TypeError`` unless ``model`` is an ``nn.Module``."""
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"{fn}: model must be a torch.nn.Module, got {type(model).__name__}")


def check_loss_fn(loss_fn: Any, fn: str) -> None:
    """Raise ``TypeError`` unless ``loss_fn`` is ``None`` or callable."""
    if loss_fn is not None and not callable(loss_fn):
        raise ArgumentTypeError(f"{fn}: loss_fn must be a callable (logits, labels) -> scalar tensor, got {loss_fn!r}")


def check_callbacks(callbacks: Iterable[Callback] | Callback, fn: str) -> list[Callback]:
    """One callable or an iterable of callables -> a list (each checked)."""
    if callable(callbacks):
        return [callbacks]
    if isinstance(callbacks, (str, bytes, Mapping)) or not isinstance(callbacks, Iterable):
        raise ArgumentTypeError(
            f"{fn}: callbacks must be a callable cb(epoch, record, model) or an iterable of them, got {callbacks!r}"
        )
    cbs: list[Callback] = list(callbacks)
    for i, cb in enumerate(cbs):
        if not callable(cb):
            raise ArgumentTypeError(f"{fn}: callbacks[{i}] must be callable cb(epoch, record, model), got {cb!r}")
    return cbs


# --------------------------------------------------------------------------------------------------------------------
# Evaluation and prediction
# --------------------------------------------------------------------------------------------------------------------


def run_eval(
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
    """One pass over ``loader`` in eval mode without gradients (modes restored afterwards).

    Returns:
        ``{"accuracy", "loss" (mean per sample), "n", "correct", "per_class_accuracy" (nan for absent classes)}``.

    Raises:
        ValueError: no samples, labels outside ``[0, K)``.
        ShapeError: the model returns different K for different batches.
    """
    modes = save_modes(model)
    model.eval()
    loss_sum: torch.Tensor | None = None
    class_correct: torch.Tensor | None = None
    class_total: torch.Tensor | None = None
    k = 0
    in_dtype = input_dtype(model)
    try:
        with torch.no_grad():
            bar = tqdm(loader, desc=desc, total=len_or_none(loader), disable=not show, leave=False, unit="batch")
            for batch in bar:
                x, y = unpack_batch(batch, fn, name)
                x = x.to(dev, dtype=in_dtype, non_blocking=True)
                with autocast(dev, amp_enabled, amp_dtype):
                    logits = model(x)
                k_b = check_logits(logits, x.shape[0], fn)
                if class_correct is None:
                    k = k_b
                    class_correct = torch.zeros(k, dtype=torch.long, device=dev)
                    class_total = torch.zeros(k, dtype=torch.long, device=dev)
                    loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
                elif k_b != k:
                    raise ShapeError(f"{fn}: model returned {k_b} classes for one batch and {k} for another")
                check_label_range(y, k, fn, name)
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
        restore_modes(modes)
    if class_correct is None or class_total is None or loss_sum is None or int(class_total.sum()) == 0:
        raise ArgumentError(f"{fn}: {name} must hold at least one sample, got none")
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


def predict(
    model: nn.Module,
    images: Any,
    fn: str,
    *,
    batch_size: int = 512,
    device: str | int | torch.device | None = None,
) -> torch.Tensor:
    """Logits of ``model`` for ``images`` ``[N, C, H, W]`` in batches, in eval mode without gradients.

    The model's train/eval modes (and its device, when ``device`` moved it) are restored afterwards.

    Args:
        model: a classifier mapping ``[N, C, H, W]`` floats to ``[N, K]`` logits.
        images: float tensor (or numpy array) ``[N, C, H, W]``.
        fn: the calling public function, for messages.
        batch_size: samples per forward pass; >= 1.
        device: where to run; ``None`` runs where the model's parameters are.

    Returns:
        float32 logits ``[N, K]`` on the CPU.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ShapeError, DTypeError: ``images`` is not a float ``[N, C, H, W]`` tensor, or the model does not accept
            images of its ``[C, H, W]`` (checked with one forward of one image first).
        ValueError: ``images`` is empty or holds NaN/inf, or a bad ``batch_size``.
        DeviceError: ``device`` is not available.
    """
    check_model(model, fn)
    batch_size = check_int(batch_size, "batch_size", fn, min_value=1)
    images = to_tensor(images)
    sizes = check_image(images, "images", fn, spec="N,C,H,W", channels=None)
    n = sizes["N"]
    if n == 0:
        raise ArgumentError(f"{fn}: images must hold at least one image, got shape {format_shape(images.shape)}")
    check_finite(images, "images", fn)
    outs: list[torch.Tensor] = []
    with on_device(model, device, fn) as dev:
        check_model_input(model, images[0], dev, fn, "images")
    modes = save_modes(model)
    try:
        with on_device(model, device, fn) as dev:
            model.eval()
            with torch.no_grad():
                in_dtype = input_dtype(model)
                for i in range(0, n, batch_size):
                    x = images[i : i + batch_size].to(dev, dtype=in_dtype, non_blocking=True)
                    logits = model(x)
                    check_logits(logits, x.shape[0], fn)
                    outs.append(logits.float().cpu())
    finally:
        restore_modes(modes)
    return torch.cat(outs)


# --------------------------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------------------------


OPTIMIZERS: tuple[str, ...] = ("adam", "adamw", "sgd")
"""Optimizer names accepted by :func:`make_optimizer`."""


def make_optimizer(
    optimizer: str | torch.optim.Optimizer,
    model: nn.Module,
    lr: float,
    fn: str,
    *,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    nesterov: bool = False,
) -> torch.optim.Optimizer:
    """An optimizer over the trainable parameters of ``model`` (a given instance is returned as is).

    Args:
        optimizer: ``"adam"``, ``"adamw"`` (decoupled weight decay), ``"sgd"`` (with ``momentum`` and ``nesterov``)
            or a ready ``torch.optim.Optimizer``.
        model: the model whose ``requires_grad`` parameters are optimised.
        lr: learning rate.
        fn: the calling public function, for messages.
        weight_decay: L2 penalty.
        momentum: SGD momentum.
        nesterov: Nesterov momentum for SGD.

    Raises:
        TypeError: ``optimizer`` is neither a name nor an optimizer.
        UnknownNameError: an unknown name (the message lists :data:`OPTIMIZERS`).
        ValueError: the model has no trainable parameters.
    """
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise ArgumentTypeError(
            f"{fn}: optimizer must be one of {', '.join(OPTIMIZERS)} or a torch.optim.Optimizer, "
            f"got {type(optimizer).__name__}"
        )
    name = optimizer.strip().lower()
    check_in("optimizer", name, OPTIMIZERS, fn)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ArgumentError(f"{fn}: model has no trainable parameters (all have requires_grad=False)")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def cross_entropy_step(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """The plain step: cross-entropy of ``model(images)`` against ``labels`` (``generator`` unused)."""
    return F.cross_entropy(model(images).float(), labels)


def log_epoch(epoch: int, epochs: int, record: Mapping[str, Any], log: logging.Logger | None = None) -> None:
    """Log one epoch's numeric record entries at INFO level on ``log`` (default: this module's logger)."""
    (log or logger).info(
        "epoch %d/%d: %s", epoch, epochs,
        ", ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch" and isinstance(v, (int, float))),
    )  # fmt: skip


@dataclass
class LoopState:
    """What the hooks see: the loop's live objects and counters.

    Attributes:
        model: the model being trained (never wrapped; optimizer, checkpoints and callbacks use it).
        module: what the step runs: ``hooks.wrap_model(model)`` (the model itself unless a hook wraps it, e.g. DDP).
        optimizer: the optimizer.
        scheduler: the learning-rate scheduler, or ``None``.
        scaler: the AMP ``GradScaler``, or ``None``.
        device: the training device.
        epochs: the epoch budget.
        epoch: the 0-based index of the running epoch; after the run, the number of completed epochs.
        step: optimizer steps taken so far over the whole run (resumed runs continue the count).
        batch: 1-based index of the current batch within the epoch (0 outside the batch loop).
        records: the per-epoch records, oldest first (resumed runs start with the restored ones).
        generator: the step generator on ``device`` (reseeded every epoch from ``(seed, epoch)``, stream 2).
        shuffle_generator: the loader's shuffling generator (stream 1), or ``None``.
        loader: the training loader.
        stop: set it to ``True`` in a hook to stop after the current epoch.
    """

    model: nn.Module
    module: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any | None
    scaler: Any | None
    device: torch.device
    epochs: int
    epoch: int = 0
    step: int = 0
    batch: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    generator: torch.Generator | None = None
    shuffle_generator: torch.Generator | None = None
    loader: Any = None
    stop: bool = False


class LoopHooks:
    """Per-run, per-epoch and per-step hooks of :class:`TrainLoop`; subclass it and override what you need.

    Hooks run in the order they were given to the loop. Defaults do nothing (``wrap_model`` and ``before_step``
    return their input unchanged).

    * :meth:`wrap_model`: the module the step runs. The seam for ``torch.distributed``: return
      ``DistributedDataParallel(model)`` here (see the module docstring).
    * :meth:`on_run_start`: once, before the first epoch, inside the forked RNG context.
    * :meth:`on_epoch_start`: after the epoch's RNG streams were seeded (SENSEI: run the GA search here; DDP:
      ``loader.sampler.set_epoch(state.epoch)``).
    * :meth:`before_step`: may replace the batch (SENSEI: the worst variant) or set the learning rate.
    * :meth:`after_step`: after the optimizer step, with the step's loss as a float.
    * :meth:`on_epoch_end`: with the epoch's record (a dict the hook may add keys to), before the callbacks
      (DARE: record training history; :func:`pyrepair.train.fit`: write its checkpoint); ``state.epoch`` is still
      the epoch's 0-based index (``record["epoch"]`` is 1-based).
    * :meth:`on_run_end`: once, after the last epoch (also after an early stop; not after an error).
    """

    def wrap_model(self, model: nn.Module) -> nn.Module:
        """The module the step runs; ``model`` itself by default."""
        return model

    def on_run_start(self, state: LoopState) -> None:
        """Called once before the first epoch."""

    def on_epoch_start(self, state: LoopState) -> None:
        """Called at the start of every epoch (``state.epoch`` is its 0-based index)."""

    def before_step(self, state: LoopState, images: torch.Tensor, labels: Any) -> tuple[torch.Tensor, Any]:
        """Called before every step; returns the ``(images, labels)`` the step will see."""
        return images, labels

    def after_step(self, state: LoopState, loss: float) -> None:
        """Called after every optimizer step with the step's (finite) loss."""

    def on_epoch_end(self, state: LoopState, record: dict[str, Any]) -> None:
        """Called after every epoch with its record (already appended to ``state.records``)."""

    def on_run_end(self, state: LoopState) -> None:
        """Called once after the last epoch."""


class TrainLoop:
    """The training loop every pyrepair trainer runs on (see the module docstring for the order of events).

    Args:
        model: the model to train (moved to ``device``); its train/eval modes are restored when :meth:`run`
            returns.
        loader: an iterable of batches (usually from :func:`as_loader`, built with ``shuffle_generator``).
        step: ``step(module, images, labels, generator) -> loss | (loss, logits)``, see :data:`StepFn`.
        optimizer: the optimizer over the model's parameters.
        epochs: the epoch budget (including epochs already done when resuming); >= 1.
        seed: seed of the per-epoch RNG streams; >= 0.
        device: the training device (default: the model's device).
        fn: the calling public function, used in every message.
        scheduler: a learning-rate scheduler (``.step()``), or ``None``.
        scheduler_interval: ``"epoch"`` (step it after every epoch) or ``"step"`` (after every optimizer step).
        scaler: an AMP ``GradScaler`` (float16 autocast), or ``None``.
        amp_dtype: autocast the step with this dtype; ``None``: no autocast.
        max_grad_norm: clip the global gradient norm to this value; ``None``: no clipping.
        hooks: :class:`LoopHooks` instances, run in order.
        callbacks: ``cb(epoch, record, model)`` after every epoch (1-based epoch, a copy of the record); a truthy
            return value stops training after that epoch (every callback still runs for it).
        validate: ``validate(model, epoch) -> mapping`` after training each epoch (1-based epoch); its items are
            added to the record (e.g. ``val_loss``, ``val_accuracy``).
        prepare: ``prepare(batch) -> (images, labels)`` on the device; default: :func:`unpack_batch` (named
            ``data`` in messages), images cast to the model's dtype, labels to int64.
        shuffle_generator: the generator the loader shuffles with; reseeded every epoch.
        progress: show tqdm bars over batches.
        checkpoint: write :meth:`save` (atomically) to this file after every epoch.
        log: the logger of the per-epoch summaries (INFO) and the early-stop note; default ``pyrepair._loop``'s.

    Raises:
        ValueError, TypeError: bad arguments (the message names ``fn`` and the argument).

    Example:
        >>> loop = TrainLoop(model, loader, step, opt, epochs=3, seed=0, fn="mine")  # doctest: +SKIP
        >>> loop.load("ckpt.pt"); records = loop.run()  # doctest: +SKIP
    """

    def __init__(
        self,
        model: nn.Module,
        loader: Iterable[Any],
        step: StepFn,
        optimizer: torch.optim.Optimizer,
        *,
        epochs: int,
        seed: int = 0,
        device: torch.device | None = None,
        fn: str = "pyrepair.TrainLoop",
        scheduler: Any | None = None,
        scheduler_interval: Literal["epoch", "step"] = "epoch",
        scaler: Any | None = None,
        amp_dtype: torch.dtype | None = None,
        max_grad_norm: float | None = None,
        hooks: Sequence[LoopHooks] = (),
        callbacks: Iterable[Callback] | Callback = (),
        validate: Callable[[nn.Module, int], Mapping[str, Any]] | None = None,
        prepare: Callable[[Any], tuple[torch.Tensor, Any]] | None = None,
        shuffle_generator: torch.Generator | None = None,
        progress: bool = False,
        checkpoint: PathLike | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        check_model(model, fn)
        if not callable(step):
            raise ArgumentTypeError(
                f"{fn}: step must be a callable step(model, images, labels, generator) -> loss, got {step!r}"
            )
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ArgumentTypeError(f"{fn}: optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if scheduler_interval not in ("epoch", "step"):
            raise ArgumentError(f"{fn}: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
        for i, h in enumerate(hooks):
            if not isinstance(h, LoopHooks):
                raise ArgumentTypeError(f"{fn}: hooks[{i}] must be a LoopHooks instance, got {type(h).__name__}")
        self.fn = fn
        self.epochs = check_int(epochs, "epochs", fn, min_value=1)
        self.seed = check_seed(seed, fn)
        self.max_grad_norm = None if max_grad_norm is None else check_positive(max_grad_norm, "max_grad_norm", fn)
        self.step_fn = step
        self.scheduler_interval = scheduler_interval
        self.amp_dtype = amp_dtype
        self.hooks = list(hooks)
        self.callbacks = check_callbacks(callbacks, fn)
        self.validate = validate
        self.prepare = prepare
        self.progress = progress
        self.checkpoint = None if checkpoint is None else check_path(checkpoint, "checkpoint", fn)
        self.log = logger if log is None else log
        self._rng: Mapping[str, Any] | None = None  # RNG states of a loaded checkpoint, restored by run()
        dev = model_device(model) if device is None else device
        model.to(dev)
        module = model
        for h in self.hooks:
            module = h.wrap_model(module)
        self.state = LoopState(
            model=model, module=module, optimizer=optimizer, scheduler=scheduler, scaler=scaler, device=dev,
            epochs=self.epochs, generator=torch.Generator(device=dev), shuffle_generator=shuffle_generator,
            loader=loader,
        )  # fmt: skip

    # -- checkpoints ----------------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs: model, optimizer, scheduler, scaler, completed epochs, optimizer steps,
        records and RNG states (global CPU/CUDA, step generator, shuffling generator)."""
        s = self.state
        return {
            "format": LOOP_STATE_FORMAT,
            "model": s.model.state_dict(),
            "optimizer": s.optimizer.state_dict(),
            "scheduler": None if s.scheduler is None else s.scheduler.state_dict(),
            "scaler": None if s.scaler is None or not s.scaler.is_enabled() else s.scaler.state_dict(),
            "epoch": s.epoch,
            "step": s.step,
            "records": [dict(r) for r in s.records],
            "rng": rng_state(s.device, s.generator, s.shuffle_generator),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; the next :meth:`run` continues after the saved epoch.

        Raises:
            CheckpointError: ``state`` is not a loop state.
        """
        if not isinstance(state, Mapping) or state.get("format") != LOOP_STATE_FORMAT:
            raise CheckpointError(f"{self.fn}: not a pyrepair loop state (no 'format': '{LOOP_STATE_FORMAT}' entry)")
        s = self.state
        s.model.load_state_dict(state["model"])
        s.optimizer.load_state_dict(state["optimizer"])
        if s.scheduler is not None and state.get("scheduler") is not None:
            s.scheduler.load_state_dict(state["scheduler"])
        if s.scaler is not None and state.get("scaler") is not None:
            s.scaler.load_state_dict(state["scaler"])
        s.epoch = int(state["epoch"])
        s.step = int(state.get("step", 0))
        s.records = [dict(r) for r in state.get("records", ())]
        self._rng = state.get("rng")

    def save(self, path: PathLike) -> None:
        """Write :meth:`state_dict` to ``path`` atomically (``torch.save``; tensors and plain containers only), with
        its sha256 content hash (:func:`pyrepair._io.save_hashed`), which :meth:`load` verifies."""
        save_hashed(self.state_dict(), check_path(path, "path", self.fn))

    def load(self, path: PathLike) -> None:
        """Read a :meth:`save` file (``torch.load(weights_only=True)``), verify its content hash and restore it.

        A file written before content hashes existed loads with a :class:`PyrepairWarning`.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            DeviceError: the loop's device is CUDA and CUDA is not available.
            CheckpointError: the file is not a loop state, or is damaged (content hash mismatch).
        """
        src = check_path(path, "path", self.fn)
        obj = load_hashed(src, self.fn, format=LOOP_STATE_FORMAT, what="pyrepair loop state",
                          map_location=self.state.device)
        self.load_state_dict(obj)

    # -- the run --------------------------------------------------------------------------------------------------

    def run(self) -> list[dict[str, Any]]:
        """Train from ``state.epoch`` up to ``epochs`` (or an early stop) and return ``state.records``.

        Raises:
            FloatingPointError: the loss became NaN or infinite (epoch and batch in the message; the weights were
                not updated with it).
            TypeError: the step did not return a scalar loss tensor.
            ValueError: an epoch without samples.
        """
        s = self.state
        modes = save_modes(s.model)
        try:
            with forked_rng(s.device):
                if self._rng is not None:  # resumed: the RNG states at the save (each epoch reseeds its streams)
                    set_rng_state(self._rng, s.device, s.generator, s.shuffle_generator)
                    self._rng = None
                for h in self.hooks:
                    h.on_run_start(s)
                while s.epoch < self.epochs and not s.stop:
                    record = self._epoch()
                    s.epoch += 1  # completed epochs, as the checkpoint and the callbacks count them
                    if self.checkpoint is not None:
                        self.save(self.checkpoint)
                    log_epoch(s.epoch, self.epochs, record, self.log)
                    stop = False
                    for cb in self.callbacks:
                        if cb(s.epoch, dict(record), s.model):
                            stop = True  # every callback still runs for this epoch
                    if stop:
                        self.log.info("early stop requested by a callback after epoch %d/%d", s.epoch, self.epochs)
                        s.stop = True
                for h in self.hooks:
                    h.on_run_end(s)
        finally:
            restore_modes(modes)
        return s.records

    def _prepare(self, batch: Any) -> tuple[torch.Tensor, Any]:
        if self.prepare is not None:
            return self.prepare(batch)
        x, y = unpack_batch(batch, self.fn, "data")
        dev = self.state.device
        return x.to(dev, dtype=input_dtype(self.state.model), non_blocking=True), y.to(dev, non_blocking=True).long()

    def _epoch(self) -> dict[str, Any]:
        s, fn = self.state, self.fn
        e1 = s.epoch + 1
        seed_globals(seed_for(self.seed, s.epoch, 0), s.device)
        if s.shuffle_generator is not None:
            s.shuffle_generator.manual_seed(seed_for(self.seed, s.epoch, 1))
        assert s.generator is not None
        s.generator.manual_seed(seed_for(self.seed, s.epoch, 2))
        for h in self.hooks:
            h.on_epoch_start(s)
        t0 = time.perf_counter()
        s.model.train()
        s.module.train()
        params = [p for group in s.optimizer.param_groups for p in group["params"]]
        total = len_or_none(s.loader)
        loss_sum, correct, n = 0.0, 0, 0
        labelled = True
        lr_first: float | None = None
        bar = tqdm(s.loader, desc=f"epoch {e1}/{self.epochs}", total=total, disable=not self.progress, leave=False,
                   unit="batch")  # fmt: skip
        for b, batch in enumerate(bar, 1):
            s.batch = b
            x, y = self._prepare(batch)
            for h in self.hooks:
                x, y = h.before_step(s, x, y)
            if lr_first is None:
                lr_first = float(s.optimizer.param_groups[0]["lr"])
            s.optimizer.zero_grad(set_to_none=True)
            with autocast(s.device, self.amp_dtype is not None, self.amp_dtype):
                out = self.step_fn(s.module, x, y, s.generator)
            loss, logits = out if isinstance(out, tuple) else (out, None)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise ArgumentTypeError(f"{fn}: step must return a scalar loss tensor, got {type(loss).__name__}")
            loss = loss.reshape(())
            if s.scaler is not None:
                s.scaler.scale(loss).backward()
            else:
                loss.backward()
            if logits is not None and y is not None:
                hits = (logits.detach().argmax(dim=1) == y).sum()
                loss_v, hits_v = torch.stack([loss.detach().float(), hits.float()]).tolist()  # one sync per batch
                correct += int(hits_v)
            else:
                loss_v, labelled = float(loss.detach()), False
            if not math.isfinite(loss_v):
                s.optimizer.zero_grad(set_to_none=True)
                where = f"epoch {e1}, batch {b}" + (f" of {total}" if total is not None else "")
                raise FloatingPointError(
                    f"{fn}: training loss is {loss_v} at {where}; the weights were not updated with it. "
                    "Try a lower lr, max_grad_norm, or check the data for NaN/inf values."
                )
            if self.max_grad_norm is not None:
                if s.scaler is not None:
                    s.scaler.unscale_(s.optimizer)
                torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
            if s.scaler is not None:
                s.scaler.step(s.optimizer)
                s.scaler.update()
            else:
                s.optimizer.step()
            if s.scheduler is not None and self.scheduler_interval == "step":
                s.scheduler.step()
            s.step += 1
            bs = int(x.shape[0])
            loss_sum += loss_v * bs
            n += bs
            for h in self.hooks:
                h.after_step(s, loss_v)
            if self.progress:
                post = {"loss": f"{loss_sum / n:.4f}"}
                if labelled:
                    post["acc"] = f"{correct / n:.3f}"
                bar.set_postfix(post, refresh=False)
        bar.close()
        s.batch = 0
        if n == 0:
            raise ArgumentError(f"{fn}: data must hold at least one sample, got none in epoch {e1}")
        record: dict[str, Any] = {"epoch": e1, "train_loss": loss_sum / n}
        if labelled:
            record["train_accuracy"] = correct / n
        if self.validate is not None:
            record.update(self.validate(s.model, e1))
        record["lr"] = lr_first if lr_first is not None else float(s.optimizer.param_groups[0]["lr"])
        if s.scheduler is not None and self.scheduler_interval == "epoch":
            s.scheduler.step()
        record["seconds"] = time.perf_counter() - t0
        s.records.append(record)
        for h in self.hooks:
            h.on_epoch_end(s, record)
        return record
