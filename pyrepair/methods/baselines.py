"""DeepRepair's baselines: fine-tune the pre-trained model on ``D^t ∪ D^c`` with one data augmentation each.

``shared/spec/deeprepair.md`` §A.8: every baseline fine-tunes the same pre-trained model on the training set plus
the collected failures, with the same optimiser, schedule and budget as DeepRepair (§A.7); they differ only in the
loss of one step:

| class | ``name`` | step | settings (§A.8) |
|---|---|---|---|
| :class:`FineTune` | ``"finetune"`` | cross-entropy | (reference point, not in the paper) |
| :class:`AugMixRepair` | ``"augmix"`` | clean + 2 AugMix views, one forward, CE + λ·JSD | severity 3, width 3, λ 12 |
| :class:`CutMixRepair` | ``"cutmix"`` | CutMix with probability ``prob``, mixed CE | λ ~ Beta(1, 1), prob 0.5 |
| :class:`CutoutRepair` | ``"cutout"`` | zero one square per image, CE | 16 × 16 at 32 px (scaled) |
| :class:`MixUpRepair` | ``"mixup"`` | MixUp, mixed CE | λ ~ Beta(1, 1) |

(AugMix chains have depth U{1, 2, 3}.)

Shared keyword arguments (see :class:`~pyrepair.methods.base.FineTuningMethod`): ``epochs=10``, ``batch_size=128``,
``lr=0.01``, ``momentum=0.9``, ``nesterov=True``, ``weight_decay=5e-4``, ``optimizer="sgd"``,
``scheduler="cosine"``, ``include_failures=True``. The paper uses ``lr=0.1`` on long schedules; the smaller default
suits fine-tuning an already trained model for a few epochs.

Images must be in ``[0, 1]`` (the augmentations assume it); normalisation belongs inside the model.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from pyrepair.methods import CutoutRepair
    >>> x, y = torch.rand(32, 1, 8, 8), torch.arange(32) % 2
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    >>> result = CutoutRepair(epochs=1, batch_size=16).repair(model, (x, y), (x[:4], y[:4]), progress=False)
    >>> result.method, result.config["size"], len(result.history)
    ('cutout', None, 1)
"""

from __future__ import annotations

import logging
from typing import Literal

import torch
from torch import nn

from .._checks import check_int, check_positive, check_range
from ..augment import AugMix, CutMix, Cutout, MixUp, augmix_loss, augmix_views, mixed_cross_entropy
from ..errors import ArgumentError, ArgumentTypeError
from .base import FineTuningMethod

__all__ = ["AugMixRepair", "CutMixRepair", "CutoutRepair", "FineTune", "MixUpRepair"]

logger = logging.getLogger(__name__)

_Optim = Literal["sgd", "adam", "adamw"]
_Sched = Literal["cosine", "none"]


def _nan_if_not_finite(logits: torch.Tensor) -> torch.Tensor | None:
    """A NaN loss when ``logits`` holds NaN/inf, else None.

    The augment losses reject non-finite logits with a ``ValueError``; returning NaN instead lets
    :func:`~pyrepair.methods.finetune` raise its ``FloatingPointError`` that names the epoch and batch.
    """
    if bool(torch.isfinite(logits).all()):
        return None
    return logits.float().sum() * float("nan")


class FineTune(FineTuningMethod):
    """Plain fine-tuning: cross-entropy on ``D^t ∪ D^c`` (the reference point of every augmentation baseline).

    Args:
        epochs: fine-tuning epochs; >= 1.
        batch_size: samples per step; >= 1.
        lr: initial learning rate, cosine-annealed per step to 0 over ``epochs`` (the paper uses 0.1 on long
            schedules; 0.01 suits a short fine-tune); > 0.
        momentum: SGD momentum; >= 0.
        nesterov: Nesterov momentum (needs ``momentum > 0``).
        weight_decay: L2 penalty; >= 0.
        optimizer: ``"sgd"``, ``"adam"`` or ``"adamw"``.
        scheduler: ``"cosine"`` or ``"none"``.
        include_failures: train on ``D^t ∪ D^c`` (``repair`` then needs ``failures``); ``False``: ``D^t`` only.

    Raises:
        TypeError, ValueError, UnknownNameError: an invalid hyper-parameter (the message names it and its value).

    Example:
        >>> result = FineTune(epochs=2).repair(model, train, failures, val=test)  # doctest: +SKIP
    """

    name = "finetune"

    def __init__(
        self,
        *,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 0.01,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 5e-4,
        optimizer: _Optim = "sgd",
        scheduler: _Sched = "cosine",
        include_failures: bool = True,
    ) -> None:
        super().__init__(
            epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, optimizer=optimizer, scheduler=scheduler, include_failures=include_failures,
        )  # fmt: skip


