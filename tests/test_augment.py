"""pyrepair.augment: JSD loss, MixUp / CutMix / Cutout, batched AugMix (spec deeprepair.md §A.4, §A.6, §A.8, §B, §E)."""

from __future__ import annotations

import doctest
import importlib
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pyrepair import transform
from pyrepair.augment import (
    ALL_OPS,
    BASE_OPS,
    OVERLAP_OPS,
    AugMix,
    AugMixParams,
    CutMix,
    Cutout,
    MixedTargets,
    MixUp,
    augmix_apply,
    augmix_loss,
    augmix_views,
    cutmix,
    cutout,
    jsd_loss,
    mixed_cross_entropy,
    mixup,
)
from pyrepair.augment.mixing import sample_beta, sample_dirichlet
from pyrepair.errors import DTypeError, ShapeError, UnknownNameError
from pyrepair.testing import make_images


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def logits3(b: int = 6, k: int = 5, seed: int = 0, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    g = gen(seed)
    return [torch.randn(b, k, generator=g, dtype=dtype) * 2.0 for _ in range(3)]


# ------------------------------------------------------------------------------------------------ JSD loss (§A.6)


def jsd_float64(z0: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> float:
    """Hand computation in float64 straight from §A.6, loops over rows and classes."""
    ps = [torch.softmax(z.double(), dim=1) for z in (z0, z1, z2)]
    m = ((ps[0] + ps[1] + ps[2]) / 3.0).clamp(1e-7, 1.0)
    total = 0.0
    for p in ps:
        kl = 0.0
        for i in range(p.shape[0]):
            for c in range(p.shape[1]):
                pc = float(p[i, c])
                if pc > 0:
                    kl += pc * (math.log(pc) - math.log(float(m[i, c])))
        total += kl / p.shape[0]
    return total / 3.0


def test_jsd_zero_for_identical_logits():
    z = torch.randn(7, 10, generator=gen())
    assert float(jsd_loss(z, z, z)) == pytest.approx(0.0, abs=1e-7)
    # the same distribution from shifted logits (softmax is shift invariant)
    assert float(jsd_loss(z, z + 3.0, z - 1.0)) == pytest.approx(0.0, abs=1e-6)


def test_jsd_positive_when_views_differ():
    z0, z1, z2 = logits3()
    assert float(jsd_loss(z0, z1, z2)) > 1e-3
    assert float(jsd_loss(z0, z0, z2)) > 1e-3


def test_jsd_symmetric_under_permutation():
    z = logits3(seed=1)
    ref = float(jsd_loss(*z))
    for order in [(0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]:
        assert float(jsd_loss(*(z[i] for i in order))) == pytest.approx(ref, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_jsd_matches_float64_hand_computation(dtype):
    z = logits3(b=5, k=4, seed=2, dtype=dtype)
    assert float(jsd_loss(*z)) == pytest.approx(jsd_float64(*z), rel=1e-5, abs=1e-6)


def test_jsd_matches_kl_div_form():
    z = logits3(seed=3)
    ps = [torch.softmax(t, dim=1) for t in z]
    log_m = torch.clamp((ps[0] + ps[1] + ps[2]) / 3.0, 1e-7, 1).log()
    expected = sum(F.kl_div(log_m, p, reduction="batchmean") for p in ps) / 3.0
    torch.testing.assert_close(jsd_loss(*z), expected, rtol=1e-6, atol=1e-7)


def test_jsd_gradients_finite_with_underflowing_probabilities():
    z = [torch.tensor([[100.0, -100.0, 0.0], [-100.0, 100.0, 3.0]], requires_grad=True) for _ in range(3)]
    with torch.no_grad():
        z[1][0] = torch.tensor([-100.0, 100.0, 0.0])
    loss = jsd_loss(*z)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(t.grad).all() for t in z)
    assert float(loss.detach()) == pytest.approx(jsd_float64(*(t.detach() for t in z)), rel=1e-5)


def test_augmix_loss_is_ce_plus_12_jsd():
    z0, z1, z2 = logits3(seed=4)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    expected = F.cross_entropy(z0, y) + 12.0 * jsd_loss(z0, z1, z2)
    torch.testing.assert_close(augmix_loss(z0, z1, z2, y), expected)
    torch.testing.assert_close(augmix_loss(z0, z1, z2, y, lam=0.0), F.cross_entropy(z0, y))
    torch.testing.assert_close(augmix_loss(z0, z1, z2, y, lam=3.0), F.cross_entropy(z0, y) + 3.0 * jsd_loss(z0, z1, z2))


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((torch.randn(4), torch.randn(4), torch.randn(4)), ShapeError, "logits_clean must have shape"),
        ((torch.randn(4, 3), torch.randn(4, 2), torch.randn(4, 3)), ShapeError, "logits_aug1 must have the shape"),
        ((torch.randn(4, 3), torch.randn(4, 3), torch.randn(5, 3)), ShapeError, "logits_aug2"),
        ((torch.randn(0, 3),) * 3, ShapeError, "at least one row"),
        ((torch.ones(2, 3, dtype=torch.long),) * 3, DTypeError, "logits_clean must be a floating-point"),
        ((torch.randn(2, 3), torch.tensor([[0.0, float("nan"), 1.0]] * 2), torch.randn(2, 3)), ValueError,
         "logits_aug1 must be finite"),
        (([[0.0, 1.0]], torch.randn(1, 2), torch.randn(1, 2)), DTypeError, "logits_clean must be a torch.Tensor"),
    ],
)
def test_jsd_loss_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        jsd_loss(*args)


def test_augmix_loss_errors():
    z = logits3(b=4, k=3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        augmix_loss(*z, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ShapeError, match="labels must have shape"):
        augmix_loss(*z, torch.tensor([0, 1, 2]))
    with pytest.raises(DTypeError, match="labels must be an integer tensor"):
        augmix_loss(*z, torch.zeros(4))
    with pytest.raises(ValueError, match="lam must be >= 0"):
        augmix_loss(*z, torch.zeros(4, dtype=torch.long), lam=-1.0)
    with pytest.raises(ValueError, match="logits_clean must be finite"):
        augmix_loss(torch.full((4, 3), float("inf")), z[1], z[2], torch.zeros(4, dtype=torch.long))


def test_mixed_cross_entropy_equals_soft_target_ce():
    g = gen(5)
    z = torch.randn(6, 4, generator=g)
    a, b = torch.randint(0, 4, (6,), generator=g), torch.randint(0, 4, (6,), generator=g)
    lam = torch.rand(6, generator=g)
    soft = lam[:, None] * F.one_hot(a, 4) + (1 - lam[:, None]) * F.one_hot(b, 4)
    expected = -(soft * F.log_softmax(z, dim=1)).sum(1).mean()
    torch.testing.assert_close(mixed_cross_entropy(z, MixedTargets(a, b, lam)), expected)
    torch.testing.assert_close(mixed_cross_entropy(z, a), F.cross_entropy(z, a))


def test_mixed_cross_entropy_errors():
    z = torch.randn(3, 4)
    y = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match=r"targets.lam must lie in \[0, 1\]"):
        mixed_cross_entropy(z, MixedTargets(y, y, torch.tensor([0.5, 1.5, 0.0])))
    with pytest.raises(ShapeError, match="targets.lam must have shape"):
        mixed_cross_entropy(z, MixedTargets(y, y, torch.ones(2)))
    with pytest.raises(ValueError, match=r"targets.labels_b must lie in \[0, 4\)"):
        mixed_cross_entropy(z, MixedTargets(y, y + 2, torch.ones(3)))
    with pytest.raises(DTypeError, match="targets must be a MixedTargets"):
        mixed_cross_entropy(z, [0, 1, 2])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------- sampling helpers


def test_beta_and_dirichlet_moments():
    a = sample_beta(20000, 1.0, gen(0))
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert float(a.mean()) == pytest.approx(0.5, abs=0.01)
    assert float(a.var()) == pytest.approx(1 / 12, abs=0.005)
    b = sample_beta(20000, 0.5, gen(1))  # Var = 1 / (4 (2a + 1)) = 1/8
    assert float(b.var()) == pytest.approx(1 / 8, abs=0.006)
    d = sample_dirichlet(20000, 3, 1.0, gen(2))
    torch.testing.assert_close(d.sum(1), torch.ones(20000, dtype=torch.float64))
    torch.testing.assert_close(d.mean(0), torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.01, rtol=0)
    tiny = sample_dirichlet(100, 3, 0.01, gen(3))  # gamma draws underflow; log-space sampling stays finite
    assert torch.isfinite(tiny).all()
    torch.testing.assert_close(tiny.sum(1), torch.ones(100, dtype=torch.float64))


# ---------------------------------------------------------------------------------------------------- MixUp (§A.8)


def test_mixup_functional_values():
    x = make_images(4, 3, 8, 8, seed=1)
    y = torch.tensor([0, 1, 2, 3])
    perm = torch.tensor([3, 2, 1, 0])
    lam = torch.tensor([0.0, 0.25, 0.5, 1.0])
    out, t = mixup(x, y, lam, perm)
    torch.testing.assert_close(out, lam.view(4, 1, 1, 1) * x + (1 - lam.view(4, 1, 1, 1)) * x[perm])
    assert t.labels_a.tolist() == [0, 1, 2, 3] and t.labels_b.tolist() == [3, 2, 1, 0]
    assert t.lam.dtype == torch.float32 and t.labels_a.dtype == torch.int64


def test_mixup_module(device):
    x = make_images(8, 3, 16, 16, seed=2, device=device)
    y = torch.arange(8, device=device)
    before = x.clone()
    out, t = MixUp(alpha=1.0)(x, y, generator=gen(0))
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device
    assert torch.equal(x, before)
    assert t.lam.shape == (8,) and bool(((t.lam >= 0) & (t.lam <= 1)).all())
    assert torch.unique(t.lam).numel() == 1  # one lambda per batch, as the reference code
    assert sorted(t.labels_b.tolist()) == list(range(8))  # a permutation of the labels
    again, t2 = MixUp(alpha=1.0)(x, y, generator=gen(0))
    assert torch.equal(out, again) and torch.equal(t.lam, t2.lam)
    other, t3 = MixUp(alpha=1.0)(x, y, generator=gen(1))
    assert not torch.equal(out, other)
    same, t4 = MixUp(alpha=0.0)(x, y, generator=gen(0))  # alpha = 0: no mixing
    assert torch.equal(same, x) and bool((t4.lam == 1).all())


def test_mixup_errors():
    x, y = torch.rand(2, 3, 4, 4), torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"lam must be in \[0.0, 1.0\]"):
        mixup(x, y, 1.5, torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="perm must index the batch"):
        mixup(x, y, 0.5, torch.tensor([2, 0]))
    with pytest.raises(ShapeError, match="images must have shape"):
        mixup(x[0], y, 0.5, torch.tensor([1, 0]))
    with pytest.raises(ShapeError, match="labels must have shape"):
        MixUp()(x, torch.tensor([0, 1, 2]), generator=gen())
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        MixUp(alpha=-1.0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        MixUp()(x, y, generator=0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------- CutMix (§A.8)


def distinct_images(b: int, h: int, w: int) -> torch.Tensor:
    """Image i is the constant (i + 1) / (b + 1): pasted pixels are recognisable."""
    return ((torch.arange(b, dtype=torch.float32) + 1) / (b + 1)).view(b, 1, 1, 1).expand(b, 3, h, w).clone()


def test_cutmix_functional_box_straddling_border():
    x, y = distinct_images(2, 8, 8), torch.tensor([0, 1])
    out, t = cutmix(x, y, torch.tensor([[-2, 6, 3, 12], [2, 2, 4, 5]]), torch.tensor([1, 0]))
    assert t.lam.tolist() == [1 - 3 * 2 / 64, 1 - 2 * 3 / 64]
    changed = (out != x).any(dim=1).flatten(1).sum(1)
    assert changed.tolist() == [6, 6]
    assert torch.equal(out[0, :, :3, 6:], x[1, :, :3, 6:])
    shared, t2 = cutmix(x, y, torch.tensor([0, 0, 4, 4]), torch.tensor([1, 0]))  # one box for the batch
    assert t2.lam.tolist() == [0.75, 0.75]


@pytest.mark.parametrize("seed", range(6))
def test_cutmix_lam_is_unpasted_area_fraction(seed):
    b, h, w = 8, 12, 10
    x, y = distinct_images(b, h, w), torch.arange(b)
    before = x.clone()
    out, t = CutMix(alpha=1.0, prob=1.0)(x, y, generator=gen(seed))
    assert torch.equal(x, before)
    assert bool(((t.lam >= 0) & (t.lam <= 1)).all())
    moved = t.labels_b != t.labels_a  # rows whose partner is another image
    pasted = (out != x).any(dim=1).flatten(1).sum(1).double() / (h * w)
    assert torch.equal(t.lam[moved], (1.0 - pasted[moved]).float())
    params = CutMix(alpha=1.0, prob=1.0).sample(b, (h, w), generator=gen(seed))
    area = ((params.boxes[:, 2] - params.boxes[:, 0]) * (params.boxes[:, 3] - params.boxes[:, 1])).double()
    assert torch.equal(t.lam.double(), (1.0 - area / (h * w)).float().double())


def test_cutmix_prob_and_determinism(device):
    x = make_images(6, 3, 16, 16, seed=3, device=device)
    y = torch.arange(6, device=device)
    a, ta = CutMix(prob=1.0)(x, y, generator=gen(7))
    b, tb = CutMix(prob=1.0)(x, y, generator=gen(7))
    assert torch.equal(a, b) and torch.equal(ta.lam, tb.lam) and a.device == x.device
    c, _ = CutMix(prob=1.0)(x, y, generator=gen(8))
    assert not torch.equal(a, c)
    none, tn = CutMix(prob=0.0)(x, y, generator=gen(7))
    assert torch.equal(none, x) and bool((tn.lam == 1).all()) and torch.equal(tn.labels_b, y)
    mixed = [bool((CutMix(prob=0.5).sample(4, 16, generator=gen(s)).boxes != 0).any()) for s in range(400)]
    assert 0.4 < sum(mixed) / len(mixed) < 0.6


def test_cutmix_errors():
    x, y = torch.rand(2, 3, 4, 4), torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"prob must be in \[0.0, 1.0\]"):
        CutMix(prob=1.5)
    with pytest.raises(ShapeError, match="boxes must have shape"):
        cutmix(x, y, torch.zeros(3, 4, dtype=torch.long), torch.tensor([1, 0]))
    with pytest.raises(DTypeError, match="boxes must be an integer tensor"):
        cutmix(x, y, torch.zeros(2, 4), torch.tensor([1, 0]))
    with pytest.raises(DTypeError, match="images must be a floating-point"):
        CutMix()(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), y, generator=gen())


