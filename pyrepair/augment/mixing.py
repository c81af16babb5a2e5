"""Batch-mixing augmentations: MixUp, CutMix and Cutout (the DeepRepair baselines, ``deeprepair.md`` §A.8).

Each augmentation exists twice (STYLE rule 6):

* a deterministic function on tensors that takes the sampled parameters (:func:`mixup`, :func:`cutmix`,
  :func:`cutout`), and
* a small class holding the hyper-parameters, whose ``sample`` draws those parameters from an explicit
  ``torch.Generator`` and whose ``__call__`` is ``function(images, ..., *sample(...))``.

Inputs are never modified in place. Mixed labels come back as :class:`MixedTargets` for
:func:`~pyrepair.augment.mixed_cross_entropy`.

Sources: MixUp (Zhang et al., ICLR 2018; `facebookresearch/mixup-cifar10` ``mixup_data``: one λ ~ Beta(α, α) and
one permutation per batch); CutMix (Yun et al., ICCV 2019; `clovaai/CutMix-PyTorch` ``rand_bbox``: box side
``sqrt(1 - λ) * side`` around a uniform centre, clipped, λ recomputed from the clipped area, applied to a batch with
probability ``prob``); Cutout (DeVries & Taylor 2017; `uoguelph-mlrg/Cutout`: a ``size × size`` zero square per
image around a uniform centre that may straddle the border).

Example:
    >>> import torch
    >>> from pyrepair.augment import CutMix, Cutout, MixUp
    >>> x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
    >>> g = torch.Generator().manual_seed(0)
    >>> mixed, targets = CutMix(prob=1.0)(x, y, generator=g)
    >>> mixed.shape, targets.lam.shape
    (torch.Size([8, 3, 32, 32]), torch.Size([8]))
    >>> Cutout(size=16)(x, generator=g).shape
    torch.Size([8, 3, 32, 32])
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._checks import (
    check_device,
    check_images,
    check_int,
    check_labels,
    check_not_meta,
    check_positive,
    check_shape,
)
from .._checks import check_range as check_number
from ..errors import ArgumentError, ArgumentTypeError, DTypeError

__all__ = [
    "CutMix",
    "CutMixParams",
    "Cutout",
    "MixUp",
    "MixUpParams",
    "MixedTargets",
    "cutmix",
    "cutout",
    "mixup",
]


class MixedTargets(NamedTuple):
    """Label pairs of a mixed batch: sample i is ``lam[i]`` of ``labels_a[i]`` and ``1 - lam[i]`` of ``labels_b[i]``.

    Attributes:
        labels_a: ``(B,)`` int64, the labels of the images that were mixed into (the original order).
        labels_b: ``(B,)`` int64, the labels of the partner images.
        lam: ``(B,)`` float32 in ``[0, 1]``, the per-sample weight of ``labels_a``.
    """

    labels_a: torch.Tensor
    labels_b: torch.Tensor
    lam: torch.Tensor


class MixUpParams(NamedTuple):
    """Sampled MixUp parameters: ``lam`` ``(B,)`` float32 (one value per batch, repeated), ``perm`` ``(B,)`` int64."""

    lam: torch.Tensor
    perm: torch.Tensor


class CutMixParams(NamedTuple):
    """Sampled CutMix parameters: ``boxes`` ``(B, 4)`` int64 ``(y0, x0, y1, x1)`` half-open, already clipped (all
    zero when the batch is left unmixed), and ``perm`` ``(B,)`` int64."""

    boxes: torch.Tensor
    perm: torch.Tensor


# ----------------------------------------------------------------------------------------------------- sampling


def resolve_generator(generator: torch.Generator | None, fn: str) -> torch.Generator:
    """The generator to draw from: ``generator`` itself, or a fresh one seeded from OS entropy when it is None.

    Never touches torch's global RNG (STYLE rule 7). A fresh generator per call is also safe in forked DataLoader
    workers, where a generator stored on the object would repeat the same draws in every worker.
    """
    if generator is None:
        g = torch.Generator()
        g.seed()  # non-deterministic seed from the OS; leaves the global RNG alone
        return g
    if not isinstance(generator, torch.Generator):
        raise ArgumentTypeError(f"{fn}: generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def _log_gamma(n: int, alpha: float, generator: torch.Generator) -> torch.Tensor:
    """``log`` of n Gamma(alpha, 1) draws, float64, on the generator's device (Marsaglia & Tsang 2000).

    torch.distributions has no ``generator`` argument, so the sampler is written out. Working in log space keeps
    tiny ``alpha`` (where Gamma draws underflow to 0) usable for normalisation with softmax/sigmoid.
    """
    dev = generator.device
    a = alpha + 1.0 if alpha < 1.0 else alpha  # boost: Gamma(a) = Gamma(a + 1) * U^(1/a)
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    out = torch.empty(n, dtype=torch.float64, device=dev)
    pending = torch.arange(n, device=dev)
    while pending.numel():  # acceptance rate >= 0.95, so two or three rounds in practice
        m = pending.numel()
        x = torch.randn(m, generator=generator, dtype=torch.float64, device=dev)
        u = 1.0 - torch.rand(m, generator=generator, dtype=torch.float64, device=dev)  # (0, 1]
        v = (1.0 + c * x) ** 3
        log_v = torch.log(v.clamp_min(1e-300))
        ok = (v > 0) & (torch.log(u) < 0.5 * x * x + d - d * v + d * log_v)
        out[pending[ok]] = math.log(d) + log_v[ok]
        pending = pending[~ok]
    if alpha < 1.0:
        u = 1.0 - torch.rand(n, generator=generator, dtype=torch.float64, device=dev)
        out = out + torch.log(u) / alpha
    return out


def sample_beta(n: int, alpha: float, generator: torch.Generator) -> torch.Tensor:
    """n draws of Beta(alpha, alpha), float64 on the generator's device: ``g1 / (g1 + g2)`` with Gamma draws."""
    lg = _log_gamma(2 * n, alpha, generator).view(2, n)
    return torch.sigmoid(lg[0] - lg[1])


