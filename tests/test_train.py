"""Tests for pyrepair.train: fit / evaluate / predict / checkpoints / devices."""

from __future__ import annotations

import logging
import math
import sys
import types
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from pyrepair.errors import DeviceError, DTypeError, PyrepairError, ShapeError, UnknownNameError
from pyrepair.train import (
    CheckpointError,
    History,
    evaluate,
    fit,
    load_checkpoint,
    predict,
    resolve_device,
    save_checkpoint,
)

# --------------------------------------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """scikit-learn digits as 1x8x8 float images in [0, 1]; a seeded 80/20 train/test split."""
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    x, y = x[perm], y[perm]
    cut = int(0.8 * len(y))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


@pytest.fixture()
def blobs() -> tuple[torch.Tensor, torch.Tensor]:
    """Two separable classes of 1x4x4 images (class 1 is bright)."""
    g = torch.Generator().manual_seed(1)
    y = torch.arange(64) % 2
    x = torch.randn(64, 1, 4, 4, generator=g) * 0.3 + y.view(-1, 1, 1, 1).float() * 2 - 1
    return x, y


def small_cnn(seed: int = 0, dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(16 * 4 * 4, 10),
    )


def tiny_mlp(seed: int = 0, k: int = 2, dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, k))


def assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def states_differ(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return any(not torch.equal(sa[k], sb[k]) for k in sa)


class PairDataset(Dataset):
    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], int(self.y[i])


# --------------------------------------------------------------------------------------------------------------------
# fit: learning, history, determinism
# --------------------------------------------------------------------------------------------------------------------


def test_fit_learns_digits(digits) -> None:
    (xtr, ytr), (xte, yte) = digits
    model = small_cnn()
    before = evaluate(model, (xte, yte))["accuracy"]
    history = fit(model, (xtr, ytr), epochs=6, val=(xte, yte), lr=1e-2, batch_size=64, progress=False)
    after = evaluate(model, (xte, yte))
    assert before < 0.3
    assert after["accuracy"] >= 0.90
    assert history.last["val_accuracy"] == pytest.approx(after["accuracy"])
    assert history.last["val_loss"] == pytest.approx(after["loss"], rel=1e-5)
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]


def test_history_fields(blobs) -> None:
    model = tiny_mlp()
    h = fit(model, blobs, epochs=3, val=blobs, batch_size=16, lr=0.05, optimizer="sgd", scheduler="cosine",
            progress=False)  # fmt: skip
    assert isinstance(h, History) and len(h) == 3
    assert [r["epoch"] for r in h.epochs] == [1, 2, 3]
    for r in h.epochs:
        assert set(r) == {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
        assert 0.0 <= r["train_accuracy"] <= 1.0 and 0.0 <= r["val_accuracy"] <= 1.0
        assert math.isfinite(r["train_loss"]) and r["seconds"] >= 0
    # cosine: full lr in epoch 1, then decreasing
    lrs = h.values("lr")
    assert lrs[0] == pytest.approx(0.05) and lrs[0] > lrs[1] > lrs[2] > 0
    assert h.last is h.epochs[-1]
    assert h.best("val_accuracy")["val_accuracy"] == max(h.values("val_accuracy"))
    assert h.best("val_loss")["val_loss"] == min(h.values("val_loss"))
    assert History.from_dict(h.to_dict()) == h
    with pytest.raises(UnknownNameError, match="nope"):
        h.best("nope")
    no_val = fit(tiny_mlp(), blobs, epochs=1, progress=False)
    assert "val_accuracy" not in no_val.last and "val_loss" not in no_val.last
    assert History().last is None


def test_step_scheduler_and_sgd(blobs) -> None:
    h = fit(tiny_mlp(), blobs, epochs=3, lr=0.1, optimizer="SGD", scheduler="step", progress=False)
    assert h.values("lr") == pytest.approx([0.1, 0.01, 0.001])


def test_same_seed_identical_weights(blobs) -> None:
    a, b = tiny_mlp(dropout=0.3), tiny_mlp(dropout=0.3)
    ha = fit(a, blobs, epochs=2, batch_size=8, seed=7, progress=False)
    hb = fit(b, blobs, epochs=2, batch_size=8, seed=7, progress=False)
    assert_same_state(a, b)
    assert ha.values("train_loss") == hb.values("train_loss")


def test_different_seeds_differ(blobs) -> None:
    a, b = tiny_mlp(), tiny_mlp()
    fit(a, blobs, epochs=1, batch_size=8, seed=1, progress=False)
    fit(b, blobs, epochs=1, batch_size=8, seed=2, progress=False)
    assert states_differ(a, b)


def test_fit_leaves_global_rng_alone(blobs) -> None:
    model = tiny_mlp(dropout=0.5)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit(model, blobs, epochs=1, batch_size=8, progress=False)
    assert torch.equal(torch.rand(3), expected)


def test_fit_trains_in_place_and_restores_mode(blobs) -> None:
    model = tiny_mlp()
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, blobs, epochs=1, progress=False)
    assert not model.training and not any(m.training for m in model.modules())
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_optimizer_instance_and_grad_clipping(blobs) -> None:
    model = tiny_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    h = fit(model, blobs, epochs=2, optimizer=opt, max_grad_norm=0.5, progress=False)
    assert h.values("lr") == [0.1, 0.1]
    assert opt.state  # the given optimizer was the one used


