"""Tests for pyrepair.methods: the RepairMethod/RepairResult contract, the finetune loop and DeepRepair's baselines.

Unit tests run on tiny random data and a tiny CNN (well under a second each); the acceptance test repairs a LeNet
trained on MNIST (../shared/data) against a fixed noise + low-contrast corruption.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from pyrepair import methods
from pyrepair.data import as_image_data
from pyrepair.errors import CheckpointError, ShapeError, UnknownNameError
from pyrepair.methods import (
    AugMixRepair,
    CutMixRepair,
    CutoutRepair,
    FineTune,
    FineTuningMethod,
    MixUpRepair,
    RepairMethod,
    RepairResult,
    finetune,
)
from pyrepair.methods.base import union
from pyrepair.train import History

ALL = ["finetune", "augmix", "cutmix", "cutout", "mixup"]
FAST = {"epochs": 1, "batch_size": 16}

# --------------------------------------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------------------------------------


def tiny_cnn(seed: int = 0, channels: int = 1, classes: int = 3) -> nn.Module:
    """Conv + BatchNorm (buffers that training would change) + dropout (uses the RNG) + linear, for 12x12 inputs."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(channels, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(4 * 6 * 6, classes),
    )


def make_data(n: int, seed: int, channels: int = 1, classes: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in [0, 1] whose brightness depends on the class (learnable), plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    x = (0.2 + 0.3 * y.view(-1, 1, 1, 1).float() + 0.15 * torch.randn(n, channels, 12, 12, generator=g)).clamp(0, 1)
    return x, y


@pytest.fixture()
def data() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return {"train": make_data(48, 0), "failures": make_data(12, 1), "val": make_data(24, 2)}


def run(name: str, model: nn.Module, d: dict, **kw) -> RepairResult:
    opts = {"device": "cpu", "progress": False, "seed": 0, **kw}
    return methods.create(name, **FAST).repair(model, d["train"], d["failures"], val=d["val"], **opts)


def assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k].cpu(), sb[k].cpu()), k


# --------------------------------------------------------------------------------------------------------------------
# end to end, every method
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_smoke_every_method(name, data, device):
    model = tiny_cnn()
    result = methods.create(name, **FAST).repair(
        model, data["train"], data["failures"], val=data["val"], device=device, progress=False
    )
    assert isinstance(result, RepairResult)
    assert result.method == name
    assert set(result.metrics) == {"val", "failures", "seconds"}
    for key in ("val", "failures"):
        assert set(result.metrics[key]) == {"before", "after"}
        assert all(0.0 <= v <= 1.0 for v in result.metrics[key].values())
    assert result.metrics["seconds"] > 0
    assert isinstance(result.history, History) and len(result.history) == 1
    assert {"epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds"} <= set(result.history.last)
    json.dumps(result.config)  # JSON-able
    assert result.config["epochs"] == 1 and result.config["batch_size"] == 16
    assert result.model is not model
    assert not any(m.training for m in result.model.modules())  # eval mode
    assert next(result.model.parameters()).device.type == torch.device(device).type


@pytest.mark.parametrize("name", ALL)
def test_user_model_untouched(name, data):
    model = tiny_cnn()
    model.train()
    model[1].eval()  # a mixed mode that must survive as it is
    modes = [m.training for m in model.modules()]
    before = copy.deepcopy(model.state_dict())
    result = run(name, model, data)
    assert result.model is not model
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert [m.training for m in model.modules()] == modes
    assert all(p.grad is None for p in model.parameters())
    changed = any(not torch.equal(v, before[k]) for k, v in result.model.state_dict().items())
    assert changed, "the copy was not trained"


def test_inplace_trains_the_given_model(data):
    model = tiny_cnn()
    before = copy.deepcopy(model.state_dict())
    result = run("finetune", model, data, inplace=True)
    assert result.model is model
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not model.training


def test_caller_rng_untouched(data):
    state = torch.get_rng_state()
    run("augmix", tiny_cnn(), data)
    assert torch.equal(torch.get_rng_state(), state)


def test_data_never_modified(data):
    saved = {k: (x.clone(), y.clone()) for k, (x, y) in data.items()}
    for name in ALL:
        run(name, tiny_cnn(), data)
    for k, (x, y) in data.items():
        assert torch.equal(x, saved[k][0]) and torch.equal(y, saved[k][1])


@pytest.mark.parametrize("name", ALL)
def test_deterministic_for_a_seed(name, data):
    a = run(name, tiny_cnn(), data, seed=3).model
    b = run(name, tiny_cnn(), data, seed=3).model
    assert_same_state(a, b)
    c = run(name, tiny_cnn(), data, seed=4).model
    assert any(not torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items() if v.is_floating_point())


