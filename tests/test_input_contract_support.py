"""Issue 13 (support modules): the input contract of train / scenarios / methods / checkpoints / CLI.

Every test feeds one bad input and asserts the error class and its message (the public function's name, the
argument, the expectation, the offending value).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from pyrepair import cli, models, train
from pyrepair._io import DIGEST_KEY, atomic_torch_save, content_digest, load_hashed, save_hashed
from pyrepair._loop import check_callbacks, resolve_device
from pyrepair.errors import (
    ArgumentError,
    CheckpointError,
    DeviceError,
    PathIsDirectoryError,
    PathNotFoundError,
    PyrepairWarning,
    ShapeError,
    UnknownNameError,
    ValueRangeError,
)
from pyrepair.methods import AugMixRepair, RepairResult, finetune
from pyrepair.scenarios import corruption_failures
from pyrepair.wavelet import stylizer
from pyrepair.wavelet.stylizer import WCT2, load_wct2, save_wct2

NO_CUDA = not torch.cuda.is_available()


def _digits_model(k: int = 10) -> nn.Module:
    return models.create("lenet", num_classes=k, in_channels=1, input_size=8, seed=0)


def _data(n: int = 16, k: int = 10, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, size, size, generator=g), torch.arange(n) % k


# ----------------------------------------------------------------------------------------------------------------
# 1. labels and input shape checked against the model; non-finite / out-of-range images
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", ["evaluate", "predict", "fit"])
def test_train_functions_reject_images_the_model_cannot_take(fn):
    model = _digits_model()
    x, y = _data(size=28)  # MNIST-sized images into an 8x8 digits model
    call = {
        "evaluate": lambda: train.evaluate(model, (x, y)),
        "predict": lambda: train.predict(model, x),
        "fit": lambda: train.fit(model, (x, y), 1, progress=False, device="cpu"),
    }[fn]
    with pytest.raises(ShapeError, match=rf"pyrepair\.train\.{fn}: (data )?images of shape \[N, 1, 28, 28\] do not "
                                         r"fit the model, which "
                                         r"expects \[N, 1, 8, 8\]"):
        call()


def test_shape_error_for_plain_module_names_the_data_shape():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    with pytest.raises(ShapeError, match=r"pyrepair\.train\.evaluate: data images of shape \[N, 1, 28, 28\] do not "
                                         r"fit the model \(forward pass failed"):
        train.evaluate(model, _data(size=28, k=3))


def test_fit_rejects_labels_outside_model_classes_before_training():
    model = _digits_model(k=3)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"pyrepair\.train\.fit: data labels must lie in \[0, 3\).*\[0, 9\]"):
        train.fit(model, _data(), 1, progress=False, device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_evaluate_predict_fit_reject_non_finite_images(bad):
    model = _digits_model()
    x, y = _data()
    x[3, 0, 2, 2] = bad
    with pytest.raises(ValueError, match=r"pyrepair\.train\.evaluate: data\[0\] \(images\) must be finite, got 1"):
        train.evaluate(model, (x, y))
    with pytest.raises(ValueError, match=r"pyrepair\.train\.predict: images must be finite, got 1 NaN/inf"):
        train.predict(model, x)
    with pytest.raises(ValueError, match=r"pyrepair\.train\.fit: data\[0\] \(images\) must be finite"):
        train.fit(model, (x, y), 1, progress=False, device="cpu")


def test_evaluate_rejects_non_finite_images_from_a_dataset():
    x, y = _data()
    x[5] = float("nan")
    with pytest.raises(ValueError, match=r"pyrepair\.train\.evaluate: data images must be finite"):
        train.evaluate(_digits_model(), torch.utils.data.TensorDataset(x, y))


def test_corruption_failures_rejects_labels_outside_model_classes():
    model = _digits_model(k=3)
    x, y = _data(k=10)
    with pytest.raises(ValueError, match=r"pyrepair\.scenarios\.corruption_failures: labels must lie in \[0, 3\) "
                                         r"\(the model outputs 3 classes\), got values in \[0, 9\]"):
        corruption_failures(model, x, y, "gaussian_noise", n_collect=2)


def test_failure_split_alias_rejects_labels_outside_model_classes():
    from pyrepair import data

    x, y = _data(k=10)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        data.failure_split(_digits_model(k=3), x, y, "gaussian_noise", n_collect=2)


def test_corruption_failures_rejects_images_the_model_cannot_take():
    x, y = _data(size=28)
    with pytest.raises(ShapeError, match=r"pyrepair\.scenarios\.corruption_failures: images of shape "
                                         r"\[N, 1, 28, 28\] do not fit the model, which expects \[N, 1, 8, 8\]"):
        corruption_failures(_digits_model(), x, y, "gaussian_noise", n_collect=2)


def test_repair_rejects_images_outside_unit_range_unless_opted_out():
    model = _digits_model()
    x, y = _data()
    with pytest.raises(ValueError, match=r"pyrepair\.methods\.AugMixRepair\.repair: train images must lie in "
                                         r"\[0, 1\].*got values in \[0\.\d+, 2\d\d\.\d+\].*check_range=False"):
        AugMixRepair(epochs=1, include_failures=False).repair(model, (x * 255, y), device="cpu", progress=False)
    method = AugMixRepair(epochs=1, batch_size=8, include_failures=False)
    res = method.repair(model, (x * 2, y), device="cpu", progress=False, check_range=False)
    assert res.history.epochs[0]["epoch"] == 1


def test_repair_rejects_non_finite_images_and_wrong_shape():
    model = _digits_model()
    x, y = _data()
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"AugMixRepair\.repair: failures images must be finite"):
        AugMixRepair(epochs=1, include_failures=False).repair(model, (x, y), (bad, y), device="cpu", progress=False)
    big = _data(size=28)
    with pytest.raises(ShapeError, match=r"AugMixRepair\.repair: train images of shape \[N, 1, 28, 28\] do not fit "
                                         r"the model, which expects \[N, 1, 8, 8\]"):
        AugMixRepair(epochs=1, include_failures=False).repair(model, big, device="cpu", progress=False)


def test_repair_check_range_must_be_bool():
    with pytest.raises(TypeError, match=r"AugMixRepair\.repair: check_range must be True or False, got 1"):
        method = AugMixRepair(epochs=1, include_failures=False)
        method.repair(_digits_model(), _data(), check_range=1)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------------------
# 4. callbacks and devices
# ----------------------------------------------------------------------------------------------------------------


def test_fit_and_finetune_reject_non_iterable_callbacks():
    model = _digits_model()
    with pytest.raises(TypeError, match=r"pyrepair\.train\.fit: callbacks must be a callable .* got 5"):
        train.fit(model, _data(), 1, callbacks=5, progress=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"pyrepair\.methods\.finetune: callbacks must be a callable .* got 5"):
        finetune(model, _data(), epochs=1, callbacks=5, progress=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"callbacks must be a callable"):
        check_callbacks("print", "f")  # a string is iterable but never a callback list


@pytest.mark.parametrize("bad_device", ["gpu", "cuda:x", -1])
def test_device_errors_name_the_function_and_valid_forms(bad_device):
    device = bad_device
    model = _digits_model()
    forms = r"valid forms|must be one of None, 'auto', 'cpu', 'cuda'"
    for call, name in [
        (lambda: train.fit(model, _data(), 1, device=device, progress=False), r"pyrepair\.train\.fit"),
        (lambda: train.evaluate(model, _data(), device=device), r"pyrepair\.train\.evaluate"),
        (lambda: train.predict(model, _data()[0], device=device), r"pyrepair\.train\.predict"),
        (lambda: AugMixRepair(epochs=1, include_failures=False).repair(model, _data(), device=device),
         r"AugMixRepair\.repair"),
    ]:
        with pytest.raises(DeviceError, match=rf"{name}: .*({forms})"):
            call()


@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
@pytest.mark.parametrize("cuda_device", ["cuda", 0, "cuda:1"])
def test_cuda_on_cpu_machine_is_device_error_naming_the_caller(cuda_device):
    device = cuda_device
    with pytest.raises(DeviceError, match=r"^pyrepair\.train\.fit: device .* requested but CUDA is not available"):
        resolve_device(device, "pyrepair.train.fit")
    with pytest.raises(DeviceError, match=r"^pyrepair\.train\.evaluate: device"):
        train.evaluate(_digits_model(), _data(), device=device)


# ----------------------------------------------------------------------------------------------------------------
# 2. checkpoints that detect damage
# ----------------------------------------------------------------------------------------------------------------


def _flip(path, offset: int, n: int = 64) -> None:
    raw = bytearray(path.read_bytes())
    offset = max(0, min(offset, len(raw) - n))
    for i in range(offset, offset + n):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def _offsets(size: int) -> list[int]:
    return [size // 2, size // 3, 2 * size // 3, size // 5, 4 * size // 5, size - 64, 0, 100]


def test_checkpoint_flip_64_bytes_in_the_middle_never_loads(tmp_path):
    p = train.save_checkpoint(tmp_path / "m.pt", _digits_model(), epoch=3)
    _flip(p, len(p.read_bytes()) // 2)
    with pytest.raises(CheckpointError, match=rf"pyrepair\.train\.load_checkpoint: .*{p.name}"):
        train.load_checkpoint(p)


@pytest.mark.parametrize("k", range(8))
def test_checkpoint_flip_at_other_offsets_never_loads(tmp_path, k):
    p = train.save_checkpoint(tmp_path / "m.pt", _digits_model(), epoch=3, metadata={"note": "x" * 50})
    _flip(p, _offsets(len(p.read_bytes()))[k])
    with pytest.raises(CheckpointError, match=r"pyrepair\.train\.load_checkpoint: .*m\.pt"):
        train.load_checkpoint(p)


def test_checkpoint_hash_mismatch_message(tmp_path):
    model = _digits_model()
    obj = {"format": train.CHECKPOINT_FORMAT, "version": 1, "state_dict": model.state_dict(), "epoch": 1}
    obj[DIGEST_KEY] = content_digest(obj)
    obj["epoch"] = 2  # content changed after hashing
    atomic_torch_save(obj, tmp_path / "t.pt")
    with pytest.raises(CheckpointError, match=r"t\.pt is damaged: its content does not match the sha256"):
        train.load_checkpoint(tmp_path / "t.pt", _digits_model())


def test_checkpoint_round_trip_and_hash_stored(tmp_path):
    model = _digits_model()
    p = train.save_checkpoint(tmp_path / "m.pt", model, epoch=1)
    raw = torch.load(p, weights_only=True)
    assert raw["version"] == train.CHECKPOINT_VERSION == 1 and len(raw[DIGEST_KEY]) == 64
    ck = train.load_checkpoint(p)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), ck.state_dict.values(), strict=True))


def test_old_checkpoint_without_hash_loads_with_warning(tmp_path):
    model = _digits_model()
    old = {"format": train.CHECKPOINT_FORMAT, "version": 1, "state_dict": model.state_dict(),
           "config": model.pyrepair_config, "epoch": 4, "history": None, "metadata": {}}
    atomic_torch_save(old, tmp_path / "old.pt")
    with pytest.warns(PyrepairWarning, match=r"old\.pt has no content hash \(written by an older pyrepair\)"):
        ck = train.load_checkpoint(tmp_path / "old.pt")
    assert ck.epoch == 4 and ck.model is not None


class _Foreign:
    pass


@pytest.mark.parametrize("kind", ["random", "text", "empty", "pickle", "torch_dict", "torch_tensor"])
def test_non_checkpoints_are_one_clear_line(tmp_path, kind):
    p = tmp_path / f"{kind}.pt"
    if kind == "random":
        p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "text":
        p.write_text("hello, I am a text file\n" * 20)
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "pickle":
        p.write_bytes(pickle.dumps(_Foreign()))
    elif kind == "torch_dict":
        torch.save({"a": 1}, p)
    else:
        torch.save(torch.zeros(3), p)
    loaders = [
        (lambda: train.load_checkpoint(p), r"pyrepair\.train\.load_checkpoint"),
        (lambda: load_wct2(p), r"pyrepair\.wavelet\.stylizer\.load_wct2"),
    ]
    for load, name in loaders:
        with pytest.raises(CheckpointError) as info:
            load()
        msg = str(info.value)
        assert msg.startswith(name.replace("\\", "") + ": ") and p.name in msg and "not a pyrepair" in msg, msg
        assert "\n" not in msg and "weights_only" not in msg, msg


def test_foreign_torch_pickle_never_advises_weights_only_false(tmp_path):
    p = tmp_path / "obj.pt"
    torch.save({"format": "pyrepair-checkpoint", "obj": _Foreign()}, p)
    with pytest.raises(CheckpointError, match=r"holds objects other than tensors and plain containers") as info:
        train.load_checkpoint(p)
    assert "weights_only" not in str(info.value)


@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
def test_map_location_cuda_on_cpu_machine_is_device_error(tmp_path):
    p = train.save_checkpoint(tmp_path / "m.pt", _digits_model())
    with pytest.raises(DeviceError, match=r"pyrepair\.train\.load_checkpoint: map_location 'cuda' asks for CUDA"):
        train.load_checkpoint(p, map_location="cuda")
    w = save_wct2(WCT2(), tmp_path / "w.pt")
    with pytest.raises(DeviceError, match=r"pyrepair\.wavelet\.stylizer\.load_wct2: map_location"):
        load_wct2(w, map_location=torch.device("cuda"))


def test_wct2_weights_detect_damage_and_round_trip(tmp_path):
    model = WCT2()
    p = save_wct2(model, tmp_path / "w.pt")
    back = load_wct2(p)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), back.state_dict().values(),
                                                 strict=True))
    _flip(p, len(p.read_bytes()) // 2)
    with pytest.raises(CheckpointError, match=r"pyrepair\.wavelet\.stylizer\.load_wct2: .*w\.pt"):
        load_wct2(p)


def test_wct2_old_weights_without_hash_warn(tmp_path):
    model = WCT2()
    atomic_torch_save({"format": stylizer._CKPT_FORMAT, "unpool": model.unpool, "state_dict": model.state_dict()},
                      tmp_path / "old.pt")
    with pytest.warns(PyrepairWarning, match="no content hash"):
        load_wct2(tmp_path / "old.pt")


def test_repair_result_detects_damaged_model_file(tmp_path):
    model = _digits_model()
    res = RepairResult(model=model, history=train.History(), metrics={"seconds": 0.0}, method="augmix")
    out = res.save(tmp_path / "r")
    RepairResult.load(out)  # intact: loads without a warning (filterwarnings=error)
    p = out / "model.pt"
    _flip(p, len(p.read_bytes()) // 2)
    with pytest.raises(CheckpointError, match=r"model\.pt"):
        RepairResult.load(out)


def test_load_hashed_helpers_round_trip(tmp_path):
    p = save_hashed({"format": "x", "t": torch.arange(4.0), "s": "a"}, tmp_path / "h.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obj = load_hashed(p, "f", format="x", what="thing")
    assert DIGEST_KEY not in obj and torch.equal(obj["t"], torch.arange(4.0))
    with pytest.raises(CheckpointError, match=r"^f: .*h\.pt is not a thing \(no 'format': 'y' entry\)"):
        load_hashed(p, "f", format="y", what="thing")
    with pytest.raises(IsADirectoryError, match=r"^f: path must be a thing file, got a directory"):
        load_hashed(tmp_path, "f", format="x", what="thing")


# ----------------------------------------------------------------------------------------------------------------
# 3. a CLI that never shows a traceback
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv,match",
    [
        (["train", "--batch-size", "0"], r"argument --batch-size: expected an integer >= 1, got 0"),
        (["train", "--epochs", "0"], r"argument --epochs: expected an integer >= 1, got 0"),
        (["train", "--epochs", "two"], r"argument --epochs: expected an integer >= 1, got 'two'"),
        (["train", "--lr", "-1"], r"argument --lr: expected a number in \(0, 10\], got -1"),
        (["train", "--lr", "nan"], r"argument --lr: expected a number in \(0, 10\], got nan"),
        (["train", "--weight-decay", "2"], r"argument --weight-decay: expected a number in \[0, 1\], got 2"),
        (["train", "--seed", "-3"], r"argument --seed: expected an integer >= 0, got -3"),
        (["evaluate", "--model", "m.pt", "--limit", "0"], r"argument --limit: expected an integer >= 1, got 0"),
        (["evaluate", "--model", "m.pt", "--batch-size", "-5"], r"argument --batch-size: expected an integer >= 1"),
    ],
)
def test_cli_numeric_flags_are_checked_by_argparse(argv, match, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert __import__("re").search(match, err), err
    assert "Traceback" not in err


def _user_error(tmp_path, what: str) -> list[str]:
    if what == "directory":
        return ["evaluate", "--model", str(tmp_path)]
    if what == "random":
        p = tmp_path / "r.pt"
        p.write_bytes(b"\x00\x01garbage" * 30)
        return ["evaluate", "--model", str(p)]
    if what == "flipped":
        p = train.save_checkpoint(tmp_path / "m.pt", _digits_model())
        _flip(p, len(p.read_bytes()) // 2)
        return ["evaluate", "--model", str(p)]
    if what == "shape":  # a digits (8x8) model evaluated on 28x28 images
        p = train.save_checkpoint(tmp_path / "m.pt", models.create("lenet", num_classes=10, input_size=28, seed=0))
        return ["evaluate", "--model", str(p), "--dataset", "digits", "--limit", "16"]
    if what == "out_is_dir":
        return ["train", "--epochs", "1", "--limit", "32", "--out", str(tmp_path), "--no-progress"]
    if what == "device":
        return ["evaluate", "--model", "nowhere.pt", "--device", "gpu"]
    raise AssertionError(what)


_USER_CASES = {
    "directory": "got a directory",
    "random": "is not a pyrepair checkpoint",
    "flipped": "m.pt",
    "shape": r"do not fit the model, which expects \[N, 1, 28, 28\]",
    "out_is_dir": "",
    "device": "nowhere.pt",
}


@pytest.mark.parametrize("what", list(_USER_CASES))
def test_cli_user_mistakes_are_one_line_exit_2(what, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = _user_error(tmp_path, what)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"pyrepair {argv[0]}: error: "), err
    assert __import__("re").search(_USER_CASES[what], lines[0]), err


@pytest.mark.parametrize("exc", [RuntimeError("boom"), FloatingPointError("loss is nan"), KeyError("k")])
def test_cli_internal_failures_exit_1_and_debug_shows_traceback(exc, capsys, monkeypatch):
    def broken(args):
        raise exc

    monkeypatch.setattr(cli, "_cmd_info", broken)
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "rerun with --debug" in err and type(exc).__name__ in err
    assert len(err.strip().splitlines()) == 1
    assert cli.main(["--debug", "info"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "rerun with --debug" not in err


def test_cli_subprocess_never_shows_traceback(tmp_path):
    for argv, code in [(["train", "--batch-size", "0"], 2), (["evaluate", "--model", str(tmp_path)], 2)]:
        out = subprocess.run([sys.executable, "-m", "pyrepair", *argv], capture_output=True, text=True, cwd=tmp_path)
        assert out.returncode == code, out.stderr
        assert "Traceback" not in out.stderr and out.stderr.strip(), out.stderr


def test_loop_state_detects_damage(tmp_path):
    from pyrepair._loop import TrainLoop, as_loader, cross_entropy_step

    model = _digits_model()
    loop = TrainLoop(model, as_loader(_data(), 8, False, None, "t"), cross_entropy_step,
                     torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, fn="t.loop")
    p = tmp_path / "s.pt"
    loop.save(p)
    loop.load(p)
    _flip(p, len(p.read_bytes()) // 2)
    with pytest.raises(CheckpointError, match=r"^t\.loop: .*s\.pt"):
        loop.load(p)


def test_cli_evaluate_digits_model_on_mnist_is_one_line_shape_error(shared_data, tmp_path, capsys):
    """The example of issue 13: a digits (8x8) checkpoint evaluated on MNIST (28x28) died deep in a matmul."""
    p = train.save_checkpoint(tmp_path / "digits.pt", _digits_model())
    argv = ["evaluate", "--model", str(p), "--dataset", "mnist", "--data-root", str(shared_data), "--limit", "16"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "pyrepair evaluate: error: pyrepair.train.evaluate: data images of shape [N, 1, 28, 28] do not fit the " \
           "model, which expects [N, 1, 8, 8]" in err, err


# ----------------------------------------------------------------------------------------------------------------
# counts beyond int64 and momentum outside [0, 1] (generated-suite gaps)


@pytest.mark.parametrize("kw", [{"epochs": 2**63}, {"batch_size": 2**63}])
def test_method_constructors_reject_counts_beyond_int64(kw):
    (name, value), = kw.items()
    with pytest.raises(ValueError, match=rf"pyrepair.methods.AugMixRepair: {name} must be in \[1, 2\^63 - 1\], "
                                         rf"got {value}"):
        AugMixRepair(**kw)


def test_momentum_must_lie_in_unit_interval():
    with pytest.raises(ValueError, match=r"pyrepair.methods.AugMixRepair: momentum must be in \[0.0, 1.0\], got 1.5"):
        AugMixRepair(momentum=1.5)
    x, y = _data()
    with pytest.raises(ValueError, match=r"pyrepair.train.fit: momentum must be in \[0.0, 1.0\], got -0.5"):
        train.fit(_digits_model(), (x, y), epochs=1, momentum=-0.5, progress=False)
    with pytest.raises(ValueError, match=r"pyrepair.train.fit: batch_size must be in \[1, 2\^63 - 1\]"):
        train.fit(_digits_model(), (x, y), epochs=1, batch_size=2**63, progress=False)


# ----------------------------------------------------------------------------------------------------------------
# paths: PyrepairError subclasses that are also the builtin OSError a caller may catch


def test_fit_resume_and_checkpoint_paths_are_checked_before_training(tmp_path):
    x, y = _data()
    with pytest.raises(PathNotFoundError, match=r"pyrepair.train.fit: resume not found: .*missing.pt") as info:
        train.fit(_digits_model(), (x, y), epochs=1, resume=tmp_path / "missing.pt", progress=False)
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(PathIsDirectoryError, match=r"pyrepair.train.fit: resume must be a file path, got a directory"):
        train.fit(_digits_model(), (x, y), epochs=1, resume=tmp_path, progress=False)
    with pytest.raises(IsADirectoryError, match=r"pyrepair.train.fit: checkpoint must be a file path, got a directory"):
        train.fit(_digits_model(), (x, y), epochs=1, checkpoint=tmp_path, progress=False)


def test_checkpoint_path_errors_are_pyrepair_errors(tmp_path):
    with pytest.raises(PathIsDirectoryError, match=r"pyrepair.train.save_checkpoint: path must be a file path, got a "
                                                   r"directory"):
        train.save_checkpoint(tmp_path, _digits_model())
    with pytest.raises(PathNotFoundError, match=r"pyrepair.train.load_checkpoint: pyrepair checkpoint file not found"):
        train.load_checkpoint(tmp_path / "none.pt")
    with pytest.raises(PathIsDirectoryError, match=r"pyrepair.train.load_checkpoint: path must be a pyrepair "
                                                   r"checkpoint file, got a directory"):
        train.load_checkpoint(tmp_path)


def test_load_checkpoint_model_mismatch_and_negative_cuda_index(tmp_path):
    p = train.save_checkpoint(tmp_path / "m.pt", _digits_model())
    with pytest.raises(ArgumentError, match=r"pyrepair.train.load_checkpoint: model \(Identity\) does not match the "
                                            r"checkpoint .*m.pt: .*Unexpected key"):
        train.load_checkpoint(p, nn.Identity())
    with pytest.raises(DeviceError, match=r"pyrepair.train.load_checkpoint: map_location as a CUDA index must be "
                                          r">= 0, got -2"):
        train.load_checkpoint(p, map_location=-2)


def test_corruption_failures_checks_scale_and_image_range_itself():
    x, y = _data()
    with pytest.raises(UnknownNameError, match=r"pyrepair.scenarios.corruption_failures: unknown scale 'nope'"):
        corruption_failures(_digits_model(), x, y, "fog", scale="nope")
    with pytest.raises(ValueRangeError, match=r"pyrepair.scenarios.corruption_failures: images must hold values in "
                                              r"\[0, 1\]"):
        corruption_failures(_digits_model(), x * 3, y, "fog")


def test_cli_main_argv_of_wrong_type_is_a_usage_error(capsys):
    assert cli.main(3) == 2
    assert "pyrepair: error: argv must be None or a list of str, got 3" in capsys.readouterr().err
    assert cli.main("info") == 2  # a str is not an argv list
    assert cli.main([3]) == 2


def test_methods_create_names_itself_and_the_method():
    from pyrepair.methods import create

    with pytest.raises(ValueError, match=r"pyrepair.methods.create\('finetune'\): pyrepair.methods.FineTune: epochs "
                                         r"must be in \[1, 2\^63 - 1\], got 0"):
        create("finetune", epochs=0)


def test_data_load_checks_root_size_and_limit():
    from pyrepair import data

    with pytest.raises(TypeError, match=r"pyrepair.data.load: root must be a str or os.PathLike, got int 3"):
        data.load("digits", root=3)
    with pytest.raises(TypeError, match=r"pyrepair.data.search_paths: root must be a str or os.PathLike"):
        data.search_paths(3, "digits")
    with pytest.raises(ValueError, match=r"pyrepair.data.load: size must be an int in \[1, 65536\]"):
        data.load("digits", size=2**63)
    with pytest.raises(ValueError, match=r"pyrepair.data.load: limit must be None or an int in \[1, 2\^63 - 1\]"):
        data.load("digits", limit=2**63)
