"""Torch reference of the wavelet kernels (the oracle of the tests and the fall-back without the compiled core).

Short and device-agnostic, written from ``spec/deeprepair.md`` §D.1 (orthonormal Haar) and §D.3/§D.6 (WCT
statistics): slicing instead of the fixed 2x2 convolutions, ``torch.linalg.eigh`` instead of Jacobi. Works in the
input's floating dtype (float64 for gradchecks); moments and eigendecompositions are float64.

Example:
    >>> import torch
    >>> from pyrepair.wavelet import reference
    >>> x = torch.rand(1, 3, 5, 6)
    >>> low, high = reference.haar_analysis(x)
    >>> low.shape, high.shape
    (torch.Size([1, 3, 3, 3]), torch.Size([1, 3, 3, 3, 3]))
    >>> torch.allclose(reference.haar_synthesis(low, high, (5, 6)), x, atol=1e-6)
    True
"""

from __future__ import annotations

import torch

__all__ = ["eigh", "haar_analysis", "haar_synthesis", "moments", "spectral_apply", "spectral_cross", "wct_apply"]


def haar_analysis(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One level of 2-D orthonormal Haar analysis (§D.1).

    Shape:
        x (B, C, H, W) -> low (B, C, h, w), high (B, C, 3, h, w) with h = ceil(H/2), w = ceil(W/2); ``high`` holds
        (LH, HL, HH). An odd H or W is padded by repeating the last row / column.
    """
    if x.shape[-2] % 2:
        x = torch.cat([x, x[..., -1:, :]], dim=-2)
    if x.shape[-1] % 2:
        x = torch.cat([x, x[..., :, -1:]], dim=-1)
    a, b = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
    c, d = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    low = 0.5 * ((a + b) + (c + d))
    lh = 0.5 * ((b - a) + (d - c))
    hl = 0.5 * ((c - a) + (d - b))
    hh = 0.5 * ((a - b) + (d - c))
    return low, torch.stack([lh, hl, hh], dim=2)


def haar_synthesis(low: torch.Tensor, high: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`haar_analysis`: (B, C, h, w) + (B, C, 3, h, w) -> (B, C, H, W), ``size = (H, W)`` with
    H in {2h - 1, 2h} (the padded row / column is dropped)."""
    lh, hl, hh = high.unbind(dim=2)
    a = 0.5 * ((low - lh) + (hh - hl))
    b = 0.5 * ((low + lh) - (hl + hh))
    c = 0.5 * ((low - lh) + (hl - hh))
    d = 0.5 * ((low + lh) + (hl + hh))
    top = torch.stack([a, b], dim=-1)  # (B, C, h, w, 2)
    bottom = torch.stack([c, d], dim=-1)
    full = torch.stack([top, bottom], dim=-3)  # (B, C, h, 2, w, 2)
    n, ch, h, _, w, _ = full.shape
    full = full.reshape(n, ch, 2 * h, 2 * w)
    return full[..., : size[0], : size[1]]


def moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-group channel mean (G, C) and covariance (G, C, C), float64, divisor N - 1 (1 when N <= 1), of
    x (G, C, N)."""
    x = x.to(torch.float64)
    n = x.shape[-1]
    mean = x.mean(dim=-1) if n > 0 else x.new_zeros(x.shape[:2])
    xc = x - mean.unsqueeze(-1)
    cov = xc @ xc.transpose(1, 2) / max(n - 1, 1)
    return mean, cov


def eigh(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending, (G, C)) and eigenvector columns (G, C, C) of symmetric float64 (G, C, C)."""
    if a.shape[0] == 0:
        return a.new_zeros(a.shape[:2]), a.new_zeros(a.shape)
    return torch.linalg.eigh(0.5 * (a + a.transpose(1, 2)))


def wct_apply(
    x: torch.Tensor,
    mat: torch.Tensor,
    center: torch.Tensor,
    bias: torch.Tensor,
    noise: torch.Tensor | None = None,
    noise_mat: torch.Tensor | None = None,
) -> torch.Tensor:
    """``out = mat @ (x - center) + bias (+ noise_mat @ noise)`` per group.

    Shape:
        x, noise, out (G, C, N); mat, noise_mat (G, C, C); center, bias (G, C).
    """
    out = torch.baddbmm(bias.unsqueeze(-1), mat, x - center.unsqueeze(-1))
    if noise is not None and noise_mat is not None:
        out = out + torch.bmm(noise_mat, noise)
    return out


def spectral_cross(x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted cross-spectra ``out[a, b, q] = sum_i w_i x[i, a, q] conj(x[i, b, q])`` (w_i = 1 when ``weights``
    is None).

    Shape:
        x (N, C, K, 2) real (re, im) -> out (C, C, K, 2) float64; weights (N,).
    """
    z = torch.view_as_complex(x.to(torch.float64).contiguous())  # (N, C, K)
    zw = z if weights is None else z * weights.to(torch.float64).view(-1, 1, 1)
    out = torch.einsum("nak,nbk->abk", zw, z.conj())
    return torch.view_as_real(out).contiguous()


def spectral_apply(x: torch.Tensor, mat: torch.Tensor, noise: torch.Tensor | None = None,
                   noise_scale: torch.Tensor | None = None) -> torch.Tensor:
    """Per-frequency complex filter ``out[i, a, q] = sum_b mat[a, b, q] x[i, b, q] (+ noise_scale[q] noise[i, a, q])``.

    Shape:
        x, noise, out (N, C, K, 2) real (re, im); mat (C, C, K, 2); noise_scale (K,). Computed in x's dtype.
    """
    z = torch.view_as_complex(x.contiguous())
    m = torch.view_as_complex(mat.to(x.dtype).contiguous())
    out = torch.einsum("abk,nbk->nak", m, z)
    if noise is not None and noise_scale is not None:
        out = out + noise_scale.to(x.dtype) * torch.view_as_complex(noise.to(x.dtype).contiguous())
    return torch.view_as_real(out).contiguous()