# --------------------------------------------------------------------------------------------------- Cutout (§A.8)


def test_cutout_functional_exact_square_and_border_clipping():
    x = torch.ones(3, 3, 32, 32)
    centers = torch.tensor([[16, 16], [0, 0], [31, 20]])  # rows [cy - 8, cy + 8), clipped to [0, 32)
    out = cutout(x, centers, 16)
    zeros = (out == 0).all(dim=1).flatten(1).sum(1)
    assert zeros.tolist() == [16 * 16, 8 * 8, 9 * 16]
    assert bool((out[0, :, 8:24, 8:24] == 0).all()) and bool((out[0, :, 7, :] == 1).all())
    assert bool((x == 1).all())  # input untouched
    odd = cutout(torch.ones(1, 1, 9, 9), torch.tensor([[4, 4]]), 3)
    assert (odd == 0).sum() == 9 and bool((odd[0, 0, 3:6, 3:6] == 0).all())


def test_cutout_module(device):
    x = torch.ones(16, 3, 20, 24, device=device)
    aug = Cutout(size=16, n_holes=1)
    out = aug(x, generator=gen(0))
    assert out.shape == x.shape and out.device == x.device and bool((x == 1).all())
    centers = aug.sample(16, (20, 24), generator=gen(0))
    y0 = (centers[:, 0, 0] - 8).clamp(0, 20)
    y1 = (centers[:, 0, 0] + 8).clamp(0, 20)
    x0 = (centers[:, 0, 1] - 8).clamp(0, 24)
    x1 = (centers[:, 0, 1] + 8).clamp(0, 24)
    zeros = (out == 0).all(dim=1).flatten(1).sum(1).cpu()
    assert zeros.tolist() == ((y1 - y0) * (x1 - x0)).tolist()
    assert bool(((out == 0) | (out == 1)).all())
    assert torch.equal(out, aug(x, generator=gen(0)))
    assert not torch.equal(out, aug(x, generator=gen(1)))
    two = Cutout(size=4, n_holes=2).sample(5, 20, generator=gen(0))
    assert two.shape == (5, 2, 2)


