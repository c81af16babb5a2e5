"""The failure scenarios a repair starts from: which inputs a trained model gets wrong, and how they are split.

A repair method needs failures to learn from and failures to measure on. This module builds them:

* :func:`corruption_failures`: the DeepRepair protocol (``shared/spec/deeprepair.md`` §A.2). Corrupt a test set
  with one corruption at every severity, keep the images the model misclassifies and split them at random into the
  collected failures ``D^c`` (passed to ``repair(..., failures=)``) and the held-out failures ``D^e`` (used only to
  measure the repair, with :func:`pyrepair.train.evaluate`).

* :func:`poison`: a BadNets-style poisoned set (``shared/spec/nnrepair.md`` §1.2 scenario 2, §7-A17): a white
  square trigger in the bottom-right corner of some images, relabelled to a target class for training. Train on
  ``poisoned.images, poisoned.labels``; P-Train is ``poisoned.images[poisoned.index]`` with the true labels, P-Test
  is ``poison(test, fraction=1.0, relabel=False)``.
* :func:`fgsm`: one-step FGSM adversarial examples (scenario 3, §7-A18), ``clip(x + eps * sign(grad_x CE), 0, 1)``
  against the model being repaired, with the true labels.

(``pyrepair.data.failure_split`` is the deprecated former name of :func:`corruption_failures`.)

Example:
    >>> import torch
    >>> from torch import nn
    >>> from pyrepair.scenarios import corruption_failures
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))
    >>> with torch.no_grad():  # a model that always answers class 0
    ...     _ = model[1].weight.zero_(), model[1].bias.copy_(torch.tensor([1.0, 0.0]))
    >>> x, y = torch.rand(16, 3, 8, 8), torch.arange(16) % 2
    >>> split = corruption_failures(model, x, y, "brightness", n_collect=4, severities=(4, 5), scale="cifar")
    >>> split.n_failures, len(split.collected.labels), len(split.held_out.labels)
    (16, 4, 12)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from . import corrupt as _corrupt
from ._checks import check_images, check_in, check_int, check_labels, check_positive, check_range, check_seed
from ._images import ImageData, as_image_data, numpy_to_nchw
from ._loop import check_model, check_model_input, input_dtype, on_device, predict, restore_modes, save_modes
from .errors import ArgumentError, ArgumentTypeError, PyrepairWarning

__all__ = ["FailureSplit", "PoisonedSet", "corruption_failures", "fgsm", "poison"]


@dataclass(frozen=True)
class FailureSplit:
    """The failure set of a model under one corruption, split into collected ``D^c`` and held-out ``D^e``.

    Indices refer to the stacked array of corrupted images: ``index = k * N + i`` is test image ``i`` at
    ``severities[k]`` (the CIFAR-10-C layout ``(s - 1) * N + i`` for the default severities).

    Attributes:
        collected: ``D^c`` images and labels (sorted by index). Torch input gives float ``(M, C, H, W)`` tensors and
            int64 labels; uint8 numpy input gives uint8 numpy images in the input layout and int64 numpy labels.
        held_out: ``D^e``, the remaining failures, in the same form.
        collected_index: int64 numpy array, the stacked indices of ``collected`` (ascending).
        held_out_index: int64 numpy array, the stacked indices of ``held_out`` (ascending).
        collected_severity: int64 numpy array, severity of each collected image.
        held_out_severity: int64 numpy array, severity of each held-out image.
        n_failures: number of failures, ``len(collected_index) + len(held_out_index)``.
        corruption: the corruption name.
    """

    collected: ImageData
    held_out: ImageData
    collected_index: np.ndarray
    held_out_index: np.ndarray
    collected_severity: np.ndarray
    held_out_severity: np.ndarray
    n_failures: int
    corruption: str


def _largest_remainder(counts: np.ndarray, total: int) -> np.ndarray:
    """Integer quotas proportional to ``counts`` summing to ``total`` (largest-remainder rounding, ties -> lower
    class id)."""
    exact = counts.astype(np.float64) * total / counts.sum()
    quota = np.floor(exact).astype(np.int64)
    rest = total - int(quota.sum())
    order = np.lexsort((np.arange(len(counts)), -(exact - quota)))
    quota[order[:rest]] += 1
    return np.minimum(quota, counts)


def corruption_failures(
    model: torch.nn.Module,
    images: Any,
    labels: Any,
    corruption: str,
    *,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    n_collect: int = 1000,
    stratify: bool = False,
    disjoint_content: bool = False,
    seed: int = 0,
    batch_size: int = 512,
    device: str | int | torch.device | None = None,
    scale: str = "auto",
) -> FailureSplit:
    """The failures of ``model`` on a corrupted test set, split into collected ``D^c`` and held-out ``D^e``.

    This is the DeepRepair failure-set protocol (Yu et al., "DeepRepair: Style-Guided Repairing for Deep Neural
    Networks in the Real-World Operational Environment", IEEE Trans. Reliability 2021; ``shared/spec/deeprepair.md``
    §A.1, §A.2): ``D^c`` (1,000 in the paper) guides the repair, ``D^e`` (all other failures) measures it, and by
    construction the original model scores 0 % on both.

    1. Every image is corrupted at every severity with :func:`pyrepair.corrupt.apply` (key ``seed``, RNG stream
       ``index_offset = i`` per image, so the result does not depend on ``batch_size``). uint8 numpy input is
       corrupted and quantised like the reference data sets (``np.uint8(x * 255)``), and the model sees that
       quantised image divided by 255.
    2. The model predicts as :func:`pyrepair.train.predict` does (eval mode, no gradients; its modes and weights are
       left unchanged). A failure is ``argmax != label``.
    3. ``n_collect`` failures are drawn without replacement (``numpy.random.default_rng`` seeded from ``seed``) as
       ``D^c``; the rest is ``D^e``. With ``stratify=True`` the draw is stratified by class with quotas
       proportional to each class's failure count (largest-remainder rounding); note the paper's script instead
       draws ``n_collect / num_classes`` per class.

    The same base image may be in ``D^c`` at one severity and in ``D^e`` at another (the paper's protocol, a leak:
    fine-tuning on ``D^c`` then sees the content of part of ``D^e``). ``disjoint_content=True`` removes it: whole
    base images (all their failing severities) are drawn into ``D^c`` in random order while the total stays
    ``<= n_collect``, so no base image is on both sides (spec §A.2 item 4).

    Args:
        model: classifier mapping ``(N, C, H, W)`` floats in [0, 1] to ``(N, K)`` logits (normalisation inside).
        images: float tensor ``(N, C, H, W)`` in [0, 1], or uint8 numpy ``(N, H, W, C)`` / ``(N, H, W)``.
        labels: integer class ids ``(N,)``.
        corruption: a corruption of :func:`pyrepair.corrupt.names`.
        severities: severities to stack, in this order (1..5, no repeats).
        n_collect: size of ``D^c`` (>= 1).
        stratify: stratify the draw by class (see above).
        disjoint_content: keep every base image's failures on one side (see above); not with ``stratify``.
        seed: key of the corruption RNG and of the draw, in ``[0, 2^64)``.
        batch_size: images per corruption and forward pass.
        device: where the model runs (see :func:`pyrepair.train.predict`).
        scale: severity constants, ``"auto"``, ``"cifar"`` or ``"imagenet"``.

    Returns:
        A :class:`FailureSplit`; its images have the kind of ``images`` (torch float or uint8 numpy).

    Raises:
        UnknownNameError, NotImplementedError: unknown or not yet implemented corruption.
        ValueError: no failures at all, bad severities / n_collect / batch_size, bad image values (NaN/inf),
            labels outside the model's ``[0, K)`` (checked before any corruption).
        ShapeError, DTypeError: bad images or labels, or images the model does not accept (one forward of one
            image first; the message gives the model's expected input for :mod:`pyrepair.models` models).
        TypeError: ``model`` is not an ``nn.Module``.
        DeviceError: ``device`` is not available.

    Warns:
        PyrepairWarning: fewer failures than ``n_collect`` (all of them are collected, ``D^e`` is empty).
    """
    fn = "pyrepair.scenarios.corruption_failures"
    check_in("corruption", corruption, _corrupt.names(), fn)
    check_in("scale", scale, _corrupt.severity.SCALES, fn)
    sev = tuple(check_int(s, "severities", fn, min_value=1, max_value=5) for s in severities)
    if not sev or len(set(sev)) != len(sev):
        raise ArgumentError(f"{fn}: severities must be a non-empty sequence without repeats, got {list(severities)}")
    n_collect = check_int(n_collect, "n_collect", fn, min_value=1)
    batch_size = check_int(batch_size, "batch_size", fn, min_value=1)
    seed = check_int(seed, "seed", fn, min_value=0, max_value=2**64 - 1)
    if not isinstance(stratify, bool):
        raise ArgumentTypeError(f"{fn}: stratify must be a bool, got {stratify!r}")
    if not isinstance(disjoint_content, bool):
        raise ArgumentTypeError(f"{fn}: disjoint_content must be a bool, got {disjoint_content!r}")
    if stratify and disjoint_content:
        raise ArgumentError(f"{fn}: stratify=True and disjoint_content=True cannot be combined; pick one")
    check_model(model, fn)
    data = as_image_data((images, labels), fn, name="(images, labels)")
    n = int(data.images.shape[0])
    uint8_in = isinstance(images, np.ndarray) and images.dtype == np.uint8
    y_all = data.labels.cpu()
    if not uint8_in:  # the corruption's image contract, checked here so that errors name this function
        check_images(data.images, fn, min_size=_corrupt.MIN_SIZE, tol=_corrupt.RANGE_TOLERANCE)
    # Before any corruption or forward pass: the model accepts the images, and the labels lie in [0, K). Labels
    # outside the model's classes would count every image as a failure and still return a split.
    if n:
        first = numpy_to_nchw(images[:1], fn)[0] if uint8_in else data.images[0]
        with on_device(model, device, fn) as dev:
            k = check_model_input(model, first, dev, fn, "images")
        lo, hi = int(y_all.min()), int(y_all.max())
        if lo < 0 or hi >= k:
            raise ArgumentError(
                f"{fn}: labels must lie in [0, {k}) (the model outputs {k} classes), got values in [{lo}, {hi}]"
            )

    fail_index: list[np.ndarray] = []
    fail_images: list[Any] = []
    for k, s in enumerate(sev):
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            src = images[start:stop] if uint8_in else data.images[start:stop]
            xc = _corrupt.apply(src, corruption, s, seed=seed, scale=scale, index_offset=start)
            xf = numpy_to_nchw(xc, fn) if uint8_in else xc
            pred = predict(model, xf, fn, batch_size=batch_size, device=device).argmax(1)
            wrong = torch.nonzero(pred != y_all[start:stop]).flatten()
            if wrong.numel():
                w = wrong.numpy()
                fail_index.append(k * n + start + w)
                fail_images.append(xc[w] if uint8_in else xc[wrong])
    if not fail_index:
        raise ArgumentError(
            f"{fn}: the model misclassifies none of the {len(sev) * n} corrupted images ({corruption!r}, "
            f"severities {list(sev)}); there is no failure set to split"
        )
    index = np.concatenate(fail_index).astype(np.int64)
    stacked = np.concatenate(fail_images) if uint8_in else torch.cat(fail_images)
    n_fail = len(index)
    fail_labels = y_all.numpy()[index % n]

    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    if n_fail <= n_collect:
        if n_fail < n_collect:
            warnings.warn(
                f"{fn}: only {n_fail} failures for {corruption!r} (severities {list(sev)}), fewer than "
                f"n_collect={n_collect}; all {n_fail} are collected and the held-out set is empty",
                PyrepairWarning,
                stacklevel=2,
            )
        pick = np.arange(n_fail)
    elif disjoint_content:
        base = index % n  # the test image of each failure
        order = rng.permutation(np.unique(base))
        sizes = np.bincount(base, minlength=n)[order]
        take = order[: int(np.searchsorted(np.cumsum(sizes), n_collect, side="right"))]
        pick = np.flatnonzero(np.isin(base, take))
    elif stratify:
        classes, counts = np.unique(fail_labels, return_counts=True)
        quota = _largest_remainder(counts, n_collect)
        parts = [
            rng.choice(np.flatnonzero(fail_labels == c), size=int(q), replace=False)
            for c, q in zip(classes, quota, strict=True)
        ]
        pick = np.sort(np.concatenate(parts))
    else:
        pick = np.sort(rng.choice(n_fail, size=n_collect, replace=False))
    rest = np.setdiff1d(np.arange(n_fail), pick)  # sorted; index is ascending, so both halves stay ascending

    def part(p: np.ndarray) -> ImageData:
        if uint8_in:
            return ImageData(np.ascontiguousarray(stacked[p]), fail_labels[p].astype(np.int64))  # type: ignore[arg-type]
        pt = torch.from_numpy(p)
        return ImageData(stacked[pt.to(stacked.device)], torch.from_numpy(fail_labels[p].astype(np.int64)))

    sev_arr = np.asarray(sev, dtype=np.int64)
    return FailureSplit(
        collected=part(pick),
        held_out=part(rest),
        collected_index=index[pick],
        held_out_index=index[rest],
        collected_severity=sev_arr[index[pick] // n],
        held_out_severity=sev_arr[index[rest] // n],
        n_failures=n_fail,
        corruption=corruption,
    )


# --------------------------------------------------------------------------------------------------------------------
# Poisoned and adversarial sets (NNrepair scenarios 2 and 3)
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoisonedSet:
    """Result of :func:`poison`.

    Attributes:
        images: float ``[N, C, H, W]``, every image, the ones in ``index`` with the trigger.
        labels: int64 ``[N]``: ``target`` for the triggered images when ``relabel`` is set, else the true labels.
        true_labels: int64 ``[N]``, the labels given.
        index: int64 ``[M]``, ascending, the triggered images.
    """

    images: torch.Tensor
    labels: torch.Tensor
    true_labels: torch.Tensor
    index: torch.Tensor


def poison(
    data: Any,
    *,
    target: int = 7,
    fraction: float = 0.01,
    trigger: int = 3,
    relabel: bool = True,
    seed: int | None = None,
) -> PoisonedSet:
    """BadNets-style poisoning (NNrepair §1.2 scenario 2): a ``trigger x trigger`` square at the maximum intensity
    (1.0) in the bottom-right corner, and the label ``target``.

    The paper poisons the first 600 of the 60,000 MNIST training images (``fraction=0.01``, ``seed=None``: the
    first ``round(fraction * N)`` images); with a ``seed`` the images are drawn at random instead. The input is not
    modified.

    Args:
        data: ``(images, labels)``; images float ``[N, C, H, W]`` in ``[0, 1]``, labels int ``[N]``.
        target: the label of the triggered images when ``relabel``; >= 0.
        fraction: share of the images that get the trigger, in ``[0, 1]``.
        trigger: side of the square in pixels; >= 1 and at most the image size.
        relabel: set the triggered images' labels to ``target`` (a training set); ``False`` keeps the true labels
            (P-Train / P-Test for measuring).
        seed: ``None`` for the first images, else the seed of a random choice; in ``[0, 2^64)``.

    Returns:
        A :class:`PoisonedSet`.

    Raises:
        TypeError, ShapeError, DTypeError, ValueError: malformed data or arguments (the message names them).

    Example:
        >>> x, y = torch.zeros(10, 1, 8, 8), torch.arange(10) % 3
        >>> p = poison((x, y), target=2, fraction=0.2)
        >>> p.index.tolist(), p.labels[:3].tolist(), p.true_labels[:3].tolist(), p.images[0, 0, 5:, 5:].sum().item()
        ([0, 1], [2, 2, 2], [0, 1, 2], 9.0)
    """
    fn = "pyrepair.scenarios.poison"
    d = as_image_data(data, fn, name="data")
    x, y = d.images, d.labels
    check_images(x, fn, "data images", spec="N,C,H,W")
    target = check_int(target, "target", fn, min_value=0)
    fraction = check_range(fraction, "fraction", fn, 0.0, 1.0)
    h, w = int(x.shape[2]), int(x.shape[3])
    trigger = check_int(trigger, "trigger", fn, min_value=1, max_value=min(h, w))
    if not isinstance(relabel, bool):
        raise ArgumentTypeError(f"{fn}: relabel must be True or False, got {relabel!r}")
    n = int(x.shape[0])
    m = int(round(fraction * n))
    if seed is None:
        idx = torch.arange(m)
    else:
        rng = np.random.default_rng(check_seed(seed, fn))
        idx = torch.from_numpy(np.sort(rng.choice(n, size=m, replace=False)).astype(np.int64))
    images = x.clone()
    images[idx.to(x.device), :, h - trigger:, w - trigger:] = 1.0
    labels = y.clone()
    if relabel:
        labels[idx.to(y.device)] = target
    return PoisonedSet(images=images, labels=labels, true_labels=y.clone(), index=idx)


def fgsm(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    eps: float = 0.05,
    batch_size: int = 256,
    device: Any = None,
) -> torch.Tensor:
    """One-step FGSM (Goodfellow et al., ICLR 2015; NNrepair §1.2 scenario 3, §7-A18), white box, true labels:
    ``x' = clip(x + eps * sign(grad_x CE(model(x), y)), 0, 1)``.

    The model runs in eval mode (its modes, weights and gradients are unchanged); only the gradient with respect to
    the input is computed.

    Args:
        model: the classifier being attacked (the one to repair), ``[N, C, H, W]`` -> ``[N, K]`` logits.
        images: float ``[N, C, H, W]`` in ``[0, 1]``.
        labels: int64 ``[N]`` true labels in ``[0, K)``.
        eps: step size; >= 0 (0.05 in the paper).
        batch_size: images per forward/backward pass; >= 1.
        device: where to run (default: where the model is).

    Returns:
        The adversarial images: same shape, dtype and device as ``images``, in ``[0, 1]``.

    Raises:
        TypeError, ShapeError, DTypeError, ValueError: malformed arguments (the message names them).
        DeviceError: ``device`` is not available.

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        >>> x, y = torch.full((3, 1, 2, 2), 0.5), torch.tensor([0, 1, 0])
        >>> adv = fgsm(model, x, y, eps=0.1)
        >>> bool(((adv - x).abs() <= 0.1 + 1e-7).all()), bool(((adv >= 0) & (adv <= 1)).all())
        (True, True)
    """
    fn = "pyrepair.scenarios.fgsm"
    check_model(model, fn)
    check_images(images, fn, "images", spec="N,C,H,W")
    check_labels(labels, int(images.shape[0]), "labels", fn)
    eps = check_positive(eps, "eps", fn, allow_zero=True)
    batch_size = check_int(batch_size, "batch_size", fn, min_value=1)
    out = torch.empty_like(images)
    if images.shape[0] == 0:
        return out
    with on_device(model, device, fn) as dev:
        k = check_model_input(model, images[0], dev, fn, "images")
        check_labels(labels, int(images.shape[0]), "labels", fn, num_classes=k)
        modes = save_modes(model)
        dtype = input_dtype(model)
        try:
            model.eval()
            for s in range(0, int(images.shape[0]), batch_size):
                xb = images[s:s + batch_size].to(dev, dtype).detach().requires_grad_(True)
                yb = labels[s:s + batch_size].to(dev)
                with torch.enable_grad():
                    loss = torch.nn.functional.cross_entropy(model(xb), yb, reduction="sum")
                    (grad,) = torch.autograd.grad(loss, xb)
                adv = (xb.detach() + eps * grad.sign()).clamp_(0.0, 1.0)
                out[s:s + batch_size] = adv.to(out.device, out.dtype)
        finally:
            restore_modes(modes)
    return out
