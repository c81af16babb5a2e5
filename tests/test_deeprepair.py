"""DeepRepair: Eq. 4 probabilities, failure clustering, StyleAugMix (Algorithm 1's augmentation) and the method.

Spec: ``shared/spec/deeprepair.md`` §A.4-§A.7 and acceptance checks 30-32, 38; issue 14's acceptance list.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import pyrepair.wavelet
from pyrepair import data, methods, scenarios, train
from pyrepair.augment import (
    AugMix,
    StyleAugMix,
    StyleBank,
    augmix_loss,
    cluster_failures,
    cluster_probabilities,
)
from pyrepair.errors import ArgumentError, PyrepairError, ShapeError, UnknownNameError
from pyrepair.methods import DeepRepair, RepairResult

# ------------------------------------------------------------------------------------------------ Eq. 4


def _random_clusters(n: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    clusters = torch.cat([torch.arange(k), torch.randint(0, k, (n - k,), generator=g)])
    return torch.rand(n, generator=g, dtype=torch.float64) * 5, clusters


def test_eq4_balanced_sums_to_one_and_each_cluster_has_mass_one_over_n() -> None:
    d, c = _random_clusters(1000, 5, 0)
    p = cluster_probabilities(d, c, 5)
    assert p.dtype == torch.float64 and bool((p >= 0).all())
    assert abs(float(p.sum()) - 1.0) < 1e-12
    for k in range(5):
        assert abs(float(p[c == k].sum()) - 0.2) < 1e-12


def test_eq4_favours_points_near_the_centre() -> None:
    d, c = _random_clusters(300, 4, 1)
    p = cluster_probabilities(d, c)
    for k in range(4):
        sel = (c == k).nonzero().squeeze(1)
        order = torch.argsort(d[sel])
        probs = p[sel][order]
        assert bool((probs[:-1] >= probs[1:]).all()), "a nearer failure must never be less likely"
        assert float(probs[0]) > float(probs[-1])


def test_eq4_global_and_printed_normalisations() -> None:
    d, c = _random_clusters(1000, 5, 2)
    assert abs(float(cluster_probabilities(d, c, normalization="global").sum()) - 1.0) < 1e-12
    # the formula as printed sums to (n - N) / N = 199 for n = 1000, N = 5 (spec §A.5)
    assert abs(float(cluster_probabilities(d, c, normalization="printed").sum()) - 199.0) < 1e-9


def test_eq4_degenerate_clusters() -> None:
    # cluster 0 has one member (whole cluster mass), cluster 1 has every member on the centre (uniform inside)
    p = cluster_probabilities([3.0, 0.0, 0.0, 0.0], [0, 1, 1, 1])
    assert p.tolist() == pytest.approx([0.5, 1 / 6, 1 / 6, 1 / 6], abs=1e-12)


def test_eq4_bad_input_is_named() -> None:
    with pytest.raises(ArgumentError, match=r"cluster_probabilities: distances must be finite and >= 0"):
        cluster_probabilities([-1.0, 2.0], [0, 1])
    with pytest.raises(ShapeError, match=r"cluster_probabilities: distances and clusters must have the same length"):
        cluster_probabilities([1.0, 2.0], [0])
    with pytest.raises(UnknownNameError, match="normalization"):
        cluster_probabilities([1.0], [0], normalization="softmax")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ clustering


def _blobs(n_per: int = 40, k: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(k, 3, 16, 16, generator=g) * 0.6 + 0.2
    truth = torch.arange(k).repeat_interleave(n_per)
    x = centres[truth] + 0.02 * torch.randn(k * n_per, 3, 16, 16, generator=g)
    return x.clamp(0, 1), truth


def test_cluster_failures_recovers_separated_blobs_deterministically() -> None:
    from sklearn.metrics import adjusted_rand_score

    x, truth = _blobs()
    bank = cluster_failures(x, 5, seed=3)
    assert adjusted_rand_score(truth.numpy(), bank.clusters.numpy()) == 1.0
    assert sorted(bank.sizes) == [40] * 5 and min(bank.sizes) > 0
    again = cluster_failures(x, 5, seed=3)
    assert torch.equal(bank.clusters, again.clusters) and torch.equal(bank.probs, again.probs)
    assert abs(float(bank.probs.sum()) - 1.0) < 1e-12
    # members come nearest-first and the summary is JSON-able
    m = bank.members(0)
    assert bool((bank.distances[m][:-1] <= bank.distances[m][1:]).all())
    import json

    s = json.loads(json.dumps(bank.summary(3)))
    assert s["sizes"] == bank.sizes and all(len(v) == 3 for v in s["members"])


def test_cluster_failures_per_class_and_uniform() -> None:
    x, truth = _blobs(n_per=12, k=3)
    labels = torch.arange(36) % 2
    bank = cluster_failures(x, 2, labels=labels, per_class=True, seed=0)
    assert bank.n_clusters == 4  # two per class
    for k in range(4):  # a cluster never mixes classes
        assert len(torch.unique(labels[bank.clusters == k])) == 1
    uni = cluster_failures(x, 5, sampling="uniform")
    assert uni.n_clusters == 1 and torch.allclose(uni.probs, torch.full((36,), 1 / 36, dtype=torch.float64))


def test_cluster_failures_errors() -> None:
    with pytest.raises(ArgumentError,
                       match=r"cluster_failures: n_clusters=5 is larger than the number of failures \(3\)"):
        cluster_failures(torch.rand(3, 1, 8, 8), 5)
    with pytest.raises(ArgumentError, match=r"cluster_failures: failures must hold at least one image"):
        cluster_failures(torch.rand(0, 1, 8, 8), 1)
    with pytest.raises(ArgumentError, match="per_class=True .* needs labels"):
        cluster_failures(torch.rand(6, 1, 8, 8), 2, per_class=True)
    with pytest.raises(ShapeError, match="labels must have one entry per failure"):
        cluster_failures(torch.rand(6, 1, 8, 8), 2, labels=[0, 1])
    with pytest.raises(PyrepairError, match="failures"):
        cluster_failures(torch.full((6, 1, 8, 8), 2.0), 2)


# ------------------------------------------------------------------------------------------------ StyleAugMix


@pytest.mark.parametrize("mode", ["spectral", "pixel"])
def test_style_augmix_output_range_shape_and_determinism(mode: str) -> None:
    x, _ = _blobs(n_per=8)
    aug = StyleAugMix(x, 3, mode=mode, p_style=0.8, seed=0)
    content = torch.rand(12, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    before = content.clone()
    out = aug(content, generator=torch.Generator().manual_seed(1))
    assert out.shape == content.shape and out.dtype == content.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert torch.equal(content, before), "the input must not be modified"
    again = aug(content, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out, again)
    other = aug(content, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(out, other)
    params = aug.sample(12, 16, generator=torch.Generator().manual_seed(1))
    assert torch.equal(aug.apply(content, params), out)


def test_style_augmix_with_p_style_zero_is_augmix() -> None:
    x, _ = _blobs(n_per=4)
    content = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    style = StyleAugMix(x, 2, p_style=0.0)
    plain = AugMix()
    assert torch.equal(style(content, generator=torch.Generator().manual_seed(9)),
                       plain(content, generator=torch.Generator().manual_seed(9)))


def test_style_ops_only_first_and_at_rate_p_style() -> None:
    x, _ = _blobs(n_per=4)
    aug = StyleAugMix(x, 5, p_style=5 / 14)
    params = aug.sample(20000, 16, generator=torch.Generator().manual_seed(0)).augmix
    n_base = len(aug.augmix.ops)
    styled = params.op_ids >= n_base
    assert not bool(styled[:, :, 1:].any()), "a style op may only be the first op of a chain"
    rate = float(styled[:, :, 0].float().mean())
    assert abs(rate - 5 / 14) < 0.01
    # clusters are drawn uniformly (each has Eq. 4 mass 1/N)
    counts = torch.bincount(params.op_ids[:, :, 0][styled[:, :, 0]] - n_base, minlength=5).float()
    assert float((counts / counts.sum() - 0.2).abs().max()) < 0.02


def test_single_failure_image_is_every_style_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    seen: list[torch.Tensor] = []
    real = pyrepair.wavelet.style_transfer

    def spy(content: torch.Tensor, style: torch.Tensor, **kw: object) -> torch.Tensor:
        seen.append(style.clone())
        return real(content, style, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pyrepair.wavelet, "style_transfer", spy)
    for sampling in ("cluster", "uniform"):
        aug = StyleAugMix(ref, 1, sampling=sampling, p_style=1.0)  # type: ignore[arg-type]
        aug(torch.rand(10, 3, 16, 16), generator=torch.Generator().manual_seed(0))
    assert seen, "the style op never ran"
    assert all(s.shape == ref.shape and torch.equal(s, ref) for s in seen)


def test_one_style_transfer_call_per_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    x, _ = _blobs(n_per=6)
    calls: list[int] = []
    real = pyrepair.wavelet.style_transfer

    def spy(content: torch.Tensor, style: torch.Tensor, **kw: object) -> torch.Tensor:
        calls.append(int(content.shape[0]))
        return real(content, style, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pyrepair.wavelet, "style_transfer", spy)
    aug = StyleAugMix(x, 4, p_style=1.0, width=3)
    aug(torch.rand(32, 3, 16, 16), generator=torch.Generator().manual_seed(0))
    assert len(calls) <= 4 and sum(calls) == 32 * 3  # every chain styled, grouped by cluster


def test_style_augmix_in_a_plain_training_loop() -> None:
    x, _ = _blobs(n_per=4)
    aug = StyleAugMix(x, 2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(0)
    imgs, y = torch.rand(8, 3, 16, 16), torch.arange(8) % 4
    for _ in range(2):
        clean, a1, a2 = aug.views(imgs, generator=g)
        loss = augmix_loss(*model(torch.cat([clean, a1, a2])).chunk(3), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert math.isfinite(float(loss.detach()))


def test_style_augmix_errors() -> None:
    x, _ = _blobs(n_per=4)
    aug = StyleAugMix(x, 2, mode="spectral")
    with pytest.raises(ShapeError, match=r"StyleAugMix: images must have the references' C=3 channels"):
        aug(torch.rand(2, 1, 16, 16))
    with pytest.raises(ShapeError, match=r"mode='spectral' needs images of the references' size 16x16"):
        aug(torch.rand(2, 3, 8, 8))
    with pytest.raises(ArgumentError, match=r"mode='wct2' needs a WCT2 network"):
        StyleAugMix(x, 2, mode="wct2")
    with pytest.raises(UnknownNameError, match="mode"):
        StyleAugMix(x, 2, mode="cartoon")  # type: ignore[arg-type]
    bank = cluster_failures(x, 2)
    with pytest.raises(ArgumentError, match="failures is a StyleBank.*n_clusters"):
        StyleAugMix(bank, 3)
    assert isinstance(StyleAugMix(bank).bank, StyleBank)
    # pixel mode accepts another image size (band statistics only)
    out = StyleAugMix(x, 2, mode="pixel", p_style=1.0)(torch.rand(2, 3, 32, 32), generator=torch.Generator())
    assert out.shape == (2, 3, 32, 32)


# ------------------------------------------------------------------------------------------------ the method


def _toy(n: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.rand(n, 1, 8, 8, generator=g) * 0.3
    x[y == 1, :, :4] += 0.6
    return x.clamp(0, 1), y


class _Counter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
        self.batches: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(int(x.shape[0]))
        return self.net(x)


def test_deeprepair_runs_records_clusters_and_leaves_the_model_alone(tmp_path: Path) -> None:
    x, y = _toy()
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2)).train()
    state = copy.deepcopy(model.state_dict())
    result = DeepRepair(n_clusters=3, epochs=2, batch_size=32).repair(model, (x, y), (x[:30], y[:30]), val=(x, y),
                                                                       progress=False, seed=1)
    assert model.training and all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert result.model is not model and result.method == "deeprepair"
    clusters = result.info["clusters"]
    assert clusters["n_clusters"] == 3 and sum(clusters["sizes"]) == 30
    assert all(0 < len(m) <= 4 for m in clusters["members"])
    assert result.config["style"] == "pixel" and result.config["n_clusters"] == 3
    result.save(tmp_path / "r")
    loaded = RepairResult.load(tmp_path / "r", nn.Sequential(nn.Flatten(), nn.Linear(64, 2)))
    assert loaded.info == {"clusters": clusters}
    # same seed, same weights
    again = DeepRepair(n_clusters=3, epochs=2, batch_size=32).repair(model, (x, y), (x[:30], y[:30]), progress=False,
                                                                      seed=1)
    assert all(torch.equal(a, b) for a, b in zip(result.model.state_dict().values(),
                                                 again.model.state_dict().values(), strict=True))


def test_deeprepair_one_forward_of_three_b_per_step() -> None:
    x, y = _toy(64)
    model = _Counter()
    DeepRepair(n_clusters=2, epochs=1, batch_size=16).repair(model, (x, y), (x[:8], y[:8]), progress=False,
                                                              inplace=True)
    # repair() forwards a 1-image probe and evaluations (no grad); training steps see 3 * 16
    assert model.batches.count(48) == (64 + 8) // 16


def test_deeprepair_registry_and_config() -> None:
    assert "deeprepair" in methods.names()
    m = methods.create("deeprepair", n_clusters=2, style="spectral", sampling="uniform", epochs=1)
    assert isinstance(m, DeepRepair) and m.config["sampling"] == "uniform" and m.config["style"] == "spectral"
    assert DeepRepair().config["style"] == "pixel"  # the default, chosen by the repro ablation


def test_deeprepair_bad_input_gets_clear_errors() -> None:
    x, y = _toy(32)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    fn = "pyrepair.methods.DeepRepair.repair"
    with pytest.raises(PyrepairError, match=rf"{fn}: failures .*(empty|at least one)"):
        DeepRepair(n_clusters=1, epochs=1).repair(model, (x, y), (x[:0], y[:0]), progress=False)
    with pytest.raises(ShapeError, match=rf"{fn}: failures images must have the \[C, H, W\] of train, \[1, 8, 8\], "
                                         r"got \[1, 10, 10\]"):
        DeepRepair(n_clusters=1, epochs=1).repair(model, (x, y), (torch.rand(4, 1, 10, 10), y[:4]), progress=False)
    with pytest.raises(ShapeError, match=rf"{fn}: failures images must have the \[C, H, W\] of train, \[1, 8, 8\], "
                                         r"got \[3, 8, 8\]"):
        DeepRepair(n_clusters=1, epochs=1).repair(model, (x, y), (torch.rand(4, 3, 8, 8), y[:4]), progress=False)
    with pytest.raises(ArgumentError, match=rf"{fn}: n_clusters=5 is larger than the number of failures \(4\)"):
        DeepRepair(epochs=1).repair(model, (x, y), (x[:4], y[:4]), progress=False)
    with pytest.raises(ArgumentError, match=rf"{fn}: DeepRepair needs failures"):
        DeepRepair(epochs=1, include_failures=False).repair(model, (x, y), progress=False)
    with pytest.raises(UnknownNameError, match=r"DeepRepair: .*style.*'cartoon'"):
        DeepRepair(style="cartoon")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"DeepRepair: style='wct2' needs wct2_model="):
        DeepRepair(style="wct2")
    with pytest.raises(PyrepairError, match=r"DeepRepair: n_clusters"):
        DeepRepair(n_clusters=0)


# ------------------------------------------------------------------------------------------------ MNIST end to end


def test_deeprepair_repairs_mnist_failures_without_losing_clean_accuracy(shared_data: Path) -> None:
    """A tiny run of the paper's protocol (MNIST at 14 px to keep CI fast): held-out failure accuracy rises above the
    original model's 0 %, clean accuracy drops by at most 1 point."""
    tr = data.load("mnist", "train", shared_data, limit=2000, size=14)
    te = data.load("mnist", "test", shared_data, limit=1000, size=14)
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(16 * 49, 10))
    train.fit(model, (tr.images, tr.labels), epochs=3, seed=0, progress=False)
    split = scenarios.corruption_failures(model, te.images[:400], te.labels[:400], "fog", severities=(3, 4, 5),
                                          n_collect=200, seed=0)
    held_out = (split.held_out.images, split.held_out.labels)
    assert len(held_out[1]) > 50 and train.evaluate(model, held_out)["accuracy"] == 0.0
    clean_before = train.evaluate(model, (te.images, te.labels))["accuracy"]
    result = DeepRepair(epochs=2, batch_size=64).repair(
        model, (tr.images, tr.labels), (split.collected.images, split.collected.labels), progress=False, seed=0
    )
    after = train.evaluate(result.model, held_out)["accuracy"]
    clean_after = train.evaluate(result.model, (te.images, te.labels))["accuracy"]
    assert after > 0.2, f"held-out failure accuracy {after:.3f}"
    assert clean_after >= clean_before - 0.01, f"clean accuracy {clean_before:.4f} -> {clean_after:.4f}"
    assert np.isfinite(result.history.epochs[-1]["train_loss"])