def test_cutout_errors():
    with pytest.raises(ValueError, match=r"size must be in \[0, 2\^63 - 1\]"):
        Cutout(size=-1)
    with pytest.raises(TypeError, match="n_holes must be an int"):
        Cutout(n_holes=1.5)  # type: ignore[arg-type]
    with pytest.raises(ShapeError, match="centers must have shape"):
        cutout(torch.rand(2, 3, 4, 4), torch.zeros(3, 2, dtype=torch.long), 2)


# ---------------------------------------------------------------------------------------------------- AugMix (§B)


def naive_augmix(x: torch.Tensor, params: AugMixParams, extra: dict | None = None) -> torch.Tensor:
    """Per-image, per-chain loop over the recorded choices: the obvious form of the batched apply."""
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        mix = torch.zeros_like(x[i])
        for m in range(params.width):
            img = x[i : i + 1]
            for s in range(params.op_ids.shape[2]):
                k = int(params.op_ids[i, m, s])
                if k < 0:
                    continue
                name = params.op_names[k]
                if extra and name in extra:
                    img = extra[name](img, torch.tensor([i]))
                elif transform.OPS[name].param_kind == "none":
                    img = transform.OPS[name].fn(img)
                else:
                    img = transform.OPS[name].fn(img, params.values[i, m, s : s + 1])
            mix += params.weights[i, m] * img[0]
        out[i] = params.w0[i] * mix + (1 - params.w0[i]) * x[i]
    return out.clamp(0, 1)


