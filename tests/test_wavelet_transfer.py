"""Pixel-domain wavelet style transfer (spec/deeprepair.md §D.6, §E check 12) and style_transfer's API."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from pyrepair import wavelet
from pyrepair.errors import DeviceError, DTypeError, ShapeError, UnknownNameError
from pyrepair.testing import assert_close, make_images, num_threads

BACKENDS = ["cpu", "reference"]


def _detail_energy(x: torch.Tensor, level: int = 0) -> torch.Tensor:
    """Mean squared level-`level` detail coefficient per image."""
    _, highs = wavelet.haar_dwt2d(x.double(), level + 1, backend="reference")
    return highs[level].pow(2).flatten(1).mean(1)


def _noisy(x: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)


def _blurred(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    k = (k[:, None] * k[None, :]) / 256.0
    c = x.shape[1]
    w = k.expand(c, 1, 5, 5).contiguous()
    return torch.nn.functional.conv2d(torch.nn.functional.pad(x, (2, 2, 2, 2), mode="replicate"), w, groups=c)


@pytest.mark.parametrize("backend", BACKENDS)
def test_identity_when_content_is_style(backend):
    x = make_images(4, 3, 32, 32, seed=1)
    # eps_rel tiny and no noise injection: WCT(x, x) is the identity (§E 12)
    out = wavelet.style_transfer(x, x, eps_rel=1e-9, stochastic=False, backend=backend)
    assert_close(out, x, rtol=0, atol=1e-4)


def test_alpha_zero_returns_content_exactly():
    x = make_images(3, 3, 32, 32, seed=2)
    s = make_images(3, 3, 32, 32, seed=3)
    assert torch.equal(wavelet.style_transfer(x, s, alpha=0.0), x)


def test_flat_style_removes_detail():
    x = make_images(4, 3, 32, 32, seed=4)
    flat = torch.full((1, 3, 32, 32), 0.4)
    out = wavelet.style_transfer(x, flat)
    assert (_detail_energy(out) <= 0.01 * _detail_energy(x)).all()
    assert_close(out.mean(dim=(2, 3)), torch.full((4, 3), 0.4), rtol=0, atol=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_noise_level_transfers(backend):
    content = make_images(8, 3, 32, 32, seed=5)
    style = _noisy(torch.full((8, 3, 32, 32), 0.5), 0.1, seed=6)  # Gaussian noise sigma 0.1 (§E 12)
    out = wavelet.style_transfer(content, style, backend=backend, seed=3)
    e_out, e_style, e_in = _detail_energy(out), _detail_energy(style), _detail_energy(content)
    assert (e_out >= 0.6 * e_style).all()
    assert (e_out > e_in).all()
    plain = wavelet.style_transfer(content, style, backend=backend, stochastic=False)
    assert (_detail_energy(plain) > e_in).all()  # even without injection the high band's std rises


def test_blur_transfers():
    content = make_images(8, 3, 32, 32, seed=7)
    sharp_refs = make_images(8, 3, 32, 32, seed=8)
    style = _blurred(_blurred(sharp_refs))
    out = wavelet.style_transfer(content, style)
    e_out, e_style, e_in = _detail_energy(out), _detail_energy(style), _detail_energy(content)
    assert (e_out < 0.5 * e_in).all()
    assert torch.allclose(e_out, e_style, rtol=0.5)


def test_contrast_and_brightness_transfer():
    content = make_images(6, 3, 32, 32, seed=9)
    refs = make_images(6, 3, 32, 32, seed=10)
    style = 0.8 + 0.1 * (refs - 0.5)  # bright, low contrast
    out = wavelet.style_transfer(content, style)
    assert_close(out.mean(dim=(1, 2, 3)), style.mean(dim=(1, 2, 3)), rtol=0, atol=0.02)
    assert (out.std(dim=(1, 2, 3)) < 0.5 * content.std(dim=(1, 2, 3))).all()


def _block_steps(x: torch.Tensor, period: int) -> float:
    """Mean |horizontal + vertical pixel step| across boundaries at multiples of `period` (not of 2 * period),
    relative to the steps across odd columns / rows (inside every Haar block): about 1 for natural or blurred
    images, > 1 where a decimated Haar grid left block edges."""
    out = []
    for dim in (3, 2):
        d = (x.narrow(dim, 1, x.shape[dim] - 1) - x.narrow(dim, 0, x.shape[dim] - 1)).abs()
        d = d.mean(dim=tuple(i for i in range(4) if i != dim))
        i = torch.arange(1, d.shape[0] + 1)
        out.append(float(d[(i % period == 0) & (i % (2 * period) != 0)].mean() / d[i % 2 == 1].mean()))
    return sum(out) / 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_spin_blur_has_no_block_edges(backend):
    # a blurred style shrinks the detail bands; on one decimated Haar grid that leaves 2^l-pixel block edges
    # (blur would look like pixelation); cycle spinning over 2^L diagonal shifts removes them
    content = make_images(16, 3, 32, 32, seed=21)
    style = _blurred(_blurred(_blurred(make_images(16, 3, 32, 32, seed=22))))
    plain = wavelet.style_transfer(content, style, backend=backend, seed=1)
    spun = wavelet.style_transfer(content, style, backend=backend, seed=1, spin=8)
    assert _block_steps(plain, 8) > 2.0
    for period in (2, 4, 8):
        assert 0.8 < _block_steps(spun, period) < 1.15, period
    e_in, e_style, e_spun = _detail_energy(content), _detail_energy(style), _detail_energy(spun)
    # still blurred: the shared maps averaged over the shifted grids are a smooth low-pass filter (the coarse Haar
    # bands leak some level-1 energy, so it stays above the style's)
    assert (e_spun < 0.75 * e_in).all()
    assert float(e_spun.mean()) < 0.5 * float(e_in.mean())
    assert float(e_spun.mean()) < 5.0 * float(e_style.mean())


def test_spin_keeps_noise_and_validates():
    content = make_images(8, 3, 32, 32, seed=23)
    style = _noisy(torch.full((8, 3, 32, 32), 0.5), 0.1, seed=24)
    out = wavelet.style_transfer(content, style, seed=2, spin=4)
    assert (_detail_energy(out) >= 0.5 * _detail_energy(style)).all()  # injected noise is added once, not averaged
    assert torch.equal(wavelet.style_transfer(content, style, seed=2, spin=1), wavelet.style_transfer(content, style,
                                                                                                      seed=2))
    with pytest.raises(ValueError, match="spin"):
        wavelet.style_transfer(content, style, spin=9)  # at most 2^levels = 8
    with pytest.raises(ValueError, match="spin"):
        wavelet.style_transfer(content, style, spin=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_noise_injected_at_finest_level_only(backend):
    # injection into the LL band or coarse details would add 2^l-pixel noise blocks (and LL "noise" is image-scale
    # colour variance, not noise): only the level-1 detail bands get fresh noise, so every 2 x 2 block mean of the
    # output equals the deterministic transfer's (no clamping: mid-range content, weak noise)
    content = 0.35 + 0.3 * make_images(6, 3, 32, 32, seed=25)
    style = _noisy(0.35 + 0.3 * make_images(6, 3, 32, 32, seed=26), 0.03, seed=27)
    stoch = wavelet.style_transfer(content, style, backend=backend, seed=5)
    det = wavelet.style_transfer(content, style, backend=backend, stochastic=False)
    assert float(det.min()) > 0.0 and float(det.max()) < 1.0 and float(stoch.min()) > 0.0 and float(stoch.max()) < 1
    assert_close(torch.nn.functional.avg_pool2d(stoch, 2), torch.nn.functional.avg_pool2d(det, 2), rtol=0, atol=1e-5)
    assert float((stoch - det).abs().max()) > 1e-3  # noise was injected


def test_content_edges_are_kept():
    content = torch.zeros(2, 3, 32, 32)
    content[..., 10:22, 10:22] = 1.0
    style = _noisy(make_images(2, 3, 32, 32, seed=11), 0.05, seed=11)  # natural contrast plus noise
    out = wavelet.style_transfer(content, style, stochastic=False)
    for i in range(2):
        r = torch.corrcoef(torch.stack([out[i].flatten(), content[i].flatten()]))[0, 1]
        assert r > 0.8  # the square is still there
        assert out[i, :, 12:20, 12:20].mean() > out[i, :, :8, :8].mean() + 0.2


def _salt_and_pepper(n: int, amount: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    u = torch.rand((n, 3, 32, 32), generator=g)
    return torch.where(u < amount / 2, 0.0, torch.where(u > 1 - amount / 2, 1.0, torch.full_like(u, 0.5)))


def _kurtosis(x: torch.Tensor) -> float:
    x = x.double().flatten()
    x = x - x.mean()
    return float(x.pow(4).mean() / x.pow(2).mean().pow(2))


@pytest.mark.parametrize("backend", BACKENDS)
def test_style_noise_keeps_impulse_shape(backend):
    # noise="style" injects the style's own whitened fine-band coefficients: salt-and-pepper stays impulsive
    # (heavy-tailed), where Gaussian injection with the same covariance gives Gaussian-looking noise
    content = 0.3 + 0.4 * make_images(8, 3, 32, 32, seed=30)
    style = _salt_and_pepper(8, 0.06, seed=31)
    det = wavelet.style_transfer(content, style, stochastic=False, backend=backend)
    ours = wavelet.style_transfer(content, style, seed=1, backend=backend)
    gauss = wavelet.style_transfer(content, style, seed=1, noise="gaussian", backend=backend)
    k_ours, k_gauss = _kurtosis(ours - det), _kurtosis(gauss - det)
    assert k_gauss < 3.6 and k_ours > 5.0, (k_gauss, k_ours)  # measured 3.1 and 6.2
    e_ours, e_gauss = _detail_energy(ours), _detail_energy(gauss)
    assert_close(e_ours.mean(), e_gauss.mean(), rtol=0.25, atol=0)  # same covariance in expectation
    assert torch.equal(ours, wavelet.style_transfer(content, style, seed=1, backend=backend))
    assert not torch.equal(ours, wavelet.style_transfer(content, style, seed=2, backend=backend))


@pytest.mark.parametrize("backend", BACKENDS)
def test_bank_pooling_is_identity_when_bank_is_the_batch(backend):
    # pooled content statistics == pooled style statistics: every band's map is the identity
    x = make_images(6, 3, 32, 32, seed=32)
    out = wavelet.style_transfer(x, x, pooling="bank", eps_rel=1e-9, stochastic=False, backend=backend)
    assert_close(out, x, rtol=0, atol=1e-4)


def test_bank_pooling_one_map_for_the_batch():
    # a blurred bank: image mode shrinks each image's detail by its own reference's ratio, bank mode applies one
    # population map, so the per-image shrink ratios are far more uniform
    content = make_images(12, 3, 32, 32, seed=33)
    refs = make_images(12, 3, 32, 32, seed=34)
    refs = torch.cat([_blurred(refs[:6]), _blurred(_blurred(_blurred(refs[6:])))])
    e_in = _detail_energy(content)
    r_img = _detail_energy(wavelet.style_transfer(content, refs, stochastic=False)) / e_in
    r_bank = _detail_energy(wavelet.style_transfer(content, refs, stochastic=False, pooling="bank")) / e_in
    assert (r_bank < 0.5).all() and (r_img < 0.5).all()
    assert float(r_bank.std() / r_bank.mean()) < 0.5 * float(r_img.std() / r_img.mean())


def test_bank_pooling_weights_follow_style_probs():
    content = make_images(5, 3, 32, 32, seed=35)
    bank = torch.cat([_blurred(make_images(3, 3, 32, 32, seed=36)), 0.5 + 0.2 * (make_images(2, 3, 32, 32) - 0.5)])
    probs = torch.tensor([0.2, 0.3, 0.5, 0.0, 0.0])
    a = wavelet.style_transfer(content, bank, style_probs=probs, pooling="bank", stochastic=False)
    b = wavelet.style_transfer(content, bank[:3], style_probs=probs[:3], pooling="bank", stochastic=False)
    assert_close(a, b, rtol=0, atol=1e-5)
    c = wavelet.style_transfer(content, bank, pooling="bank", stochastic=False)  # uniform over all five
    assert float((a - c).abs().max()) > 1e-2


def _directional_blur(x: torch.Tensor, dim: int) -> torch.Tensor:
    out = x
    for _ in range(3):
        out = (out + out.roll(1, dim) + out.roll(-1, dim)) / 3
    return out


def _lh_over_hl(x: torch.Tensor) -> torch.Tensor:
    _, highs = wavelet.haar_dwt2d(x.double(), 1, backend="reference")
    e = highs[0].pow(2).mean(dim=(1, 3, 4))  # (N, 3 orientations)
    return e[:, 0] / e[:, 1]


def test_hybrid_pooling_keeps_each_references_orientation():
    # references blurred along x (half) or along y (other half): "bank" pools them into an isotropic map, "hybrid"
    # keeps each reference's direction (at the bank's detail energy), like "image"
    content = make_images(8, 3, 32, 32, seed=39)
    refs = make_images(8, 3, 32, 32, seed=40)
    refs = torch.cat([_directional_blur(refs[:4], 3), _directional_blur(refs[4:], 2)])
    r_ref = _lh_over_hl(refs)
    r = {p: _lh_over_hl(wavelet.style_transfer(content, refs, stochastic=False, pooling=p))
         for p in ("image", "bank", "hybrid")}
    assert float(r_ref[:4].max()) < float(r_ref[4:].min())
    for p in ("image", "hybrid"):  # measured: halves 0.9 / 1.8 (image), 0.9 / 1.7 (hybrid)
        assert float(r[p][:4].max()) < float(r[p][4:].min()), (p, r[p])
        assert float(r[p][4:].mean() / r[p][:4].mean()) > 1.5, (p, r[p])
    assert 0.7 < float(r["bank"][4:].mean() / r["bank"][:4].mean()) < 1.1  # one map: the direction is pooled away
    # the low band (colour, brightness, contrast) is pooled in "hybrid": the bank of the batch itself keeps it
    x = make_images(6, 3, 32, 32, seed=41)
    out = wavelet.style_transfer(x, x, pooling="hybrid", eps_rel=1e-9, stochastic=False)
    assert_close(out.mean(dim=(2, 3)), x.mean(dim=(2, 3)), rtol=0, atol=2e-3)


@pytest.mark.parametrize(("pooling", "noise", "spin"), [("image", "style", 4), ("image", "gaussian", 1),
                                                        ("bank", "style", 1), ("bank", "gaussian", 8),
                                                        ("hybrid", "style", 2)])
def test_cpu_equals_reference_options(pooling, noise, spin):
    content = make_images(5, 3, 32, 32, seed=37)
    style = _salt_and_pepper(3, 0.1, seed=38)
    kw = dict(style_probs=[0.5, 0.25, 0.25], seed=7, pooling=pooling, noise=noise, spin=spin)
    a = wavelet.style_transfer(content, style, backend="cpu", **kw)
    b = wavelet.style_transfer(content, style, backend="reference", **kw)
    assert_close(a, b, rtol=0, atol=1e-4)


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (0, 3, 32, 32), (5, 1, 17, 23), (3, 3, 64, 48)])
@pytest.mark.parametrize("bands", ["joint", "band"])
def test_cpu_equals_reference(shape, bands):
    content = make_images(*shape, seed=12) if shape[0] else torch.zeros(shape)
    style = make_images(4, shape[1], 40, 36, seed=13)
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    a = wavelet.style_transfer(content, style, style_probs=probs, seed=4, bands=bands, backend="cpu")
    b = wavelet.style_transfer(content, style, style_probs=probs, seed=4, bands=bands, backend="reference")
    assert a.shape == content.shape
    # float32 apply with different summation order, noise within libm ULPs: 1e-4 absolute on [0, 1] pixels
    assert_close(a, b, rtol=0, atol=1e-4)


def test_device_equals_cpu(device):
    content = make_images(4, 3, 32, 32, seed=14, device=device)
    style = make_images(2, 3, 32, 32, seed=15, device=device)
    out = wavelet.style_transfer(content, style, seed=2)
    ref = wavelet.style_transfer(content.cpu(), style.cpu(), seed=2, backend="reference")
    assert_close(out, ref, rtol=0, atol=1e-4)


def test_deterministic_and_thread_independent():
    content = make_images(9, 3, 32, 32, seed=16)
    style = make_images(3, 3, 32, 32, seed=17)
    runs = []
    for n in (1, 2, 3):
        with num_threads(n):
            runs.append(wavelet.style_transfer(content, style, seed=5))
    assert all(torch.equal(r, runs[0]) for r in runs[1:])
    other = wavelet.style_transfer(content, style, seed=6)
    assert not torch.equal(other, runs[0])


def test_bank_sampling_follows_probs():
    content = torch.full((64, 1, 16, 16), 0.5)
    bank = torch.stack([torch.full((1, 16, 16), v) for v in (0.1, 0.9)])
    out = wavelet.style_transfer(content, bank, style_probs=[0.0, 1.0], seed=1)
    assert_close(out, torch.full_like(out, 0.9), rtol=0, atol=1e-4)
    out = wavelet.style_transfer(content, bank, style_probs=torch.tensor([0.5, 0.5]), seed=1)
    means = out.mean(dim=(1, 2, 3))
    hi = int((means > 0.5).sum())
    assert 16 <= hi <= 48
    # uniform sampling when probs are omitted and M != N; batch-prefix stable
    a = wavelet.style_transfer(content[:10], bank, seed=3)
    b = wavelet.style_transfer(content[:4], bank, seed=3)
    assert torch.equal(a[:4], b)


def test_style_of_other_size_and_dtype():
    content = make_images(2, 3, 32, 32, seed=18, dtype=torch.float64)
    style = make_images(2, 3, 48, 40, seed=19)
    out = wavelet.style_transfer(content, style)
    assert out.dtype == torch.float64 and out.shape == content.shape


def test_bad_inputs_name_argument_and_value():
    x = make_images(2, 3, 32, 32)
    with pytest.raises(ShapeError, match=r"style must have C=3 channels like content, got shape \[2, 1, 32, 32\]"):
        wavelet.style_transfer(x, x[:, :1])
    with pytest.raises(ShapeError, match="empty bank"):
        wavelet.style_transfer(x, x[:0])
    with pytest.raises(ValueError, match="style_probs must sum to 1, got sum 0.9"):
        wavelet.style_transfer(x, x, style_probs=[0.5, 0.4])
    with pytest.raises(ValueError, match="style_probs must be non-negative"):
        wavelet.style_transfer(x, x, style_probs=[1.5, -0.5])
    with pytest.raises(ShapeError, match=r"style_probs must have shape \[M\] with M=2"):
        wavelet.style_transfer(x, x, style_probs=[0.2, 0.3, 0.5])
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="content must be finite, got 1 NaN/inf"):
        wavelet.style_transfer(bad, x)
    bad[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="style must be finite"):
        wavelet.style_transfer(x, bad)
    with pytest.raises(ShapeError, match=r"content must have shape \[B, C, H, W\]"):
        wavelet.style_transfer(x[0], x)
    with pytest.raises(ShapeError, match=r"style must have shape \[M, C, H, W\]"):
        wavelet.style_transfer(x, x[0])
    with pytest.raises(ValueError, match=r"content must hold values in \[0, 1\]"):
        wavelet.style_transfer(x * 3, x)
    with pytest.raises(DTypeError, match="style must be a torch.Tensor"):
        wavelet.style_transfer(x, x.numpy())
    with pytest.raises(ValueError, match="alpha must be in"):
        wavelet.style_transfer(x, x, alpha=2.0)
    with pytest.raises(ValueError, match="levels must be in"):
        wavelet.style_transfer(x, x, levels=9)
    with pytest.raises(UnknownNameError, match="unknown mode 'vgg'"):
        wavelet.style_transfer(x, x, mode="vgg")
    with pytest.raises(UnknownNameError, match="unknown bands"):
        wavelet.style_transfer(x, x, bands="all")
    with pytest.raises(UnknownNameError, match="unknown noise 'uniform'"):
        wavelet.style_transfer(x, x, noise="uniform")
    with pytest.raises(UnknownNameError, match="unknown pooling 'batch'"):  # image, bank or hybrid
        wavelet.style_transfer(x, x, pooling="batch")
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        wavelet.style_transfer(x, x, model=None)
    with pytest.raises(UnknownNameError, match="unknown backend"):
        wavelet.style_transfer(x, x, backend="gpu")


@pytest.mark.cuda
def test_device_mismatch():
    x = make_images(1, 3, 16, 16)
    with pytest.raises(DeviceError):
        wavelet.style_transfer(x, x.cuda())


def test_wct2_mode_forwards_or_fails_clearly(monkeypatch):
    import sys
    import types

    x = make_images(1, 3, 16, 16)
    if importlib.util.find_spec("pyrepair.wavelet.stylizer") is None:
        with pytest.raises(ImportError, match="mode='wct2' needs pyrepair.wavelet.stylizer"):
            wavelet.style_transfer(x, x, mode="wct2")
    else:
        assert wavelet.wct2_transfer is wavelet.stylizer.wct2_transfer
    calls = {}

    def fake(content, style, *, alpha, **kw):
        calls.update(alpha=alpha, **kw)
        return content

    monkeypatch.setitem(sys.modules, "pyrepair.wavelet.stylizer", types.SimpleNamespace(wct2_transfer=fake))
    assert wavelet.style_transfer(x, x, mode="wct2", alpha=0.5, model="m") is x
    assert calls == {"alpha": 0.5, "model": "m"}
