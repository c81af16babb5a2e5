"""Spectral WCT (``style_transfer(mode="spectral")``): its kernels (cross-spectra, per-frequency filter) against the
torch reference, the periodic + smooth decomposition, and what the transfer carries over."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pyrepair import wavelet
from pyrepair.errors import ShapeError
from pyrepair.testing import assert_close, make_images, num_threads
from pyrepair.wavelet import _kernels, _spectral, reference


def _kernel_backend(device: str) -> str:
    return "cuda" if device.startswith("cuda") else "cpu"


def _backends(device: str) -> list[str]:
    return ["cuda", "reference"] if device.startswith("cuda") else ["cpu", "reference"]


# ---------------------------------------------------------------------------------------------------------------
# Kernels == reference
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(0, 3, 5), (1, 3, 17), (9, 3, 300), (4, 1, 7), (5, 8, 33)])
def test_spectral_cross_kernel_equals_reference(device, shape, weighted):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(*shape, 2, generator=g).to(device)
    w = torch.rand(shape[0], generator=g, dtype=torch.float64).to(device) if weighted else None
    out = _kernels.spectral_cross(x, w, _kernel_backend(device))
    ref = reference.spectral_cross(x, w)
    assert out.shape == (shape[1], shape[1], shape[2], 2) and out.dtype == torch.float64
    assert_close(out, ref, rtol=1e-10, atol=1e-10)
    if shape[0]:  # Hermitian: S[b, a] = conj(S[a, b]); real, non-negative diagonal
        cplx = torch.view_as_complex(out.contiguous())
        assert_close(cplx.transpose(0, 1), cplx.conj(), rtol=0, atol=1e-9)
        diag = torch.diagonal(cplx, dim1=0, dim2=1)
        assert float(diag.imag.abs().max()) < 1e-9 and float(diag.real.min()) >= 0


@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("shape", [(0, 3, 5), (1, 3, 17), (6, 3, 300), (3, 1, 8), (2, 8, 33)])
def test_spectral_apply_kernel_equals_reference(device, shape, noise):
    g = torch.Generator().manual_seed(2)
    n, c, k = shape
    x = torch.randn(n, c, k, 2, generator=g).to(device)
    mat = torch.randn(c, c, k, 2, generator=g).to(device)
    z = torch.randn(n, c, k, 2, generator=g).to(device) if noise else None
    scale = torch.rand(k, generator=g).to(device) if noise else None
    out = _kernels.spectral_apply(x, mat, z, scale, _kernel_backend(device))
    ref = reference.spectral_apply(x.double(), mat.double(), None if z is None else z.double(),
                                   None if scale is None else scale.double())
    assert out.shape == x.shape and out.dtype == torch.float32
    assert_close(out, ref.float(), rtol=1e-5, atol=1e-5)


def test_spectral_kernels_check_shapes():
    x = torch.randn(2, 3, 10, 2)
    with pytest.raises(ValueError, match="mat must have shape"):
        _kernels.spectral_apply(x, torch.randn(3, 3, 9, 2), None, None, "cpu")
    with pytest.raises(ValueError, match="noise_scale must have shape"):
        _kernels.spectral_apply(x, torch.randn(3, 3, 10, 2), torch.randn(2, 3, 10, 2), torch.rand(9), "cpu")
    with pytest.raises(ValueError, match="weights must have shape"):
        _kernels.spectral_cross(x, torch.rand(3, dtype=torch.float64), "cpu")
    with pytest.raises(ValueError, match=r"x must have shape \[N, C, K, 2\]"):
        _kernels.spectral_cross(torch.randn(2, 3, 10, 3), None, "cpu")


def test_spectral_kernels_thread_count_independent():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(41, 3, 513, 2, generator=g)
    mat = torch.randn(3, 3, 513, 2, generator=g)
    w = torch.rand(41, dtype=torch.float64, generator=g)
    scale = torch.rand(513, generator=g)
    outs = []
    for n in (1, 2, 3):
        with num_threads(n):
            outs.append((_kernels.spectral_cross(x, w, "cpu"), _kernels.spectral_apply(x, mat, x, scale, "cpu")))
    for cross, applied in outs[1:]:
        assert torch.equal(cross, outs[0][0]) and torch.equal(applied, outs[0][1])


# ---------------------------------------------------------------------------------------------------------------
# Periodic + smooth decomposition
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(32, 32), (17, 23), (1, 8), (8, 1), (2, 2), (1, 1)])
def test_periodic_smooth_decomposition(size):
    h, w = size
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(4))
    p_hat, s_hat = _spectral.periodic_smooth(x)
    p = torch.fft.irfft2(p_hat, s=(h, w), norm="ortho").double()
    s = torch.fft.irfft2(s_hat, s=(h, w), norm="ortho").double()
    assert_close(p + s, x.double(), rtol=0, atol=1e-6)
    # s solves the periodic Poisson equation laplacian(s) = v - mean(v), v = the jumps across opposite borders
    xd = x.double()
    v = torch.zeros_like(xd)
    row, col = xd[..., -1, :] - xd[..., 0, :], xd[..., :, -1] - xd[..., :, 0]
    v[..., 0, :] += row
    v[..., -1, :] -= row
    v[..., :, 0] += col
    v[..., :, -1] -= col
    lap = sum(torch.roll(s, sh, d) for sh in (1, -1) for d in (-1, -2)) - 4 * s
    assert_close(lap, v - v.mean((2, 3), keepdim=True), rtol=0, atol=1e-6)
    assert float(s.mean((2, 3)).abs().max()) < 1e-6


def test_periodic_component_has_no_border_cross():
    # a ramp is maximally non-periodic: its plain spectrum has a strong cross on the axes (a jump of 1 across the
    # border); in the periodic part the jump is 1/W (the discrete Moisan decomposition), the cross 32x weaker
    x = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(1, 1, 32, 32).contiguous()
    plain = torch.fft.rfft2(x - x.mean(), norm="ortho")
    p_hat, _ = _spectral.periodic_smooth(x - x.mean())
    assert float(p_hat.abs().max()) < 0.04 * float(plain.abs().max())


# ---------------------------------------------------------------------------------------------------------------
# style_transfer(mode="spectral")
# ---------------------------------------------------------------------------------------------------------------


def _blur_w(x: torch.Tensor, k: int = 7) -> torch.Tensor:
    """Box blur along the width only (a horizontal motion blur), replicate borders."""
    c = x.shape[1]
    wgt = torch.full((c, 1, 1, k), 1.0 / k)
    return F.conv2d(F.pad(x, (k // 2, k // 2, 0, 0), mode="replicate"), wgt, groups=c)


def _texture(n: int, seed: int) -> torch.Tensor:
    """(n, 3, 32, 32) isotropic fine texture around 0.5 (smoothed white noise), in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    k = torch.tensor([0.25, 0.5, 0.25])
    k2 = (k[:, None] * k[None, :]).expand(3, 1, 3, 3).contiguous()
    z = F.conv2d(F.pad(torch.randn(n, 3, 32, 32, generator=g), (1, 1, 1, 1), mode="circular"), k2, groups=3)
    return (0.5 + 0.2 * z).clamp(0, 1)