def test_op_tables_match_transform():
    assert len(BASE_OPS) == 9 and len(ALL_OPS) == 13 and set(OVERLAP_OPS) <= set(ALL_OPS)
    assert set(ALL_OPS) == set(transform.OPS)
    for name in ALL_OPS:
        assert transform.OPS[name].overlaps_imagenet_c == (name in OVERLAP_OPS)
    assert AugMix().ops == BASE_OPS
    assert AugMix(all_ops=True).ops == ALL_OPS


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_augmix_output_shape_range_dtype(dtype, device):
    x = make_images(6, 3, 16, 16, seed=4, device=device, dtype=dtype)
    before = x.clone()
    out = AugMix()(x, generator=gen(0))
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert bool(((out >= 0) & (out <= 1)).all()) and torch.isfinite(out).all()
    assert torch.equal(x, before)
    assert not torch.equal(out, x)


def test_augmix_determinism_and_replay():
    x = make_images(8, 3, 16, 16, seed=5)
    aug = AugMix()
    a = aug(x, generator=gen(3))
    assert torch.equal(a, aug(x, generator=gen(3)))
    assert not torch.equal(a, aug(x, generator=gen(4)))
    params = aug.sample(8, (16, 16), generator=gen(3))
    assert torch.equal(aug.apply(x, params), a)
    assert torch.equal(augmix_apply(x, params), a)
    assert torch.equal(aug.apply(x, params), aug.apply(x, params))


