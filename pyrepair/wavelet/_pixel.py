"""Training-free pixel-domain wavelet WCT (``spec/deeprepair.md`` §D.6): the WCT2 decomposition applied to the image
itself instead of VGG features.

1. L-level orthonormal Haar decomposition of content and style images.
2. The coarsest LL band: WCT of the C colour channels over positions (mean and colour covariance: brightness,
   contrast, colour cast, haze).
3. Each level's detail bands: one joint WCT over the stacked (LH, HL, HH) x C channels (``bands="joint"``, keeps
   orientation and cross-orientation correlations: blur, motion blur, blockiness, noise level), or one WCT per
   orientation (``bands="band"``).
4. Regulariser ``eps = eps_rel * tr(Sigma) / C + 1e-12`` on both sides; optional stochastic injection of white noise
   between whitening and colouring (see :mod:`._wct`).
5. Blend ``alpha * out + (1 - alpha) * in`` per band (folded into the affine map), synthesis, clamp to [0, 1].

Extensions, each chosen by the §D.7 transplant score (``bench/bench_wavelet.py``): the injected noise is by default
the style band's own whitened coefficients resampled at random positions (``noise="style"``: same covariance in
expectation as Gaussian noise, but impulse noise stays impulsive); cycle spinning shares one map per band across the
shifted grids (a shift-invariant filter, no block edges); ``pooling="bank"`` / ``"hybrid"`` pool the statistics
over the batch and the style bank.

Style statistics are computed once per distinct style image (a bank of M references costs M, not N, decompositions).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .. import random as _random
from .._checks import check_int
from . import _kernels
from ._autograd import level_sizes
from ._wct import Coefficients, Stats, coefficients, powers

__all__ = ["auto_levels", "pixel_wct"]

_EPS_ABS = 1e-12
_STREAM_SAMPLE = 0x57C7_0001  # RNG streams (pyrepair.random): reference sampling, then one per band
_STREAM_NOISE = 0x57C7_0100
_INJECT_LEVELS = 1  # inject at the finest detail level only (coarser injection makes 2^l-pixel noise blocks)


def auto_levels(h: int, w: int) -> int:
    """Default number of levels: ``min(5, floor(log2(min(H, W))) - 2)``, at least 1 (3 at 32 px, 5 at 256 px).

    Raises:
        ArgumentTypeError, ArgumentError: ``h`` or ``w`` is not an int >= 1.
    """
    fn = "pyrepair.wavelet.auto_levels"
    h, w = check_int(h, "h", fn, min_value=1), check_int(w, "w", fn, min_value=1)
    return max(1, min(5, int(math.floor(math.log2(max(min(h, w), 1)))) - 2))


def _groups(low: torch.Tensor, highs: list[torch.Tensor], joint: bool) -> list[tuple[str, int, torch.Tensor]]:
    """The (G, C', N) views the WCT runs on: (kind, level, tensor). Joint detail groups are free views of the
    (B, C, 3, h, w) layout; per-orientation groups are copies."""
    b, c = low.shape[:2]
    out = [("low", len(highs), low.reshape(b, c, -1))]
    for lvl, hi in enumerate(highs):
        if joint:
            out.append(("joint", lvl, hi.reshape(b, 3 * c, -1)))
        else:
            for o in range(3):
                out.append((f"band{o}", lvl, hi[:, :, o].reshape(b, c, -1).contiguous()))
    return out


def _gather(s: Stats, idx: torch.Tensor | None) -> Stats:
    if idx is None:
        return s
    return Stats(s.mean[idx], s.mat[idx], s.trace[idx])


def _expand(s: Stats, n: int) -> Stats:
    """A pooled (1, ...) statistic repeated for n images (views)."""
    return Stats(s.mean.expand(n, -1), s.mat.expand(n, -1, -1), s.trace.expand(n))


def _powers(mean: torch.Tensor, cov: torch.Tensor, exponents: tuple[float, ...], eps_rel: float,
            backend: str) -> list[Stats]:
    """:func:`._wct.powers` with the pixel transfer's regulariser (``1e-12 + eps_rel * tr(Sigma) / C``, which keeps
    every eigenvalue > 0: nothing is dropped)."""
    return powers(mean, cov, exponents, eps=_EPS_ABS, eps_rel=eps_rel, rank_tol=0.0, backend=backend)


def _pool(mean: torch.Tensor, cov: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled statistics of G images with the given weights (G,) summing to 1: the weighted mean (1, C) and the
    weighted mean of the per-image covariances (1, C, C). The within-image covariance, not the total one: the
    pooled map is applied around each image's own mean, so the spread of the image means must not enter it."""
    w = weights.to(device=mean.device, dtype=torch.float64)
    return (w.unsqueeze(1) * mean).sum(0, keepdim=True), (w.view(-1, 1, 1) * cov).sum(0, keepdim=True)


