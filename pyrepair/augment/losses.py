"""Losses for augmentation training: AugMix's Jensen-Shannon consistency and cross-entropy on mixed targets.

:func:`jsd_loss` is Eq. 2 of DeepRepair, which is AugMix's consistency term verbatim (Hendrycks et al., "AugMix: A
Simple Data Processing Method to Improve Robustness and Uncertainty", ICLR 2020, Eq. 1; `google-research/augmix`
``cifar.py``). Spec: ``shared/spec/deeprepair.md`` §A.6.

Example:
    >>> import torch
    >>> from pyrepair.augment import augmix_loss, jsd_loss
    >>> z = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    >>> abs(float(jsd_loss(z, z, z))) < 1e-6
    True
    >>> y = torch.tensor([0, 1, 2, 3])
    >>> bool(augmix_loss(z, z + 1.0, 2.0 * z, y) > 0)
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._checks import check_finite, check_labels, check_positive, check_same_device, check_shape
from ..errors import ArgumentError, DTypeError, ShapeError
from .mixing import MixedTargets

__all__ = ["augmix_loss", "jsd_loss", "mixed_cross_entropy"]

# Lower clamp of the mixture distribution M (AugMix `cifar.py`: ``torch.clamp(..., 1e-7, 1).log()``).
_M_EPS = 1e-7


def _check_logits(fn: str, **logits: torch.Tensor) -> tuple[int, int]:
    """Each argument is a finite floating (B, K) tensor with B >= 1; all of one shape and device. Returns (B, K)."""
    first_name, first = next(iter(logits.items()))
    sizes: dict[str, int] = {}
    for name, z in logits.items():
        if not isinstance(z, torch.Tensor):
            raise DTypeError(f"{fn}: {name} must be a torch.Tensor, got {type(z).__name__}")
        s = check_shape(z, "B,K", name, fn)
        if not z.dtype.is_floating_point:
            raise DTypeError(f"{fn}: {name} must be a floating-point tensor of logits, got {z.dtype}")
        if s["B"] == 0 or s["K"] == 0:
            raise ShapeError(
                f"{fn}: {name} must have at least one row and one class, got shape {list(z.shape)}",
                actual_shape=tuple(z.shape), expected="B,K",
            )
        if not sizes:
            sizes = s
        elif z.shape != first.shape:
            raise ShapeError(
                f"{fn}: {name} must have the shape of {first_name} {list(first.shape)}, got {list(z.shape)}",
                actual_shape=tuple(z.shape), expected="B,K",
            )
        check_finite(z, name, fn)
    if len(logits) > 1:
        check_same_device(fn, **logits)
    return sizes["B"], sizes["K"]


def _jsd(z0: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Unchecked §A.6 consistency term (the checked entry point is :func:`jsd_loss`)."""
    log_p = [F.log_softmax(z, dim=1) for z in (z0, z1, z2)]
    p = [lp.exp() for lp in log_p]
    log_m = torch.clamp((p[0] + p[1] + p[2]) / 3.0, _M_EPS, 1.0).log()
    # KL(p_k || M) = sum_c p_c (log p_c - log M_c), "batchmean". log p comes from log_softmax, so it is finite even
    # where p underflows to exactly 0; the product is then 0 (the 0 log 0 := 0 convention) and so is its gradient.
    # F.kl_div(log_m, p_k, reduction="batchmean") computes the same value but its gradient through p_k is NaN there.
    kl = [(pk * (lpk - log_m)).sum(dim=1).mean() for pk, lpk in zip(p, log_p, strict=True)]
    return (kl[0] + kl[1] + kl[2]) / 3.0