def test_augmix_batched_apply_matches_per_image_loop():
    x = make_images(10, 3, 12, 14, seed=6)
    aug = AugMix(all_ops=True)
    params = aug.sample(10, (12, 14), generator=gen(11))
    torch.testing.assert_close(aug.apply(x, params), naive_augmix(x, params), rtol=1e-6, atol=1e-6)


def test_augmix_params_structure():
    aug = AugMix(severity=3, width=3)
    p = aug.sample(4000, 32, generator=gen(0))
    assert p.op_ids.shape == (4000, 3, 3) and p.values.shape == (4000, 3, 3)
    assert p.weights.shape == (4000, 3) and p.w0.shape == (4000,)
    assert p.op_ids.dtype == torch.int64 and p.values.dtype == torch.float32
    torch.testing.assert_close(p.weights.sum(1), torch.ones(4000))
    assert bool(((p.w0 >= 0) & (p.w0 <= 1)).all())
    used = p.op_ids >= 0
    depth = used.sum(2)
    # prefix structure: used steps come first; depth uniform in {1, 2, 3}
    assert torch.equal(used, torch.arange(3).view(1, 1, 3) < depth.unsqueeze(-1))
    for d in (1, 2, 3):
        assert float((depth == d).double().mean()) == pytest.approx(1 / 3, abs=0.02)
    assert int(p.op_ids.max()) < 9  # the overlap ops are never drawn by default
    assert bool((p.values[~used] == 0).all())
    counts = torch.bincount(p.op_ids[used], minlength=9).double()
    assert float((counts / counts.sum() - 1 / 9).abs().max()) < 0.01
    fixed = AugMix(depth=2).sample(50, 32, generator=gen(0))
    assert fixed.op_ids.shape == (50, 3, 2) and bool((fixed.op_ids >= 0).all())
    assert AugMix(depth=5, width=2).sample(3, 32, generator=gen(0)).op_ids.shape == (3, 2, 5)


