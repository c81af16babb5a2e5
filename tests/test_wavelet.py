"""Wavelet kernels (spec/deeprepair.md §D.1, §D.3, §E checks 1-11): Haar transforms, moments, Jacobi, apply, wct."""

from __future__ import annotations

import pytest
import torch

import pyrepair
from pyrepair import wavelet
from pyrepair.errors import DTypeError, ShapeError
from pyrepair.testing import assert_close, make_images, num_threads
from pyrepair.wavelet import _kernels, reference

BACKENDS = ["cpu", "reference"]


def _backend_for(device: str) -> list[str]:
    return ["cuda", "reference"] if device.startswith("cuda") else BACKENDS


# ---------------------------------------------------------------------------------------------------------------
# Haar (§D.1, §E 1-5)
# ---------------------------------------------------------------------------------------------------------------


def test_haar_matches_the_four_kernels_exactly():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # [[a, b], [c, d]]
    for backend in BACKENDS:
        low, highs = wavelet.haar_dwt2d(x, backend=backend)
        a, b, c, d = 1.0, 2.0, 3.0, 4.0
        assert low.item() == (a + b + c + d) / 2
        assert highs[0].flatten().tolist() == [(-a + b - c + d) / 2, (-a - b + c + d) / 2, (a - b - c + d) / 2]


@pytest.mark.parametrize("hw", [(2, 2), (8, 8), (32, 32), (64, 64), (7, 5), (9, 16), (33, 31), (1, 6)])
def test_perfect_reconstruction_all_levels(device, hw):
    h, w = hw
    x = torch.rand(3, 2, h, w, generator=torch.Generator().manual_seed(h * 100 + w)).to(device)
    top = wavelet.max_levels(h, w)
    for backend in _backend_for(device):
        for levels in sorted({1, 2, top}):
            if levels > top:
                continue
            low, highs = wavelet.haar_dwt2d(x, levels, backend=backend)
            y = wavelet.haar_idwt2d(low, highs, size=(h, w), backend=backend)
            assert y.shape == x.shape
            assert (y - x).abs().max().item() <= 1e-5


def test_perfect_reconstruction_float64():
    x = torch.rand(2, 3, 224, 224, dtype=torch.float64)
    low, highs = wavelet.haar_dwt2d(x, 5)
    assert (wavelet.haar_idwt2d(low, highs) - x).abs().max().item() <= 1e-12


def test_parseval_even_size():
    x = torch.rand(2, 3, 32, 64)
    low, highs = wavelet.haar_dwt2d(x, 3)
    energy = low.double().pow(2).sum() + sum(h.double().pow(2).sum() for h in highs)
    assert abs(energy.item() / x.double().pow(2).sum().item() - 1.0) <= 1e-5


@pytest.mark.parametrize("hw", [(32, 32), (13, 7)])
def test_constant_image_has_no_detail(hw):
    x = torch.full((2, 3, *hw), 0.3)
    for backend in BACKENDS:
        low, highs = wavelet.haar_dwt2d(x, 3, backend=backend)
        assert all(h.abs().max().item() == 0.0 for h in highs)
        assert torch.allclose(low, torch.full_like(low, 0.3 * 2**3), atol=1e-6)


def test_orientation():
    x = torch.zeros(1, 1, 8, 8)
    x[..., :, 5:] = 1.0  # vertical edge between columns 4 and 5: inside the blocks (4, 5)
    _, (hi,) = wavelet.haar_dwt2d(x)
    assert hi[:, :, 0].abs().sum() > 0 and hi[:, :, 1].abs().sum() == 0 and hi[:, :, 2].abs().sum() == 0
    _, (hi,) = wavelet.haar_dwt2d(x.transpose(-1, -2).contiguous())  # horizontal edge: HL only
    assert hi[:, :, 1].abs().sum() > 0 and hi[:, :, 0].abs().sum() == 0 and hi[:, :, 2].abs().sum() == 0
    x = torch.zeros(1, 1, 8, 8)
    x[..., :, 4:] = 1.0  # edge on a block boundary: no detail at level 1
    _, (hi,) = wavelet.haar_dwt2d(x)
    assert hi.abs().sum() == 0


