"""WCT2 network (pyrepair.wavelet.stylizer): Haar pooling, batched WCT numerics, transfer wiring, training, checkpoints.

Random weights throughout (no checkpoints exist offline); images are tiny so the file runs in seconds on CPU.
"""

from __future__ import annotations

import math

import pytest
import torch

from pyrepair.errors import CheckpointError, DeviceError, DTypeError, ShapeError, UnknownNameError
from pyrepair.wavelet import stylizer as W
from pyrepair.wavelet.stylizer import (
    HAAR_KERNELS,
    WCT2,
    HaarPool2d,
    HaarUnpool2d,
    load_published_wct2,
    load_wct2,
    reconstruction_loss,
    save_wct2,
    train_wct2,
    wct2_transfer,
)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One torch thread: these tiny problems only lose from OpenMP (and thrash on a shared, busy CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model() -> WCT2:
    torch.manual_seed(0)
    return WCT2().eval()


def _images(b: int, h: int = 16, w: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(seed))


# -- Haar -----------------------------------------------------------------------------------------------------------


def test_haar_kernels_are_the_spec_constants():
    want = 0.5 * torch.tensor([[[1, 1], [1, 1]], [[-1, 1], [-1, 1]], [[-1, -1], [1, 1]], [[1, -1], [-1, 1]]])
    assert torch.equal(HAAR_KERNELS, want.float())


@pytest.mark.parametrize("shape", [(2, 3, 2, 2), (1, 5, 8, 6), (3, 2, 32, 64)])
def test_haar_pool_matches_block_formula_and_unpool_inverts(shape):
    x = torch.randn(*shape, dtype=torch.float64)
    ll, lh, hl, hh = HaarPool2d()(x)
    a, b, c, d = x[..., 0::2, 0::2], x[..., 0::2, 1::2], x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    torch.testing.assert_close(ll, (a + b + c + d) / 2, rtol=0, atol=1e-12)
    torch.testing.assert_close(lh, (-a + b - c + d) / 2, rtol=0, atol=1e-12)
    torch.testing.assert_close(hl, (-a - b + c + d) / 2, rtol=0, atol=1e-12)
    torch.testing.assert_close(hh, (a - b - c + d) / 2, rtol=0, atol=1e-12)
    torch.testing.assert_close(HaarUnpool2d("sum")(ll, lh, hl, hh), x, rtol=0, atol=1e-12)
    energy = sum(float((t**2).sum()) for t in (ll, lh, hl, hh))
    assert math.isclose(energy, float((x**2).sum()), rel_tol=1e-12)


def test_haar_unpool_cat5_layout():
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    orig = torch.randn_like(x)
    bands = HaarPool2d()(x)
    y = HaarUnpool2d("cat5")(*bands, orig)
    assert y.shape == (2, 20, 8, 8)
    zero = torch.zeros_like(bands[0])
    for i in range(4):  # block i is the transposed conv of band i alone
        only = [bands[j] if j == i else zero for j in range(4)]
        torch.testing.assert_close(y[:, 4 * i:4 * i + 4], HaarUnpool2d("sum")(*only), rtol=0, atol=1e-12)
    assert torch.equal(y[:, 16:], orig)
    with pytest.raises(ValueError, match="original"):
        HaarUnpool2d("cat5")(*bands)


def test_haar_orientation():
    x = torch.zeros(1, 1, 4, 4)
    x[..., 1:] = 1.0  # vertical edge inside the first 2x2 block column
    _, lh, hl, hh = HaarPool2d()(x)
    assert lh.abs().sum() > 0 and hl.abs().sum() == 0 and hh.abs().sum() == 0
    with pytest.raises(ShapeError, match="even"):
        HaarPool2d()(torch.zeros(1, 1, 3, 4))


# -- WCT numerics ---------------------------------------------------------------------------------------------------


def _cov(f: torch.Tensor) -> torch.Tensor:
    x = f.reshape(f.shape[0], f.shape[1], -1)
    x = x - x.mean(2, keepdim=True)
    return x @ x.transpose(1, 2) / (x.shape[2] - 1)


def _loose(fc):  # content whose range is wide enough that the clamp never binds
    fc = fc.clone()
    fc[:, 0, 0, 0] = -1e6
    fc[:, 0, 0, 1] = 1e6
    return fc


@pytest.mark.parametrize("method", ["primal", "gram"])
def test_wct_mean_and_covariance(method):
    g = torch.Generator().manual_seed(1)
    c = 6
    fc = torch.randn(3, c, 8, 8, generator=g, dtype=torch.float64)
    fs = torch.randn(3, c, 6, 6, generator=g, dtype=torch.float64) * torch.linspace(0.5, 3, c).view(1, c, 1, 1) + 2
    fcl = _loose(fc)  # clamp disabled by a huge content range
    if method == "primal":  # (the Gram form is only used, and only accurate, for n < C or eps ~ 1)
        # eps -> 0, full rank: mean and covariance of the style
        out = W._wct_features(fcl, W._colour_stats(fs, 1e-9, method), 1.0, method)
        ms = fs.reshape(3, c, -1).mean(2)
        torch.testing.assert_close(out.reshape(3, c, -1).mean(2), ms, rtol=0, atol=1e-6)
        torch.testing.assert_close(_cov(out), _cov(fs), rtol=1e-6, atol=1e-6)
    # eps = 1 (the WCT2 mode): Cov(F_t) = (Σs+I)^½ [I − (Σc+I)^{-1}] (Σs+I)^½ (spec §D.3)
    out1 = W._wct_features(fcl, W._colour_stats(fs, 1.0, method), 1.0, method)
    sc, ss = _cov(fcl), _cov(fs)
    eye = torch.eye(c, dtype=torch.float64)
    e, v = torch.linalg.eigh(ss + eye)
    k = v @ torch.diag_embed(e.sqrt()) @ v.transpose(1, 2)
    want = k @ (eye - torch.linalg.inv(sc + eye)) @ k
    torch.testing.assert_close(_cov(out1), want, rtol=1e-5, atol=1e-6)  # spec E.7: 1e-4 relative
    torch.testing.assert_close(out1.reshape(3, c, -1).mean(2), fs.reshape(3, c, -1).mean(2), rtol=0, atol=1e-6)
    # the clamp: output within the content's global [min, max]
    out0 = W._wct_features(fc, W._colour_stats(fs, 1.0, method), 1.0, method)
    lo, hi = fc.amin(dim=(1, 2, 3)), fc.amax(dim=(1, 2, 3))
    assert bool((out0.amin(dim=(1, 2, 3)) >= lo).all() and (out0.amax(dim=(1, 2, 3)) <= hi).all())


@pytest.mark.parametrize("method", ["primal", "gram"])
def test_colouring_factor_squares_to_regularised_covariance(method):
    g = torch.Generator().manual_seed(2)
    c = 7
    for n_side in (2, 6):  # n = 4 < C (rank-deficient) and n = 36 > C
        fs = torch.randn(2, c, n_side, n_side, generator=g, dtype=torch.float64) * 3 + 1
        st = W._colour_stats(fs, 1.0, method)
        eye = torch.eye(c, dtype=torch.float64)
        kk = eye + st.a @ st.a.transpose(1, 2)
        torch.testing.assert_close(kk @ kk, _cov(fs) + eye, rtol=1e-9, atol=1e-9)


def test_wct_gram_equals_primal_float32():
    g = torch.Generator().manual_seed(3)
    fc = torch.randn(4, 64, 4, 4, generator=g) * 5  # n = 16 < C = 64: the WCT2 conv4_1 case at 32 px
    fs = torch.randn(4, 64, 4, 4, generator=g) * 3 + 1
    a = W._wct_features(fc, W._colour_stats(fs, 1.0, "primal"), 1.0, "primal")
    b = W._wct_features(fc, W._colour_stats(fs, 1.0, "gram"), 1.0, "gram")
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_wct_alpha_blend():
    g = torch.Generator().manual_seed(4)
    fc, fs = torch.randn(2, 8, 4, 4, generator=g), torch.randn(2, 8, 4, 4, generator=g)
    st = W._colour_stats(fs, 1.0)
    assert torch.equal(W._wct_features(fc, st, 0.0), fc)
    full = W._wct_features(fc, st, 1.0)
    torch.testing.assert_close(W._wct_features(fc, st, 0.5), 0.5 * full + 0.5 * fc)


# -- network --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unpool", ["cat5", "sum"])
@pytest.mark.parametrize("hw", [(32, 32), (64, 48)])
def test_level_shapes(unpool, hw):
    torch.manual_seed(0)
    m = WCT2(unpool).eval()
    h, w = hw
    x = torch.rand(1, 3, h, w)
    skips: dict = {}
    shapes = []
    with torch.no_grad():
        for level in (1, 2, 3, 4):
            x = m.encoder.encode(x, skips, level)
            shapes.append(tuple(x.shape[1:]))
        if unpool == "cat5":
            assert shapes == [(64, h, w), (128, h // 2, w // 2), (256, h // 4, w // 4), (512, h // 8, w // 8)]
        else:
            assert shapes == [(64, h // 2, w // 2), (128, h // 4, w // 4), (256, h // 8, w // 8), (512, h // 8, w // 8)]
        dec = []
        for level in (4, 3, 2, 1):
            x = m.decoder.decode(x, skips, level)
            dec.append(tuple(x.shape[1:]))
    assert dec == [(256, h // 4, w // 4), (128, h // 2, w // 2), (64, h, w), (3, h, w)]


def test_alpha_zero_is_reconstruction(model):
    x, s = _images(2), _images(2, seed=1)
    with torch.no_grad():
        rec = model(x).clamp(0, 1)
    for ta in ({"encoder", "decoder"}, {"encoder", "skip", "decoder"}, {"skip"}, {"decoder"}):
        assert torch.equal(model.transfer(x, s, alpha=0.0, transfer_at=ta), rec)


@pytest.mark.parametrize("ta", [("encoder", "decoder"), ("encoder", "skip", "decoder"), ("decoder",)])
def test_batched_equals_per_image_loop(model, ta):
    x, s = _images(3), _images(3, 24, 16, seed=2)
    batched = model.transfer(x, s, transfer_at=ta)
    looped = torch.cat([model.transfer(x[i:i + 1], s[i:i + 1], transfer_at=ta) for i in range(3)])
    torch.testing.assert_close(batched, looped, rtol=1e-4, atol=1e-4)
    assert batched.min() >= 0 and batched.max() <= 1


def test_style_cache_broadcast_and_index(model):
    x, bank = _images(4), _images(2, seed=3)
    stats = model.style_stats(bank)
    idx = torch.tensor([1, 0, 1, 1])
    via_cache = model.transfer(x, stats, style_index=idx)
    direct = model.transfer(x, bank[idx])
    torch.testing.assert_close(via_cache, direct, rtol=1e-5, atol=1e-5)
    one = model.transfer(x, bank[:1])
    torch.testing.assert_close(one, model.transfer(x, bank[[0, 0, 0, 0]]), rtol=1e-5, atol=1e-5)
    with pytest.raises(ShapeError, match="style_index"):
        model.transfer(x, bank)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        model.transfer(x, stats, style_index=torch.tensor([0, 1, 2, 0]))


def test_style_bank_draw(model):
    x, bank = _images(4), _images(3, seed=13)
    a = wct2_transfer(x, bank, model=model, seed=5)
    assert torch.equal(a, wct2_transfer(x, bank, model=model, seed=5))
    idx = W._draw_styles(3, 4, None, 5, "t")
    torch.testing.assert_close(a, wct2_transfer(x, bank, model=model, style_index=idx), rtol=1e-5, atol=1e-5)
    only2 = wct2_transfer(x, bank, model=model, style_probs=[0.0, 0.0, 1.0])
    torch.testing.assert_close(only2, wct2_transfer(x, bank[2:3], model=model), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="sum to 1"):
        wct2_transfer(x, bank, model=model, style_probs=[0.5, 0.0, 0.0])
    with pytest.raises(ShapeError, match="style_probs"):
        wct2_transfer(x, bank, model=model, style_probs=[0.5, 0.5])
    with pytest.raises(DeviceError, match="backend"):
        wct2_transfer(x, bank, model=model, backend="cuda")


def test_deterministic(model):
    x, s = _images(2), _images(2, seed=5)
    assert torch.equal(wct2_transfer(x, s, model=model), wct2_transfer(x, s, model=model))


def test_transfer_changes_statistics_towards_style(model):
    x = _images(2)
    s = torch.full((2, 3, 16, 16), 0.2) + 0.05 * _images(2, seed=6)
    out = wct2_transfer(x, s, model=model)
    assert out.shape == x.shape and out.dtype == x.dtype and torch.isfinite(out).all()
    assert not torch.equal(out, wct2_transfer(x, s, model=model, alpha=0.0))


# -- errors ---------------------------------------------------------------------------------------------------------


def test_model_none_explains_how_to_get_one():
    with pytest.raises(ValueError, match="train_wct2") as e:
        wct2_transfer(_images(1), _images(1))
    assert "load_published_wct2" in str(e.value) and "downloads nothing" in str(e.value)
    with pytest.raises(TypeError, match="WCT2"):
        wct2_transfer(_images(1), _images(1), model=torch.nn.Identity())


def test_bad_inputs(model):
    x = _images(2)
    with pytest.raises(ShapeError, match="channels"):
        wct2_transfer(torch.rand(2, 1, 16, 16), x, model=model)
    with pytest.raises(ShapeError, match="multiples of 8"):
        wct2_transfer(torch.rand(2, 3, 24, 20), x, model=model)
    with pytest.raises(ShapeError, match="at least 16"):
        wct2_transfer(torch.rand(2, 3, 8, 16), x, model=model)
    with pytest.raises(ShapeError, match=r"\[B, C, H, W\]"):
        wct2_transfer(torch.rand(3, 16, 16), x, model=model)
    with pytest.raises(DTypeError, match="floating"):
        wct2_transfer((x * 255).to(torch.uint8), x, model=model)
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        wct2_transfer(bad, x, model=model)
    with pytest.raises(ValueError, match="alpha"):
        wct2_transfer(x, x, model=model, alpha=1.5)
    with pytest.raises(UnknownNameError, match="transfer_at"):
        wct2_transfer(x, x, model=model, transfer_at={"encoder", "bottleneck"})
    with pytest.raises(ShapeError, match="3 styles"):
        model.transfer(x, _images(3))
    with pytest.raises(UnknownNameError, match="unpool"):
        WCT2("max")


# -- training and checkpoints ---------------------------------------------------------------------------------------


def test_train_reduces_loss():
    imgs = _images(4, seed=7)
    before_state = torch.get_rng_state()
    m = train_wct2(imgs, epochs=3, batch_size=4, lr=1e-4, seed=0, feature_weight=0.1)
    assert torch.equal(torch.get_rng_state(), before_state)  # the global RNG is untouched
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        init = WCT2().eval()  # train_wct2's seed-0 initial weights
    assert reconstruction_loss(m, imgs, feature_weight=0.1) < reconstruction_loss(init, imgs, feature_weight=0.1)
    assert not m.training and all(p.requires_grad for p in m.parameters())
    seen = []
    enc = m.encoder.conv1_1.weight.clone()
    train_wct2(imgs[:2], epochs=1, batch_size=2, model=m, progress=lambda e, loss: seen.append((e, loss)))
    assert len(seen) == 1 and math.isfinite(seen[0][1])
    assert torch.equal(m.encoder.conv1_1.weight, enc)  # a given model: decoder-only by default


def test_train_is_seeded():
    imgs = _images(2, seed=8)
    a = train_wct2(imgs, epochs=1, batch_size=2, seed=3)
    b = train_wct2(imgs, epochs=1, batch_size=2, seed=3)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    with pytest.raises(ValueError, match="epochs"):
        train_wct2(imgs, epochs=0)


def test_save_load_round_trip(tmp_path, model):
    p = save_wct2(model, tmp_path / "wct2.pt")
    m2 = load_wct2(p)
    x, s = _images(2), _images(2, seed=9)
    assert torch.equal(wct2_transfer(x, s, model=model), wct2_transfer(x, s, model=m2))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_wct2(tmp_path / "junk.pt")
    torch.save({"a": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a pyrepair WCT2"):
        load_wct2(tmp_path / "other.pt")


def _published_layout(unpool: str) -> tuple[dict, dict]:
    """Synthetic state dicts in the clovaai/WCT2 key layout (model.py WaveEncoder / WaveDecoder)."""
    g = torch.Generator().manual_seed(11)

    def conv(cin, cout, k=3):
        return torch.randn(cout, cin, k, k, generator=g) * 0.05, torch.randn(cout, generator=g) * 0.01

    def haar(prefix, c):
        return {f"{prefix}.{b}.weight": HAAR_KERNELS[i].expand(c, 1, 2, 2).clone()
                for i, b in enumerate(("LL", "LH", "HL", "HH"))}

    enc: dict = {}
    for name, cin, cout, k in [("conv0", 3, 3, 1), ("conv1_1", 3, 64, 3), ("conv1_2", 64, 64, 3),
                               ("conv2_1", 64, 128, 3), ("conv2_2", 128, 128, 3), ("conv3_1", 128, 256, 3),
                               ("conv3_2", 256, 256, 3), ("conv3_3", 256, 256, 3), ("conv3_4", 256, 256, 3),
                               ("conv4_1", 256, 512, 3)]:
        enc[f"{name}.weight"], enc[f"{name}.bias"] = conv(cin, cout, k)
    for i, c in ((1, 64), (2, 128), (3, 256)):
        enc.update(haar(f"pool{i}", c))
    m, sfx = (5, "_2") if unpool == "cat5" else (1, "")
    dec: dict = {}
    for name, cin, cout in [("conv4_1", 512, 256), (f"conv3_4{sfx}", 256 * m, 256), ("conv3_3", 256, 256),
                            ("conv3_2", 256, 256), ("conv3_1", 256, 128), (f"conv2_2{sfx}", 128 * m, 128),
                            ("conv2_1", 128, 64), (f"conv1_2{sfx}", 64 * m, 64), ("conv1_1", 64, 3)]:
        dec[f"{name}.weight"], dec[f"{name}.bias"] = conv(cin, cout)
    for i, c in ((1, 64), (2, 128), (3, 256)):
        dec.update(haar(f"recon_block{i}", c))
    return enc, dec


@pytest.mark.parametrize("unpool", ["cat5", "sum"])
def test_load_published_layout(tmp_path, unpool):
    enc, dec = _published_layout(unpool)
    torch.save(enc, tmp_path / f"wave_encoder_{unpool}_l4.pth")
    torch.save({f"module.{k}": v for k, v in dec.items()}, tmp_path / f"wave_decoder_{unpool}_l4.pth")
    m = load_published_wct2(tmp_path / f"wave_encoder_{unpool}_l4.pth", tmp_path / f"wave_decoder_{unpool}_l4.pth")
    assert m.unpool == unpool
    assert torch.equal(m.encoder.conv2_1.weight, enc["conv2_1.weight"])
    last = "conv1_2_2" if unpool == "cat5" else "conv1_2"
    assert torch.equal(getattr(m.decoder, last).bias, dec[f"{last}.bias"])
    out = wct2_transfer(_images(1), _images(1, seed=1), model=m)
    assert torch.isfinite(out).all()


def test_load_published_errors():
    enc, dec = _published_layout("cat5")
    bad = dict(enc)
    del bad["conv3_2.weight"]
    with pytest.raises(CheckpointError, match=r"missing keys \['conv3_2.weight'\]"):
        load_published_wct2(bad, dec)
    extra = {**dec, "conv5_1.weight": torch.zeros(1)}
    with pytest.raises(CheckpointError, match="unexpected keys"):
        load_published_wct2(enc, extra)
    wrong = dict(enc)
    wrong["pool1.LH.weight"] = -wrong["pool1.LH.weight"]
    with pytest.raises(CheckpointError, match="Haar LH"):
        load_published_wct2(wrong, dec)
    shape = dict(enc)
    shape["conv1_1.weight"] = torch.zeros(64, 3, 5, 5)
    with pytest.raises(CheckpointError, match="shape"):
        load_published_wct2(shape, dec)
    with pytest.raises(FileNotFoundError):
        load_published_wct2("/nonexistent/enc.pth", dec)


# -- CUDA -----------------------------------------------------------------------------------------------------------


@pytest.mark.cuda
def test_cuda_matches_cpu(model):
    x, s = _images(3, 32, 32), _images(3, 32, 32, seed=12)
    cpu = wct2_transfer(x, s, model=model)
    gm = WCT2().eval()
    gm.load_state_dict(model.state_dict())
    gpu = wct2_transfer(x.cuda(), s.cuda(), model=gm.cuda())
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=2e-3, atol=2e-3)
    with pytest.raises(DeviceError):
        wct2_transfer(x, s, model=gm)


def test_former_module_name_warns():
    from pyrepair import wavelet

    with pytest.warns(DeprecationWarning, match="renamed pyrepair.wavelet.stylizer"):
        assert wavelet.wct2 is W