def test_custom_loss_fn(blobs) -> None:
    calls = []

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        calls.append(len(y))
        return nn.functional.cross_entropy(logits, y, label_smoothing=0.1)

    fit(tiny_mlp(), blobs, epochs=1, batch_size=32, loss_fn=loss_fn, progress=False)
    assert calls == [32, 32]


def test_amp_on_cpu_runs(blobs) -> None:
    h = fit(tiny_mlp(), blobs, epochs=1, amp=True, device="cpu", progress=False)
    assert math.isfinite(h.last["train_loss"])


def test_frozen_parameters_only_trainable_updated(blobs) -> None:
    model = tiny_mlp()
    model[1].requires_grad_(False)
    frozen = model[1].weight.clone()
    fit(model, blobs, epochs=1, progress=False)
    assert torch.equal(model[1].weight, frozen)


# --------------------------------------------------------------------------------------------------------------------
# data forms
# --------------------------------------------------------------------------------------------------------------------


def test_dataset_and_dataloader_inputs(blobs) -> None:
    x, y = blobs
    m_ds = tiny_mlp()
    h_ds = fit(m_ds, PairDataset(x, y), epochs=2, batch_size=16, val=PairDataset(x, y), progress=False)
    assert len(h_ds) == 2 and "val_accuracy" in h_ds.last
    m_ds2 = tiny_mlp()
    fit(m_ds2, PairDataset(x, y), epochs=2, batch_size=16, val=PairDataset(x, y), progress=False)
    assert_same_state(m_ds, m_ds2)  # Dataset shuffling is seeded too

    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    m_dl = tiny_mlp()
    h_dl = fit(m_dl, loader, epochs=2, val=DataLoader(TensorDataset(x, y), batch_size=64), progress=False)
    assert len(h_dl) == 2
    m_dl2 = tiny_mlp()
    fit(m_dl2, loader, epochs=2, progress=False)
    assert_same_state(m_dl, m_dl2)  # an unseeded DataLoader draws from the seeded (forked) global RNG

    ev_t = evaluate(m_dl, (x, y))
    for other in (evaluate(m_dl, PairDataset(x, y), batch_size=7),
                  evaluate(m_dl, DataLoader(TensorDataset(x, y), batch_size=5))):
        # pytest.approx does not compare nested containers (pytest >= 9): the scalars, then the per-class list
        assert set(other) == set(ev_t)
        assert {k: v for k, v in other.items() if k != "per_class_accuracy"} == pytest.approx(
            {k: v for k, v in ev_t.items() if k != "per_class_accuracy"})
        assert other["per_class_accuracy"] == pytest.approx(ev_t["per_class_accuracy"], nan_ok=True)