def sample_dirichlet(n: int, k: int, alpha: float, generator: torch.Generator) -> torch.Tensor:
    """n draws of a symmetric Dirichlet(alpha, ..., alpha) over k components, ``(n, k)`` float64 rows summing to 1."""
    return torch.softmax(_log_gamma(n * k, alpha, generator).view(n, k), dim=1)


def image_hw(image_size: int | tuple[int, int] | torch.Size, fn: str) -> tuple[int, int]:
    """``32`` -> ``(32, 32)``; ``(H, W)`` -> ``(H, W)``, each a positive int."""
    if isinstance(image_size, (tuple, list, torch.Size)):
        if len(image_size) != 2:
            raise ArgumentError(f"{fn}: image_size must be an int or a pair (H, W), got {tuple(image_size)!r}")
        h = check_int(image_size[0], "image_size[0]", fn, min_value=1)
        w = check_int(image_size[1], "image_size[1]", fn, min_value=1)
        return h, w
    s = check_int(image_size, "image_size", fn, min_value=1)
    return s, s


def _randint(high: int, n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randint(0, high, (n,), generator=generator, device=generator.device)


# --------------------------------------------------------------------------------------------- shared checks


def _check_perm(perm: torch.Tensor, b: int, fn: str) -> torch.Tensor:
    if not isinstance(perm, torch.Tensor):
        raise DTypeError(f"{fn}: perm must be a torch.Tensor, got {type(perm).__name__}")
    check_shape(perm, "B", "perm", fn, B=b)
    check_not_meta(perm, "perm", fn)
    if perm.dtype.is_floating_point or perm.dtype == torch.bool or perm.is_complex():
        raise DTypeError(f"{fn}: perm must be an integer tensor (int64 preferred), got {perm.dtype}")
    if perm.numel() and (int(perm.min()) < 0 or int(perm.max()) >= b):
        raise ArgumentError(f"{fn}: perm must index the batch, values in [0, {b}), got [{int(perm.min())}, "
                         f"{int(perm.max())}]")
    return perm.long()


def _check_int_tensor(x: torch.Tensor, spec: str, name: str, fn: str, **fixed: int) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise DTypeError(f"{fn}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype.is_floating_point or x.dtype == torch.bool or x.is_complex():
        raise DTypeError(f"{fn}: {name} must be an integer tensor (int64 preferred), got {x.dtype}")
    check_shape(x, spec, name, fn, **fixed)
    check_not_meta(x, name, fn)
    return x.long()


def _box_mask(boxes: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``(..., 4)`` half-open ``(y0, x0, y1, x1)`` boxes -> ``(..., H, W)`` bool mask of the pixels inside."""
    rows = torch.arange(h, device=boxes.device)
    cols = torch.arange(w, device=boxes.device)
    in_y = (rows >= boxes[..., 0:1]) & (rows < boxes[..., 2:3])  # (..., H)
    in_x = (cols >= boxes[..., 1:2]) & (cols < boxes[..., 3:4])  # (..., W)
    return in_y.unsqueeze(-1) & in_x.unsqueeze(-2)


def _clip_boxes(boxes: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Clip ``(y0, x0, y1, x1)`` to the image; an inverted box becomes empty."""
    y0 = boxes[..., 0].clamp(0, h)
    x0 = boxes[..., 1].clamp(0, w)
    y1 = torch.maximum(boxes[..., 2].clamp(0, h), y0)
    x1 = torch.maximum(boxes[..., 3].clamp(0, w), x0)
    return torch.stack([y0, x0, y1, x1], dim=-1)


def _centred_boxes(cy: torch.Tensor, cx: torch.Tensor, size_h: torch.Tensor | int, size_w: torch.Tensor | int,
                   h: int, w: int) -> torch.Tensor:
    """Boxes of ``size_h x size_w`` whose top-left is ``(cy - size_h // 2, cx - size_w // 2)``, clipped."""
    y0 = cy - size_h // 2
    x0 = cx - size_w // 2
    return _clip_boxes(torch.stack([y0, x0, y0 + size_h, x0 + size_w], dim=-1), h, w)


# ------------------------------------------------------------------------------------------------ functional


def mixup(
    images: torch.Tensor, labels: torch.Tensor, lam: float | torch.Tensor, perm: torch.Tensor, *,
    check_range: bool = True,
) -> tuple[torch.Tensor, MixedTargets]:
    """MixUp with given parameters: ``out[i] = lam[i] * images[i] + (1 - lam[i]) * images[perm[i]]``.

    Shape:
        - images: ``(B, C, H, W)`` floating.
        - labels: ``(B,)`` integer.
        - lam: a number or ``(B,)`` floating tensor, values in ``[0, 1]``.
        - perm: ``(B,)`` integer indices into the batch (usually a permutation).
        - output: images of the input's shape and dtype, and :class:`MixedTargets` with
          ``labels_b = labels[perm]`` and ``lam`` as float32 ``(B,)``.

    Args:
        images: the batch (not modified).
        labels: its labels.
        lam: weight of each image itself.
        perm: index of each image's partner.

    Returns:
        ``(mixed_images, MixedTargets(labels, labels[perm], lam))``.

    Raises:
        DTypeError: images not floating; labels or perm not integer; lam not floating.
        ShapeError: wrong shapes or lengths other than B.
        ValueError: lam outside ``[0, 1]`` or perm outside ``[0, B)``.

    Example:
        >>> import torch
        >>> from pyrepair.augment import mixup
        >>> x, y = torch.stack([torch.zeros(1, 2, 2), torch.ones(1, 2, 2)]), torch.tensor([0, 1])
        >>> out, t = mixup(x, y, 0.25, torch.tensor([1, 0]))
        >>> out[:, 0, 0, 0].tolist(), t.labels_b.tolist()
        ([0.75, 0.25], [1, 0])
    """
    fn = "pyrepair.augment.mixup"
    b = check_images(images, fn, channels=None, check_range=check_range).sizes["B"]
    check_labels(labels, b, "labels", fn)
    perm = _check_perm(perm, b, fn).to(images.device)
    if isinstance(lam, torch.Tensor):
        if not lam.dtype.is_floating_point:
            raise DTypeError(f"{fn}: lam must be a number or a floating-point tensor, got {lam.dtype}")
        check_shape(lam, "B", "lam", fn, B=b)
        if lam.numel() and not bool(((lam >= 0) & (lam <= 1)).all()):
            raise ArgumentError(f"{fn}: lam must lie in [0, 1], got values in [{float(lam.min())}, {float(lam.max())}]")
        lam_t = lam.to(device=images.device, dtype=torch.float32)
    else:
        lam_t = torch.full((b,), check_number(lam, "lam", fn, 0.0, 1.0), device=images.device)
    weight = lam_t.to(images.dtype).view(b, 1, 1, 1)
    out = weight * images + (1.0 - weight) * images.index_select(0, perm)
    labels_b = labels.long().index_select(0, perm.to(labels.device))
    return out, MixedTargets(labels.long(), labels_b, lam_t)


def cutmix(
    images: torch.Tensor, labels: torch.Tensor, boxes: torch.Tensor, perm: torch.Tensor, *,
    check_range: bool = True,
) -> tuple[torch.Tensor, MixedTargets]:
    """CutMix with given parameters: paste ``images[perm[i]]`` into box i of image i; λ from the pasted area.

    Boxes are half-open pixel ranges ``(y0, x0, y1, x1)`` and are clipped to the image first, so a box may straddle
    the border. ``lam[i] = 1 - clipped_area_i / (H * W)``: exactly the fraction of image i's pixels that were
    *not* pasted over, which is the weight of ``labels[i]``.

    Shape:
        - images: ``(B, C, H, W)`` floating.
        - labels: ``(B,)`` integer.
        - boxes: ``(B, 4)`` or ``(4,)`` (one box for the whole batch) integer.
        - perm: ``(B,)`` integer indices into the batch.
        - output: images of the input's shape and dtype, and :class:`MixedTargets`.

    Args:
        images: the batch (not modified).
        labels: its labels.
        boxes: the regions to replace.
        perm: index of each image's partner.

    Returns:
        ``(mixed_images, MixedTargets(labels, labels[perm], lam))``.

    Raises:
        DTypeError: images not floating; labels, boxes or perm not integer.
        ShapeError: wrong shapes or lengths other than B.
        ValueError: perm outside ``[0, B)``.

    Example:
        >>> import torch
        >>> from pyrepair.augment import cutmix
        >>> x, y = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)]), torch.tensor([0, 1])
        >>> out, t = cutmix(x, y, torch.tensor([-1, 0, 1, 4]), torch.tensor([1, 0]))
        >>> t.lam.tolist(), float(out[0].sum())
        ([0.75, 0.75], 4.0)
    """
    fn = "pyrepair.augment.cutmix"
    s = check_images(images, fn, channels=None, check_range=check_range).sizes
    b, h, w = s["B"], s["H"], s["W"]
    check_labels(labels, b, "labels", fn)
    perm = _check_perm(perm, b, fn).to(images.device)
    if isinstance(boxes, torch.Tensor) and boxes.dim() == 1:
        boxes = _check_int_tensor(boxes, "4", "boxes", fn).expand(b, 4)
    else:
        boxes = _check_int_tensor(boxes, "B,4", "boxes", fn, B=b)
    boxes = _clip_boxes(boxes.to(images.device), h, w)
    mask = _box_mask(boxes, h, w).unsqueeze(1)  # (B, 1, H, W)
    out = torch.where(mask, images.index_select(0, perm), images)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    lam = 1.0 - area.to(torch.float64) / float(h * w)
    labels_b = labels.long().index_select(0, perm.to(labels.device))
    return out, MixedTargets(labels.long(), labels_b, lam.to(torch.float32))


def cutout(images: torch.Tensor, centers: torch.Tensor, size: int, *, check_range: bool = True) -> torch.Tensor:
    """Cutout with given hole centres: zero a ``size × size`` square (all channels) around each centre.

    The square covering rows ``[cy - size // 2, cy - size // 2 + size)`` (columns likewise) is clipped to the
    image, so a hole near the border is smaller. Several holes per image may overlap.

    Shape:
        - images: ``(B, C, H, W)`` floating.
        - centers: ``(B, 2)`` (one hole per image) or ``(B, N, 2)`` integer ``(cy, cx)``.
        - output: the input's shape and dtype.

    Args:
        images: the batch (not modified).
        centers: hole centres in pixels; any integers (outside the image gives a clipped or empty hole).
        size: side of the square, ``>= 0``.

    Returns:
        a new tensor with the holes set to 0.

    Raises:
        DTypeError: images not floating or centers not integer.
        ShapeError: wrong shapes.
        TypeError / ValueError: size not an int ``>= 0``.

    Example:
        >>> import torch
        >>> from pyrepair.augment import cutout
        >>> out = cutout(torch.ones(1, 1, 6, 6), torch.tensor([[0, 3]]), size=4)
        >>> int((out == 0).sum())
        8
    """
    fn = "pyrepair.augment.cutout"
    s = check_images(images, fn, channels=None, check_range=check_range).sizes
    b, h, w = s["B"], s["H"], s["W"]
    size = check_int(size, "size", fn, min_value=0)
    if isinstance(centers, torch.Tensor) and centers.dim() == 2:
        centers = _check_int_tensor(centers, "B,2", "centers", fn, B=b).unsqueeze(1)
    else:
        centers = _check_int_tensor(centers, "B,N,2", "centers", fn, B=b)
    centers = centers.to(images.device)
    boxes = _centred_boxes(centers[..., 0], centers[..., 1], size, size, h, w)  # (B, N, 4)
    hole = _box_mask(boxes, h, w).any(dim=1).unsqueeze(1)  # (B, 1, H, W)
    return images.masked_fill(hole, 0.0)


# --------------------------------------------------------------------------------------------------- classes


class MixUp:
    """MixUp (Zhang et al. 2018): mix each image with a random partner; one λ ~ Beta(α, α) per batch.

    Args:
        alpha: Beta concentration, ``>= 0``; ``0`` disables mixing (λ = 1), as in the reference code.

    Raises:
        TypeError / ValueError: alpha not a finite number ``>= 0``.

    Example:
        In your own training loop (``criterion`` becomes :func:`mixed_cross_entropy`):

        >>> import torch
        >>> from torch import nn
        >>> from pyrepair.augment import MixUp, mixed_cross_entropy
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))
        >>> x, y, g = torch.rand(6, 3, 8, 8), torch.randint(0, 4, (6,)), torch.Generator().manual_seed(0)
        >>> mixed, targets = MixUp(alpha=1.0)(x, y, generator=g)
        >>> loss = mixed_cross_entropy(model(mixed), targets)
        >>> bool(((targets.lam >= 0) & (targets.lam <= 1)).all())
        True
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = check_positive(alpha, "alpha", "pyrepair.augment.MixUp", allow_zero=True)

    def __repr__(self) -> str:
        return f"MixUp(alpha={self.alpha})"

    def sample(
        self, batch_size: int, *, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> MixUpParams:
        """Draw λ (one per batch, repeated to ``(B,)``) and a random permutation, on ``device`` (default: CPU)."""
        fn = "pyrepair.augment.MixUp.sample"
        b = check_int(batch_size, "batch_size", fn, min_value=0)
        g = resolve_generator(generator, fn)
        lam = float(sample_beta(1, self.alpha, g)[0]) if self.alpha > 0 else 1.0
        perm = torch.randperm(b, generator=g, device=g.device)
        dev = check_device(device, fn) or torch.device("cpu")
        return MixUpParams(torch.full((b,), lam, dtype=torch.float32, device=dev), perm.to(dev))

    def __call__(
        self, images: torch.Tensor, labels: torch.Tensor, *, generator: torch.Generator | None = None,
        check_range: bool = True,
    ) -> tuple[torch.Tensor, MixedTargets]:
        """Mix ``images`` (``(B, C, H, W)``, not modified) and return ``(mixed, MixedTargets)``; see :func:`mixup`."""
        check_images(images, "pyrepair.augment.MixUp", channels=None, check_range=check_range)
        params = self.sample(images.shape[0], generator=generator, device=images.device)
        return mixup(images, labels, params.lam, params.perm, check_range=False)


class CutMix:
    """CutMix (Yun et al. 2019): with probability ``prob`` paste a box of a random partner into every image.

    One λ ~ Beta(α, α), one box and one permutation per batch, as in the reference code: the box side is
    ``int(side * sqrt(1 - λ))`` for each of H and W, its centre uniform over the pixels, clipped to the image, and
    the returned ``lam`` is recomputed from the clipped area (``1 - area / (H * W)``). An unmixed batch returns
    the images unchanged (a copy) with ``lam = 1``.

    Args:
        alpha: Beta concentration, ``>= 0``; ``0`` disables mixing.
        prob: probability that a batch is mixed, in ``[0, 1]``.

    Raises:
        TypeError / ValueError: alpha not a finite number ``>= 0``, prob outside ``[0, 1]``.

    Example:
        >>> import torch
        >>> from pyrepair.augment import CutMix
        >>> x, y = torch.rand(4, 3, 32, 32), torch.randint(0, 10, (4,))
        >>> mixed, targets = CutMix(alpha=1.0, prob=1.0)(x, y, generator=torch.Generator().manual_seed(1))
        >>> bool(((targets.lam >= 0) & (targets.lam <= 1)).all())
        True
    """

    def __init__(self, alpha: float = 1.0, prob: float = 0.5) -> None:
        fn = "pyrepair.augment.CutMix"
        self.alpha = check_positive(alpha, "alpha", fn, allow_zero=True)
        self.prob = check_number(prob, "prob", fn, 0.0, 1.0)

    def __repr__(self) -> str:
        return f"CutMix(alpha={self.alpha}, prob={self.prob})"

    def sample(
        self,
        batch_size: int,
        image_size: int | tuple[int, int],
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> CutMixParams:
        """Draw the batch's box (clipped, repeated to ``(B, 4)``) and permutation on ``device`` (default: CPU).

        The same number of values is drawn whether or not the batch is mixed, so later draws from ``generator``
        do not depend on the coin.
        """
        fn = "pyrepair.augment.CutMix.sample"
        b = check_int(batch_size, "batch_size", fn, min_value=0)
        h, w = image_hw(image_size, fn)
        g = resolve_generator(generator, fn)
        coin = float(torch.rand(1, generator=g, device=g.device)[0])
        lam = float(sample_beta(1, self.alpha, g)[0]) if self.alpha > 0 else 1.0
        cy, cx = _randint(h, 1, g), _randint(w, 1, g)
        perm = torch.randperm(b, generator=g, device=g.device)
        dev = check_device(device, fn) or torch.device("cpu")
        if self.alpha == 0 or coin >= self.prob:
            return CutMixParams(torch.zeros(b, 4, dtype=torch.long, device=dev), torch.arange(b, device=dev))
        ratio = math.sqrt(1.0 - lam)
        box = _centred_boxes(cy, cx, int(h * ratio), int(w * ratio), h, w)  # (1, 4)
        return CutMixParams(box.to(dev).expand(b, 4).contiguous(), perm.to(dev))

    def __call__(
        self, images: torch.Tensor, labels: torch.Tensor, *, generator: torch.Generator | None = None,
        check_range: bool = True,
    ) -> tuple[torch.Tensor, MixedTargets]:
        """Apply to ``images`` (``(B, C, H, W)``, not modified) -> ``(mixed, MixedTargets)``; see :func:`cutmix`."""
        s = check_images(images, "pyrepair.augment.CutMix", channels=None, check_range=check_range).sizes
        params = self.sample(s["B"], (s["H"], s["W"]), generator=generator, device=images.device)
        return cutmix(images, labels, params.boxes, params.perm, check_range=False)


class Cutout:
    """Cutout (DeVries & Taylor 2017): zero ``n_holes`` squares of side ``size`` per image, centres uniform.

    Each image gets its own centres, drawn uniformly over its pixels; a hole may straddle the border and is then
    clipped (the CIFAR default: one 16 × 16 hole). Labels are untouched, so ``__call__`` takes and returns images
    only.

    Args:
        size: side of each square in pixels, ``>= 0``.
        n_holes: holes per image, ``>= 0``.

    Raises:
        TypeError / ValueError: size or n_holes not an int ``>= 0``.

    Example:
        >>> import torch
        >>> from pyrepair.augment import Cutout
        >>> out = Cutout(size=16)(torch.ones(2, 3, 32, 32), generator=torch.Generator().manual_seed(0))
        >>> bool((out == 0).any()), out.shape
        (True, torch.Size([2, 3, 32, 32]))
    """

    def __init__(self, size: int = 16, n_holes: int = 1) -> None:
        fn = "pyrepair.augment.Cutout"
        self.size = check_int(size, "size", fn, min_value=0)
        self.n_holes = check_int(n_holes, "n_holes", fn, min_value=0)

    def __repr__(self) -> str:
        return f"Cutout(size={self.size}, n_holes={self.n_holes})"

    def sample(
        self,
        batch_size: int,
        image_size: int | tuple[int, int],
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Draw hole centres ``(B, n_holes, 2)`` int64 ``(cy, cx)`` on ``device`` (default: CPU)."""
        fn = "pyrepair.augment.Cutout.sample"
        b = check_int(batch_size, "batch_size", fn, min_value=0)
        h, w = image_hw(image_size, fn)
        g = resolve_generator(generator, fn)
        n = b * self.n_holes
        centers = torch.stack([_randint(h, n, g), _randint(w, n, g)], dim=-1).view(b, self.n_holes, 2)
        return centers.to(check_device(device, fn) or torch.device("cpu"))

    def __call__(
        self, images: torch.Tensor, *, generator: torch.Generator | None = None, check_range: bool = True
    ) -> torch.Tensor:
        """Return a copy of ``images`` (``(B, C, H, W)``) with the holes zeroed; see :func:`cutout`."""
        s = check_images(images, "pyrepair.augment.Cutout", channels=None, check_range=check_range).sizes
        centers = self.sample(s["B"], (s["H"], s["W"]), generator=generator, device=images.device)
        return cutout(images, centers, self.size, check_range=False)

