"""Smoke test of ``bench/repro_deeprepair.py`` (issue 14): its ``--quick`` mode on scikit-learn's digits.

``bench`` is not a package, so the script is loaded from its path with importlib. The run trains a tiny LeNet on
600 digits, builds two failure splits and repairs with every method available in this build (the baselines, and
DeepRepair's variants once ``pyrepair.methods.DeepRepair`` exists), then checks that the markdown and JSON results hold
the expected tables.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pyrepair.methods

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "repro_deeprepair.py"


def _load():
    spec = importlib.util.spec_from_file_location("repro_deeprepair", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_digits_writes_tables(tmp_path: Path) -> None:
    mod = _load()
    out = tmp_path / "results"
    res = mod.main(["--quick", "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--tag", "test"])
    md = (out / "deeprepair-repro-test.md").read_text()
    js = json.loads((out / "deeprepair-repro-test.json").read_text())
    assert res["status"] == js["status"] == "complete"
    assert js["metadata"]["commit"] is not None or js["metadata"]["torch"]
    ds = js["datasets"]["digits"]
    assert ds["data_copy"] == "digits" and 0.5 < ds["base"]["clean_accuracy"] <= 1.0
    assert set(ds["runs"]) == {"gaussian_noise", "fog"}
    have_dr = hasattr(pyrepair.methods, "DeepRepair")
    for c, split in ds["splits"].items():
        assert split["n_held_out"] >= 1 and split["n_collect"] == min(1000, split["n_failures"] // 2), c
        runs = ds["runs"][c]
        for m in ("finetune", "cutout", "mixup", "cutmix", "augmix"):
            r = runs[m]
            assert 0.0 <= r["heldout_acc"] <= 1.0 and 0.0 <= r["clean_after"] <= 1.0
            assert r["epoch_seconds"] > 0 and len(r["epoch_seconds_all"]) == 1
            assert set(r["transfer"]) == {"gaussian_noise", "fog"} - {c}
        if have_dr:
            assert {"deeprepair", "deeprepair_uniform"} <= set(runs)
            assert ("deeprepair_pixel" in runs) == (c == "fog")  # the style ablation runs on the style corruptions
    for section in (
        "(1) Table 2 shape",
        "(4) Clean test accuracy",
        "(5) Transfer",
        "(6) Fine-tuning time",
        "(7) Targets",
        "(8) Data and configuration",
        "| AugMix |",
        "| GN | FG | mean |",
    ):
        assert section in md, section
    if have_dr:
        for section in (
            "(2) Table 3 shape",
            "(3) Style modes",
            "| no-cluster |",
            "| pixel |",
            "DeepRepair - AugMix",
            "Interleaved one-epoch timing",
        ):
            assert section in md, section
        assert ds["targets"]["available"] and "style_overhead_interleaved" in ds["targets"]
        assert set(ds["timing"]["median"]) == {"augmix", "deeprepair"}
        assert ds["step_timing"]["step_ratio"] > 0 and "style_overhead_steps" in ds["targets"]
    else:
        assert "not in this build" in md
