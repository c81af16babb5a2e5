"""Diagnostic for ``repro_nnrepair.py`` (issue 15), analysis only: does MNIST-Pois's last-layer result depend on how
long the poisoned model was trained?

The reproduction's MNIST-Pois model (LQ architecture, Adam 1e-3, 8 epochs) makes every last-layer LP infeasible:
the trigger's logit margin (median 16.2) exceeds what 5 edges with ``|delta| <= 0.5`` can move (median 13.1). The
paper does not give its training recipe (spec §7-A22). This script retrains the same model on the same poisoned
Train for 1, 2, 3 and 5 epochs (8 is the reproduction's, loaded from its cache) and, for each, reports the base
accuracies, the margin diagnostic of ``diag_nnrepair_margins.py`` (failing P-Train examples: margin to overturn vs
``0.5 * sum |a_i|`` over the class's top-5 edges) and the reproduction's last-layer repair at the paper's headline
setting (k = 50 clean extras; every strategy, F1 filter OFF; L1 objective, GLOP, soft fallback), with the number of
hard LPs that were feasible. The protocol itself (8 epochs) is unchanged; this only tests the explanation.

Usage: ``OMP_NUM_THREADS=1 python bench/diag_nnrepair_epochs.py [--epochs 1,2,3,5,8]``; writes
``results/nnrepair-diag-epochs-cpu.{json,md}``. Base models are cached in ``~/.cache/pyrepair-bench``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("diag_nnrepair_margins", HERE / "diag_nnrepair_margins.py")
_diag = importlib.util.module_from_spec(_spec)
assert _spec.loader is not None
_spec.loader.exec_module(_diag)
repro = _diag.m  # bench/repro_nnrepair.py, loaded once by the margin diagnostic


def margins(model: torch.nn.Module, sets: dict[str, Any], dname: str) -> dict[str, float]:
    """``diag_nnrepair_margins.margins`` under this report's names."""
    d = _diag.margins(model, sets, dname)
    return {"n_failing": d["n_fail"], "median_margin": d["median_margin_needed"],
            "median_max_gain": d["median_max_gain_top5_b0.5"], "fixable_alone": d["share_fixable_alone_top5"]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", default="1,2,3,5,8")
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "pyrepair-bench"))
    ap.add_argument("--out", type=Path, default=repro.RESULTS)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    base_cfg = repro.CPU_MODELS["MNIST-Pois"]
    root = args.data_root or os.environ.get("PYREPAIR_DATA") or repro.default_data_root()
    d = repro.load_data(base_cfg, root)
    cache = None if args.cache_dir.lower() == "none" else Path(args.cache_dir)
    rows = []
    t_start = time.perf_counter()
    for ep in (int(e) for e in args.epochs.split(",")):
        cfg = {**base_cfg, "epochs": ep, "ks_last": [args.k], "extra_objectives_last": []}
        name = "MNIST-Pois" if ep == base_cfg["epochs"] else f"MNIST-Pois-e{ep}"
        model, sets, info = repro.eval_sets(name, cfg, d, cache, "cpu")
        dname, goal = repro.defect_name(cfg), repro.goal_name(cfg)
        m = margins(model, sets, dname)
        rep = repro.run_repair(name, cfg, model, sets, "last", "cpu")
        run = rep["runs"][0]
        statuses: dict[str, int] = {}
        for e in run["experts"]:
            statuses[e["status"]] = statuses.get(e["status"], 0) + 1
        off = {c["strategy"]: c for c in run["configs"] if not c["filter"]}
        row = {"epochs": ep, "cached": info["base"].get("cached"), "before": rep["before"], **m,
               "statuses": statuses,
               "fixed": int(sum(e["fixed"] for e in run["experts"])),
               "failing": int(sum(e["n_failing"] for e in run["experts"])),
               "configs": {s: {"goal": c["delta"][goal], "test": c["delta"]["Test"]} for s, c in off.items()}}
        rows.append(row)
        repro.log(f"epochs {ep}: before {rep['before']}, margins {m}, statuses {statuses}, "
                  f"gains {json.dumps(row['configs'])}")
    res = {"k": args.k, "rows": rows, "seconds": time.perf_counter() - t_start,
           "metadata": repro.metadata("cpu")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nnrepair-diag-epochs-cpu.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    lines = ["# NNrepair diagnostic: MNIST-Pois last layer vs training length (analysis, not the protocol)", "",
             f"commit {res['metadata']['commit']}; `bench/diag_nnrepair_epochs.py`; k = {args.k} clean extras, F1 "
             f"filter OFF, L1, GLOP, soft fallback; wall time {res['seconds']:.0f} s. The reproduction uses 8 epochs. "
             "P-Test / Test changes in pp; margins over the failing P-Train examples (median).", "",
             "| epochs | Train | Test | P-Test | margin to overturn | max gain of 5 edges | fixable alone "
             "| LP statuses | Merged P-Test / Test | Confidence P-Test / Test | Votes P-Test / Test |",
             "|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|"]
    for r in rows:
        b, c = r["before"], r["configs"]
        st = ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items()))
        cells = " | ".join(f"{c[s]['goal']:+.2f} / {c[s]['test']:+.2f}" for s in ("merged", "confidence", "votes"))
        lines.append(f"| {r['epochs']} | {b['Train']:.2f} | {b['Test']:.2f} | {b['P-Test']:.2f} | "
                     f"{r['median_margin']:.1f} | {r['median_max_gain']:.1f} | {100 * r['fixable_alone']:.0f} % | "
                     f"{st} | {cells} |")
    (args.out / "nnrepair-diag-epochs-cpu.md").write_text("\n".join(lines) + "\n")
    return res


if __name__ == "__main__":
    main()
