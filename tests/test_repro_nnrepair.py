"""Smoke test of ``bench/repro_nnrepair.py`` (issue 15): its ``--quick`` mode on scikit-learn's digits.

``bench`` is not a package, so the script is loaded from its path with importlib. The run trains three tiny
MNIST-LQ-shaped models on the digits (clean, poisoned, adversarial scenario), repairs the last and the intermediate
layer with every strategy and F1 filter setting, times the per-class last-layer LP, cross-checks
``pyrepair.methods.NNRepair`` against the script's own merged result, and writes the markdown and JSON tables. The
run is split in two, the second with ``--merge`` (how the CIFAR10-Pois / CIFAR10-Adv rows were added to the CPU
results). The reuse of another row's base model (CIFAR10-Adv) and the poisoning fraction (CIFAR10-Pois) are tested on
tiny random data.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "repro_nnrepair.py"


def _load():
    spec = importlib.util.spec_from_file_location("repro_nnrepair", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_digits_writes_tables(tmp_path: Path) -> None:
    mod = _load()
    out = tmp_path / "results"
    threads = torch.get_num_threads()
    common = ["--quick", "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--tag", "test"]
    try:
        first = mod.main([*common, "--models", "digits-LQ,digits-Pois"])
        res = mod.main([*common, "--models", "digits-Adv", "--merge"])
    finally:
        torch.set_num_threads(threads)
    assert set(first["models"]) == {"digits-LQ", "digits-Pois"}
    md = (out / "nnrepair-repro-test.md").read_text()
    js = json.loads((out / "nnrepair-repro-test.json").read_text())
    assert res["status"] == js["status"] == "complete"
    assert list(js["models"]) == ["digits-LQ", "digits-Pois", "digits-Adv"]
    assert [r["models"] for r in js["merged_runs"]] == [["digits-Adv"]] and "Merged in later" in md
    assert js["models"]["digits-Pois"] == json.loads(json.dumps(first["models"]["digits-Pois"], default=str))
    for name, m in js["models"].items():
        assert set(m["repairs"]) == {"last", "intermediate"}, name
        for kind, rep in m["repairs"].items():
            for run in rep["runs"]:
                assert len(run["configs"]) == 8  # 4 strategies x F1 filter OFF / ON
                for c in run["configs"]:
                    assert set(c["acc"]) == set(rep["before"]) and all(0 <= v <= 100 for v in c["acc"].values())
                for e in run["experts"]:
                    assert e["status"] in {"optimal", "feasible", "soft", "infeasible", "timeout", "error"}, e
                    assert e["lp"]["rows"] > 0 and e["lp"]["cols"] > 0, (name, kind, e)
    assert set(js["models"]["digits-Pois"]["repairs"]["last"]["before"]) == {"Train", "P-Train", "Test", "P-Test"}
    assert set(js["models"]["digits-Adv"]["repairs"]["last"]["before"]) == {"Train", "Adv-Train", "Test", "Adv-Test"}
    assert js["lp_timing"] and {r["solver"] for r in js["lp_timing"]} == {"glop", "pdlp"}
    assert [c["model"] for c in js["nnrepair_check"]] == ["digits-Pois"] and js["nnrepair_check"][0]["identical"]
    assert js["targets"]
    for section in ("## Base models", "## Table 2", "## Targets", "## Table 3 shape", "## All configurations",
                    "## Solver statistics", "## Per-class last-layer LP", "NNRepair cross-check"):
        assert section in md, section


def test_base_model_reuse_and_poison_fraction(tmp_path: Path) -> None:
    """``base_model`` loads the named row's cached clean model (CIFAR10-Adv reuses CIFAR10's); ``poison_fraction``
    poisons the first ``round(fraction * N)`` training images (CIFAR10-Pois)."""
    mod = _load()
    threads = torch.get_num_threads()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(120, 1, 8, 8, generator=g), torch.arange(120) % 10
    d = {"train": (x, y), "test": (x[:40], y[:40])}
    clean = {**mod.QUICK_MODELS["digits-LQ"], "epochs": 1}
    try:
        m0, _, i0 = mod.eval_sets("toy", clean, d, tmp_path, "cpu")
        adv = {**clean, "scenario": "adversarial", "fgsm_eps": 0.05, "base_model": "toy"}
        m1, sets, i1 = mod.eval_sets("toy-Adv", adv, d, tmp_path, "cpu")
        pois = {**mod.QUICK_MODELS["digits-Pois"], "epochs": 1, "n_poison": None, "poison_fraction": 0.012 * 5}
        _, psets, ip = mod.eval_sets("toy-Pois", pois, d, tmp_path, "cpu")
    finally:
        torch.set_num_threads(threads)
    assert not i0["base"]["cached"] and i1["base"]["cached"] and i1["base"]["cache_file"] == i0["base"]["cache_file"]
    assert i1["base"]["base_model"] == "toy" and set(sets) == {"Train", "Adv-Train", "Test", "Adv-Test"}
    assert all(torch.equal(a, b) for a, b in zip(m0.state_dict().values(), m1.state_dict().values(), strict=True))
    assert ip["n_poisoned"] == round(0.06 * 120) == 7 and ip["base"]["cache_key"]["n_poison"] == 7
    assert len(psets["P-Train"][1]) == 7 and torch.equal(psets["P-Train"][1], y[:7])
    bad = {**pois, "base_model": "toy"}
    try:
        mod.eval_sets("toy-Pois2", bad, d, tmp_path, "cpu")
    except ValueError as e:
        assert "base_model" in str(e)
    else:
        raise AssertionError("base_model with the poison scenario must be refused")
