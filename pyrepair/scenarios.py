"""The failure scenarios a repair starts from: which inputs a trained model gets wrong, and how they are split.

A repair method needs failures to learn from and failures to measure on. This module builds them:

* :func:`corruption_failures`: the DeepRepair protocol (``shared/spec/deeprepair.md`` §A.2). Corrupt a test set
  with one corruption at every severity, keep the images the model misclassifies and split them at random into the
  collected failures ``D^c`` (passed to ``repair(..., failures=)``) and the held-out failures ``D^e`` (used only to
  measure the repair, with :func:`pyrepair.train.evaluate`).

Poisoned and adversarial failure sets will join it here. (``pyrepair.data.failure_split`` is the deprecated former
name of :func:`corruption_failures`.)

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

from . import corrupt as _corrupt
from ._checks import check_images, check_in, check_int
from ._images import ImageData, as_image_data, numpy_to_nchw
from ._loop import check_model, check_model_input, on_device, predict
from .errors import ArgumentError, ArgumentTypeError, PyrepairWarning

__all__ = ["FailureSplit", "corruption_failures"]


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

    The same base image may be in ``D^c`` at one severity and in ``D^e`` at another (the paper's protocol).

    Args:
        model: classifier mapping ``(N, C, H, W)`` floats in [0, 1] to ``(N, K)`` logits (normalisation inside).
        images: float tensor ``(N, C, H, W)`` in [0, 1], or uint8 numpy ``(N, H, W, C)`` / ``(N, H, W)``.
        labels: integer class ids ``(N,)``.
        corruption: a corruption of :func:`pyrepair.corrupt.names`.
        severities: severities to stack, in this order (1..5, no repeats).
        n_collect: size of ``D^c`` (>= 1).
        stratify: stratify the draw by class (see above).
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