def _grad_energy(x: torch.Tensor) -> tuple[float, float]:
    """Mean squared horizontal and vertical pixel differences."""
    dx = (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()
    dy = (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean()
    return float(dx), float(dy)


@pytest.mark.parametrize("stochastic", [False, True])
def test_spectral_identity_when_style_is_the_batch(device, stochastic):
    x = make_images(6, 3, 32, 32, seed=5, device=device)
    for backend in _backends(device):
        out = wavelet.style_transfer(x, x, mode="spectral", eps_rel=1e-9, stochastic=stochastic, backend=backend)
        assert_close(out, x, rtol=0, atol=1e-4)


def test_spectral_alpha_zero_and_empty_batch():
    x = make_images(3, 3, 16, 16, seed=6)
    s = make_images(3, 3, 16, 16, seed=7)
    assert torch.equal(wavelet.style_transfer(x, s, mode="spectral", alpha=0.0), x)
    empty = wavelet.style_transfer(x[:0], s, mode="spectral")
    assert empty.shape == (0, 3, 16, 16)


def test_spectral_cpu_equals_reference(device):
    content = make_images(5, 3, 24, 20, seed=8, device=device)
    style = (_blur_w(make_images(4, 3, 24, 20, seed=9)) * 0.6 + 0.2).to(device)
    kw = dict(mode="spectral", style_probs=torch.tensor([0.1, 0.2, 0.3, 0.4]), seed=3, alpha=0.8)
    out = wavelet.style_transfer(content, style, backend=_kernel_backend(device), **kw)
    ref = wavelet.style_transfer(content, style, backend="reference", **kw)
    assert_close(out, ref, rtol=0, atol=1e-4)


def test_spectral_transfers_blur_direction():
    content = _texture(16, seed=10)
    style = _blur_w(_texture(16, seed=11))
    out = wavelet.style_transfer(content, style, mode="spectral")
    cx, cy = _grad_energy(content)
    sx, sy = _grad_energy(style)
    ox, oy = _grad_energy(out)
    assert 0.8 < cx / cy < 1.25  # the content is isotropic
    assert sx / sy < 0.3  # the style is blurred along the width only
    assert abs(ox / oy - sx / sy) < 0.35 * (sx / sy)  # ... and so is the output
    assert ox < 0.4 * cx  # the horizontal detail is gone


def test_spectral_transfers_contrast_and_mean():
    content = make_images(12, 3, 32, 32, seed=12)
    base = make_images(12, 3, 32, 32, seed=13)
    style = (base - base.mean((2, 3), keepdim=True)) * 0.3 + 0.6  # low contrast, brighter, in range
    out = wavelet.style_transfer(content, style, mode="spectral")
    ratio = float(out.std((2, 3)).mean() / content.std((2, 3)).mean())
    target = float(style.std((2, 3)).mean() / base.std((2, 3)).mean())
    assert abs(ratio - target) < 0.1 * target
    # each image keeps its offset from the batch mean; the batch mean moves to the bank's
    want = content.mean((2, 3)) + style.mean((0, 2, 3)) - content.mean((0, 2, 3))
    assert_close(out.mean((2, 3)), want, rtol=0, atol=2e-3)


def test_spectral_noise_lands_on_flat_content_and_keeps_its_shape():
    flat = torch.full((8, 3, 32, 32), 0.5)
    flat[:, :, :, 16:] = 0.3  # one edge
    g = torch.Generator().manual_seed(14)
    base = make_images(8, 3, 32, 32, seed=15)
    mask = torch.rand(8, 1, 32, 32, generator=g) < 0.05  # salt and pepper on 5 % of the pixels
    salt = (torch.rand(8, 1, 32, 32, generator=g) < 0.5).float()
    style = torch.where(mask, salt.expand_as(base), base)
    out = wavelet.style_transfer(flat, style, mode="spectral")
    resid = (out - flat)[:, :, 4:-4, 4:12]  # a flat region away from the edge and the borders
    assert float(resid.std()) > 0.05
    r = resid.flatten()
    kurtosis = float(((r - r.mean()) ** 4).mean() / r.var() ** 2)
    assert kurtosis > 5.0  # impulsive, not Gaussian (3)
    plain = wavelet.style_transfer(flat, style, mode="spectral", stochastic=False)
    assert float((plain - flat)[:, :, 4:-4, 4:12].std()) < 0.5 * float(resid.std())  # a filter cannot add noise


def test_spectral_keeps_non_periodic_borders():
    # ramps: a circular (plain FFT) blur would pull the left border towards the right one
    g = torch.Generator().manual_seed(16)
    ramp = torch.linspace(0.1, 0.9, 32).view(1, 1, 1, 32)
    content = (ramp + 0.05 * torch.rand(8, 3, 32, 32, generator=g)).clamp(0, 1)
    style = _blur_w((ramp + 0.05 * torch.rand(8, 3, 32, 32, generator=g)).clamp(0, 1), 5)
    out = wavelet.style_transfer(content, style, mode="spectral")
    assert float((out[..., 0] - content[..., 0]).abs().mean()) < 0.05
    assert float((out[..., -1] - content[..., -1]).abs().mean()) < 0.05


def test_spectral_style_probs_weight_the_bank():
    content = make_images(6, 3, 16, 16, seed=17)
    bank = make_images(4, 3, 16, 16, seed=18)
    a = wavelet.style_transfer(content, bank, mode="spectral", style_probs=[0.25, 0.75, 0.0, 0.0], seed=5)
    b = wavelet.style_transfer(content, bank[:2], mode="spectral", style_probs=[0.25, 0.75], seed=5)
    assert_close(a, b, rtol=0, atol=1e-5)
    c = wavelet.style_transfer(content, bank, mode="spectral", style_probs=[0.0, 0.0, 0.5, 0.5], seed=5)
    assert float((a - c).abs().max()) > 1e-3


def test_spectral_deterministic_and_seed_only_picks_references():
    content = make_images(5, 3, 16, 16, seed=19)
    paired = make_images(5, 3, 16, 16, seed=20)
    a = wavelet.style_transfer(content, paired, mode="spectral", seed=1)
    assert torch.equal(a, wavelet.style_transfer(content, paired, mode="spectral", seed=1))
    assert torch.equal(a, wavelet.style_transfer(content, paired, mode="spectral", seed=2))  # paired: no draw
    bank = make_images(7, 3, 16, 16, seed=21)
    b1 = wavelet.style_transfer(content, bank, mode="spectral", seed=1)
    assert torch.equal(b1, wavelet.style_transfer(content, bank, mode="spectral", seed=1))
    assert not torch.equal(b1, wavelet.style_transfer(content, bank, mode="spectral", seed=2))


def test_spectral_chunked_equals_one_pass(monkeypatch):
    content = make_images(9, 3, 16, 16, seed=22)
    bank = make_images(7, 3, 16, 16, seed=23)
    for style, probs in ((make_images(9, 3, 16, 16, seed=24), None), (bank, [1 / 7] * 7)):
        whole = wavelet.style_transfer(content, style, mode="spectral", style_probs=probs, seed=4)
        monkeypatch.setattr(_spectral, "_CHUNK_ELEMENTS", 2 * 3 * 16 * 16)  # two images per chunk
        chunked = wavelet.style_transfer(content, style, mode="spectral", style_probs=probs, seed=4)
        monkeypatch.undo()
        assert_close(chunked, whole, rtol=0, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 1, 17, 23), (2, 3, 9, 8), (2, 3, 1, 12), (4, 3, 64, 48)])