def test_failures_metric_starts_at_zero_on_misclassified_failures(data):
    model = tiny_cnn()
    x, y = make_data(60, 5)
    with torch.no_grad():
        wrong = model.eval()(x).argmax(1) != y
    model.train()
    result = run("finetune", model, {**data, "failures": (x[wrong], y[wrong])})
    assert result.metrics["failures"]["before"] == 0.0


def test_val_optional_and_include_failures_false(data):
    result = FineTune(include_failures=False, **FAST).repair(tiny_cnn(), data["train"], progress=False, device="cpu")
    assert set(result.metrics) == {"seconds"}
    assert "val_accuracy" not in result.history.last
    assert result.config["include_failures"] is False


def test_accepts_datasets_and_numpy(data):
    x, y = data["train"]
    ds = TensorDataset(x, y)

    class IntLabels(Dataset):  # yields python ints as labels, mixed into a union with tensor labels
        def __len__(self) -> int:
            return len(data["failures"][1])

        def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
            return data["failures"][0][i], int(data["failures"][1][i])

    r1 = FineTune(**FAST).repair(tiny_cnn(), ds, IntLabels(), val=data["val"], progress=False, device="cpu")
    assert set(r1.metrics) == {"val", "failures", "seconds"}
    r2 = FineTune(**FAST).repair(
        tiny_cnn(), (x.numpy(), y.numpy()), data["failures"], val=ds, progress=False, device="cpu"
    )
    assert len(r2.history) == 1


def test_augmix_runs_three_views_in_one_forward(data):
    sizes: list[int] = []
    model = tiny_cnn()
    model.register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]) if m.training else None)
    AugMixRepair(epochs=1, batch_size=20).repair(model, data["train"], data["failures"], progress=False, device="cpu")
    # the hook is deep-copied with the model: 60 samples -> batches 20, 20, 20, each as one forward of 3 * 20
    assert sizes == [60, 60, 60]


def test_cutout_size_scales_with_the_image():
    assert CutoutRepair().hole_size(32, 32) == 16
    assert CutoutRepair().hole_size(28, 28) == 14
    assert CutoutRepair().hole_size(8, 8) == 4
    assert CutoutRepair(size=5).hole_size(32, 32) == 5


# --------------------------------------------------------------------------------------------------------------------
# save / load
# --------------------------------------------------------------------------------------------------------------------


def test_save_load_round_trip_rebuilds_pyrepair_models(data, tmp_path):
    from pyrepair.models import create

    torch.manual_seed(0)
    model = create("lenet", num_classes=3, input_size=12, hidden=16)
    result = run("cutmix", model, data)
    out = result.save(tmp_path / "run")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["config.json", "history.json", "info.json", "metrics.json", "model.pt"]
    loaded = RepairResult.load(out)
    assert_same_state(loaded.model, result.model)
    assert loaded.model.pyrepair_config == model.pyrepair_config
    assert not loaded.model.training
    assert loaded.metrics == result.metrics
    assert loaded.history.to_dict() == result.history.to_dict()
    assert loaded.method == "cutmix" and loaded.config == result.config


def test_load_needs_a_model_without_pyrepair_config(data, tmp_path):
    result = run("finetune", tiny_cnn(), data)
    result.save(tmp_path)
    with pytest.raises(CheckpointError, match="pass model="):
        RepairResult.load(tmp_path)
    loaded = RepairResult.load(tmp_path, tiny_cnn(seed=9))
    assert_same_state(loaded.model, result.model)


def test_load_missing_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder not found"):
        RepairResult.load(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="metrics.json"):
        RepairResult.load(tmp_path)


# --------------------------------------------------------------------------------------------------------------------
# the finetune loop
# --------------------------------------------------------------------------------------------------------------------


def test_finetune_visits_every_sample_of_the_union_once_per_epoch():
    a = (torch.arange(10, dtype=torch.float32).view(-1, 1, 1, 1).expand(10, 1, 2, 2).contiguous(), torch.zeros(10))
    b = (torch.arange(10, 15, dtype=torch.float32).view(-1, 1, 1, 1).expand(5, 1, 2, 2).contiguous(), torch.ones(5))
    parts = [as_image_data((x, y.long()), "test") for x, y in (a, b)]
    seen: list[list[int]] = []

    def step(model, images, labels, generator):
        seen[-1].extend(int(v) for v in images[:, 0, 0, 0])
        assert torch.equal(labels, (images[:, 0, 0, 0] >= 10).long())  # labels travel with their images
        return model(images).sum() * 0.0

    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    seen.append([])
    finetune(model, union(*parts), epochs=1, batch_size=4, step=step, progress=False, device="cpu")
    seen.append([])
    finetune(model, union(*parts), epochs=1, batch_size=4, step=step, seed=1, progress=False, device="cpu")
    assert sorted(seen[0]) == list(range(15)) and sorted(seen[1]) == list(range(15))
    assert seen[0] != seen[1]  # shuffled, by seed


