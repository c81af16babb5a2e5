"""The command line end to end (in-process through ``pyrepair.cli.main``, plus one real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pyrepair import cli


def _json_out(capsys: pytest.CaptureFixture[str]) -> dict:
    out = capsys.readouterr().out
    return json.loads(out[out.index("{"):])


def test_info_json(capsys):
    assert cli.main(["info", "--json"]) == 0
    info = _json_out(capsys)
    assert info["build"]["core"] is True
    assert info["datasets"]["digits"] == "found"
    assert "lenet" in info["architectures"]
    assert info["devices"][0] == "cpu"


def test_info_text(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "compiled core : yes" in out and "digits (found)" in out


def test_train_digits_lenet_accuracy_and_evaluate(tmp_path, capsys):
    """Acceptance: `pyrepair train --dataset digits --arch lenet` reaches >= 95 % test accuracy (well within a
    minute on 2 cores), writes a checkpoint, and `pyrepair evaluate` reproduces the number from it."""
    ckpt = tmp_path / "model.pt"
    assert cli.main(["train", "--dataset", "digits", "--arch", "lenet", "--epochs", "20", "--out", str(ckpt),
                     "--no-progress", "--json"]) == 0
    result = _json_out(capsys)
    assert result["test_accuracy"] >= 0.95, result
    assert ckpt.is_file()
    assert cli.main(["evaluate", "--model", str(ckpt), "--dataset", "digits", "--json"]) == 0
    ev = _json_out(capsys)
    assert ev["n"] == 359
    assert ev["accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-12)


def test_train_resume_continues(tmp_path, capsys):
    ckpt = tmp_path / "m.pt"
    assert cli.main(["train", "--epochs", "1", "--out", str(ckpt), "--no-progress", "--limit", "300"]) == 0
    assert cli.main(["train", "--epochs", "2", "--out", str(ckpt), "--resume", str(ckpt), "--no-progress",
                     "--limit", "300"]) == 0
    out = capsys.readouterr().out
    assert "epoch   2" in out


@pytest.mark.parametrize(
    "argv,match",
    [
        (["train", "--dataset", "svhn"], "unknown dataset name 'svhn'; valid: cifar10, digits, fashion_mnist, mnist"),
        (["train", "--arch", "vgg99", "--epochs", "1"], "unknown architecture 'vgg99'; valid: .*lenet"),
        (["evaluate", "--model", "does-not-exist.pt"], "does-not-exist.pt"),
    ],
)
def test_errors_are_clear_and_exit_2(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main([*argv, *(["--no-progress"] if argv[0] == "train" else [])]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pyrepair {argv[0]}: error: ")
    assert __import__("re").search(match, err), err


def test_epochs_0_is_rejected_by_argparse_exit_2(capsys):
    """Issue 13: numeric flags are validated by argparse types (was a library ValueError, "epochs must be")."""
    assert cli.main(["train", "--epochs", "0", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "pyrepair train: error: argument --epochs: expected an integer >= 1, got 0" in err
    assert "Traceback" not in err


def test_evaluate_rejects_non_checkpoint(tmp_path, capsys):
    bogus = tmp_path / "x.pt"
    bogus.write_bytes(b"not a checkpoint")
    assert cli.main(["evaluate", "--model", str(bogus)]) == 2
    assert "not a pyrepair checkpoint" in capsys.readouterr().err


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "pyrepair", "--version"], capture_output=True, text=True, check=True,
                         cwd="/")
    assert out.stdout.startswith("pyrepair ")


@pytest.mark.slow
def test_lenet_reaches_98_5_on_mnist(shared_data, capsys, tmp_path):
    """Acceptance: on MNIST from ../shared/data, LeNet reaches >= 98.5 % test accuracy (2 epochs, ~1 min on 2
    cores), through the same path as `pyrepair train --dataset mnist --arch lenet --epochs 2`."""
    assert cli.main(["train", "--dataset", "mnist", "--data-root", str(shared_data), "--arch", "lenet", "--epochs",
                     "2", "--out", str(tmp_path / "mnist.pt"), "--no-progress", "--json"]) == 0
    result = _json_out(capsys)
    assert result["test_accuracy"] >= 0.985, result