def test_spectral_any_size_and_channel_count(shape):
    content = make_images(*shape, seed=25)
    style = make_images(*shape, seed=26)
    out = wavelet.style_transfer(content, style, mode="spectral")
    assert out.shape == content.shape and out.dtype == torch.float32
    assert bool(torch.isfinite(out).all()) and float(out.min()) >= 0 and float(out.max()) <= 1
    out64 = wavelet.style_transfer(content.double(), style.double(), mode="spectral")
    assert out64.dtype == torch.float64


def test_spectral_rejects_pixel_only_options_and_other_sizes():
    x = make_images(2, 3, 16, 16, seed=27)
    for kw in ({"levels": 2}, {"bands": "band"}, {"spin": 2}, {"noise": "gaussian"}, {"pooling": "bank"}):
        name = next(iter(kw))
        with pytest.raises(ValueError, match=f"{name} applies to mode='pixel' only"):
            wavelet.style_transfer(x, x, mode="spectral", **kw)
    with pytest.raises(ShapeError, match="needs style images of the content's size 16x16"):
        wavelet.style_transfer(x, make_images(2, 3, 32, 32), mode="spectral")
    with pytest.raises(ValueError, match="must sum to 1"):
        wavelet.style_transfer(x, x, mode="spectral", style_probs=[0.5, 0.6])
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="content"):
        wavelet.style_transfer(bad, x, mode="spectral")


def test_spectral_leaves_inputs_untouched():
    x = make_images(3, 3, 16, 16, seed=28)
    s = make_images(3, 3, 16, 16, seed=29)
    x0, s0 = x.clone(), s.clone()
    wavelet.style_transfer(x, s, mode="spectral")
    assert torch.equal(x, x0) and torch.equal(s, s0)