def op_values(p: AugMixParams, name: str) -> torch.Tensor:
    return p.values[p.op_ids == p.op_names.index(name)].double()


@pytest.mark.parametrize(
    ("severity", "size", "posterize", "rotate", "solarize", "shear", "translate"),
    [(3, 32, (3, 4), 8, (180, 254), 0.09, 3), (1, 224, (4, 4), 2, (231, 254), 0.03, 7)],
)
def test_augmix_parameter_ranges(severity, size, posterize, rotate, solarize, shear, translate):
    """§E check 27: the §B ranges at n = 3 / 32 px and n = 1 / 224 px."""
    p = AugMix(severity=severity, depth=3).sample(6000, size, generator=gen(1))
    post = op_values(p, "posterize")
    assert set(post.tolist()) == set(range(posterize[0], posterize[1] + 1))
    rot = op_values(p, "rotate")
    assert bool((rot == rot.round()).all()) and int(rot.min()) == -rotate and int(rot.max()) == rotate
    t = (op_values(p, "solarize") * 255).round()
    assert int(t.min()) >= solarize[0] and int(t.max()) <= solarize[1]
    assert int(t.max()) == solarize[1]
    for name in ("shear_x", "shear_y"):
        s = op_values(p, name)
        assert float(s.abs().max()) < shear and float(s.abs().min()) >= 0.003 - 1e-7
        assert float((s < 0).double().mean()) == pytest.approx(0.5, abs=0.05)
    for name in ("translate_x", "translate_y"):
        v = op_values(p, name)
        assert bool((v == v.round()).all()) and int(v.min()) == -translate and int(v.max()) == translate
    assert bool((op_values(p, "autocontrast") == 0).all())


def test_augmix_overlap_op_factors():
    p = AugMix(severity=3, all_ops=True).sample(4000, 32, generator=gen(2))
    for name in OVERLAP_OPS:
        f = op_values(p, name)
        assert float(f.min()) >= 0.118 - 1e-6 and float(f.max()) < 0.64


def test_augmix_images_get_different_chains():
    p = AugMix().sample(32, 32, generator=gen(0))
    rows = {tuple(r.flatten().tolist()) for r in p.op_ids}
    assert len(rows) > 28
    assert torch.unique(p.w0).numel() == 32
    x = make_images(1, 3, 16, 16, seed=7).expand(8, 3, 16, 16)
    out = AugMix()(x, generator=gen(1))
    assert all(not torch.equal(out[0], out[i]) for i in range(1, 8))


def test_augmix_single_op_forced_weights_equals_the_op():
    x = make_images(5, 3, 16, 16, seed=8)
    aug = AugMix(ops=["solarize"], depth=1, width=2)
    p = aug.sample(5, 16, generator=gen(0))
    assert bool((p.op_ids == 0).all())
    forced = AugMixParams(p.op_ids, p.values, torch.tensor([[1.0, 0.0]] * 5), torch.ones(5), p.op_names)
    expected = transform.solarize(x, p.values[:, 0, 0])
    assert torch.equal(aug.apply(x, forced), expected)
    thresholds = (p.values[:, :, 0] * 255).round()
    assert bool(((thresholds >= 180) & (thresholds <= 254)).all())