def test_numpy_pair_input(blobs) -> None:
    x, y = blobs
    h = fit(tiny_mlp(), (x.numpy(), y.numpy()), epochs=1, progress=False)
    assert len(h) == 1
    model = tiny_mlp()  # float64 numpy images are cast to the model's dtype
    h64 = fit(model, (x.double().numpy(), y.numpy().astype("int32")), epochs=1, progress=False)
    assert math.isfinite(h64.last["train_loss"])
    assert predict(model, x.double()).dtype == torch.float32
    assert evaluate(model, (x.double(), y))["n"] == 64


# --------------------------------------------------------------------------------------------------------------------
# evaluate / predict
# --------------------------------------------------------------------------------------------------------------------


def test_evaluate_restores_mode_and_values(blobs) -> None:
    x, y = blobs
    model = tiny_mlp(dropout=0.5)
    model.train()
    model[3].eval()  # mixed modes must come back exactly
    res = evaluate(model, (x, y), batch_size=10)
    assert model.training and model[1].training and not model[3].training
    assert set(res) == {"accuracy", "loss", "n", "correct", "per_class_accuracy"}
    assert res["n"] == 64 and isinstance(res["correct"], int)
    with torch.no_grad():
        model.eval()
        logits = model(x)
    assert res["correct"] == int((logits.argmax(1) == y).sum())
    assert res["accuracy"] == pytest.approx(res["correct"] / 64)
    assert res["loss"] == pytest.approx(float(nn.functional.cross_entropy(logits, y)), rel=1e-5)
    per_class = [float((logits.argmax(1)[y == c] == c).float().mean()) for c in (0, 1)]
    assert res["per_class_accuracy"] == pytest.approx(per_class)


def test_evaluate_absent_class_is_nan(blobs) -> None:
    x, y = blobs
    res = evaluate(tiny_mlp(k=3), (x, y))
    assert len(res["per_class_accuracy"]) == 3 and math.isnan(res["per_class_accuracy"][2])


def test_evaluate_no_grad_and_custom_loss(blobs) -> None:
    res = evaluate(tiny_mlp(), blobs, loss_fn=lambda logits, y: logits.sum() * 0 + 2.0)
    assert res["loss"] == pytest.approx(2.0)


def test_predict_shapes_and_mode(blobs) -> None:
    x, _ = blobs
    model = tiny_mlp(k=3, dropout=0.5)
    model.train()
    out = predict(model, x, batch_size=10)
    assert out.shape == (64, 3) and out.dtype == torch.float32 and out.device.type == "cpu"
    assert not out.requires_grad
    assert model.training
    model.eval()
    with torch.no_grad():
        assert torch.allclose(out, model(x))
    assert predict(model, x[:1]).shape == (1, 3)
    assert predict(model, x.numpy(), device="cpu").shape == (64, 3)


def test_evaluate_predict_bad_inputs(blobs) -> None:
    x, y = blobs
    model = tiny_mlp()
    with pytest.raises(ValueError, match="images"):
        predict(model, x[:0])
    with pytest.raises(ShapeError, match="images"):
        predict(model, x[0])
    with pytest.raises(ValueError, match="data"):
        evaluate(model, (x[:0], y[:0]))
    with pytest.raises(ValueError, match="data"):
        evaluate(model, PairDataset(x[:0], y[:0]))
    with pytest.raises(ValueError, match=r"data.*\[0, 2\)"):
        evaluate(model, (x, y + 5))
    with pytest.raises(TypeError, match="model"):
        evaluate("not a model", (x, y))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------------------------
# checkpoints
# --------------------------------------------------------------------------------------------------------------------


def test_checkpoint_roundtrip(tmp_path: Path, blobs) -> None:
    model = tiny_mlp()
    opt = torch.optim.Adam(model.parameters())
    h = fit(model, blobs, epochs=1, optimizer=opt, progress=False)
    path = save_checkpoint(tmp_path / "sub" / "m.pt", model, optimizer=opt, epoch=1, history=h,
                           metadata={"note": "hi", "path": tmp_path})  # fmt: skip
    assert path == tmp_path / "sub" / "m.pt" and path.is_file()
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "pyrepair-checkpoint" and raw["version"] == 1
    assert {"state_dict", "config", "optimizer", "scheduler", "epoch", "history", "metadata"} <= set(raw)

    other = tiny_mlp(seed=5)
    ck = load_checkpoint(path, other)
    assert_same_state(model, other)
    assert ck.model is other and ck.epoch == 1 and ck.config is None
    assert ck.history == h
    assert ck.metadata["note"] == "hi" and ck.metadata["path"] == str(tmp_path)
    assert ck.metadata["torch_version"] == torch.__version__ and "time" in ck.metadata
    assert "pyrepair_version" in ck.metadata
    assert ck.optimizer_state is not None and ck.scheduler_state is None

    ck2 = load_checkpoint(str(path))  # no model, no config: state only
    assert ck2.model is None and set(ck2.state_dict) == set(model.state_dict())