class AugMixRepair(FineTuningMethod):
    """AugMix baseline (Hendrycks et al., ICLR 2020; DeepRepair §A.8): CE on the clean view + λ·JSD of three views.

    Every step makes two AugMix views of the batch (:func:`pyrepair.augment.augmix_views`), runs the clean batch
    and both views through the model in ONE forward pass of ``3B`` images (so BatchNorm normalises them together,
    as the AugMix reference code does) and minimises :func:`pyrepair.augment.augmix_loss`:
    ``CE(clean) + lam * JS(clean, aug1, aug2)`` (DeepRepair Eq. 2). It is DeepRepair without the style ops.

    Args:
        severity: strength of every augmentation operation, 1..10 (AugMix scale; 3 in §A.7).
        width: augmentation chains mixed per view; >= 1.
        depth: operations per chain; ``-1`` draws it uniformly from {1, 2, 3} per chain.
        alpha: Dirichlet (chain weights) and Beta (mix with the original) concentration; > 0.
        lam: weight of the Jensen-Shannon consistency term; >= 0 (12 as in the AugMix/DeepRepair code).
        all_ops: also use the operations that overlap ImageNet-C corruptions (contrast, colour, brightness,
            sharpness); off, as in AugMix, so the test corruptions stay unseen.
        epochs, batch_size, lr, momentum, nesterov, weight_decay, optimizer, scheduler, include_failures: as for
            :class:`FineTune` (defaults ``10, 128, 0.01, 0.9, True, 5e-4, "sgd", "cosine", True``).

    Raises:
        TypeError, ValueError, UnknownNameError: an invalid hyper-parameter (the message names it and its value).

    Example:
        >>> result = AugMixRepair(epochs=2).repair(model, train, failures, val=test)  # doctest: +SKIP
        >>> result.metrics["val"]  # doctest: +SKIP
        {'before': 0.981, 'after': 0.976}
    """

    name = "augmix"

    def __init__(
        self,
        severity: int = 3,
        width: int = 3,
        depth: int = -1,
        alpha: float = 1.0,
        lam: float = 12.0,
        *,
        all_ops: bool = False,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 0.01,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 5e-4,
        optimizer: _Optim = "sgd",
        scheduler: _Sched = "cosine",
        include_failures: bool = True,
    ) -> None:
        super().__init__(
            epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, optimizer=optimizer, scheduler=scheduler, include_failures=include_failures,
        )  # fmt: skip
        fn = "pyrepair.methods.AugMixRepair"
        self.severity = check_int(severity, "severity", fn, min_value=1, max_value=10)
        self.width = check_int(width, "width", fn, min_value=1)
        self.depth = check_int(depth, "depth", fn, min_value=-1)
        if self.depth == 0:
            raise ArgumentError(f"{fn}: depth must be -1 (uniform in {{1, 2, 3}}) or >= 1, got {depth!r}")
        self.alpha = check_positive(alpha, "alpha", fn)
        self.lam = check_positive(lam, "lam", fn, allow_zero=True)
        if not isinstance(all_ops, bool):
            raise ArgumentTypeError(f"{fn}: all_ops must be True or False, got {all_ops!r}")
        self.all_ops = all_ops
        # The augmenter validates what is specific to it (e.g. the severity range) with its own message.
        self.augmix = AugMix(
            severity=self.severity, width=self.width, depth=self.depth, alpha=self.alpha, all_ops=self.all_ops
        )
        self._add_config(
            severity=self.severity, width=self.width, depth=self.depth, alpha=self.alpha, lam=self.lam,
            all_ops=self.all_ops,
        )  # fmt: skip

    def _step(
        self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        # check_range=False in every step: repair() validated the data once up front (or the user opted out), so a
        # per-batch value pass would only repeat it.
        clean, aug1, aug2 = augmix_views(images, self.augmix, generator=generator, check_range=False)
        logits = model(torch.cat([clean, aug1, aug2]))
        bad = _nan_if_not_finite(logits)
        if bad is not None:
            return bad
        z0, z1, z2 = logits.float().chunk(3)
        return augmix_loss(z0, z1, z2, labels, lam=self.lam)


class CutMixRepair(FineTuningMethod):
    """CutMix baseline (Yun et al., ICCV 2019; DeepRepair §A.8): paste a box of a partner image, labels by area.

    With probability ``prob`` per batch, one box of side ``sqrt(1 - λ)·side`` (λ ~ Beta(α, α)) from a permuted
    partner replaces the same region of every image; the loss is cross-entropy against both labels weighted by the
    kept area (:func:`pyrepair.augment.mixed_cross_entropy`).

    Args:
        alpha: Beta concentration; >= 0 (0 disables mixing).
        prob: probability that a batch is mixed, in ``[0, 1]``.
        epochs, batch_size, lr, momentum, nesterov, weight_decay, optimizer, scheduler, include_failures: as for
            :class:`FineTune`.

    Raises:
        TypeError, ValueError, UnknownNameError: an invalid hyper-parameter (the message names it and its value).

    Example:
        >>> result = CutMixRepair(epochs=2).repair(model, train, failures, val=test)  # doctest: +SKIP
    """

    name = "cutmix"

    def __init__(
        self,
        alpha: float = 1.0,
        prob: float = 0.5,
        *,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 0.01,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 5e-4,
        optimizer: _Optim = "sgd",
        scheduler: _Sched = "cosine",
        include_failures: bool = True,
    ) -> None:
        super().__init__(
            epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, optimizer=optimizer, scheduler=scheduler, include_failures=include_failures,
        )  # fmt: skip
        fn = "pyrepair.methods.CutMixRepair"
        self.alpha = check_positive(alpha, "alpha", fn, allow_zero=True)
        self.prob = check_range(prob, "prob", fn, 0.0, 1.0)
        self.cutmix = CutMix(alpha=self.alpha, prob=self.prob)
        self._add_config(alpha=self.alpha, prob=self.prob)

    def _step(
        self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        mixed, targets = self.cutmix(images, labels, generator=generator, check_range=False)
        logits = model(mixed)
        bad = _nan_if_not_finite(logits)
        return bad if bad is not None else mixed_cross_entropy(logits.float(), targets)


class CutoutRepair(FineTuningMethod):
    """Cutout baseline (DeVries & Taylor 2017; DeepRepair §A.8): zero a square patch per image, cross-entropy.

    Each image gets ``n_holes`` squares of side ``size`` whose centres are uniform over the pixels (a square may
    straddle the border and is then clipped).

    Args:
        size: side of each square in pixels, >= 0; ``None`` (default) scales the CIFAR setting, 16 px at 32 px, to
            the image: ``max(1, round(16 * min(H, W) / 32))``, i.e. 14 at 28 px (MNIST) and 4 at 8 px (digits).
        n_holes: squares per image; >= 0.
        epochs, batch_size, lr, momentum, nesterov, weight_decay, optimizer, scheduler, include_failures: as for
            :class:`FineTune`.

    Raises:
        TypeError, ValueError, UnknownNameError: an invalid hyper-parameter (the message names it and its value).

    Example:
        >>> result = CutoutRepair(epochs=2).repair(model, train, failures, val=test)  # doctest: +SKIP
    """

    name = "cutout"

    def __init__(
        self,
        size: int | None = None,
        n_holes: int = 1,
        *,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 0.01,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 5e-4,
        optimizer: _Optim = "sgd",
        scheduler: _Sched = "cosine",
        include_failures: bool = True,
    ) -> None:
        super().__init__(
            epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, optimizer=optimizer, scheduler=scheduler, include_failures=include_failures,
        )  # fmt: skip
        fn = "pyrepair.methods.CutoutRepair"
        self.size = None if size is None else check_int(size, "size", fn, min_value=0)
        self.n_holes = check_int(n_holes, "n_holes", fn, min_value=0)
        self._cutouts: dict[int, Cutout] = {}
        self._add_config(size=self.size, n_holes=self.n_holes)

    def hole_size(self, height: int, width: int) -> int:
        """The side of the squares for ``height x width`` images: ``size``, or 16 px scaled from 32 px."""
        if self.size is not None:
            return self.size
        return max(1, round(16 * min(height, width) / 32))

    def _cutout(self, height: int, width: int) -> Cutout:
        side = self.hole_size(height, width)
        if side not in self._cutouts:
            self._cutouts[side] = Cutout(size=side, n_holes=self.n_holes)
            logger.debug("CutoutRepair: %d x %d holes for %d x %d images", side, side, height, width)
        return self._cutouts[side]

    def _step(
        self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        holed = self._cutout(int(images.shape[-2]), int(images.shape[-1]))(images, generator=generator,
                                                                          check_range=False)
        return torch.nn.functional.cross_entropy(model(holed).float(), labels)


class MixUpRepair(FineTuningMethod):
    """MixUp baseline (Zhang et al., ICLR 2018; DeepRepair §A.8): convex mix of image pairs and of their labels.

    One λ ~ Beta(α, α) and one random permutation per batch; the loss is
    ``λ·CE(z, y) + (1 - λ)·CE(z, y[perm])`` (:func:`pyrepair.augment.mixed_cross_entropy`).

    Args:
        alpha: Beta concentration; >= 0 (0 disables mixing).
        epochs, batch_size, lr, momentum, nesterov, weight_decay, optimizer, scheduler, include_failures: as for
            :class:`FineTune`.

    Raises:
        TypeError, ValueError, UnknownNameError: an invalid hyper-parameter (the message names it and its value).

    Example:
        >>> result = MixUpRepair(epochs=2).repair(model, train, failures, val=test)  # doctest: +SKIP
    """

    name = "mixup"

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 0.01,
        momentum: float = 0.9,
        nesterov: bool = True,
        weight_decay: float = 5e-4,
        optimizer: _Optim = "sgd",
        scheduler: _Sched = "cosine",
        include_failures: bool = True,
    ) -> None:
        super().__init__(
            epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, optimizer=optimizer, scheduler=scheduler, include_failures=include_failures,
        )  # fmt: skip
        fn = "pyrepair.methods.MixUpRepair"
        self.alpha = check_positive(alpha, "alpha", fn, allow_zero=True)
        self.mixup = MixUp(alpha=self.alpha)
        self._add_config(alpha=self.alpha)

    def _step(
        self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        mixed, targets = self.mixup(images, labels, generator=generator, check_range=False)
        logits = model(mixed)
        bad = _nan_if_not_finite(logits)
        return bad if bad is not None else mixed_cross_entropy(logits.float(), targets)
