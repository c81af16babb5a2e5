"""Wavelet kernels and style transfer: Haar DWT/IDWT, whitening-colouring transform, pixel-domain wavelet WCT.

DeepRepair's style operation re-renders a clean image in the "style" of a failure image (``spec/deeprepair.md``
§D). This package provides

* :func:`haar_dwt2d` / :func:`haar_idwt2d`: multi-level orthonormal 2-D Haar analysis / synthesis (§D.1), batched,
  any size (odd sizes padded and cropped again), differentiable (the gradient is the adjoint transform);
* :func:`wct`: the batched whitening-colouring transform of feature maps with WCT2's numerics (§D.3);
* :func:`style_transfer`: ``mode="pixel"`` (default) is the training-free pixel-domain wavelet WCT (§D.6), which
  carries noise level, blur, contrast, brightness, haze and blockiness of the style onto the content while keeping
  the content's edges; ``mode="spectral"`` is the same transform per spatial frequency with statistics pooled over
  the batch and the bank (training-free, the strongest corruption transplant); ``mode="wct2"`` runs the WCT2
  network (:mod:`pyrepair.wavelet.stylizer`, user weights).

Kernels (``csrc/wavelet``): Haar analysis / synthesis, per-group channel moments, Jacobi eigendecomposition of small
symmetric matrices (C <= 16; larger ones use ``torch.linalg.eigh``), the affine apply pass, and the spectral mode's
pooled cross-spectra and per-frequency filter, in C++ (OpenMP over the batch) and CUDA, with the torch reference in
:mod:`pyrepair.wavelet.reference`.

Example:
    >>> import torch
    >>> from pyrepair import wavelet
    >>> content = torch.rand(4, 3, 32, 32)
    >>> style = (0.5 + 0.1 * torch.randn(2, 3, 32, 32)).clamp(0, 1)   # a bank of two noisy grey references
    >>> out = wavelet.style_transfer(content, style, style_probs=torch.tensor([0.5, 0.5]), seed=1)
    >>> out.shape, bool(((out >= 0) & (out <= 1)).all())
    (torch.Size([4, 3, 32, 32]), True)
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Literal

import numpy as np
import torch

from .. import _dispatch
from .._checks import check_finite, check_images, check_in, check_int, check_positive, check_seed, format_shape
from .._checks import check_range as check_number
from ..errors import ArgumentError, ArgumentTypeError, DeviceError, DTypeError, ShapeError
from . import reference
from ._autograd import haar_dwt2d, haar_idwt2d, max_levels
from ._pixel import auto_levels, pixel_wct, sample_index
from ._spectral import spectral_wct
from ._wct import wct

__all__ = ["MODES", "auto_levels", "haar_dwt2d", "haar_idwt2d", "max_levels", "reference", "style_transfer", "wct",
           "wct2_transfer"]

MODES: tuple[str, ...] = ("pixel", "spectral", "wct2")
"""Values of ``style_transfer(mode=...)``."""

_LAZY = ("stylizer",)
_U64 = 2**64
_RANGE_TOL = 1e-6


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # pyrepair.wavelet.stylizer (the WCT2 network) loads on first use
        return importlib.import_module(f".{name}", __name__)
    if name == "wct2_transfer":  # re-exported lazily from pyrepair.wavelet.stylizer
        return importlib.import_module(".stylizer", __name__).wct2_transfer
    if name == "wct2":  # the module's former name
        warnings.warn("pyrepair.wavelet.wct2 was renamed pyrepair.wavelet.stylizer; use that name",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(".stylizer", __name__)
    raise AttributeError(f"module 'pyrepair.wavelet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"wct2_transfer"})


def _check_probs(style_probs: Any, m: int, fn: str) -> torch.Tensor:
    if isinstance(style_probs, np.ndarray):
        style_probs = torch.from_numpy(np.array(style_probs, dtype=np.float64))
    elif isinstance(style_probs, (list, tuple)):
        try:
            style_probs = torch.tensor([float(p) for p in style_probs], dtype=torch.float64)
        except (TypeError, ValueError) as exc:
            raise DTypeError(f"{fn}: style_probs must hold real numbers, got {style_probs!r:.80}") from exc
    if not isinstance(style_probs, torch.Tensor) or style_probs.dtype == torch.bool or style_probs.is_complex():
        raise DTypeError(f"{fn}: style_probs must be a 1-D tensor of M={m} probabilities, got "
                         f"{type(style_probs).__name__}")
    p = style_probs.detach().to(torch.float64)
    if p.dim() != 1 or p.shape[0] != m:
        raise ShapeError(f"{fn}: style_probs must have shape [M] with M={m} (the style bank size), got "
                         f"{format_shape(p.shape)}", actual_shape=tuple(p.shape), expected="M")
    check_finite(p, "style_probs", fn)
    if bool((p < 0).any()):
        raise ArgumentError(f"{fn}: style_probs must be non-negative, got min {float(p.min())!r}")
    total = float(p.sum())
    if abs(total - 1.0) > 1e-5:
        raise ArgumentError(f"{fn}: style_probs must sum to 1, got sum {total!r}")
    return p


def _check_images(x: Any, name: str, fn: str, values: bool = True) -> dict[str, int]:
    return check_images(x, fn, name, channels=None, min_size=1, tol=_RANGE_TOL, check_range=values).sizes


def style_transfer(
    content: torch.Tensor,
    style: torch.Tensor,
    *,
    mode: Literal["pixel", "spectral", "wct2"] = "pixel",
    levels: int | None = None,
    alpha: float = 1.0,
    style_probs: Any = None,
    seed: int = 0,
    backend: str = "auto",
    bands: Literal["joint", "band"] = "joint",
    eps_rel: float = 1e-3,
    stochastic: bool = True,
    beta_max: float = 0.95,
    spin: int = 1,
    noise: Literal["style", "gaussian"] = "style",
    pooling: Literal["image", "bank", "hybrid"] = "image",
    check_range: bool = True,
    **kwargs: Any,
) -> torch.Tensor:
    """Re-render each content image in the style of a reference image (DeepRepair's style op, §A.5 / §D).

    ``mode="pixel"`` (default, training-free, §D.6): Haar decomposition of both images; WCT of the coarsest low
    band's colour statistics and of each level's detail bands (joint over orientations and colours); blend with
    ``alpha``; synthesis; clamp to [0, 1]. The style's second-order band statistics (noise level, blur and its
    direction, contrast, brightness, colour cast, haze, blockiness) are carried over; the content's edges stay
    where they are. With ``stochastic=True`` fresh white noise (Philox, keyed by ``seed``) is mixed into the
    whitened signal where the style has more band energy than the content, so noise also lands on flat regions.

    ``mode="spectral"`` (training-free, the best transplant score of the three, see ``bench/bench_wavelet.py``): the
    same whitening-colouring transform at every spatial frequency instead of in a few Haar bands, with the
    statistics pooled over the batch and over the style bank (weighted by ``style_probs``): per frequency, the C x C
    cross-spectrum of the batch is whitened and coloured with the bank's, which makes a shift-invariant filter that
    gives the batch the bank's power spectrum (blur with its direction, noise colour, contrast, haze, pixelation's
    aliasing); where the bank has more power than the batch (noise, snow), that share of the output is the
    spectrum of the image's own reference, so the noise keeps its form. Each image is split into a periodic and a
    smooth part first (Moisan's decomposition), so the filter does not wrap one border into the opposite one; each
    image keeps its own mean offset. Style images must have the content's size; ``levels``, ``bands``, ``spin``,
    ``noise`` and ``pooling`` apply to ``mode="pixel"`` only. As with ``pooling="bank"``, one image's output
    depends on the rest of the batch (use batches of a few dozen images or more); ``seed`` only draws the
    references.

    ``mode="wct2"``: the WCT2 network of :mod:`pyrepair.wavelet.stylizer`; ``content``, ``style``, ``alpha`` and
    every extra keyword argument (e.g. ``model=...``) go to ``stylizer.wct2_transfer``, as do ``style_probs`` and
    ``seed`` when given.

    Args:
        content: float tensor (N, C, H, W) in [0, 1], H, W >= 1, on any device.
        style: float tensor on the same device with the same C: (N, C, H', W') one reference per content image,
            or a bank (M, C, H', W') from which each image draws one reference (uniformly, or by ``style_probs``).
            In pixel mode the style size may differ from the content's (only band statistics are used); in
            spectral mode it must equal it.
        mode: ``"pixel"``, ``"spectral"`` or ``"wct2"``.
        levels: Haar levels (>= 1, at most until the smaller image's low band is 1 x 1); ``None``:
            :func:`auto_levels` of the content size (3 at 32 px, 5 at 256 px).
        alpha: blend in [0, 1]: 0 returns the content, 1 the full transfer.
        style_probs: ``None`` (paired when M == N, else uniform over the bank) or M probabilities (tensor, array
            or sequence; non-negative, summing to 1); the draw is seeded by ``seed``.
        seed: RNG key in [0, 2^64) for reference sampling and noise injection (every mode).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        bands: ``"joint"`` (one 3C x 3C WCT per level) or ``"band"`` (one C x C WCT per orientation).
        eps_rel: relative regulariser (fraction of the mean eigenvalue) added to both covariances, > 0.
        stochastic: inject noise where the style band has more energy than the content band.
        beta_max: largest noise share in [0, 1).
        spin: cycle spinning, 1 <= spin <= 2^levels: average the (deterministic) transfer over ``spin`` diagonal
            circular shifts of the content so the Haar grid leaves no 2^l-pixel block steps (blur then looks like
            blur, not pixelation); the injected noise is added once. Costs about ``spin`` (+1 when stochastic)
            transforms. 1 (default): the plain §D.6 transform. The band statistics are pooled over the shifts and one
            map per band is shared by every shift, so the spun result is a shift-invariant filter of the content
            plus the injected noise.
        noise: what ``stochastic`` injects: ``"style"`` (default) the style band's whitened coefficients (zero mean,
            identity covariance) drawn at Philox-uniform positions, which keeps the style's noise distribution
            (impulse noise stays salt-and-pepper); ``"gaussian"`` i.i.d. N(0, 1) as in §D.6 step 5. Both give the
            same output covariance in expectation.
        pooling: ``"image"`` (default, §D.6): each content image is whitened with its own band statistics and
            coloured with its reference's. ``"bank"``: the content statistics are pooled over the batch and the
            style statistics over the style bank (weighted by ``style_probs``; uniform when not given), so every
            image gets the same map per band: the population-level change from "this batch" to "the failure
            bank" (e.g. blur, contrast, brightness of the bank on average) rather than the colour palette and
            content contrast of one reference image; each image keeps its own mean offset. ``"hybrid"``: the low
            band as ``"bank"``; each detail band whitened with the batch statistics and coloured with its own
            reference's covariance rescaled to the bank's energy, so the reference's orientation and colour
            structure (e.g. the direction of a motion blur) transfers at the bank's level of detail. With
            ``"bank"`` and ``"hybrid"`` the output of one image depends on the rest of the batch.

        check_range: check that ``content`` and ``style`` are finite and in [0, 1] (one fused min/max pass each;
            every mode); ``False`` skips the value pass.
    Returns:
        (N, C, H, W) tensor in [0, 1], the content's dtype and device. Not differentiable.

    Raises:
        ShapeError: wrong ranks, a channel mismatch, an empty style bank, ``style_probs`` of the wrong length, a
            style size other than the content's in spectral mode.
        DTypeError: non-floating or non-tensor inputs.
        DeviceError: content and style on different devices.
        ValueError: NaN/inf or values outside [0, 1], bad probabilities, ``levels``/``alpha``/``seed`` out of
            range, unknown ``mode`` / ``bands`` / keyword arguments in pixel and spectral mode, or a pixel-only
            option with ``mode="spectral"``.
        ImportError: ``mode="wct2"`` when :mod:`pyrepair.wavelet.stylizer` is not available.
    """
    fn = "pyrepair.wavelet.style_transfer"
    check_in("mode", mode, MODES, fn)
    seed = check_seed(seed, fn)
    if not isinstance(check_range, bool):
        raise ArgumentTypeError(f"{fn}: check_range must be a bool, got {type(check_range).__name__} {check_range!r}")
    if mode == "wct2":
        if levels is not None:
            raise ArgumentError(f"{fn}: levels applies to mode='pixel' only, got levels={levels!r} with mode='wct2'")
        try:
            stylizer = importlib.import_module(".stylizer", __name__)
        except ImportError as exc:
            raise ImportError(f"{fn}: mode='wct2' needs pyrepair.wavelet.stylizer, which could not be imported: "
                              f"{exc}") from exc
        extra = dict(kwargs)
        if style_probs is not None:
            extra["style_probs"] = style_probs
        if seed != 0:
            extra["seed"] = seed
        if backend != "auto":
            extra["backend"] = backend
        if not check_range:
            extra["check_range"] = False
        return stylizer.wct2_transfer(content, style, alpha=alpha, **extra)
    if kwargs:
        raise ArgumentTypeError(f"{fn}: unexpected keyword argument(s) for mode={mode!r}: {', '.join(sorted(kwargs))}")
    check_in("bands", bands, ("joint", "band"), fn)
    sc = _check_images(content, "content", fn, check_range)
    if not isinstance(style, torch.Tensor):
        raise DTypeError(f"{fn}: style must be a torch.Tensor, got {type(style).__name__}")
    if style.dim() != 4:
        raise ShapeError(f"{fn}: style must have shape [M, C, H, W] (4 dimensions), got {format_shape(style.shape)}",
                         actual_shape=tuple(style.shape), expected="M,C,H,W")
    if style.shape[0] == 0:
        raise ShapeError(f"{fn}: style must hold at least one reference image (M >= 1), got an empty bank of shape "
                         f"{format_shape(style.shape)}", actual_shape=tuple(style.shape), expected="M,C,H,W")
    ss = _check_images(style, "style", fn, check_range)
    if ss["C"] != sc["C"]:
        raise ShapeError(f"{fn}: style must have C={sc['C']} channels like content, got shape "
                         f"{format_shape(style.shape)}", actual_shape=tuple(style.shape), expected="M,C,H,W")
    if style.device != content.device:
        raise DeviceError(f"{fn}: style is on {style.device} but content is on {content.device}")
    alpha = check_number(alpha, "alpha", fn, 0.0, 1.0)
    eps_rel = check_positive(eps_rel, "eps_rel", fn)  # > 0 and finite
    beta_max = check_number(beta_max, "beta_max", fn, 0.0, 0.999)
    if not isinstance(stochastic, bool):
        raise ArgumentTypeError(f"{fn}: stochastic must be a bool, got {type(stochastic).__name__} {stochastic!r}")
    n, m = sc["B"], ss["B"]
    if mode == "spectral":
        for name, value, default in (("levels", levels, None), ("bands", bands, "joint"), ("spin", spin, 1),
                                     ("noise", noise, "style"), ("pooling", pooling, "image")):
            if value != default:
                raise ArgumentError(f"{fn}: {name} applies to mode='pixel' only, got {name}={value!r} with "
                                 f"mode='spectral' (which always pools the statistics over the batch and the bank)")
        if (ss["H"], ss["W"]) != (sc["H"], sc["W"]):
            raise ShapeError(f"{fn}: mode='spectral' needs style images of the content's size {sc['H']}x{sc['W']} "
                             f"(the spectra are compared frequency by frequency), got style of shape "
                             f"{format_shape(style.shape)}; resize the references first",
                             actual_shape=tuple(style.shape), expected=f"M,{sc['C']},{sc['H']},{sc['W']}")
    else:
        top = min(max_levels(sc["H"], sc["W"]), max_levels(ss["H"], ss["W"]))
        if levels is None:
            levels = min(auto_levels(sc["H"], sc["W"]), max(top, 1))
        levels = check_int(levels, "levels", fn, min_value=1, max_value=max(top, 1))
        spin = check_int(spin, "spin", fn, min_value=1, max_value=1 << levels)
        check_in("noise", noise, ("style", "gaussian"), fn)
        check_in("pooling", pooling, ("image", "bank", "hybrid"), fn)
    probs = _check_probs(style_probs, m, fn) if style_probs is not None else None
    resolved = _dispatch.select(fn, content.device, backend)
    if n == 0 or alpha == 0.0:
        return content.detach().clone()
    if probs is None and m == n:
        index = None
    else:
        if probs is None:
            probs = torch.full((m,), 1.0 / m, dtype=torch.float64)
        index = sample_index(probs, n, seed, content.device, resolved)
    x = content.detach().to(torch.float32).contiguous()
    s = style.detach().to(torch.float32).contiguous()
    if mode == "spectral":
        out = spectral_wct(x, s, index, alpha=alpha, eps_rel=eps_rel, stochastic=stochastic, beta_max=beta_max,
                           backend=resolved, weights=probs)
        return out.to(content.dtype)
    out = pixel_wct(x, s, index, levels=levels, alpha=alpha, joint=bands == "joint", eps_rel=eps_rel,
                    stochastic=stochastic, beta_max=beta_max, seed=seed, backend=resolved, spin=spin, noise=noise,
                    pooling=pooling, weights=probs)
    return out.to(content.dtype)