def test_analysis_matches_naive_block_loop():
    x = torch.rand(2, 2, 6, 4, dtype=torch.float64)
    low, (hi,) = wavelet.haar_dwt2d(x)
    for i in range(3):
        for j in range(2):
            a, b = x[..., 2 * i, 2 * j], x[..., 2 * i, 2 * j + 1]
            c, d = x[..., 2 * i + 1, 2 * j], x[..., 2 * i + 1, 2 * j + 1]
            assert torch.allclose(low[..., i, j], (a + b + c + d) / 2)
            assert torch.allclose(hi[..., 0, i, j], (-a + b - c + d) / 2)
            assert torch.allclose(hi[..., 1, i, j], (-a - b + c + d) / 2)
            assert torch.allclose(hi[..., 2, i, j], (a - b - c + d) / 2)


@pytest.mark.parametrize("shape", [(0, 3, 8, 8), (1, 3, 8, 8), (5, 1, 11, 6), (4, 3, 32, 32)])
def test_haar_kernels_equal_reference(device, shape):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(1)).to(device)
    backend = "cuda" if device.startswith("cuda") else "cpu"
    lo_k, hi_k = _kernels.dwt(x, backend)
    lo_r, hi_r = reference.haar_analysis(x)
    assert_close(lo_k, lo_r, rtol=0, atol=1e-6)
    assert_close(hi_k, hi_r, rtol=0, atol=1e-6)
    size = (shape[2], shape[3])
    assert_close(_kernels.idwt(lo_r, hi_r, size, backend), reference.haar_synthesis(lo_r, hi_r, size), rtol=0,
                 atol=1e-6)


def test_haar_non_contiguous_input():
    x = torch.rand(3, 2, 16, 12).transpose(-1, -2)
    low, highs = wavelet.haar_dwt2d(x, 2)
    low_r, highs_r = wavelet.haar_dwt2d(x.contiguous(), 2, backend="reference")
    assert_close(low, low_r)
    assert_close(highs[1], highs_r[1])


@pytest.mark.parametrize("hw", [(4, 6), (5, 3)])
@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck_dwt_idwt(hw, backend):
    x = torch.rand(2, 2, *hw, dtype=torch.float64, requires_grad=True)

    def fwd(t):
        low, highs = wavelet.haar_dwt2d(t, 2, backend=backend)
        return low, *highs

    assert torch.autograd.gradcheck(fwd, (x,))
    low, highs = wavelet.haar_dwt2d(x.detach(), 2)
    low.requires_grad_(True)
    hs = [h.clone().requires_grad_(True) for h in highs]

    def inv(lo, h0, h1):
        return wavelet.haar_idwt2d(lo, [h0, h1], size=hw, backend=backend)

    assert torch.autograd.gradcheck(inv, (low, *hs))


def test_compiled_gradient_equals_reference_autograd():
    x = torch.rand(2, 3, 9, 10, requires_grad=True)
    w = torch.rand(2, 3, 9, 10)
    low, highs = wavelet.haar_dwt2d(x, 2, backend="cpu")
    y = wavelet.haar_idwt2d(low * 1.5, [h * 0.5 for h in highs], size=(9, 10), backend="cpu")
    (g,) = torch.autograd.grad((y * w).sum(), x)
    xr = x.detach().clone().requires_grad_(True)
    lo1, hi1 = reference.haar_analysis(xr)
    lo2, hi2 = reference.haar_analysis(lo1)
    y1 = reference.haar_synthesis(lo2 * 1.5, hi2 * 0.5, tuple(lo1.shape[-2:]))
    yr = reference.haar_synthesis(y1, hi1 * 0.5, (9, 10))
    (gr,) = torch.autograd.grad((yr * w).sum(), xr)
    assert_close(g, gr, rtol=0, atol=1e-5)


def test_haar_bad_inputs():
    with pytest.raises(ShapeError, match="x must have shape"):
        wavelet.haar_dwt2d(torch.rand(3, 8, 8))
    with pytest.raises(DTypeError, match="x must be a floating-point"):
        wavelet.haar_dwt2d(torch.zeros(1, 1, 8, 8, dtype=torch.int64))
    with pytest.raises(ValueError, match="x must be finite"):
        wavelet.haar_dwt2d(torch.full((1, 1, 8, 8), float("nan")))
    with pytest.raises(ValueError, match="levels must be in"):
        wavelet.haar_dwt2d(torch.rand(1, 1, 8, 8), levels=4)
    low, highs = wavelet.haar_dwt2d(torch.rand(1, 1, 8, 8), 2)
    with pytest.raises(ShapeError, match="low must have spatial size"):
        wavelet.haar_idwt2d(low, highs, size=(16, 16))
    with pytest.raises(ShapeError, match="highs must be a non-empty list"):
        wavelet.haar_idwt2d(low, [])
    with pytest.raises(ShapeError, match=r"highs\[0\] must have shape"):
        wavelet.haar_idwt2d(low, [highs[1], highs[1]], size=(8, 8))


