"""Smoke test of ``bench/repro_nnrepair.py`` (issue 15): its ``--quick`` mode on scikit-learn's digits.

``bench`` is not a package, so the script is loaded from its path with importlib. The run trains three tiny
MNIST-LQ-shaped models on the digits (clean, poisoned, adversarial scenario), repairs the last and the intermediate
layer with every strategy and F1 filter setting, times the per-class last-layer LP, cross-checks
``pyrepair.methods.NNRepair`` against the script's own merged result, and writes the markdown and JSON tables.
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
    try:
        res = mod.main(["--quick", "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--tag", "test"])
    finally:
        torch.set_num_threads(threads)
    md = (out / "nnrepair-repro-test.md").read_text()
    js = json.loads((out / "nnrepair-repro-test.json").read_text())
    assert res["status"] == js["status"] == "complete"
    assert set(js["models"]) == {"digits-LQ", "digits-Pois", "digits-Adv"}
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
    assert js["nnrepair_check"]["identical"]
    assert js["targets"]
    for section in ("## Base models", "## Table 2", "## Targets", "## Table 3 shape", "## All configurations",
                    "## Solver statistics", "## Per-class last-layer LP", "NNRepair cross-check"):
        assert section in md, section