def test_augmix_identity_chains_and_mixing_formula():
    x = make_images(4, 3, 8, 8, seed=9)
    aug = AugMix()
    p = aug.sample(4, 8, generator=gen(0))
    identity = AugMixParams(torch.full_like(p.op_ids, -1), p.values, p.weights, p.w0, p.op_names)
    torch.testing.assert_close(aug.apply(x, identity), x, rtol=0, atol=1e-6)
    no_mix = AugMixParams(p.op_ids, p.values, p.weights, torch.zeros(4), p.op_names)
    assert torch.equal(aug.apply(x, no_mix), x)


def test_augmix_one_channel_empty_and_noncontiguous():
    aug = AugMix()
    grey = make_images(3, 1, 10, 10, seed=10)
    assert aug(grey, generator=gen(0)).shape == (3, 1, 10, 10)
    assert aug(torch.rand(0, 3, 8, 8), generator=gen(0)).shape == (0, 3, 8, 8)
    base = make_images(4, 3, 16, 16, seed=11)
    strided = base[:, :, ::2, ::2]
    assert not strided.is_contiguous()
    torch.testing.assert_close(aug(strided, generator=gen(2)), aug(strided.contiguous(), generator=gen(2)))
    chl = base.to(memory_format=torch.channels_last)
    torch.testing.assert_close(aug(chl, generator=gen(3)), aug(base, generator=gen(3)))


def test_augmix_extra_ops_hook():
    calls: list[torch.Tensor] = []

    def invert(images: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        calls.append(indices.clone())
        return 1.0 - images

    x = make_images(6, 3, 8, 8, seed=12)
    aug = AugMix(extra_ops={"invert": invert}, p_extra=1.0)
    assert aug.op_names == BASE_OPS + ("invert",)
    p = aug.sample(6, 8, generator=gen(0))
    assert bool((p.op_ids[:, :, 0] == 9).all())  # always first ...
    assert bool((p.op_ids[:, :, 1:] < 9).all())  # ... and only first
    out = aug.apply(x, p)
    assert len(calls) == 1 and torch.equal(calls[0], torch.arange(6).repeat_interleave(3))
    torch.testing.assert_close(out, naive_augmix(x, p, {"invert": lambda im, idx: 1.0 - im}), rtol=1e-6, atol=1e-6)
    assert torch.equal(augmix_apply(x, p, extra_ops={"invert": invert}), out)
    with pytest.raises(ValueError, match="op 'invert' is neither in pyrepair.transform.OPS nor in extra_ops"):
        augmix_apply(x, p)

    half = AugMix(extra_ops={"invert": invert}, p_extra=0.5).sample(4000, 8, generator=gen(1))
    first = half.op_ids[:, :, 0] == 9
    assert float(first.double().mean()) == pytest.approx(0.5, abs=0.02)
    assert bool((half.op_ids[:, :, 1:] != 9).all())
    # p_extra = 0 draws exactly what AugMix without extras draws
    none = AugMix(extra_ops={"invert": invert}).sample(16, 8, generator=gen(2))
    torch.testing.assert_close(none.op_ids, AugMix().sample(16, 8, generator=gen(2)).op_ids)


def test_augmix_extra_op_errors():
    with pytest.raises(ValueError, match="p_extra=0.5 > 0 needs at least one op in extra_ops"):
        AugMix(p_extra=0.5)
    with pytest.raises(ValueError, match="clashes with an AugMix op"):
        AugMix(extra_ops={"rotate": lambda im, idx: im})
    with pytest.raises(TypeError, match=r"extra_ops\['bad'\] must be callable"):
        AugMix(extra_ops={"bad": 3})  # type: ignore[dict-item]
    bad = AugMix(extra_ops={"crop": lambda im, idx: im[:, :, :4]}, p_extra=1.0)
    with pytest.raises(ShapeError, match="extra op 'crop' must return a tensor of its input's shape"):
        bad(torch.rand(2, 3, 8, 8), generator=gen())


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"severity": 0}, ValueError, r"severity must be in \[1, 10\], got 0"),
        ({"severity": 11}, ValueError, r"severity must be in \[1, 10\], got 11"),
        ({"severity": 2.5}, TypeError, "severity must be an int"),
        ({"width": 0}, ValueError, r"width must be in \[1, 2\^63 - 1\], got 0"),
        ({"depth": 0}, ValueError, "depth must be -1"),
        ({"depth": -2}, ValueError, "depth must be in"),
        ({"alpha": 0.0}, ValueError, "alpha must be > 0"),
        ({"backend": "gpu"}, UnknownNameError, "unknown backend 'gpu'"),
        ({"ops": []}, ValueError, "ops must name at least one op"),
        ({"ops": "rotate"}, TypeError, "ops must be a sequence"),
        ({"ops": ["rotate", "rotate"]}, ValueError, "must not repeat"),
        ({"ops": ["rotate"], "all_ops": True}, ValueError, "either ops"),
    ],
)
def test_augmix_hyperparameter_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        AugMix(**kwargs)


