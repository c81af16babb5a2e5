"""Whitening-colouring transform (WCT) numerics shared by :func:`wct` and the pixel-domain style transfer.

``spec/deeprepair.md`` §D.3 (PhotoWCT / WCT2 core) and §D.5: with channel means mu and covariances Sigma (divisor
n - 1) of content and style, regularised by eps * I, the ZCA whitening ``W = (Sigma_c + eps_c I)^(-1/2)`` and the
colouring ``K = (Sigma_s + eps_s I)^(1/2)`` (eigenvalues below ``rank_tol`` dropped), the transfer is
``F_t = K W (F_c - mu_c) + mu_s``. Its covariance is
``K [I - eps_c (Sigma_c + eps_c I)^(-1)] K`` (= Sigma_s when eps = 0 and Sigma_c has full rank).

Stochastic injection (§D.6 step 5): ``z <- sqrt(1 - beta) z + sqrt(beta) xi`` between whitening and colouring, with
``beta = clip(1 - tr Sigma_c / tr Sigma_s, 0, beta_max)``, so a style with more energy than the content (noise)
still transfers it where the content is flat. Every step is folded into one affine map per group:
``out = M (x - mu_c) + b + N xi`` with ``M = alpha sqrt(1 - beta) K W + (1 - alpha) I``,
``b = alpha mu_s + (1 - alpha) mu_c``, ``N = alpha sqrt(beta) K``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .. import _dispatch
from .._checks import check_finite, check_positive, check_range, format_shape
from ..errors import DTypeError, ShapeError
from . import _kernels

__all__ = ["Coefficients", "Stats", "coefficients", "powers", "stats", "wct"]


class Stats(NamedTuple):
    """Per-group statistics (float64): mean (G, C), the regularised matrix power (G, C, C) and trace (G,)."""

    mean: torch.Tensor
    mat: torch.Tensor
    trace: torch.Tensor


class Coefficients(NamedTuple):
    """The affine map of one band: ``out = mat @ (x - center) + bias (+ noise_mat @ xi)``."""

    mat: torch.Tensor
    center: torch.Tensor
    bias: torch.Tensor
    noise_mat: torch.Tensor | None


def stats(x: torch.Tensor, *, power: float, eps: float, eps_rel: float, rank_tol: float, backend: str) -> Stats:
    """Moments of x (G, C, N) and ``(Sigma + eps' I)^power`` with ``eps' = eps + eps_rel * tr(Sigma) / C``;
    eigenvalues ``< rank_tol`` (after regularisation) are dropped (their factor is 0)."""
    mean, cov = _kernels.moments(x, backend)
    (out,) = powers(mean, cov, (power,), eps=eps, eps_rel=eps_rel, rank_tol=rank_tol, backend=backend)
    return out


def powers(mean: torch.Tensor, cov: torch.Tensor, exponents: tuple[float, ...], *, eps: float, eps_rel: float,
           rank_tol: float, backend: str) -> list[Stats]:
    """``(Sigma + eps' I)^p`` of given moments (mean (G, C), covariance (G, C, C)) for each exponent p, from one
    eigendecomposition, with ``eps' = eps + eps_rel * tr(Sigma) / C``; eigenvalues ``< rank_tol`` (after
    regularisation) are dropped (their factor is 0)."""
    c = cov.shape[-1]
    trace = cov.diagonal(dim1=-2, dim2=-1).sum(-1)
    reg = eps + eps_rel * trace / max(c, 1)
    evals, evecs = _kernels.eigh(cov, backend)
    e = evals + reg.unsqueeze(-1)
    # Numerically zero eigenvalues (<= C * 2^-52 * the largest, or <= 0) are always dropped, whatever rank_tol:
    # with eps = 0 a rank-deficient covariance then gets its pseudo-inverse power instead of 0^-1/2 = inf -> NaN.
    floor = e.amax(dim=-1, keepdim=True).clamp_min(0.0) * (max(c, 1) * 2.0**-52)
    keep = (e >= rank_tol) & (e > floor)
    out = []
    for p in exponents:
        f = torch.where(keep, e.clamp_min(1e-300).pow(p), torch.zeros_like(e))
        out.append(Stats(mean, (evecs * f.unsqueeze(-2)) @ evecs.transpose(-1, -2), trace))
    return out


def coefficients(content: Stats, style: Stats, *, alpha: float, stochastic: bool = False,
                 beta_max: float = 0.95) -> tuple[Coefficients, torch.Tensor]:
    """Fold whitening (``content.mat``), colouring (``style.mat``), blend and noise injection into one affine map
    per group; returns it and beta (G,)."""
    t = style.mat @ content.mat
    g, c = content.mean.shape
    if stochastic:
        ratio = torch.where(style.trace > 0, content.trace / style.trace.clamp_min(1e-300),
                            torch.ones_like(style.trace))
        beta = (1.0 - ratio).clamp(0.0, beta_max)
    else:
        beta = content.trace.new_zeros(g)
    eye = torch.eye(c, dtype=t.dtype, device=t.device)
    keep = (alpha * (1.0 - beta).sqrt()).view(g, 1, 1)
    mat = keep * t + (1.0 - alpha) * eye
    bias = alpha * style.mean + (1.0 - alpha) * content.mean
    noise_mat = None
    if stochastic and bool((beta > 0).any()):
        noise_mat = (alpha * beta.sqrt()).view(g, 1, 1) * style.mat
    return Coefficients(mat, content.mean, bias, noise_mat), beta


def wct(
    content_feats: torch.Tensor,
    style_feats: torch.Tensor,
    *,
    eps: float = 1.0,
    eps_rel: float = 0.0,
    alpha: float = 1.0,
    rank_tol: float = 1e-5,
    clamp: bool = False,
    backend: str = "auto",
) -> torch.Tensor:
    """Batched whitening-colouring transform of features (``spec/deeprepair.md`` §D.3), identity-regularised.

    For each batch item, with channel statistics over all positions: ``F_t = K W (F_c - mu_c) + mu_s`` where
    ``W = (Sigma_c + e_c I)^(-1/2)``, ``K = (Sigma_s + e_s I)^(1/2)`` (ZCA, eigenvalues < ``rank_tol`` dropped),
    ``e = eps + eps_rel * tr(Sigma) / C``, covariances with divisor n - 1. Then optionally clamp to the content's
    range ``[min F_c, max F_c]`` (per item) and blend ``alpha * F_t + (1 - alpha) * F_c``. The default ``eps=1``
    is the WCT2 setting (§D.3: the regulariser is the identity, in feature units); ``eps=0`` with full-rank content
    gives ``Cov(F_t) = Sigma_s`` exactly. Not differentiable (inputs are detached).

    Args:
        content_feats: float tensor (B, C, ...) (any number of spatial dims, flattened to n_c positions).
        style_feats: float tensor (B, C, ...) on the same device, any spatial size (n_s positions).
        eps: absolute regulariser >= 0.
        eps_rel: relative regulariser >= 0 (fraction of the mean eigenvalue).
        alpha: blend in [0, 1]; 0 returns the content unchanged.
        rank_tol: eigenvalues of the regularised covariances below this are dropped (>= 0). Numerically zero
            eigenvalues (``<= C * 2^-52 *`` the largest, or ``<= 0``) are always dropped, so ``eps=0`` (and even
            ``rank_tol=0``) on a rank-deficient covariance whitens on its range (a pseudo-inverse) instead of
            returning NaN.
        clamp: clamp the transferred features to the content's range before blending (WCT2 does).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Returns:
        Tensor of the content's shape and dtype.

    Raises:
        ShapeError: fewer than 2 dims, batch or channel mismatch.
        DTypeError: non-floating inputs.
        ValueError: NaN/inf, or a parameter out of range.

    Example:
        >>> import torch
        >>> from pyrepair.wavelet import wct
        >>> c, s = torch.randn(2, 4, 64), 3 + 2 * torch.randn(2, 4, 100)
        >>> out = wct(c, s, eps=0.0)
        >>> torch.allclose(out.mean(-1), s.mean(-1), atol=1e-4)
        True
    """
    fn = "pyrepair.wavelet.wct"
    for name, t in (("content_feats", content_feats), ("style_feats", style_feats)):
        if not isinstance(t, torch.Tensor):
            raise DTypeError(f"{fn}: {name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.dtype.is_floating_point:
            raise DTypeError(f"{fn}: {name} must be a floating-point tensor, got {t.dtype}")
        if t.dim() < 2:
            raise ShapeError(f"{fn}: {name} must have shape [B, C, ...], got {format_shape(t.shape)}",
                             actual_shape=tuple(t.shape), expected="B,C,...")
        check_finite(t, name, fn)
    if content_feats.shape[:2] != style_feats.shape[:2]:
        raise ShapeError(
            f"{fn}: style_feats must have the batch and channel sizes of content_feats "
            f"{format_shape(content_feats.shape[:2])}, got {format_shape(style_feats.shape)}",
            actual_shape=tuple(style_feats.shape), expected="B,C,...",
        )  # fmt: skip
    if content_feats.device != style_feats.device:
        raise ShapeError(f"{fn}: style_feats is on {style_feats.device} but content_feats on {content_feats.device}")
    eps = check_positive(eps, "eps", fn, allow_zero=True)
    eps_rel = check_positive(eps_rel, "eps_rel", fn, allow_zero=True)
    rank_tol = check_positive(rank_tol, "rank_tol", fn, allow_zero=True)
    alpha = check_range(alpha, "alpha", fn, 0.0, 1.0)
    resolved = _dispatch.select(fn, content_feats.device, backend)
    if alpha == 0.0 or content_feats.numel() == 0:
        return content_feats.detach().clone()
    b, c = content_feats.shape[:2]
    x = content_feats.detach().reshape(b, c, -1).to(torch.float32).contiguous()
    s = style_feats.detach().reshape(b, c, -1).to(torch.float32).contiguous()
    cs = stats(x, power=-0.5, eps=eps, eps_rel=eps_rel, rank_tol=rank_tol, backend=resolved)
    ss = stats(s, power=0.5, eps=eps, eps_rel=eps_rel, rank_tol=rank_tol, backend=resolved)
    blend_after = clamp and alpha != 1.0
    coef, _ = coefficients(cs, ss, alpha=1.0 if blend_after else alpha)
    out = _kernels.wct_apply(x, coef.mat, coef.center, coef.bias, None, None, resolved)
    if clamp:
        lo = x.amin(dim=(1, 2), keepdim=True) if x.shape[-1] else x.new_zeros(b, 1, 1)
        hi = x.amax(dim=(1, 2), keepdim=True) if x.shape[-1] else x.new_zeros(b, 1, 1)
        out = torch.minimum(torch.maximum(out, lo), hi)
        if blend_after:
            out = alpha * out + (1.0 - alpha) * x
    return out.reshape(content_feats.shape).to(content_feats.dtype)