# ---------------------------------------------------------------------------------------------------------------
# Moments, Jacobi, apply (kernels == reference)
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 3, 10), (1, 3, 16), (7, 9, 64), (3, 2, 1)])
def test_moments_kernel_equals_reference(device, shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(2)).to(device)
    backend = "cuda" if device.startswith("cuda") else "cpu"
    m_k, c_k = _kernels.moments(x, backend)
    m_r, c_r = reference.moments(x)
    assert_close(m_k, m_r, rtol=1e-12, atol=1e-12)
    assert_close(c_k, c_r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("c", [1, 2, 3, 9, 16])
def test_jacobi_eigh_equals_torch(device, c):
    g = torch.Generator().manual_seed(c)
    a = torch.randn(6, c, c + 3, dtype=torch.float64, generator=g)
    a = (a @ a.transpose(1, 2)).to(device)
    a[0] = torch.eye(c, dtype=torch.float64)  # repeated eigenvalues
    backend = "cuda" if device.startswith("cuda") else "cpu"
    e_k, v_k = _kernels.eigh(a, backend)
    e_r, _ = torch.linalg.eigh(a)
    assert_close(e_k, e_r, rtol=1e-10, atol=1e-10)
    # eigenvectors up to sign / rotation in degenerate spaces: check the decomposition and orthonormality
    assert_close(v_k @ torch.diag_embed(e_k) @ v_k.transpose(1, 2), a, rtol=1e-10, atol=1e-10)
    eye = torch.eye(c, dtype=torch.float64, device=a.device).expand(6, c, c)
    assert_close(v_k.transpose(1, 2) @ v_k, eye, rtol=1e-10, atol=1e-10)


def test_eigh_empty_batch_and_large_c():
    e, v = _kernels.eigh(torch.zeros(0, 4, 4, dtype=torch.float64), "cpu")
    assert e.shape == (0, 4) and v.shape == (0, 4, 4)
    a = torch.randn(2, 20, 20, dtype=torch.float64)
    a = a @ a.transpose(1, 2)
    e, _ = _kernels.eigh(a, "cpu")  # C > 16: torch.linalg.eigh
    assert_close(e, torch.linalg.eigh(a)[0])


@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("shape", [(0, 3, 5), (1, 3, 16), (5, 9, 33), (2, 40, 7)])
def test_apply_kernel_equals_reference(device, shape, noise):
    g = torch.Generator().manual_seed(3)
    gg, c, n = shape
    x = torch.randn(gg, c, n, generator=g).to(device)
    mat = torch.randn(gg, c, c, generator=g).to(device)
    center, bias = torch.randn(gg, c, generator=g).to(device), torch.randn(gg, c, generator=g).to(device)
    z = torch.randn(gg, c, n, generator=g).to(device) if noise else None
    nm = torch.randn(gg, c, c, generator=g).to(device) if noise else None
    backend = "cuda" if device.startswith("cuda") else "cpu"
    out = _kernels.wct_apply(x, mat, center, bias, z, nm, backend)
    ref = reference.wct_apply(x.double(), mat.double(), center.double(), bias.double(),
                              None if z is None else z.double(), None if nm is None else nm.double())
    assert_close(out, ref.float(), rtol=1e-5, atol=1e-5)


def test_kernels_thread_count_independent():
    x = torch.rand(37, 9, 300)
    a = torch.randn(37, 9, 9, dtype=torch.float64)
    a = a @ a.transpose(1, 2)
    img = torch.rand(37, 3, 33, 18)
    outs = []
    for n in (1, 2, 3):
        with num_threads(n):
            outs.append((_kernels.moments(x, "cpu"), _kernels.eigh(a, "cpu"), _kernels.dwt(img, "cpu")))
    for o in outs[1:]:
        for got, want in zip(o, outs[0], strict=True):
            assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True))


# ---------------------------------------------------------------------------------------------------------------
# wct (§D.3, §E 6-11)
# ---------------------------------------------------------------------------------------------------------------


def _cov(f: torch.Tensor) -> torch.Tensor:
    f = f.double()
    fc = f - f.mean(-1, keepdim=True)
    return fc @ fc.transpose(-1, -2) / (f.shape[-1] - 1)


def _sqrtm(a: torch.Tensor, p: float) -> torch.Tensor:
    e, v = torch.linalg.eigh(a)
    return v @ torch.diag_embed(e.pow(p)) @ v.transpose(-1, -2)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(a - b).max() / torch.linalg.matrix_norm(b).max())


