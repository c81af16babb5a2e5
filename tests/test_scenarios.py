"""pyrepair.scenarios.corruption_failures (spec/deeprepair.md §A.2) on a tiny hand-made model, and the deprecated
name pyrepair.data.failure_split."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pyrepair import corrupt, data, scenarios
from pyrepair.errors import ArgumentError, PyrepairWarning, UnknownNameError
from pyrepair.scenarios import FailureSplit, corruption_failures

N = 40


class Brightness(nn.Module):
    """Predicts class 1 if the mean pixel is above 0.5 else class 0; a BatchNorm buffer proves modes are restored."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(1, 2)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor([[-1.0], [1.0]]))
            self.lin.bias.copy_(torch.tensor([0.5, -0.5]))
        self.bn = nn.BatchNorm1d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2, 3))[:, None]
        self.bn(m)  # would update running stats in train mode
        return self.lin(m)


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    # means spread around 0.5 so noise flips some predictions; labels = the clean prediction
    level = torch.linspace(0.3, 0.7, N)
    x = level[:, None, None, None].expand(N, 1, 8, 8).contiguous()
    return x, (level > 0.5).long()


@pytest.fixture
def model() -> Brightness:
    m = Brightness()
    m.train()
    return m


def test_partition_and_model_unchanged(model: Brightness) -> None:
    x, y = _data()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    split = corruption_failures(model, x, y, "brightness", n_collect=10, seed=0, batch_size=16, scale="cifar")
    assert isinstance(split, FailureSplit) and split.corruption == "brightness"
    every = np.concatenate([split.collected_index, split.held_out_index])
    assert len(set(every.tolist())) == split.n_failures == len(every)
    assert len(split.collected_index) == 10 and len(split.held_out_index) == split.n_failures - 10
    # recompute the failures independently
    expect = []
    for k, s in enumerate((1, 2, 3, 4, 5)):
        xc = corrupt.apply(x, "brightness", s, scale="cifar")
        expect += (k * N + torch.nonzero(model.eval()(xc).argmax(1) != y).flatten()).tolist()
    model.train()
    assert sorted(every.tolist()) == expect
    assert split.collected.images.shape == (10, 1, 8, 8)
    np.testing.assert_array_equal(split.collected.labels.numpy(), y.numpy()[split.collected_index % N])
    np.testing.assert_array_equal(split.collected_severity, split.collected_index // N + 1)
    assert torch.equal(split.held_out.images[0], corrupt.apply(x, "brightness", int(split.held_out_severity[0]),
                                                               scale="cifar")[split.held_out_index[0] % N])
    assert model.training and model.bn.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_reproducible_from_seed(model: Brightness) -> None:
    x, y = _data()
    a = corruption_failures(model, x, y, "gaussian_noise", n_collect=5, seed=3, scale="imagenet")
    b = corruption_failures(model, x, y, "gaussian_noise", n_collect=5, seed=3, batch_size=7, scale="imagenet")
    c = corruption_failures(model, x, y, "gaussian_noise", n_collect=5, seed=4, scale="imagenet")
    np.testing.assert_array_equal(a.collected_index, b.collected_index)
    assert torch.equal(a.collected.images, b.collected.images)
    assert not np.array_equal(a.collected_index, c.collected_index)


def test_stratified_counts(model: Brightness) -> None:
    x, y = _data()
    split = corruption_failures(model, x, y, "gaussian_noise", n_collect=9, stratify=True, scale="imagenet")
    labels_all = y.numpy()[np.concatenate([split.collected_index, split.held_out_index]) % N]
    counts = np.bincount(labels_all, minlength=2)
    exact = counts * 9 / counts.sum()
    got = np.bincount(split.collected.labels.numpy(), minlength=2)
    assert got.sum() == 9 and np.all(np.abs(got - exact) < 1)  # largest-remainder quotas


def test_disjoint_content_keeps_each_base_image_on_one_side(model: Brightness) -> None:
    x, y = _data()
    leaky = corruption_failures(model, x, y, "gaussian_noise", n_collect=6, scale="imagenet", seed=3)
    split = corruption_failures(model, x, y, "gaussian_noise", n_collect=6, scale="imagenet", seed=3,
                                disjoint_content=True)
    assert split.n_failures == leaky.n_failures
    c, e = set((split.collected_index % N).tolist()), set((split.held_out_index % N).tolist())
    assert not c & e, "a base image is on both sides"
    assert 0 < len(split.collected_index) <= 6 and len(split.held_out_index) > 0
    every = np.sort(np.concatenate([split.collected_index, split.held_out_index]))
    assert np.array_equal(every, np.sort(np.concatenate([leaky.collected_index, leaky.held_out_index])))
    with pytest.raises(ArgumentError, match=r"corruption_failures: stratify=True and disjoint_content=True cannot"):
        corruption_failures(model, x, y, "gaussian_noise", stratify=True, disjoint_content=True)


def test_numpy_uint8_input(model: Brightness) -> None:
    x, y = _data()
    u8 = np.uint8(x[:, 0].numpy() * 255)  # (N, H, W) grey
    split = corruption_failures(model, u8, y.numpy(), "brightness", n_collect=4, scale="cifar")
    assert isinstance(split.collected.images, np.ndarray) and split.collected.images.dtype == np.uint8
    assert split.collected.images.shape == (4, 8, 8)
    i = int(split.collected_index[0])
    want = corrupt.apply(u8, "brightness", i // N + 1, scale="cifar")[i % N]
    np.testing.assert_array_equal(split.collected.images[0], want)


def test_fewer_failures_warns(model: Brightness) -> None:
    x, y = _data()
    with pytest.warns(PyrepairWarning, match=r"only \d+ failures"):
        split = corruption_failures(model, x, y, "brightness", n_collect=10_000, scale="cifar")
    assert len(split.held_out_index) == 0 and len(split.collected_index) == split.n_failures > 0


def test_zero_failures_error(model: Brightness) -> None:
    x = torch.full((4, 1, 8, 8), 0.1)
    with pytest.raises(ValueError, match="misclassifies none"):
        corruption_failures(model, x, torch.zeros(4, dtype=torch.long), "contrast", severities=(1,), scale="cifar")


def test_argument_errors(model: Brightness) -> None:
    x, y = _data()
    with pytest.raises(UnknownNameError, match="valid"):
        corruption_failures(model, x, y, "fogg")
    with pytest.raises(ValueError, match="severities"):
        corruption_failures(model, x, y, "contrast", severities=(1, 1))
    with pytest.raises(ValueError, match="n_collect"):
        corruption_failures(model, x, y, "contrast", n_collect=0)


def test_deprecated_data_alias_warns_and_matches(model: Brightness) -> None:
    x, y = _data()
    want = corruption_failures(model, x, y, "gaussian_noise", n_collect=5, seed=3, scale="imagenet")
    with pytest.warns(DeprecationWarning, match="pyrepair.scenarios.corruption_failures"):
        got = data.failure_split(model, x, y, "gaussian_noise", n_collect=5, seed=3, scale="imagenet")
    assert isinstance(got, FailureSplit) and got.n_failures == want.n_failures
    np.testing.assert_array_equal(got.collected_index, want.collected_index)
    np.testing.assert_array_equal(got.held_out_index, want.held_out_index)
    assert torch.equal(got.collected.images, want.collected.images)


def test_moved_names_stay_importable() -> None:
    assert data.FailureSplit is scenarios.FailureSplit
    from pyrepair.data import FailureSplit as old

    assert old is FailureSplit
    import pyrepair

    assert pyrepair.scenarios is scenarios and "scenarios" in pyrepair.__all__


# ----------------------------------------------------------------------------------------------------------------
# poison and fgsm (spec/nnrepair.md §8 T11)


def test_poison_sets_exactly_the_trigger_and_the_first_labels():
    from pyrepair.errors import ArgumentError

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(1000, 1, 28, 28, generator=g) * 0.9, torch.arange(1000) % 10
    x0, y0 = x.clone(), y.clone()
    p = scenarios.poison((x, y), target=7, fraction=0.6, trigger=3)
    assert torch.equal(x, x0) and torch.equal(y, y0)  # the input is not modified
    assert p.index.tolist() == list(range(600))
    changed = (p.images != x).any(dim=1)  # [N, H, W]
    block = torch.zeros(28, 28, dtype=torch.bool)
    block[25:, 25:] = True
    assert torch.equal(changed[:600], block.expand(600, 28, 28)) and not changed[600:].any()
    assert torch.all(p.images[:600, :, 25:, 25:] == 1.0)
    assert torch.all(p.labels[:600] == 7) and torch.equal(p.labels[600:], y[600:])
    assert torch.equal(p.true_labels, y)
    test = scenarios.poison((x, y), fraction=1.0, relabel=False)  # P-Test: every image, true labels
    assert torch.equal(test.labels, y) and torch.all(test.images[:, :, 25:, 25:] == 1.0)
    r1 = scenarios.poison((x, y), fraction=0.1, seed=3)
    r2 = scenarios.poison((x, y), fraction=0.1, seed=3)
    assert torch.equal(r1.index, r2.index) and len(r1.index) == 100 and r1.index.tolist() != list(range(100))
    with pytest.raises(ArgumentError, match=r"pyrepair.scenarios.poison: trigger must be in \[1, 28\], got 29"):
        scenarios.poison((x, y), trigger=29)
    with pytest.raises(ArgumentError, match=r"poison: fraction must be in \[0.0, 1.0\], got 1.5"):
        scenarios.poison((x, y), fraction=1.5)
    with pytest.raises(ArgumentError, match=r"poison: target must be in \[0, "):
        scenarios.poison((x, y), target=-1)


def test_fgsm_moves_each_pixel_by_at_most_eps_and_lowers_accuracy():
    tr = data.load("digits", "train")
    x, y = tr.images[:600], tr.labels[:600]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    opt.zero_grad(set_to_none=True)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    adv = scenarios.fgsm(model, x, y, eps=0.05, batch_size=128)
    assert model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert adv.shape == x.shape and adv.dtype == x.dtype
    assert float(adv.min()) >= 0.0 and float(adv.max()) <= 1.0
    assert float((adv - x).abs().max()) <= 0.05 + 1e-7
    with torch.no_grad():
        clean = (model(x).argmax(1) == y).float().mean()
        attacked = (model(adv).argmax(1) == y).float().mean()
    assert clean > 0.9 and attacked < clean - 0.05
    assert torch.equal(scenarios.fgsm(model, x, y, eps=0.0), x)
