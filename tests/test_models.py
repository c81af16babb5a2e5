"""Tests of pyrepair.models: names, shapes, parameter counts, configs, validation, determinism."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest
import torch
from torch import nn

from pyrepair import models
from pyrepair.errors import UnknownNameError

REQUIRED = [
    "allconvnet",
    "densenet",
    "densenet_bc",
    "lenet",
    "nnrepair_cifar",
    "nnrepair_mnist_hq",
    "nnrepair_mnist_lq",
    "resnet20",
    "wrn",
]

# Exact trainable-parameter counts at the default input size with 10 classes.
PARAMS = {
    "alexnet8": 9_638_474,  # DARE Table 1: 9.64M (CIFAR-10 / SVHN)
    "allconvnet": 1_409_674,
    "densenet": 1_059_298,  # DenseNet-40-12 of the AugMix code (2k initial channels, reduction 1.0)
    "densenet_bc": 176_122,
    "lenet": 1_663_370,
    "mlp": 8_970,
    "nnrepair_cifar": 890_410,  # NNrepair spec §5.2
    "nnrepair_mnist_hq": 42_358,  # NNrepair spec §5.2
    "nnrepair_mnist_lq": 75_242,  # NNrepair spec §5.2
    "resnet20": 269_722,  # He et al. 2016: 0.27M (option A)
    "resnet32": 464_154,  # He et al. 2016: 0.46M
    "vgg16_bn": 33_642_442,  # DARE Table 1: 33.6M
    "vgg16_fm": 26_557_642,  # DARE spec: 7,634,112 + 18,923,530
    "vgg19_bn": 38_953_418,  # DARE Table 1: 39.0M
    "vgg19_fm": 29_507_530,  # DARE spec: 29.5M
    "wrn": 2_243_546,  # WRN-40-2: 2.2M
}

NNREPAIR = ["nnrepair_mnist_lq", "nnrepair_mnist_hq", "nnrepair_cifar"]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def linear_shapes(model: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]


def default_input(name: str, batch: int = 2) -> torch.Tensor:
    cfg = models.default_config(name)
    g = torch.Generator().manual_seed(0)
    return torch.rand(batch, cfg["in_channels"], *cfg["input_size"], generator=g)


# ---------------------------------------------------------------------------------------------------------------
# names and defaults
# ---------------------------------------------------------------------------------------------------------------


def test_names_sorted_and_complete() -> None:
    got = models.names()
    assert got == sorted(got)
    assert len(set(got)) == len(got)
    assert set(REQUIRED) <= set(got)
    assert set(got) == set(PARAMS)
    got.append("mutated")
    assert "mutated" not in models.names()


@pytest.mark.parametrize(
    "name, channels, size",
    [
        ("lenet", 1, (28, 28)),
        ("nnrepair_mnist_lq", 1, (28, 28)),
        ("nnrepair_mnist_hq", 1, (28, 28)),
        ("nnrepair_cifar", 3, (32, 32)),
        ("wrn", 3, (32, 32)),
        ("densenet", 3, (32, 32)),
        ("resnet20", 3, (32, 32)),
        ("allconvnet", 3, (32, 32)),
        ("vgg16_fm", 1, (28, 28)),
        ("mlp", 1, (8, 8)),
    ],
)
def test_default_config(name: str, channels: int, size: tuple[int, int]) -> None:
    cfg = models.default_config(name)
    assert cfg["arch"] == name
    assert cfg["in_channels"] == channels
    assert tuple(cfg["input_size"]) == size
    assert cfg["num_classes"] == 10
    assert isinstance(cfg["notes"], str) and cfg["notes"]
    assert isinstance(cfg["paper"], str) and cfg["paper"]
    assert {"mean", "std"} <= set(cfg["kwargs"])
    json.dumps(cfg)
    cfg["kwargs"]["mean"] = 123.0  # a copy: mutating it changes nothing
    assert models.default_config(name)["kwargs"]["mean"] is None


def test_default_config_kwargs_of_deeprepair_models() -> None:
    assert models.default_config("wrn")["kwargs"] == {
        "depth": 40,
        "widen_factor": 2,
        "dropout": 0.0,
        "mean": None,
        "std": None,
    }
    dn = models.default_config("densenet")["kwargs"]
    assert (dn["depth"], dn["growth_rate"], dn["bottleneck"], dn["reduction"]) == (40, 12, False, 1.0)
    bc = models.default_config("densenet_bc")["kwargs"]
    assert (bc["growth_rate"], bc["bottleneck"], bc["reduction"]) == (12, True, 0.5)
    assert models.default_config("resnet20")["kwargs"]["shortcut"] == "A"


def test_default_config_unknown_name() -> None:
    with pytest.raises(UnknownNameError, match="lenet"):
        models.default_config("lenet5")


def test_module_doctest() -> None:
    result = doctest.testmod(models, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------------------------------------------------------
# forward shapes and parameter counts
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_forward_default_size_and_param_count(name: str) -> None:
    torch.manual_seed(0)
    model = models.create(name)
    assert n_params(model) == PARAMS[name]
    x = default_input(name)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 10)
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()
    cfg = model.pyrepair_config
    assert cfg["arch"] == name and cfg["num_classes"] == 10
    assert cfg["in_channels"] == x.shape[1] and tuple(cfg["input_size"]) == tuple(x.shape[2:])
    json.dumps(cfg)  # plain JSON-able values


@pytest.mark.parametrize("name", ["nnrepair_cifar", "wrn", "densenet_bc", "resnet20", "allconvnet", "lenet"])
def test_other_num_classes_and_batch_one_in_eval(name: str) -> None:
    model = models.create(name, num_classes=43).eval()
    with torch.no_grad():
        y = model(default_input(name, batch=1))
    assert y.shape == (1, 43)


@pytest.mark.parametrize("size", [8, 28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_lenet_sizes_and_channels(size: int, channels: int) -> None:
    model = models.create("lenet", in_channels=channels, input_size=size)
    y = model(torch.rand(3, channels, size, size))
    assert y.shape == (3, 10)
    assert torch.isfinite(y).all()
    assert model.pyrepair_config["input_size"] == (size, size)
    assert model.pyrepair_config["in_channels"] == channels


@pytest.mark.parametrize(
    "name, channels, size",
    [
        ("lenet", 1, (28, 32)),
        ("allconvnet", 3, (32, 48)),
        ("nnrepair_cifar", 1, 28),
        ("nnrepair_mnist_lq", 1, 8),
        ("nnrepair_mnist_lq", 3, 32),
        ("wrn", 1, 28),
        ("densenet", 1, 28),
        ("resnet20", 3, (17, 9)),
        ("mlp", 3, (32, 32)),
        ("densenet_bc", 3, 48),
    ],
)
def test_other_sizes(name: str, channels: int, size: int | tuple[int, int]) -> None:
    kwargs = {"depth": 10, "widen_factor": 1} if name == "wrn" else {"depth": 13} if name == "densenet" else {}
    model = models.create(name, in_channels=channels, input_size=size, **kwargs)
    hw = (size, size) if isinstance(size, int) else size
    y = model(torch.rand(2, channels, *hw))
    assert y.shape == (2, 10)


def test_nnrepair_layer_lists() -> None:
    lq = models.create("nnrepair_mnist_lq")
    assert [m.out_channels for m in lq.modules() if isinstance(m, nn.Conv2d)] == [2, 4]
    assert linear_shapes(lq) == [(576, 128), (128, 10)]
    hq = models.create("nnrepair_mnist_hq")
    assert [m.out_channels for m in hq.modules() if isinstance(m, nn.Conv2d)] == [8, 16]
    assert linear_shapes(hq) == [(400, 100), (100, 10)]
    cf = models.create("nnrepair_cifar")
    assert [m.out_channels for m in cf.modules() if isinstance(m, nn.Conv2d)] == [32, 32, 64, 64]
    assert all(m.padding == (0, 0) for m in cf.modules() if isinstance(m, nn.Conv2d))
    assert linear_shapes(cf) == [(1600, 512), (512, 10)]


@pytest.mark.parametrize("name", NNREPAIR + ["lenet", "mlp"])
def test_repair_layer_name_is_the_linear_before_the_output(name: str) -> None:
    model = models.create(name, num_classes=7)
    layer = model.get_submodule(model.repair_layer_name)
    assert isinstance(layer, nn.Linear)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears[-2] is layer
    assert linears[-1].out_features == 7 and linears[-1].in_features == layer.out_features
    # the hidden features are the output of the repair layer after ReLU: model[:idx + 1] computes them
    names = [n for n, _ in model.named_children()]
    idx = names.index(model.repair_layer_name)
    feats = model[: idx + 1](default_input(name))
    assert feats.shape == (2, layer.out_features)


@pytest.mark.parametrize(
    "name, kwargs, expected",
    [
        ("resnet20", {"shortcut": "B"}, 272_474),
        ("wrn", {"depth": 28, "widen_factor": 10}, 36_479_194),
        ("wrn", {"depth": 16, "widen_factor": 4}, 2_748_890),
        ("densenet", {"depth": 100, "growth_rate": 12, "bottleneck": True, "reduction": 0.5}, 769_162),
        ("mlp", {"hidden": [32, 16]}, 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10),
    ],
)
def test_param_counts_with_kwargs(name: str, kwargs: dict, expected: int) -> None:
    assert n_params(models.create(name, **kwargs)) == expected


def test_alexnet8_fashion_mnist_param_count() -> None:
    assert n_params(models.create("alexnet8", in_channels=1, input_size=28)) == 8_063_882  # DARE Table 1: 8.06M


def test_wrn_dropout_kwarg() -> None:
    model = models.create("wrn", depth=10, widen_factor=1, dropout=0.3)
    rates = {m.p for m in model.modules() if isinstance(m, nn.Dropout)}
    assert rates == {0.3}
    assert model.pyrepair_config["dropout"] == 0.3


def test_resnet_option_a_shortcut_has_no_parameters() -> None:
    a = models.create("resnet20")
    b = models.create("resnet20", shortcut="B")
    assert n_params(b) - n_params(a) == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)  # two 1x1 conv + BN projections


# ---------------------------------------------------------------------------------------------------------------
# configs, round trip, determinism
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_from_config_round_trip_and_determinism(name: str) -> None:
    torch.manual_seed(123)
    a = models.create(name, num_classes=5)
    cfg = json.loads(json.dumps(a.pyrepair_config))  # what a checkpoint would store
    torch.manual_seed(123)
    b = models.from_config(cfg)
    assert b.pyrepair_config == a.pyrepair_config
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert sa[key].shape == sb[key].shape
        assert torch.equal(sa[key], sb[key]), key  # same seed -> same initial weights
    b.load_state_dict(sa)


@pytest.mark.parametrize("name", ["lenet", "wrn", "nnrepair_mnist_lq", "densenet_bc"])
def test_different_seeds_give_different_weights(name: str) -> None:
    torch.manual_seed(0)
    a = models.create(name)
    torch.manual_seed(1)
    b = models.create(name)
    assert any(not torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters(), strict=True))


def test_config_holds_resolved_kwargs() -> None:
    model = models.create("densenet", depth=22, input_size=(28, 30), in_channels=1)
    assert model.pyrepair_config == {
        "arch": "densenet",
        "num_classes": 10,
        "in_channels": 1,
        "input_size": (28, 30),
        "depth": 22,
        "growth_rate": 12,
        "bottleneck": False,
        "reduction": 1.0,
        "mean": None,
        "std": None,
    }
    assert models.create("mlp", hidden=(16,)).pyrepair_config["hidden"] == [16]


def test_from_config_errors() -> None:
    with pytest.raises(TypeError, match="cfg"):
        models.from_config(["lenet"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'arch'"):
        models.from_config({"num_classes": 10})
    with pytest.raises(UnknownNameError, match="lenet"):
        models.from_config({"arch": "lenet7"})
    with pytest.raises(TypeError, match="bogus"):
        models.from_config({"arch": "lenet", "bogus": 1})


# ---------------------------------------------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------------------------------------------


def test_normalize_inside_model() -> None:
    torch.manual_seed(0)
    plain = models.create("lenet", in_channels=3, input_size=8)
    torch.manual_seed(0)
    normed = models.create("lenet", in_channels=3, input_size=8, mean=[0.4, 0.5, 0.6], std=0.25)
    assert isinstance(normed[0], models.Normalize)
    assert normed.repair_layer_name == plain.repair_layer_name
    assert normed.pyrepair_config["mean"] == [0.4, 0.5, 0.6] and normed.pyrepair_config["std"] == 0.25
    x = torch.rand(4, 3, 8, 8)
    mean = torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1)
    torch.testing.assert_close(normed(x), plain((x - mean) / 0.25))
    assert {"normalize.mean", "normalize.std"} <= set(normed.state_dict())
    rebuilt = models.from_config(json.loads(json.dumps(normed.pyrepair_config)))
    rebuilt.load_state_dict(normed.state_dict())
    torch.testing.assert_close(rebuilt(x), normed(x))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"mean": 0.5}, ValueError, "together"),
        ({"mean": 0.5, "std": 0.0}, ValueError, "std"),
        ({"mean": [0.5, 0.5], "std": 0.5}, ValueError, "mean"),
        ({"mean": "0.5", "std": 0.5}, TypeError, "mean"),
        ({"mean": float("nan"), "std": 0.5}, ValueError, "mean"),
    ],
)
def test_normalize_errors(kwargs: dict, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        models.create("lenet", in_channels=3, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------------------------


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="lenet") as info:
        models.create("resnet18")
    assert "pyrepair.models.create" in str(info.value)
    assert "'resnet18'" in str(info.value)
    for name in models.names():
        assert name in str(info.value)
    assert info.value.valid == tuple(models.names())
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "num_classes, exc", [(1, ValueError), (0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_bad_num_classes(num_classes: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="num_classes"):
        models.create("lenet", num_classes=num_classes)  # type: ignore[arg-type]


@pytest.mark.parametrize("in_channels, exc", [(0, ValueError), (-1, ValueError), (1.0, TypeError)])
def test_bad_in_channels(in_channels: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="in_channels"):
        models.create("lenet", in_channels=in_channels)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "input_size, exc",
    [
        (0, ValueError),
        (-28, ValueError),
        ((28,), ValueError),
        ((28, 28, 1), ValueError),
        ((0, 28), ValueError),
        ("28", TypeError),
        ((28.0, 28), TypeError),
        (28.0, TypeError),
        ((True, 28), TypeError),
    ],
)
def test_bad_input_size(input_size: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="input_size"):
        models.create("lenet", input_size=input_size)  # type: ignore[arg-type]


def test_input_size_accepts_numpy_ints_and_lists() -> None:
    model = models.create("lenet", input_size=[np.int64(8), 10])
    assert model.pyrepair_config["input_size"] == (8, 10)
    assert model(torch.rand(1, 1, 8, 10)).shape == (1, 10)


def test_too_small_message_names_arch_size_and_minimum() -> None:
    with pytest.raises(ValueError, match=r"\(8, 8\).*'nnrepair_mnist_hq'.*minimum is \(10, 10\)"):
        models.create("nnrepair_mnist_hq", input_size=8)
    with pytest.raises(ValueError, match=r"\(31, 32\).*'vgg16_bn'.*\(32, 32\)"):
        models.create("vgg16_bn", input_size=(31, 32))


@pytest.mark.parametrize("name", [n for n in sorted(PARAMS) if not n.startswith("vgg")])
def test_minimum_input_size_is_exact(name: str) -> None:
    cfg = models.default_config(name)
    m = cfg["min_input_size"][0]
    c = cfg["in_channels"]
    kwargs = {"depth": 10, "widen_factor": 1} if name == "wrn" else {}
    model = models.create(name, input_size=m, **kwargs)
    assert model(torch.rand(2, c, m, m)).shape == (2, 10)
    if m > 1:
        with pytest.raises(ValueError, match=f"too small for architecture '{name}'"):
            models.create(name, input_size=(m, m - 1), **kwargs)


def test_lenet_minimum_is_four() -> None:
    assert models.default_config("lenet")["min_input_size"] == (4, 4)


@pytest.mark.parametrize(
    "name, kwargs, exc, match",
    [
        ("lenet", {"depth": 3}, TypeError, "'depth'.*'lenet'"),
        ("nnrepair_mnist_hq", {"dropout": 0.1}, TypeError, "dropout"),
        ("wrn", {"depth": 41}, ValueError, "depth"),
        ("wrn", {"widen_factor": 0}, ValueError, "widen_factor"),
        ("wrn", {"dropout": 1.5}, ValueError, "dropout"),
        ("densenet", {"depth": 41}, ValueError, "depth"),
        ("densenet_bc", {"depth": 13}, ValueError, "depth"),
        ("densenet", {"bottleneck": "yes"}, TypeError, "bottleneck"),
        ("densenet", {"reduction": 0.0}, ValueError, "reduction"),
        ("densenet", {"growth_rate": 2.5}, TypeError, "growth_rate"),
        ("resnet20", {"shortcut": "C"}, ValueError, "shortcut"),
        ("resnet20", {"depth": 32}, TypeError, "depth"),
        ("mlp", {"hidden": []}, ValueError, "hidden"),
        ("mlp", {"hidden": [8, 0]}, ValueError, "hidden"),
        ("lenet", {"hidden": -1}, ValueError, "hidden"),
    ],
)
def test_bad_kwargs(name: str, kwargs: dict, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        models.create(name, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# trainability
# ---------------------------------------------------------------------------------------------------------------


def _fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, batch: int, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return sum(
            (model(x[i : i + 1000]).argmax(1) == y[i : i + 1000]).sum().item() for i in range(0, len(x), 1000)
        ) / len(x)


def test_lenet_learns_sklearn_digits() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32)[:, None]
    y = torch.tensor(digits.target, dtype=torch.int64)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    tr, te = perm[:1300], perm[1300:]
    torch.manual_seed(0)
    model = models.create("lenet", input_size=8)
    _fit(model, x[tr], y[tr], epochs=12, batch=64)
    assert _accuracy(model, x[te], y[te]) >= 0.95


def test_create_seed_is_reproducible_and_leaves_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    a = models.create("lenet", seed=3)
    assert torch.equal(torch.random.get_rng_state(), state), "create(seed=...) must not touch the global RNG"
    b = models.create("lenet", seed=3)
    c = models.create("lenet", seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)
    with pytest.raises(ValueError, match="seed must be in"):
        models.create("lenet", seed=-1)


def test_from_config_accepts_default_config():
    """default_config(...) round-trips through from_config (its nested kwargs are the architecture's keywords)."""
    for name in ("mlp", "lenet"):
        model = models.from_config(models.default_config(name))
        assert model.pyrepair_config["arch"] == name
    cfg = models.default_config("mlp")
    cfg["hidden"] = cfg["kwargs"]["hidden"]
    with pytest.raises(ValueError, match=r"cfg gives \['hidden'\] both flat and under 'kwargs'"):
        models.from_config(cfg)