def jsd_loss(logits_clean: torch.Tensor, logits_aug1: torch.Tensor, logits_aug2: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence between the predictions on a clean view and two augmented views (AugMix form).

    With ``p_k = softmax(z_k)`` and ``M = clamp((p_0 + p_1 + p_2) / 3, 1e-7, 1)``::

        JS = (1/3) * sum_k KL(p_k || M),   KL(p || M) = mean over the batch of sum_c p_c (log p_c - log M_c)

    The clamp applies to ``M`` only, as in AugMix. The result is 0 when the three rows agree, is symmetric in the
    three arguments and is non-negative up to the clamp (which only matters below 1e-7). Gradients stay finite when
    probabilities underflow to 0 (logits of +-100).

    Shape:
        - logits_clean, logits_aug1, logits_aug2: ``(B, K)``, one shape, floating, finite, one device.
        - output: scalar tensor of their dtype.

    Args:
        logits_clean: network outputs on the clean images.
        logits_aug1: outputs on the first augmented view.
        logits_aug2: outputs on the second augmented view.

    Returns:
        the consistency loss, differentiable with respect to all three inputs.

    Raises:
        DTypeError: an argument is not a floating tensor.
        ShapeError: an argument is not ``(B, K)`` with ``B, K >= 1``, or the shapes differ.
        ValueError: an argument holds NaN or infinity.
        DeviceError: the arguments are on different devices.
    """
    _check_logits("pyrepair.augment.jsd_loss", logits_clean=logits_clean, logits_aug1=logits_aug1,
                  logits_aug2=logits_aug2)
    return _jsd(logits_clean, logits_aug1, logits_aug2)


def augmix_loss(
    logits_clean: torch.Tensor,
    logits_aug1: torch.Tensor,
    logits_aug2: torch.Tensor,
    labels: torch.Tensor,
    lam: float = 12.0,
) -> torch.Tensor:
    """AugMix / DeepRepair training loss: cross-entropy on the clean view plus ``lam`` times :func:`jsd_loss`.

    ``L = CE(logits_clean, labels) + lam * JS(logits_clean, logits_aug1, logits_aug2)`` (DeepRepair Eq. 2, λ = 12).
    The augmented views enter only through the JS term.

    Shape:
        - logits_*: ``(B, K)`` as in :func:`jsd_loss`.
        - labels: ``(B,)`` integer class indices in ``[0, K)``.
        - output: scalar.

    Args:
        logits_clean: outputs on the clean images.
        logits_aug1: outputs on the first augmented view.
        logits_aug2: outputs on the second augmented view.
        labels: the true classes.
        lam: weight of the consistency term, finite and ``>= 0``.

    Returns:
        the loss (mean over the batch).

    Raises:
        DTypeError: a logits argument is not floating, or labels is not an integer tensor.
        ShapeError: wrong or differing shapes; labels not of length B.
        ValueError: NaN/inf logits, labels outside ``[0, K)``, or ``lam`` negative or not finite.
        TypeError: ``lam`` is not a number.

    Example:
        Two views of a batch, one forward over the concatenation (BatchNorm sees all three), one loss:

        >>> import torch
        >>> from torch import nn
        >>> from pyrepair.augment import AugMix, augmix_loss, augmix_views
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))
        >>> x, y = torch.rand(6, 3, 8, 8), torch.randint(0, 4, (6,))
        >>> g = torch.Generator().manual_seed(0)
        >>> aug = AugMix(); clean, a1, a2 = augmix_views(x, aug, generator=g)
        >>> logits = model(torch.cat([clean, a1, a2])).chunk(3)
        >>> loss = augmix_loss(*logits, y)
        >>> loss.backward()
        >>> bool(torch.isfinite(loss))
        True
    """
    fn = "pyrepair.augment.augmix_loss"
    b, k = _check_logits(fn, logits_clean=logits_clean, logits_aug1=logits_aug1, logits_aug2=logits_aug2)
    check_labels(labels, b, "labels", fn, num_classes=k)
    check_same_device(fn, logits_clean=logits_clean, labels=labels)
    lam = check_positive(lam, "lam", fn, allow_zero=True)
    ce = F.cross_entropy(logits_clean, labels.long())
    return ce + lam * _jsd(logits_clean, logits_aug1, logits_aug2)


def mixed_cross_entropy(logits: torch.Tensor, targets: MixedTargets | torch.Tensor) -> torch.Tensor:
    """Cross-entropy against the label pairs produced by :class:`MixUp` / :class:`CutMix` (or plain labels).

    For :class:`MixedTargets` ``(labels_a, labels_b, lam)``, each sample's loss is
    ``lam_i * CE(z_i, a_i) + (1 - lam_i) * CE(z_i, b_i)``, which equals cross-entropy against the soft target
    ``lam_i * onehot(a_i) + (1 - lam_i) * onehot(b_i)``; the result is the batch mean. A plain integer label tensor
    gives ordinary cross-entropy, so one loss function serves batches with and without mixing.

    Shape:
        - logits: ``(B, K)``, floating, finite.
        - targets: :class:`MixedTargets` of ``(B,)`` tensors, or ``(B,)`` integer labels.
        - output: scalar.

    Args:
        logits: network outputs on the (mixed) images.
        targets: what :class:`MixUp` / :class:`CutMix` returned, or class indices.

    Returns:
        the mean loss.

    Raises:
        DTypeError: logits not floating, labels not integer, ``lam`` not floating, or targets of another type.
        ShapeError: wrong shapes or lengths other than B.
        ValueError: NaN/inf logits, labels outside ``[0, K)``, or ``lam`` outside ``[0, 1]``.

    Example:
        >>> import torch
        >>> from pyrepair.augment import MixUp, mixed_cross_entropy
        >>> x, y = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
        >>> mixed, targets = MixUp(alpha=1.0)(x, y, generator=torch.Generator().manual_seed(0))
        >>> loss = mixed_cross_entropy(torch.randn(4, 5), targets)
        >>> loss.shape
        torch.Size([])
    """
    fn = "pyrepair.augment.mixed_cross_entropy"
    b, k = _check_logits(fn, logits=logits)
    if isinstance(targets, MixedTargets):
        check_labels(targets.labels_a, b, "targets.labels_a", fn, num_classes=k)
        check_labels(targets.labels_b, b, "targets.labels_b", fn, num_classes=k)
        lam = targets.lam
        if not isinstance(lam, torch.Tensor) or not lam.dtype.is_floating_point:
            got = lam.dtype if isinstance(lam, torch.Tensor) else type(lam).__name__
            raise DTypeError(f"{fn}: targets.lam must be a floating-point tensor, got {got}")
        check_shape(lam, "B", "targets.lam", fn, B=b)
        check_finite(lam, "targets.lam", fn)
        if lam.numel() and (float(lam.min()) < 0.0 or float(lam.max()) > 1.0):
            raise ArgumentError(
                f"{fn}: targets.lam must lie in [0, 1], got values in [{float(lam.min())}, {float(lam.max())}]"
            )
        check_same_device(fn, logits=logits, labels_a=targets.labels_a, labels_b=targets.labels_b, lam=lam)
        ce_a = F.cross_entropy(logits, targets.labels_a.long(), reduction="none")
        ce_b = F.cross_entropy(logits, targets.labels_b.long(), reduction="none")
        lam = lam.to(logits.dtype)
        return (lam * ce_a + (1.0 - lam) * ce_b).mean()
    if isinstance(targets, torch.Tensor):
        check_labels(targets, b, "targets", fn, num_classes=k)
        check_same_device(fn, logits=logits, targets=targets)
        return F.cross_entropy(logits, targets.long())
    raise DTypeError(f"{fn}: targets must be a MixedTargets or an integer label tensor, got {type(targets).__name__}")