def test_checkpoint_builds_model_from_config(tmp_path: Path, monkeypatch) -> None:
    model = tiny_mlp(k=3)
    model.pyrepair_config = {"arch": "tiny_mlp", "k": 3}  # type: ignore[assignment]
    save_checkpoint(tmp_path / "c.pt", model)
    seen = []

    def from_config(cfg):
        seen.append(cfg)
        return tiny_mlp(seed=9, k=cfg["k"])

    fake = types.ModuleType("pyrepair.models")
    fake.from_config = from_config  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyrepair.models", fake)
    ck = load_checkpoint(tmp_path / "c.pt")
    assert seen == [{"arch": "tiny_mlp", "k": 3}] and ck.config == seen[0]
    assert ck.model is not None
    assert_same_state(model, ck.model)


def test_checkpoint_atomic_on_crash(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "m.pt"
    good = tiny_mlp(seed=1)
    save_checkpoint(path, good, epoch=1)
    real_save = torch.save

    def crashing_save(obj, f, *args, **kwargs):
        f.write(b"partial garbage")
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(RuntimeError, match="simulated crash"):
        save_checkpoint(path, tiny_mlp(seed=2), epoch=2)
    monkeypatch.setattr(torch, "save", real_save)
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temp file left behind
    restored = tiny_mlp(seed=3)
    ck = load_checkpoint(path, restored)
    assert ck.epoch == 1
    assert_same_state(good, restored)


def test_load_checkpoint_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pt"
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(missing)
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a checkpoint")
    with pytest.raises(CheckpointError, match="not a pyrepair checkpoint") as info:
        load_checkpoint(text)
    assert isinstance(info.value, ValueError) and isinstance(info.value, PyrepairError)
    assert str(text) in str(info.value)
    plain = tmp_path / "plain.pt"
    torch.save(tiny_mlp().state_dict(), plain)
    with pytest.raises(CheckpointError, match="not a pyrepair checkpoint"):
        load_checkpoint(plain)
    future = tmp_path / "future.pt"
    torch.save({"format": "pyrepair-checkpoint", "version": 99, "state_dict": {}}, future)
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(future)


def test_save_checkpoint_rejects_non_plain_metadata(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="metadata"):
        save_checkpoint(tmp_path / "m.pt", tiny_mlp(), metadata={"obj": object()})
    assert not any(tmp_path.iterdir())


def test_fit_checkpoint_every_epoch(tmp_path: Path, blobs) -> None:
    path = tmp_path / "run.pt"
    epochs_seen = []

    def cb(epoch, record, model):
        epochs_seen.append(load_checkpoint(path).epoch)

    fit(tiny_mlp(), blobs, epochs=2, checkpoint=path, callbacks=[cb], progress=False)
    assert epochs_seen == [1, 2]
    ck = load_checkpoint(path)
    assert len(ck.history) == 2 and ck.metadata["fit"]["seed"] == 0


def test_resume_equals_uninterrupted(tmp_path: Path, digits) -> None:
    (xtr, ytr), (xte, yte) = digits
    data, val = (xtr[:400], ytr[:400]), (xte[:100], yte[:100])
    kw = dict(batch_size=32, lr=5e-3, scheduler="cosine", seed=3, val=val, progress=False)

    full = small_cnn(dropout=0.2)
    h_full = fit(full, data, epochs=3, **kw)

    class Crash(Exception):
        pass

    def crash_after_first(epoch: int, record: dict, model: nn.Module) -> None:
        raise Crash  # the run dies after epoch 1 (its checkpoint is already written)

    path = tmp_path / "ck.pt"
    part = small_cnn(dropout=0.2)
    with pytest.raises(Crash):
        fit(part, data, epochs=3, checkpoint=path, callbacks=[crash_after_first], **kw)
    assert load_checkpoint(path).epoch == 1
    resumed = small_cnn(seed=99, dropout=0.2)  # weights come from the checkpoint
    h_res = fit(resumed, data, epochs=3, checkpoint=path, resume=path, **kw)

    assert_same_state(full, resumed)
    assert len(h_res) == 3
    for a, b in zip(h_full.epochs, h_res.epochs, strict=True):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    assert load_checkpoint(path).epoch == 3

    # already complete: nothing to do, history returned as stored
    again = fit(small_cnn(), data, epochs=3, resume=path, **kw)
    assert len(again) == 3


def test_resume_with_changed_settings_warns(tmp_path: Path, blobs) -> None:
    path = tmp_path / "ck.pt"
    fit(tiny_mlp(), blobs, epochs=1, checkpoint=path, seed=0, progress=False)
    h = fit(tiny_mlp(), blobs, epochs=2, resume=path, progress=False)  # more epochs, no schedule: no warning
    assert len(h) == 2
    with pytest.warns(UserWarning, match="seed"):
        fit(tiny_mlp(), blobs, epochs=2, resume=path, seed=1, progress=False)
    with pytest.raises(FileNotFoundError, match="nothing.pt"):
        fit(tiny_mlp(), blobs, epochs=2, resume=tmp_path / "nothing.pt", progress=False)


# --------------------------------------------------------------------------------------------------------------------
# validation and failure modes
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_data", "exc", "pattern"),
    [
        (lambda x, y: (x[:, 0], y), ShapeError, r"fit: data\[0\] \(images\) must have shape"),
        (lambda x, y: (x, y.float()), DTypeError, r"fit: data\[1\] \(labels\) must be an integer"),
        (lambda x, y: (x, y[:-3]), ShapeError, r"fit: data images and labels must have the same N"),
        (lambda x, y: (x.long(), y), DTypeError, r"fit: data\[0\] \(images\) must be a floating"),
        (lambda x, y: (x[:0], y[:0]), ValueError, r"fit: data must hold at least one sample"),
        (lambda x, y: PairDataset(x[:0], y[:0]), ValueError, r"fit: data must hold at least one sample"),
        (lambda x, y: (x, y + 1), ValueError, r"fit: data labels must lie in \[0, 2\)"),
        (lambda x, y: (x, y - 1), ValueError, r"fit: data\[1\] \(labels\) must be >= 0"),
        (lambda x, y: (x, y, y), TypeError, r"fit: data must be an \(images, labels\) pair"),
        (lambda x, y: {"x": x}, TypeError, r"fit: data must be an \(images, labels\) tuple"),
    ],
)
def test_fit_bad_data(blobs, make_data, exc, pattern) -> None:
    x, y = blobs
    with pytest.raises(exc, match=pattern):
        fit(tiny_mlp(), make_data(x, y), progress=False)


