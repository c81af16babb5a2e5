"""Back-end switch of the wavelet kernels (``csrc/wavelet``; torch oracle in :mod:`.reference`).

The public API (:mod:`pyrepair.wavelet`) validates inputs and resolves the back-end once with
:func:`pyrepair._dispatch.select`; the functions here take the resolved name (``"cpu"``, ``"cuda"`` or
``"reference"``) and hand contiguous buffers to :mod:`pyrepair._core`.

Precision: the compiled Haar and apply kernels work in float32 (other dtypes go to the reference, in their own
dtype); moments and eigendecompositions are float64 everywhere. Symmetric matrices with C <= 16 are decomposed by
the in-kernel Jacobi (:data:`MAX_JACOBI_C`), larger ones by batched ``torch.linalg.eigh`` (on every back-end).
"""

from __future__ import annotations

import torch

from .. import _backend, _dispatch
from . import reference

__all__ = ["MAX_JACOBI_C", "dwt", "eigh", "idwt", "moments", "spectral_apply", "spectral_cross", "wct_apply"]

MAX_JACOBI_C = 16  # csrc/wavelet/wavelet.h kWaveletMaxEigC


def _f32(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(torch.float32).contiguous()


def _f32_pair(a: torch.Tensor | None, b: torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Two optional inputs that only count together (noise and its weights): both float32 contiguous, or both
    None."""
    if a is None or b is None:
        return None, None
    return _f32(a), _f32(b)


def dwt(x: torch.Tensor, backend: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One Haar analysis level: (B, C, H, W) -> (low (B, C, h, w), high (B, C, 3, h, w)), h = ceil(H/2)."""
    if backend == "reference" or x.dtype != torch.float32:
        return reference.haar_analysis(x)
    x = x.detach().contiguous()
    b, c, h, w = x.shape
    hh, hw = (h + 1) // 2, (w + 1) // 2
    low = x.new_empty((b, c, hh, hw))
    high = x.new_empty((b, c, 3, hh, hw))
    if backend == "cuda":
        stream, dev = _dispatch.cuda_launch(x)
        _backend.core().wavelet_dwt_cuda(x.data_ptr(), low.data_ptr(), high.data_ptr(), (b, c, h, w), stream, dev)
    else:
        _backend.core().wavelet_dwt_cpu(x.numpy(), low.numpy(), high.numpy())
    return low, high


def idwt(low: torch.Tensor, high: torch.Tensor, size: tuple[int, int], backend: str) -> torch.Tensor:
    """One Haar synthesis level: low (B, C, h, w) + high (B, C, 3, h, w) -> (B, C, H, W), ``size = (H, W)``."""
    if backend == "reference" or low.dtype != torch.float32 or high.dtype != torch.float32:
        return reference.haar_synthesis(low, high, size)
    low = low.detach().contiguous()
    high = high.detach().contiguous()
    b, c = low.shape[:2]
    out = low.new_empty((b, c, int(size[0]), int(size[1])))
    if backend == "cuda":
        stream, dev = _dispatch.cuda_launch(low)
        _backend.core().wavelet_idwt_cuda(low.data_ptr(), high.data_ptr(), out.data_ptr(), tuple(out.shape), stream,
                                          dev)
    else:
        _backend.core().wavelet_idwt_cpu(low.numpy(), high.numpy(), out.numpy())
    return out


def moments(x: torch.Tensor, backend: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel mean (G, C) and covariance (G, C, C), float64 (divisor N - 1), of x (G, C, N)."""
    if backend == "reference":
        return reference.moments(x)
    x = _f32(x)
    g, c, _ = x.shape
    mean = x.new_empty((g, c), dtype=torch.float64)
    cov = x.new_empty((g, c, c), dtype=torch.float64)
    if backend == "cuda":
        stream, dev = _dispatch.cuda_launch(x)
        _backend.core().wavelet_moments_cuda(x.data_ptr(), mean.data_ptr(), cov.data_ptr(), tuple(x.shape), stream,
                                             dev)
    else:
        _backend.core().wavelet_moments_cpu(x.numpy(), mean.numpy(), cov.numpy())
    return mean, cov


def eigh(a: torch.Tensor, backend: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Ascending eigenvalues (G, C) and eigenvector columns (G, C, C) of symmetric float64 matrices (G, C, C):
    Jacobi in the kernel for C <= :data:`MAX_JACOBI_C`, batched ``torch.linalg.eigh`` otherwise."""
    a = a.detach().to(torch.float64).contiguous()
    if backend == "reference" or a.shape[-1] > MAX_JACOBI_C:
        return reference.eigh(a)
    g, c, _ = a.shape
    evals = a.new_empty((g, c))
    evecs = a.new_empty((g, c, c))
    if backend == "cuda":
        stream, dev = _dispatch.cuda_launch(a)
        _backend.core().wavelet_eigh_cuda(a.data_ptr(), evals.data_ptr(), evecs.data_ptr(), tuple(a.shape), stream,
                                          dev)
    else:
        _backend.core().wavelet_eigh_cpu(a.numpy(), evals.numpy(), evecs.numpy())
    return evals, evecs


def wct_apply(
    x: torch.Tensor,
    mat: torch.Tensor,
    center: torch.Tensor,
    bias: torch.Tensor,
    noise: torch.Tensor | None,
    noise_mat: torch.Tensor | None,
    backend: str,
) -> torch.Tensor:
    """``mat @ (x - center) + bias (+ noise_mat @ noise)`` per group; x (G, C, N) float32 -> new (G, C, N)."""
    if backend == "reference":
        return reference.wct_apply(x, mat.to(x.dtype), center.to(x.dtype), bias.to(x.dtype),
                                   None if noise is None else noise.to(x.dtype),
                                   None if noise_mat is None else noise_mat.to(x.dtype))
    x, mat, center, bias = _f32(x), _f32(mat), _f32(center), _f32(bias)
    noise, noise_mat = _f32_pair(noise, noise_mat)
    out = torch.empty_like(x)
    if backend == "cuda":
        stream, dev = _dispatch.cuda_launch(x)
        _backend.core().wavelet_wct_apply_cuda(
            x.data_ptr(), mat.data_ptr(), center.data_ptr(), bias.data_ptr(),
            0 if noise is None else noise.data_ptr(), 0 if noise_mat is None else noise_mat.data_ptr(),
            out.data_ptr(), tuple(x.shape), stream, dev,
        )  # fmt: skip
    else:
        _backend.core().wavelet_wct_apply_cpu(
            x.numpy(), mat.numpy(), center.numpy(), bias.numpy(),
            None if noise is None else noise.numpy(), None if noise_mat is None else noise_mat.numpy(), out.numpy(),
        )  # fmt: skip
    return out


def spectral_cross(x: torch.Tensor, weights: torch.Tensor | None, backend: str) -> torch.Tensor:
    """Weighted cross-spectra (C, C, K, 2) float64 of spectra x (N, C, K, 2) (re, im); weights (N,) or None."""
    if backend == "reference":
        return reference.spectral_cross(x, weights)
    x = _f32(x)
    n, c, k, _ = x.shape
    w = None if weights is None else weights.detach().to(device=x.device, dtype=torch.float64).contiguous()
    out = x.new_empty((c, c, k, 2), dtype=torch.float64)
    if backend == "cuda":
        stream, dev = _dispatch.cuda_launch(x)
        _backend.core().wavelet_spectral_cross_cuda(x.data_ptr(), 0 if w is None else w.data_ptr(), out.data_ptr(),
                                                    tuple(x.shape), stream, dev)
    else:
        _backend.core().wavelet_spectral_cross_cpu(x.numpy(), None if w is None else w.numpy(), out.numpy())
    return out


def spectral_apply(x: torch.Tensor, mat: torch.Tensor, noise: torch.Tensor | None, noise_scale: torch.Tensor | None,
                   backend: str) -> torch.Tensor:
    """``mat[:, :, q] @ x[i, :, q] (+ noise_scale[q] noise[i, :, q])`` per frequency q, complex as (re, im) pairs:
    x, noise (N, C, K, 2) float32, mat (C, C, K, 2), noise_scale (K,) -> new (N, C, K, 2)."""
    if backend == "reference":
        return reference.spectral_apply(x, mat, noise, noise_scale)
    x, mat = _f32(x), _f32(mat)
    noise, noise_scale = _f32_pair(noise, noise_scale)
    out = torch.empty_like(x)
    if backend == "cuda":
        stream, dev = _dispatch.cuda_launch(x)
        _backend.core().wavelet_spectral_apply_cuda(
            x.data_ptr(), mat.data_ptr(), 0 if noise is None else noise.data_ptr(),
            0 if noise_scale is None else noise_scale.data_ptr(), out.data_ptr(), tuple(x.shape), stream, dev,
        )  # fmt: skip
    else:
        _backend.core().wavelet_spectral_apply_cpu(
            x.numpy(), mat.numpy(), None if noise is None else noise.numpy(),
            None if noise_scale is None else noise_scale.numpy(), out.numpy(),
        )  # fmt: skip
    return out