def test_finetune_cosine_schedule_and_constant():
    x, y = make_data(32, 0)
    h = finetune(tiny_cnn(), (x, y), epochs=4, batch_size=8, lr=0.1, progress=False, device="cpu")
    lrs = h.values("lr")
    assert lrs[0] == pytest.approx(0.1) and lrs[2] == pytest.approx(0.05)  # cosine per step: half-way at step 8/16
    assert lrs == sorted(lrs, reverse=True)
    h = finetune(tiny_cnn(), (x, y), epochs=2, lr=0.1, scheduler="none", progress=False, device="cpu")
    assert h.values("lr") == [0.1, 0.1]


def test_finetune_callback_stops_early():
    x, y = make_data(16, 0)
    calls = []

    def cb(epoch, record, model):
        calls.append(epoch)
        return epoch == 2

    h = finetune(tiny_cnn(), (x, y), epochs=5, callbacks=cb, progress=False, device="cpu")
    assert len(h) == 2 and calls == [1, 2]


def test_finetune_nan_loss_raises():
    x, y = make_data(16, 0)
    x[3] = torch.finfo(torch.float32).max  # finite (NaN images are rejected up front): the loss overflows to nan
    with pytest.raises(FloatingPointError, match="epoch 1, batch 1"):
        finetune(tiny_cnn(), (x, y), epochs=1, progress=False, device="cpu")


@pytest.mark.parametrize("name", ["finetune", "mixup", "cutmix"])
def test_repair_nan_loss_raises_floating_point_error(name, data):
    x, y = data["train"]
    x = x.clone()
    x[0] = torch.finfo(torch.float32).max  # finite (NaN images are rejected up front): the loss overflows to nan
    with pytest.raises(FloatingPointError, match="training loss is nan"):
        run(name, tiny_cnn(), {**data, "train": (x, y)}, check_range=False)


def test_finetune_step_must_return_a_scalar():
    x, y = make_data(8, 0)
    with pytest.raises(TypeError, match="scalar loss"):
        finetune(tiny_cnn(), (x, y), epochs=1, step=lambda m, a, b, g: m(a), progress=False, device="cpu")


def test_custom_method_subclass(data):
    class Halved(FineTuningMethod):
        name = "halved"

        def _step(self, model, images, labels, generator):
            return 0.5 * nn.functional.cross_entropy(model(images), labels)

    result = Halved(**FAST).repair(tiny_cnn(), data["train"], data["failures"], progress=False, device="cpu")
    assert result.method == "halved" and isinstance(Halved(), RepairMethod)


# --------------------------------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------------------------------


def test_include_failures_needs_failures(data):
    with pytest.raises(ValueError, match=r"failures must be given"):
        FineTune(**FAST).repair(tiny_cnn(), data["train"], None)


def test_empty_failures(data):
    x, y = data["failures"]
    with pytest.raises(ValueError, match=r"failures images must hold at least one image"):
        AugMixRepair(**FAST).repair(tiny_cnn(), data["train"], (x[:0], y[:0]))
    with pytest.raises(ValueError, match=r"failures must hold at least one sample"):
        AugMixRepair(**FAST).repair(tiny_cnn(), data["train"], TensorDataset(x[:0], y[:0]))


def test_mismatched_image_shapes(data):
    x, y = make_data(8, 0, channels=3)
    with pytest.raises(ShapeError, match=r"failures images must have the \[C, H, W\] of train, \[1, 12, 12\]"):
        FineTune(**FAST).repair(tiny_cnn(), data["train"], (x, y))
    with pytest.raises(ShapeError, match=r"val images must have"):
        FineTune(**FAST).repair(tiny_cnn(), data["train"], data["failures"], val=(x, y))


def test_mismatched_images_and_labels(data):
    x, y = data["train"]
    with pytest.raises(ShapeError, match="48 images but 47 labels"):
        FineTune(**FAST).repair(tiny_cnn(), (x, y[:-1]), data["failures"])