def test_fit_bad_val(blobs) -> None:
    x, y = blobs
    with pytest.raises(ShapeError, match=r"val\[0\]"):
        fit(tiny_mlp(), (x, y), val=(x[:, 0], y), progress=False)
    with pytest.raises(ValueError, match=r"val labels must lie"):
        fit(tiny_mlp(), (x, y), val=(x, y + 2), progress=False)


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"epochs": 1.5}, TypeError, "epochs"),
        ({"lr": -1}, ValueError, "lr"),
        ({"lr": float("nan")}, ValueError, "lr"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay"),
        ({"seed": -1}, ValueError, "seed"),
        ({"max_grad_norm": 0}, ValueError, "max_grad_norm"),
        ({"optimizer": "rmsprop"}, UnknownNameError, "optimizer 'rmsprop'; valid: adam, adamw, sgd"),
        ({"scheduler": "linear"}, UnknownNameError, "scheduler 'linear'; valid: cosine, none, step"),
        ({"callbacks": [1]}, TypeError, "callbacks"),
        ({"loss_fn": 3}, TypeError, "loss_fn"),
        ({"amp": "yes"}, TypeError, "amp"),
        ({"device": "gpu9"}, DeviceError, "device"),
    ],
)
def test_fit_bad_arguments(blobs, kwargs, exc, pattern) -> None:
    with pytest.raises(exc, match=pattern):
        fit(tiny_mlp(), blobs, progress=False, **kwargs)