class _Band(NamedTuple):
    """The affine map of one group and, when noise is injected, its noise tensor xi (N, C', n) float32."""

    coef: Coefficients
    xi: torch.Tensor | None


def _decompose(x: torch.Tensor, levels: int, backend: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
    low, highs = x, []
    for _ in range(levels):
        low, hi = _kernels.dwt(low, backend)
        highs.append(hi)
    return low, highs


def _style_noise(xs: torch.Tensor, whiten: Stats, index: torch.Tensor | None, n_pos: int, seed: int, stream: int,
                 backend: str, rng_backend: str) -> torch.Tensor:
    """``noise="style"``: the style band whitened, ``z = W_s (x_s - mu_s)`` (zero mean, identity covariance over
    the positions of the image, or of the bank when pooled), resampled at Philox-uniform positions for each
    content image: the style's own noise distribution (heavy tails of impulse noise, colour correlation) instead
    of a Gaussian with the same covariance."""
    m, c, n_s = xs.shape
    z = _kernels.wct_apply(xs, whiten.mat, whiten.mean, torch.zeros_like(whiten.mean), None, None, backend)
    if index is not None:
        z = z[index]
    n = z.shape[0]
    u = _random.uniform(n * n_pos, seed, stream=stream, device=xs.device, backend=rng_backend)
    pos = (u.to(torch.float64) * n_s).to(torch.int64).clamp_(max=n_s - 1).view(n, 1, n_pos)
    return torch.gather(z, 2, pos.expand(n, c, n_pos))


def _combine(ms: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (G, C) and covariance (G, C, C) pooled over the shifted copies' moments (one copy: its own)."""
    if len(ms) == 1:
        return ms[0]
    mean = torch.stack([m for m, _ in ms]).mean(0)
    cov = torch.stack([c + (m - mean).unsqueeze(2) * (m - mean).unsqueeze(1) for m, c in ms]).mean(0)
    return mean, cov


def _plan(
    dec_c: tuple[torch.Tensor, list[torch.Tensor]],
    dec_s: tuple[torch.Tensor, list[torch.Tensor]],
    moments_c: list[tuple[torch.Tensor, torch.Tensor]],
    moments_s: list[tuple[torch.Tensor, torch.Tensor]],
    index: torch.Tensor | None,
    weights: torch.Tensor | None,
    *,
    alpha: float,
    joint: bool,
    eps_rel: float,
    stochastic: bool,
    beta_max: float,
    seed: int,
    backend: str,
    noise: str,
    pooling: str,
) -> list[_Band]:
    """Every group's affine map (and noise) from the per-group band moments of content and style (pooled over the
    shifts when spinning) and the unshifted decompositions (for the noise)."""
    n = dec_c[0].shape[0]
    rng_backend = "reference" if backend == "reference" else "auto"
    bands = []
    for k, ((kind, lvl, xc), (_, _, xs)) in enumerate(zip(_groups(*dec_c, joint), _groups(*dec_s, joint),
                                                           strict=True)):
        inject = stochastic and kind != "low" and lvl < _INJECT_LEVELS
        mean_c, cov_c = moments_c[k]
        mean_s, cov_s = moments_s[k]
        style_powers = (0.5, -0.5) if inject and noise == "style" else (0.5,)
        m = xs.shape[0]
        if pooling == "image":
            (cs,) = _powers(mean_c, cov_c, (-0.5,), eps_rel, backend)
            per_image = _powers(mean_s, cov_s, style_powers, eps_rel, backend)
            ss = _gather(per_image[0], index)
            whiten = per_image[1] if len(per_image) > 1 else None
        else:  # whiten with the batch's pooled statistics, centred on each image's own mean
            (cs,) = _powers(*_pool(mean_c, cov_c, torch.full((n,), 1.0 / n, dtype=torch.float64)), (-0.5,), eps_rel,
                            backend)
            cs = Stats(mean_c, cs.mat.expand(n, -1, -1), cs.trace.expand(n))
            mu_s, tot_s = _pool(mean_s, cov_s, weights)
            if pooling == "bank" or kind == "low":  # colour with the bank's pooled statistics
                pooled = _powers(mu_s, tot_s, style_powers, eps_rel, backend)
                ss = _expand(pooled[0], n)
                whiten = _expand(pooled[1], m) if len(pooled) > 1 else None
            else:  # hybrid detail band: each reference's covariance rescaled to the bank's energy
                gain = tot_s.diagonal(dim1=-2, dim2=-1).sum(-1) / cov_s.diagonal(dim1=-2, dim2=-1).sum(-1).clamp_min(
                    1e-30)
                (ss,) = _powers(mean_s, cov_s * gain.view(-1, 1, 1), (0.5,), eps_rel, backend)
                ss = _gather(ss, index)
                whiten = _powers(mean_s, cov_s, (-0.5,), eps_rel, backend)[0] if len(style_powers) > 1 else None
        coef, _beta = coefficients(cs, ss, alpha=alpha, stochastic=inject, beta_max=beta_max)
        if pooling != "image":  # keep each image's offset from the batch mean: b += alpha (mu_c,i - mean_i mu_c,i)
            coef = coef._replace(bias=coef.bias + alpha * (mean_c - mean_c.mean(0, keepdim=True)))
        xi = None
        if coef.noise_mat is not None:
            stream = _STREAM_NOISE + k
            if noise == "style":
                xi = _style_noise(xs, whiten, index, xc.shape[-1], seed, stream, backend, rng_backend)
            else:
                xi = _random.normal(tuple(xc.shape), seed, stream=stream, device=xc.device, backend=rng_backend)
        bands.append(_Band(coef, xi))
    return bands


def _synthesize(dec: tuple[torch.Tensor, list[torch.Tensor]], bands: list[_Band], size: tuple[int, int], *,
                joint: bool, backend: str, with_noise: bool) -> torch.Tensor:
    """Apply the per-group maps to a decomposition and invert it (not clamped)."""
    low_c, highs_c = dec
    n, c = low_c.shape[:2]
    levels = len(highs_c)
    new_low, new_highs = low_c, list(highs_c)
    for (kind, lvl, xc), band in zip(_groups(low_c, highs_c, joint), bands, strict=True):
        coef = band.coef
        use = with_noise and band.xi is not None
        out = _kernels.wct_apply(xc, coef.mat, coef.center, coef.bias, band.xi if use else None,
                                 coef.noise_mat if use else None, backend)
        if kind == "low":
            new_low = out.reshape(low_c.shape)
        elif kind == "joint":
            new_highs[lvl] = out.reshape(highs_c[lvl].shape)
        else:
            o = int(kind[-1])
            if new_highs[lvl] is highs_c[lvl]:
                new_highs[lvl] = highs_c[lvl].clone()
            new_highs[lvl][:, :, o] = out.reshape(n, c, *highs_c[lvl].shape[-2:])
    sizes = level_sizes(*size, levels)
    y = new_low
    for lvl in range(levels - 1, -1, -1):
        y = _kernels.idwt(y, new_highs[lvl], sizes[lvl], backend)
    return y


def pixel_wct(
    content: torch.Tensor,
    style: torch.Tensor,
    index: torch.Tensor | None,
    *,
    levels: int,
    alpha: float,
    joint: bool,
    eps_rel: float,
    stochastic: bool,
    beta_max: float,
    seed: int,
    backend: str,
    spin: int = 1,
    noise: str = "style",
    pooling: str = "image",
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Checked inputs: content (N, C, H, W) float32 contiguous in [0, 1], style (M, C, H', W') float32; ``index``
    (N,) int64 picks the style of each content image (None: style i for content i, M == N); ``weights`` (M,)
    float64 summing to 1 weight the bank when ``pooling`` is ``"bank"`` or ``"hybrid"`` (None: uniform). Returns
    (N, C, H, W) float32 in [0, 1].

    ``spin`` > 1: cycle spinning against the Haar block artefacts (a decimated Haar transform turns every change of
    a level-l coefficient into a 2^l x 2^l block step, so a "blurred" output looks pixelated). Content and style
    are decomposed at the diagonal circular shifts ``(d, d)``, ``d = i * 2^L // spin`` (i < spin); the band
    moments are pooled over the shifts (the statistics of the shift-invariant transform, so the whitening fits
    every shifted grid, not only the unshifted one) and one map per band is computed. The same deterministic maps
    are applied to every shifted content decomposition and the results averaged: a fixed linear operation
    per band averaged over shifts is a shift-invariant filter, so a blur-like map gives a smooth blur and nothing
    averages away. The injected noise of the unshifted run is added once (``stoch_0 - det_0``). ``spin == 1`` is
    the plain transform."""
    n, _, h, w = content.shape
    if pooling in ("bank", "hybrid") and weights is None:
        weights = torch.full((style.shape[0],), 1.0 / style.shape[0], dtype=torch.float64)
    period = 1 << levels
    shifts = [(i * period) // max(spin, 1) for i in range(max(spin, 1))]

    def decompose(x: torch.Tensor, d: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _decompose(x if d == 0 else torch.roll(x, shifts=(d, d), dims=(-2, -1)).contiguous(), levels, backend)

    # moments pass over the shifted copies (only the unshifted decompositions are kept)
    per_shift_c: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
    per_shift_s: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
    for d in shifts:
        dc, ds = decompose(content, d), decompose(style, d)
        if d == 0:
            dec_c, dec_s = dc, ds
        per_shift_c.append([_kernels.moments(x, backend) for _, _, x in _groups(*dc, joint)])
        per_shift_s.append([_kernels.moments(x, backend) for _, _, x in _groups(*ds, joint)])
    moments_c = [_combine([ms[g] for ms in per_shift_c]) for g in range(len(per_shift_c[0]))]
    moments_s = [_combine([ms[g] for ms in per_shift_s]) for g in range(len(per_shift_s[0]))]
    bands = _plan(dec_c, dec_s, moments_c, moments_s, index, weights, alpha=alpha, joint=joint, eps_rel=eps_rel,
                  stochastic=stochastic, beta_max=beta_max, seed=seed, backend=backend, noise=noise, pooling=pooling)
    kw = dict(joint=joint, backend=backend)
    if spin <= 1:
        return _synthesize(dec_c, bands, (h, w), with_noise=True, **kw).clamp_(0.0, 1.0)
    det0 = _synthesize(dec_c, bands, (h, w), with_noise=False, **kw)
    acc = det0.clone()
    for d in shifts[1:]:  # apply pass: the same maps on every shifted copy (decomposed again: memory stays flat)
        y = _synthesize(decompose(content, d), bands, (h, w), with_noise=False, **kw)
        acc.add_(torch.roll(y, shifts=(-d, -d), dims=(-2, -1)))
    out = acc.div_(spin)
    if any(b.xi is not None for b in bands):
        out.add_(_synthesize(dec_c, bands, (h, w), with_noise=True, **kw)).sub_(det0)
    return out.clamp_(0.0, 1.0)


def sample_index(probs: torch.Tensor, n: int, seed: int, device: torch.device, backend: str) -> torch.Tensor:
    """Draw n reference indices from ``probs`` (M,) with Philox uniforms (same on every device and back-end)."""
    u = _random.uniform(n, seed, stream=_STREAM_SAMPLE, device=device,
                        backend="reference" if backend == "reference" else "auto").to(torch.float64)
    cdf = torch.cumsum(probs.to(device=device, dtype=torch.float64), 0)
    idx = torch.searchsorted(cdf, u * cdf[-1], right=True)
    return idx.clamp_(max=probs.shape[0] - 1)