def test_labels_out_of_range(data):
    x, y = data["failures"]
    with pytest.raises(ValueError, match=r"failures labels must lie in \[0, 3\)"):
        FineTune(**FAST).repair(tiny_cnn(), data["train"], (x, y + 5))


def test_bad_data_and_model_types(data):
    x, y = data["train"]
    with pytest.raises(TypeError, match="got a DataLoader"):
        FineTune(**FAST).repair(tiny_cnn(), DataLoader(TensorDataset(x, y)), data["failures"])
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        FineTune(**FAST).repair("lenet", data["train"], data["failures"])
    with pytest.raises(ValueError, match=r"seed must be in \[0, 18446744073709551615\], got -1"):
        FineTune(**FAST).repair(tiny_cnn(), data["train"], data["failures"], seed=-1)


def test_iterable_dataset_cannot_join_the_union(data):
    class Stream(IterableDataset):
        def __iter__(self):
            x, y = data["train"]
            return iter(zip(x, y, strict=True))

    with pytest.raises(TypeError, match="train must be .* map-style Dataset to be combined"):
        FineTune(**FAST).repair(tiny_cnn(), Stream(), data["failures"])
    result = FineTune(include_failures=False, **FAST).repair(tiny_cnn(), Stream(), progress=False, device="cpu")
    assert len(result.history) == 1


def test_union_indexing(data):
    a = as_image_data(data["train"], "test")
    b = as_image_data(data["failures"], "test")
    u = union(a, b)
    assert len(u) == 60
    x, y = u[[0, 47, 48, 59]]
    assert torch.equal(x, torch.cat([a.images[[0, 47]], b.images[[0, 11]]]))
    assert torch.equal(y, torch.cat([a.labels[[0, 47]], b.labels[[0, 11]]]))
    xi, yi = u[50]
    assert torch.equal(xi, b.images[2]) and int(yi) == int(b.labels[2])
    with pytest.raises(IndexError):
        u[[60]]


def test_unknown_method_name():
    with pytest.raises(UnknownNameError, match="unknown method name 'deeprepair2'; valid: augmix, cutmix, cutout"):
        methods.create("deeprepair2")