def test_nan_loss_raises(blobs) -> None:
    model = tiny_mlp()
    with torch.no_grad():
        model[4].bias.fill_(float("nan"))
    before = model[1].weight.clone()
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 1 of 4"):
        fit(model, blobs, epochs=2, batch_size=16, progress=False)
    assert torch.equal(model[1].weight, before)  # no step was taken with the NaN loss


def test_nan_in_later_batch_reports_it(blobs) -> None:
    x, y = blobs
    x = x.clone()
    # NaN images are rejected up front since issue 13: mark sample 40 with a finite huge value instead, and have the
    # loss turn nan on the batch holding it
    x[40] = 1e6

    def loss_fn(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        nan = torch.where(logits.detach().abs().amax() > 1e3, float("nan"), 0.0)
        return torch.nn.functional.cross_entropy(logits, labels) + nan

    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 3"):
        fit(tiny_mlp(), DataLoader(TensorDataset(x, y), batch_size=16), epochs=1, progress=False, loss_fn=loss_fn)


def test_early_stopping_callback(blobs) -> None:
    seen = []

    def stop_after_two(epoch: int, record: dict, model: nn.Module) -> bool:
        seen.append((epoch, set(record)))
        assert isinstance(model, nn.Module)
        return epoch >= 2

    h = fit(tiny_mlp(), blobs, epochs=10, callbacks=[stop_after_two], progress=False)
    assert len(h) == 2 and [e for e, _ in seen] == [1, 2]
    assert "train_loss" in seen[0][1]
    h1 = fit(tiny_mlp(), blobs, epochs=5, callbacks=lambda e, r, m: None, progress=False)  # single callable
    assert len(h1) == 5


# --------------------------------------------------------------------------------------------------------------------
# progress, logging, devices
# --------------------------------------------------------------------------------------------------------------------


def test_progress_false_is_silent(blobs, capsys) -> None:
    fit(tiny_mlp(), blobs, epochs=2, val=blobs, progress=False)
    evaluate(tiny_mlp(), blobs)
    predict(tiny_mlp(), blobs[0])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_none_respects_env(blobs, capsys, monkeypatch) -> None:
    monkeypatch.setenv("PYREPAIR_PROGRESS", "0")
    fit(tiny_mlp(), blobs, epochs=1, progress=None)
    assert capsys.readouterr().err == ""


def test_progress_true_draws_bars(blobs, capsys) -> None:
    fit(tiny_mlp(), blobs, epochs=1, batch_size=8, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "batch" in err


def test_logs_epoch_summary(blobs, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="pyrepair.train"):
        fit(tiny_mlp(), blobs, epochs=2, progress=False)
    msgs = [r.getMessage() for r in caplog.records if r.name == "pyrepair.train"]
    assert any(m.startswith("epoch 2/2: train_loss=") for m in msgs)


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device().type == expected and resolve_device("auto").type == expected
    with pytest.raises(DeviceError, match="invalid device 'banana'"):
        resolve_device("banana")
    with pytest.raises(TypeError, match="device"):
        resolve_device(1.5)  # type: ignore[arg-type]
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="'cuda:3'.*CUDA is not available"):
            resolve_device("cuda:3")
    else:
        n = torch.cuda.device_count()
        with pytest.raises(DeviceError, match=f"only {n} CUDA device"):
            resolve_device(f"cuda:{n}")


@pytest.mark.cuda
def test_fit_on_cuda_with_amp(blobs) -> None:
    model = tiny_mlp()
    h = fit(model, blobs, epochs=2, device="cuda", progress=False)
    assert next(model.parameters()).device.type == "cuda"
    assert math.isfinite(h.last["train_loss"])
    cpu_model = tiny_mlp()
    res = evaluate(cpu_model, blobs, device="cuda")
    assert next(cpu_model.parameters()).device.type == "cpu"  # moved back
    assert res["n"] == 64
    assert predict(model, blobs[0]).device.type == "cpu"
