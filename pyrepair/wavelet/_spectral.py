"""Training-free spectral WCT (``style_transfer(mode="spectral")``): the whitening-colouring transform per spatial
frequency, with the statistics pooled over the batch and the style bank.

The pixel wavelet WCT (§D.6) matches second-order statistics in a handful of Haar bands (3 orientations per octave).
Taken to the limit of one band per frequency, the same transform is a WCT of the C colour channels at every
frequency f of the 2-D Fourier transform:

1. Each image is centred on its own channel means and split into a periodic and a smooth component
   (Moisan, "Periodic plus smooth image decomposition", JMIV 2011): ``x = p + s``, where ``s`` is the smooth image
   whose Laplacian carries the jumps between opposite borders. The Fourier transform of ``p`` keeps only a 1/W
   remnant of the border cross a plain FFT shows, so filtering it does not mix the left and right (top and bottom)
   edges.
2. Pooled cross-spectral matrices (C x C Hermitian per frequency, ``norm="ortho"``): the mean of ``P_i P_i^H`` over
   the content batch, ``S_c(f)``, and the ``style_probs``-weighted mean over the style bank, ``S_s(f)``.
3. Per frequency ``T(f) = S_s^{1/2} S_c^{-1/2}`` (both regularised with ``eps_rel * tr(S) / C + 1e-12``): the
   linear, shift-invariant filter that gives the batch the bank's power spectrum: blur with its direction, noise
   colour, contrast, haze, the aliasing pattern of pixelation.
4. Stochastic injection (the spectral form of §D.6 step 5): where the style has more power than the content
   (``beta(f) = clip(1 - tr S_c / tr S_s, 0, beta_max)``), the output mixes ``sqrt(1 - beta) T P_i`` with
   ``sqrt(beta)`` times the spectrum of the image's own reference (periodic component). Over the bank that term
   has power ``S_s``, so the output power is ``S_s`` in expectation, and the reference's noise keeps its spatial
   form (salt-and-pepper stays impulsive, snow flakes stay streaks).
5. The smooth component is mapped by the colour WCT of the smooth components' own pooled second moments (a
   contrast change scales it, a blur leaves it alone); the channel means move by the bank's mean minus the batch's
   mean (each image keeps its own offset); the result is blended with ``alpha`` and clamped to [0, 1].

Kernels (``csrc/wavelet``, C++ and CUDA, torch reference in :mod:`.reference`): the pooled cross-spectra
(``spectral_cross``: one pass over the spectra, float64 sums in image order) and the per-frequency filter with the
injected term (``spectral_apply``). The C x C Hermitian powers go through the family's Jacobi eigendecomposition on
their real block forms ``[[A, -B], [B, A]]`` (2C x 2C, same eigenvalues twice, powers map to powers). The FFTs are
torch's (pocketfft / MKL on CPU, cuFFT on CUDA).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch

from . import _kernels
from ._wct import Stats, coefficients, powers

__all__ = ["periodic_smooth", "spectral_wct"]

_EPS_ABS = 1e-12
_CHUNK_ELEMENTS = 1 << 24  # images per chunk: about this many pixel values (spectra of ~130 MB per side)


def _chunks(n: int, per_image: int) -> list[slice]:
    step = max(1, _CHUNK_ELEMENTS // max(per_image, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _twiddle(k: int, n: int, device: torch.device) -> torch.Tensor:
    """``1 - exp(2 pi i j / n)`` for j < k (complex64)."""
    j = torch.arange(k, dtype=torch.float64, device=device)
    return (1.0 - torch.polar(torch.ones_like(j), 2.0 * math.pi * j / n)).to(torch.complex64)


def _smooth_maps(h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The two (H, W//2+1) complex64 maps with ``rfft2(s) = rows_map * rfft(row) + cols_map * fft(col)``: the
    border-jump transforms divided by the eigenvalues of the periodic Laplacian (0 at the origin)."""
    q = torch.arange(h, dtype=torch.float64, device=device).view(-1, 1)
    r = torch.arange(w // 2 + 1, dtype=torch.float64, device=device).view(1, -1)
    den = (2.0 * torch.cos(2.0 * math.pi * q / h) + 2.0 * torch.cos(2.0 * math.pi * r / w) - 4.0) * math.sqrt(h * w)
    den[0, 0] = float("inf")  # the mean of s is 0
    return ((_twiddle(h, h, device).view(-1, 1) / den).to(torch.complex64),
            (_twiddle(w // 2 + 1, w, device).view(1, -1) / den).to(torch.complex64))


def _smooth_hat(row: torch.Tensor, col: torch.Tensor, maps: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """rfft2 (``norm="ortho"``, complex64 (N, C, H, W//2+1)) of the smooth component whose border jumps are
    ``row = x[-1, :] - x[0, :]`` (N, C, W) and ``col = x[:, -1] - x[:, 0]`` (N, C, H): the periodic solution of
    ``laplacian(s) = v`` with ``v[0, :] = row = -v[-1, :]`` and ``v[:, 0] = col = -v[:, -1]``. ``v`` is zero away
    from the borders, so its transform is built from the 1-D transforms of the two jump vectors."""
    s_hat = maps[0] * torch.fft.rfft(row, dim=-1).unsqueeze(-2)
    return s_hat.add_(maps[1] * torch.fft.fft(col, dim=-1).unsqueeze(-1))


def _jumps(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., -1, :] - x[..., 0, :], x[..., :, -1] - x[..., :, 0]


def periodic_smooth(x: torch.Tensor, maps: tuple[torch.Tensor, torch.Tensor] | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectra of Moisan's periodic + smooth decomposition of real images x (N, C, H, W) float32: returns
    ``(rfft2(p), rfft2(s))`` (complex64, ``norm="ortho"``) with ``x = p + s``; ``s`` is smooth (harmonic away from
    the borders) and carries the jumps between opposite borders, ``p`` is periodic, so its Fourier transform has no
    border cross."""
    s_hat = _smooth_hat(*_jumps(x), _smooth_maps(*x.shape[-2:], x.device) if maps is None else maps)
    return torch.fft.rfft2(x, norm="ortho").sub_(s_hat), s_hat


def _pairs(spec: torch.Tensor) -> torch.Tensor:
    """Complex spectra (N, C, h, w') -> the kernels' (N, C, K, 2) float32 (re, im) view (no copy)."""
    n, c = spec.shape[:2]
    return torch.view_as_real(spec).reshape(n, c, -1, 2)


def _block(s: torch.Tensor) -> torch.Tensor:
    """(C, C, K, 2) float64 Hermitian cross-spectra -> their real block forms ``[[A, -B], [B, A]]`` (K, 2C, 2C),
    ``S = A + iB``: the same eigenvalues (each twice), and powers map to powers."""
    a, b = s[..., 0].permute(2, 0, 1), s[..., 1].permute(2, 0, 1)
    return torch.cat([torch.cat([a, -b], 2), torch.cat([b, a], 2)], 1)


def _unblock(m: torch.Tensor) -> torch.Tensor:
    """Real block form (K, 2C, 2C) -> the complex matrix as the kernels' (C, C, K, 2) float32."""
    c = m.shape[-1] // 2
    return torch.stack([m[:, :c, :c], m[:, c:, :c]], -1).permute(1, 2, 0, 3).to(torch.float32).contiguous()


def _energy(cross: torch.Tensor, w: int) -> torch.Tensor:
    """Real C x C second moment ``sum_pixels x x^T`` from rfft cross-spectra (C, C, h * (W//2+1), 2) (Parseval;
    the columns 1 .. ceil(W/2)-1 stand for their mirror images too)."""
    c, _, k, _ = cross.shape
    wf = w // 2 + 1
    mult = torch.full((wf,), 2.0, dtype=torch.float64, device=cross.device)
    mult[0] = 1.0
    if w % 2 == 0:
        mult[-1] = 1.0
    return (cross[..., 0].view(c, c, k // wf, wf) * mult).sum((2, 3)).unsqueeze(0)


#: below this many pixel values (content + style) the FFTs run on one CPU thread: a multi-threaded FFT of a few
#: dozen small images costs a thread wake-up (milliseconds on a busy machine) for microseconds of work
_SERIAL_ELEMENTS = 1 << 22


def _serial_if_small(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """Run ``fn(content, style, ...)`` on one intra-op thread when it is small CPU work (fewer than
    :data:`_SERIAL_ELEMENTS` pixel values in content + style); the thread count is restored afterwards (the setting
    is process-wide while it runs). The result does not depend on the thread count."""

    @functools.wraps(fn)
    def run(content: torch.Tensor, style: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        threads = torch.get_num_threads()
        small = content.device.type == "cpu" and content.numel() + style.numel() < _SERIAL_ELEMENTS
        if not small or threads == 1:
            return fn(content, style, *args, **kwargs)
        torch.set_num_threads(1)
        try:
            return fn(content, style, *args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return run


@_serial_if_small
def spectral_wct(
    content: torch.Tensor,
    style: torch.Tensor,
    index: torch.Tensor | None,
    *,
    alpha: float,
    eps_rel: float,
    stochastic: bool,
    beta_max: float,
    backend: str,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Checked inputs: content (N, C, H, W) float32 in [0, 1], style (M, C, H, W) float32 of the same size;
    ``index`` (N,) int64 picks each content image's reference for the injected term (None: style i for content i,
    M == N); ``weights`` (M,) float64 summing to 1 weight the bank statistics (None: uniform). Returns
    (N, C, H, W) float32 in [0, 1]. Deterministic: no random numbers beyond ``index``. Small CPU problems run on
    one intra-op thread (:func:`_serial_if_small`)."""
    n, c, h, w = content.shape
    m = style.shape[0]
    dev = content.device
    wts = (torch.full((m,), 1.0 / m, dtype=torch.float64, device=dev) if weights is None
           else weights.to(device=dev, dtype=torch.float64))
    mu_c = content.to(torch.float64).mean((2, 3))  # (N, C)
    mu_s = style.to(torch.float64).mean((2, 3))  # (M, C)

    maps = _smooth_maps(h, w, dev)

    def periodic(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Spectra of the periodic and smooth parts of x centred on its channel means: the border jumps, hence
        the smooth part, do not see the mean, and centring only zeroes the periodic part's DC bin."""
        p_hat, s_hat = periodic_smooth(x, maps)
        p_hat[..., 0, 0] = 0
        return p_hat, s_hat

    # statistics pass: pooled cross-spectra of the periodic components (spectra kept when a side is one chunk)
    parts_c, parts_s = _chunks(n, c * h * w), _chunks(m, c * h * w)
    cache_c: tuple[torch.Tensor, torch.Tensor] | None = None
    cache_s: torch.Tensor | None = None
    s_c = torch.zeros(c, c, h * (w // 2 + 1), 2, dtype=torch.float64, device=dev)
    s_s, e_c, e_s = torch.zeros_like(s_c), torch.zeros_like(s_c), torch.zeros_like(s_c)
    for sl in parts_c:
        spec = periodic(content[sl])
        s_c += _kernels.spectral_cross(_pairs(spec[0]), None, backend)
        e_c += _kernels.spectral_cross(_pairs(spec[1]), None, backend)
        if len(parts_c) == 1:
            cache_c = spec
    s_c /= n
    for sl in parts_s:
        p_hat, s_hat = periodic(style[sl])
        s_s += _kernels.spectral_cross(_pairs(p_hat), wts[sl], backend)
        e_s += _kernels.spectral_cross(_pairs(s_hat), wts[sl], backend)
        if len(parts_s) == 1:
            cache_s = p_hat

    k = s_c.shape[2]
    zero = torch.zeros(k, 2 * c, dtype=torch.float64, device=dev)

    def power(s: torch.Tensor, p: float) -> Stats:
        return powers(zero[: s.shape[0], : s.shape[1]], s, (p,), eps=_EPS_ABS, eps_rel=eps_rel, rank_tol=0.0,
                      backend=backend)[0]

    blk_c, blk_s = _block(s_c), _block(s_s)
    coef, beta = coefficients(power(blk_c, -0.5), power(blk_s, 0.5), alpha=alpha, stochastic=stochastic,
                              beta_max=beta_max)
    mat = _unblock(coef.mat)
    noise_scale = None
    if coef.noise_mat is not None:  # the reference's own spectrum is already coloured: weight sqrt(beta)
        noise_scale = (alpha * beta.sqrt()).to(torch.float32)

    # the smooth component: WCT of the pooled colour second moments of the smooth components themselves
    g0 = (power(_energy(e_s, w), 0.5).mat @ power(_energy(e_c, w) / n, -0.5).mat)[0]
    g0 = (alpha * g0 + (1.0 - alpha) * torch.eye(c, dtype=torch.float64, device=dev)).to(torch.float32)
    shift = alpha * ((wts.unsqueeze(1) * mu_s).sum(0) - mu_c.mean(0))  # (C,): the bank's mean minus the batch's

    out = torch.empty_like(content)
    for sl in parts_c:
        p_hat, _ = cache_c if cache_c is not None else periodic(content[sl])
        ref = None
        if noise_scale is not None:
            if index is None and cache_s is not None:
                ref = cache_s
            else:
                idx = sl if index is None else index[sl]
                ref = periodic(style[idx])[0]
        y = _kernels.spectral_apply(_pairs(p_hat), mat, None if ref is None else _pairs(ref), noise_scale, backend)
        y = torch.view_as_complex(y.view(*p_hat.shape, 2))
        row, col = _jumps(content[sl])
        y += _smooth_hat(torch.einsum("ab,nbw->naw", g0, row), torch.einsum("ab,nbh->nah", g0, col), maps)
        img = torch.fft.irfft2(y, s=(h, w), norm="ortho") + (mu_c[sl] + shift).to(torch.float32)[:, :, None, None]
        out[sl] = img.clamp_(0.0, 1.0)
    return out