def test_unknown_hyper_parameter():
    with pytest.raises(TypeError, match=r"unknown hyper-parameter\(s\) 'sevrity' for method 'augmix'; valid: sev"):
        methods.create("augmix", sevrity=3)


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "match"),
    [
        (FineTune, {"epochs": -1}, ValueError, r"FineTune: epochs must be in \[1, 2\^63 - 1\], got -1"),
        (FineTune, {"epochs": 0}, ValueError, r"epochs must be in \[1, 2\^63 - 1\], got 0"),
        (FineTune, {"epochs": 2.5}, TypeError, r"epochs must be an int, got float 2.5"),
        (FineTune, {"batch_size": 0}, ValueError, r"batch_size must be in \[1, 2\^63 - 1\], got 0"),
        (FineTune, {"lr": 0.0}, ValueError, r"lr must be > 0 and finite, got 0.0"),
        (FineTune, {"weight_decay": -1e-4}, ValueError, r"weight_decay must be >= 0 and finite, got -0.0001"),
        (FineTune, {"optimizer": "rmsprop"}, UnknownNameError, r"unknown optimizer 'rmsprop'; valid: adam, adamw"),
        (FineTune, {"scheduler": "step"}, UnknownNameError, r"unknown scheduler 'step'; valid: cosine, none"),
        (FineTune, {"momentum": 0.0}, ValueError, r"nesterov=True needs momentum > 0, got momentum=0.0"),
        (FineTune, {"include_failures": "yes"}, TypeError, r"include_failures must be True or False, got 'yes'"),
        (AugMixRepair, {"severity": 0}, ValueError, r"AugMixRepair: severity must be in \[1, 10\], got 0"),
        (AugMixRepair, {"width": 0}, ValueError, r"width must be in \[1, 2\^63 - 1\], got 0"),
        (AugMixRepair, {"depth": 0}, ValueError, r"depth must be -1 .* or >= 1, got 0"),
        (AugMixRepair, {"alpha": 0.0}, ValueError, r"alpha must be > 0 and finite, got 0.0"),
        (AugMixRepair, {"lam": -1.0}, ValueError, r"lam must be >= 0 and finite, got -1.0"),
        (CutMixRepair, {"prob": 1.5}, ValueError, r"CutMixRepair: prob must be in \[0.0, 1.0\], got 1.5"),
        (CutMixRepair, {"alpha": -1.0}, ValueError, r"alpha must be >= 0 and finite, got -1.0"),
        (CutoutRepair, {"size": -2}, ValueError, r"CutoutRepair: size must be in \[0, 2\^63 - 1\], got -2"),
        (CutoutRepair, {"n_holes": -1}, ValueError, r"n_holes must be in \[0, 2\^63 - 1\], got -1"),
        (MixUpRepair, {"alpha": float("nan")}, ValueError, r"MixUpRepair: alpha must be >= 0 and finite, got nan"),
    ],
)
def test_invalid_hyper_parameters(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_repr_and_config_list_every_hyper_parameter():
    m = AugMixRepair(severity=2, epochs=3)
    assert repr(m).startswith(
        "AugMixRepair(severity=2, width=3, depth=-1, alpha=1.0, lam=12.0, all_ops=False, epochs=3"
    )
    names = methods.names()
    assert {"augmix", "cutmix", "cutout", "finetune", "mixup"} <= set(names) and names == sorted(names)
    assert isinstance(methods.create("FineTune"), FineTune)


# --------------------------------------------------------------------------------------------------------------------
# acceptance: MNIST, LeNet, a fixed corruption, AugMix repair
# --------------------------------------------------------------------------------------------------------------------


def corrupt(images: torch.Tensor, seed: int) -> torch.Tensor:
    """A FIXED corruption (the corruption engine is a later issue): contrast cut to 40 % around each image's mean,
    then strong additive gaussian noise (sigma 0.4) from a seeded generator, clipped to [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    low = (images - mean) * 0.4 + mean
    return (low + 0.4 * torch.randn(images.shape, generator=g)).clamp(0.0, 1.0)


@pytest.mark.slow
def test_augmix_repairs_mnist_noise_failures(shared_data: Path):
    """DeepRepair protocol (§A.2, §A.9) in miniature: repair accuracy on held-out failures D^e rises from 0 while
    clean accuracy holds. Budget: about 40 s on 2 idle cores (pre-training ~13 s, AugMix repair ~20 s)."""
    from pyrepair.data import load
    from pyrepair.models import create
    from pyrepair.train import evaluate, fit, predict

    train = load("mnist", "train", root=shared_data, limit=12000)
    test = load("mnist", "test", root=shared_data, limit=2000)
    torch.manual_seed(0)
    model = create("lenet")
    fit(model, train, epochs=2, batch_size=128, seed=0, progress=False, device="cpu")
    clean_before = evaluate(model, test)["accuracy"]
    assert clean_before >= 0.95, clean_before

    xc = corrupt(test.images, seed=1234)
    wrong = (predict(model, xc).argmax(1) != test.labels).nonzero().squeeze(1)
    assert len(wrong) >= 200, len(wrong)  # the corruption must produce a real failure set
    perm = wrong[torch.randperm(len(wrong), generator=torch.Generator().manual_seed(0))]
    half = len(perm) // 2
    collected = (xc[perm[:half]], test.labels[perm[:half]])  # D^c
    held_out = (xc[perm[half:]], test.labels[perm[half:]])  # D^e, never seen by the repair
    assert evaluate(model, held_out)["accuracy"] == 0.0  # by construction

    # D^t for the repair: the first 4,000 training images (keeps the test fast; the protocol allows any D^t).
    d_t = (train.images[:4000], train.labels[:4000])
    result = AugMixRepair(epochs=2).repair(model, d_t, collected, val=test, device="cpu", seed=0, progress=False)
    held_after = evaluate(result.model, held_out)["accuracy"]
    clean_after = result.metrics["val"]["after"]
    summary = (
        f"clean {clean_before:.4f} -> {clean_after:.4f}, held-out failures 0 -> {held_after:.4f} "
        f"(|D^c|={half}, |D^e|={len(perm) - half}), repair {result.metrics['seconds']:.1f} s"
    )
    logging.getLogger(__name__).info("acceptance: %s", summary)  # --log-cli-level=INFO shows it
    assert result.metrics["val"]["before"] == pytest.approx(clean_before)
    assert result.metrics["failures"]["before"] == 0.0
    assert held_after >= 0.20, summary
    assert clean_after >= clean_before - 0.03, summary


def test_finetune_clips_gradients_when_asked():
    x, y = make_data(16, 0)
    a = finetune(tiny_cnn(), (x, y), epochs=1, batch_size=8, progress=False, device="cpu", max_grad_norm=1e-6)
    assert len(a) == 1 and math.isfinite(a.last["train_loss"])
    with pytest.raises(ValueError, match="max_grad_norm"):
        finetune(tiny_cnn(), (x, y), epochs=1, progress=False, device="cpu", max_grad_norm=0)
