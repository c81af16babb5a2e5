"""Augmentation building blocks for repair training: AugMix (+ JSD loss), DeepRepair's StyleAugMix, MixUp, CutMix
and Cutout.

Everything here works in a user's own training loop on ``(B, C, H, W)`` float batches in ``[0, 1]``, draws its
randomness from an explicit ``torch.Generator`` and never modifies its inputs. The functions (:func:`mixup`,
:func:`cutmix`, :func:`cutout`, :func:`augmix_apply`) take sampled parameters and are deterministic; the classes hold
hyper-parameters, sample, and call them. Spec: ``shared/spec/deeprepair.md`` §A.4, §A.6, §A.8, §B.

Example:
    AugMix with the Jensen-Shannon consistency loss, three lines in a training step:

    >>> import torch
    >>> from torch import nn
    >>> from pyrepair.augment import AugMix, augmix_loss, augmix_views
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 10))
    >>> x, y, g = torch.rand(4, 3, 16, 16), torch.randint(0, 10, (4,)), torch.Generator().manual_seed(0)
    >>> aug = AugMix(); clean, a1, a2 = augmix_views(x, aug, generator=g)
    >>> logits = model(torch.cat([clean, a1, a2])).chunk(3)
    >>> loss = augmix_loss(*logits, y)
    >>> bool(torch.isfinite(loss))
    True
"""

from __future__ import annotations

from .augmix import ALL_OPS, BASE_OPS, OVERLAP_OPS, AugMix, AugMixParams, ExtraOp, augmix_apply, augmix_views
from .losses import augmix_loss, jsd_loss, mixed_cross_entropy
from .mixing import CutMix, CutMixParams, Cutout, MixedTargets, MixUp, MixUpParams, cutmix, cutout, mixup
from .style import StyleAugMix, StyleAugMixParams, StyleBank, cluster_failures, cluster_probabilities

__all__ = [
    "ALL_OPS",
    "BASE_OPS",
    "OVERLAP_OPS",
    "AugMix",
    "AugMixParams",
    "CutMix",
    "CutMixParams",
    "Cutout",
    "ExtraOp",
    "MixUp",
    "MixUpParams",
    "MixedTargets",
    "StyleAugMix",
    "StyleAugMixParams",
    "StyleBank",
    "augmix_apply",
    "augmix_loss",
    "augmix_views",
    "cluster_failures",
    "cluster_probabilities",
    "cutmix",
    "cutout",
    "jsd_loss",
    "mixed_cross_entropy",
    "mixup",
]