def test_augmix_unknown_op_lists_valid_names():
    with pytest.raises(UnknownNameError, match="unknown op 'blur'; valid: autocontrast, brightness") as info:
        AugMix(ops=["rotate", "blur"])
    assert info.value.valid == tuple(sorted(ALL_OPS))
    assert "translate_y" in str(info.value)


def test_augmix_input_errors():
    aug = AugMix()
    with pytest.raises(ShapeError, match="images must have shape"):
        aug(torch.rand(3, 8, 8), generator=gen())
    with pytest.raises(DTypeError, match="images must be a floating-point"):
        aug(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), generator=gen())
    p = aug.sample(4, 8, generator=gen())
    with pytest.raises(ShapeError, match="params.op_ids must have shape"):
        aug.apply(torch.rand(3, 3, 8, 8), p)
    with pytest.raises(ValueError, match="params were sampled for ops"):
        AugMix(ops=["rotate"]).apply(torch.rand(4, 3, 8, 8), p)
    with pytest.raises(DTypeError, match="params must be an AugMixParams"):
        aug.apply(torch.rand(4, 3, 8, 8), {"op_ids": p.op_ids})  # type: ignore[arg-type]
    broken = AugMixParams(p.op_ids + 20, p.values, p.weights, p.w0, p.op_names)
    with pytest.raises(ValueError, match=r"params.op_ids must lie in \[-1, 9\)"):
        aug.apply(torch.rand(4, 3, 8, 8), broken)
    with pytest.raises(ValueError, match=r"image_size must be in \[1, 2\^63 - 1\]"):
        aug.sample(4, 0, generator=gen())


def test_augmix_views_and_global_rng_untouched():
    x = make_images(4, 3, 8, 8, seed=13)
    state = torch.random.get_rng_state()
    clean, a1, a2 = augmix_views(x, AugMix(), generator=gen(0))
    assert clean is x and not torch.equal(a1, a2)
    c2, b1, b2 = augmix_views(x, AugMix(), generator=gen(0))
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    AugMix()(x)  # generator=None: fresh OS-seeded generator, global RNG left alone
    MixUp()(x, torch.arange(4))
    assert torch.equal(state, torch.random.get_rng_state())
    with pytest.raises(TypeError, match="augmix must be an AugMix"):
        augmix_views(x, MixUp(), generator=gen())  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------------ integration


def test_three_training_steps_with_augmix_and_jsd():
    """The "three lines in your own training loop" usage on a tiny CNN."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
        nn.Linear(8 * 16, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    g = gen(0)
    data = torch.rand(3, 16, 3, 16, 16, generator=gen(1))
    labels = torch.randint(0, 10, (3, 16), generator=gen(2))
    aug = AugMix()
    losses = []
    for x, y in zip(data, labels, strict=True):
        clean, a1, a2 = augmix_views(x, aug, generator=g)
        logits = model(torch.cat([clean, a1, a2])).chunk(3)
        loss = augmix_loss(*logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert all(math.isfinite(v) for v in losses)
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("name", ["pyrepair.augment", "pyrepair.augment.augmix", "pyrepair.augment.mixing",
                                  "pyrepair.augment.losses"])
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
    assert result.attempted > 0
