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

Style statistics are computed once per distinct style image (a bank of M references costs M, not N, decompositions).
"""

from __future__ import annotations

import math

import torch

from .. import random as _random
from . import _kernels
from ._autograd import level_sizes
from ._wct import Stats, coefficients, stats

__all__ = ["auto_levels", "pixel_wct"]

_EPS_ABS = 1e-12
_RANK_TOL = 0.0  # the relative regulariser keeps every eigenvalue > 0; nothing to drop
_STREAM_SAMPLE = 0x57C7_0001  # RNG streams (pyrepair.random): reference sampling, then one per band
_STREAM_NOISE = 0x57C7_0100
_INJECT_LEVELS = 1  # inject at the finest detail level only (coarser injection makes 2^l-pixel noise blocks)


def auto_levels(h: int, w: int) -> int:
    """Default number of levels: ``min(5, floor(log2(min(H, W))) - 2)``, at least 1 (3 at 32 px, 5 at 256 px)."""
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
) -> torch.Tensor:
    """Checked inputs: content (N, C, H, W) float32 contiguous in [0, 1], style (M, C, H', W') float32; ``index``
    (N,) int64 picks the style of each content image (None: style i for content i, M == N). Returns (N, C, H, W)
    float32 in [0, 1].

    ``spin`` > 1: cycle spinning against the Haar block artefacts (a decimated Haar transform turns every change of
    a level-l coefficient into a 2^l x 2^l block step, so a "blurred" output looks pixelated). The deterministic
    transfer is averaged over the diagonal circular shifts ``(d, d)``, ``d = i * 2^L // spin`` (i < spin), and the
    injected noise of the unshifted run is added once (``stoch_0 - det_0``), so averaging does not cancel it.
    ``spin == 1`` is the plain transform."""
    kw = dict(levels=levels, alpha=alpha, joint=joint, eps_rel=eps_rel, beta_max=beta_max, seed=seed,
              backend=backend)
    if spin <= 1:
        return _pixel_wct_once(content, style, index, stochastic=stochastic, **kw).clamp_(0.0, 1.0)
    period = 1 << levels
    acc = None
    det0 = None
    for i in range(spin):
        d = (i * period) // spin
        xs = content if d == 0 else torch.roll(content, shifts=(d, d), dims=(-2, -1)).contiguous()
        y = _pixel_wct_once(xs, style, index, stochastic=False, **kw)
        if d == 0:
            det0 = y
        else:
            y = torch.roll(y, shifts=(-d, -d), dims=(-2, -1))
        acc = y.clone() if acc is None else acc.add_(y)
    out = acc.div_(spin)
    if stochastic and det0 is not None:
        out.add_(_pixel_wct_once(content, style, index, stochastic=True, **kw)).sub_(det0)
    return out.clamp_(0.0, 1.0)


def _pixel_wct_once(
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
) -> torch.Tensor:
    """One transform on the unshifted grid, not clamped."""
    n, c, h, w = content.shape
    low_c, highs_c = content, []
    for _ in range(levels):
        low_c, hi = _kernels.dwt(low_c, backend)
        highs_c.append(hi)
    low_s, highs_s = style, []
    for _ in range(levels):
        low_s, hi = _kernels.dwt(low_s, backend)
        highs_s.append(hi)
    groups_c = _groups(low_c, highs_c, joint)
    groups_s = _groups(low_s, highs_s, joint)
    new_low = low_c
    new_highs = list(highs_c)
    rng_backend = "reference" if backend == "reference" else "auto"
    for k, ((kind, lvl, xc), (_, _, xs)) in enumerate(zip(groups_c, groups_s, strict=True)):
        cs = stats(xc, power=-0.5, eps=_EPS_ABS, eps_rel=eps_rel, rank_tol=_RANK_TOL, backend=backend)
        ss = _gather(stats(xs, power=0.5, eps=_EPS_ABS, eps_rel=eps_rel, rank_tol=_RANK_TOL, backend=backend), index)
        inject = stochastic and kind != "low" and lvl < _INJECT_LEVELS
        coef, _beta = coefficients(cs, ss, alpha=alpha, stochastic=inject, beta_max=beta_max)
        noise = None
        if coef.noise_mat is not None:
            noise = _random.normal(tuple(xc.shape), seed, stream=_STREAM_NOISE + k, device=xc.device,
                                   backend=rng_backend)
        out = _kernels.wct_apply(xc, coef.mat, coef.center, coef.bias, noise, coef.noise_mat, backend)
        if kind == "low":
            new_low = out.reshape(low_c.shape)
        elif kind == "joint":
            new_highs[lvl] = out.reshape(highs_c[lvl].shape)
        else:
            o = int(kind[-1])
            if new_highs[lvl] is highs_c[lvl]:
                new_highs[lvl] = highs_c[lvl].clone()
            new_highs[lvl][:, :, o] = out.reshape(n, c, *highs_c[lvl].shape[-2:])
    sizes = level_sizes(h, w, levels)
    y = new_low
    for lvl in range(levels - 1, -1, -1):
        y = _kernels.idwt(y, new_highs[lvl], sizes[lvl], backend)
    return y


def sample_index(probs: torch.Tensor, n: int, seed: int, device: torch.device, backend: str) -> torch.Tensor:
    """Draw n reference indices from ``probs`` (M,) with Philox uniforms (same on every device and back-end)."""
    u = _random.uniform(n, seed, stream=_STREAM_SAMPLE, device=device,
                        backend="reference" if backend == "reference" else "auto").to(torch.float64)
    cdf = torch.cumsum(probs.to(device=device, dtype=torch.float64), 0)
    idx = torch.searchsorted(cdf, u * cdf[-1], right=True)
    return idx.clamp_(max=probs.shape[0] - 1)