@pytest.mark.parametrize("backend", BACKENDS)
def test_wct_eps0_matches_style_mean_and_cov(backend):
    g = torch.Generator().manual_seed(5)
    content = torch.randn(3, 4, 200, generator=g)
    mix = torch.randn(3, 4, 4, generator=g)
    style = mix @ torch.randn(3, 4, 150, generator=g) + 2.0
    out = wavelet.wct(content, style, eps=0.0, backend=backend)
    assert_close(out.double().mean(-1), style.double().mean(-1), rtol=0, atol=1e-5)
    assert _rel(_cov(out), _cov(style)) <= 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
def test_wct_regularised_cov_closed_form(backend):
    g = torch.Generator().manual_seed(6)
    content = torch.randn(2, 5, 120, generator=g) * 0.7
    style = torch.randn(2, 5, 5, generator=g) @ torch.randn(2, 5, 90, generator=g)
    out = wavelet.wct(content, style, eps=1.0, backend=backend)  # the WCT2 setting
    sc, ss = _cov(content), _cov(style)
    eye = torch.eye(5, dtype=torch.float64)
    k = _sqrtm(ss + eye, 0.5)
    want = k @ (eye - torch.linalg.inv(sc + eye)) @ k
    assert _rel(_cov(out), want) <= 1e-4
    assert_close(out.double().mean(-1), style.double().mean(-1), rtol=0, atol=1e-5)


def test_wct_identity_alpha_and_clamp():
    x = torch.randn(2, 3, 8, 8)
    assert_close(wavelet.wct(x, x, eps=0.0), x, rtol=0, atol=1e-5)
    s = torch.randn(2, 3, 50) * 3
    assert torch.equal(wavelet.wct(x, s, alpha=0.0), x)
    full = wavelet.wct(x, s)
    assert_close(wavelet.wct(x, s, alpha=0.5), 0.5 * full + 0.5 * x, rtol=0, atol=1e-5)
    clamped = wavelet.wct(x, s, clamp=True)
    for i in range(2):
        assert clamped[i].min() >= x[i].min() and clamped[i].max() <= x[i].max()


def test_wct_batched_equals_looped():
    g = torch.Generator().manual_seed(7)
    content = torch.rand(7, 6, 10, 12, generator=g)
    style = torch.rand(7, 6, 9, 9, generator=g) ** 2
    batched = wavelet.wct(content, style, eps=0.1)
    for i in range(7):
        assert_close(batched[i : i + 1], wavelet.wct(content[i : i + 1], style[i : i + 1], eps=0.1), rtol=0,
                     atol=1e-5)


def test_wct_rank_deficient_is_finite():
    content = torch.randn(2, 9, 4)  # n <= C: rank(Sigma_c) <= 3
    style = torch.randn(2, 9, 30)
    out = wavelet.wct(content, style, eps=0.0)
    assert torch.isfinite(out).all()
    assert_close(out.mean(-1), style.mean(-1), rtol=0, atol=1e-4)


def test_wct_large_channels_uses_eigh():
    content, style = torch.randn(2, 24, 100), torch.randn(2, 24, 80) * 2
    out = wavelet.wct(content, style, eps=0.0)
    ref = wavelet.wct(content, style, eps=0.0, backend="reference")
    assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_wct_bad_inputs():
    with pytest.raises(ShapeError, match="style_feats must have the batch and channel sizes"):
        wavelet.wct(torch.rand(2, 3, 10), torch.rand(2, 4, 10))
    with pytest.raises(ShapeError, match=r"content_feats must have shape \[B, C, ...\]"):
        wavelet.wct(torch.rand(3), torch.rand(3))
    with pytest.raises(ValueError, match="style_feats must be finite"):
        wavelet.wct(torch.rand(1, 3, 10), torch.full((1, 3, 10), float("inf")))
    with pytest.raises(ValueError, match="alpha must be in"):
        wavelet.wct(torch.rand(1, 3, 10), torch.rand(1, 3, 10), alpha=1.5)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        wavelet.wct(torch.rand(1, 3, 10), torch.rand(1, 3, 10), eps=-1.0)


def test_public_surface():
    assert "wavelet" in dir(pyrepair)
    assert pyrepair.wavelet is wavelet
    assert "stylizer" in dir(wavelet)  # the WCT2 network module (formerly wavelet.wct2)
    assert {"haar_dwt2d", "haar_idwt2d", "wct", "style_transfer"} <= set(wavelet.__all__)
    assert make_images(1, 3, 8, 8).shape == (1, 3, 8, 8)
