"""NNrepair's last-layer LP: assembly and solve time against the number of examples and of repaired edges.

Issue 15: "Each per-class last-layer LP with 1,000 examples solves in under 5 s on 2 CPU cores. Assembly is under
10% of the solve time." Measured through the public :func:`pyrepair.patch.repair_layer`, whose :class:`Patch` reports
``assemble_seconds`` (the numpy construction of the rows and the sparse matrix, every margin re-check included) and
``solve_seconds`` (the OR-Tools calls), and the LP size.

The instance is planted, so it is feasible by construction: a teacher output layer ``W`` (``K = 10`` classes, fan-in
128) labels ReLU-like inputs (examples with a teacher margin below 0.05 are dropped); the repaired model has
``W[0, :5] -= 0.3``. Every example is a repair example (the failing ones of class 0 and all the passing ones), and
the LP may change ``k`` weights of row 0: the 5 planted ones plus ``k - 5`` others. Correctness first: GLOP must
return ``optimal`` with every example correct, and PDLP's objective must match GLOP's within 1e-3 (relative).

Usage: ``OMP_NUM_THREADS=1 python bench/bench_lp.py [--quick] [--repeats 3]``; writes ``results/lp-<tag>.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, device_tag, metadata  # noqa: E402

from pyrepair.patch import repair_layer  # noqa: E402

K, N_IN = 10, 128


def instance(m: int, k: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(K, N_IN, generator=g, dtype=torch.float64) / N_IN**0.5
    x = torch.relu(torch.randn(4 * m, N_IN, generator=g, dtype=torch.float64))
    y0 = x @ w.T
    top2 = y0.topk(2, dim=1).values
    keep = (top2[:, 0] - top2[:, 1]) > 0.05
    x, y = x[keep][:m], y0[keep].argmax(1)[:m]
    model = nn.Sequential(nn.Linear(N_IN, K, bias=False)).double()
    with torch.no_grad():
        model[0].weight.copy_(w)
        model[0].weight[0, :5] -= 0.3
        pred = model(x).argmax(1)
    fail = pred != y
    edges = torch.zeros(K, N_IN, dtype=torch.bool)
    edges[0, :5] = True
    extra = torch.randperm(N_IN - 5, generator=g)[: k - 5] + 5
    edges[0, extra] = True
    return model, (x[fail], y[fail]), (x[~fail], y[~fail]), edges


def run(m: int, k: int, solver: str, repeats: int) -> dict:
    model, failing, passing, edges = instance(m, k)
    rows = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        p = repair_layer(model, 0, failing, passing, edges=edges, bound=0.5, solver=solver, time_limit=120.0)
        rows.append((p, time.perf_counter() - t0))
    p = rows[0][0]
    asm = statistics.median(r[0].assemble_seconds for r in rows)
    sol = statistics.median(r[0].solve_seconds for r in rows)
    wall = statistics.median(r[1] for r in rows)
    return {"m": m, "k": k, "solver": solver, "n_failing": len(failing[1]), "n_passing": len(passing[1]),
            "status": p.status, "objective": p.objective, "fixed": int(p.fixed.sum()), "kept": int(p.kept.sum()),
            "rows": p.lp["rows"], "cols": p.lp["cols"], "nnz": p.lp["nnz"], "assemble_s": asm, "solve_s": sol,
            "wall_s": wall, "assemble_over_solve": asm / sol if sol > 0 else float("inf")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="m in {100, 1000}, k in {5, 50}")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    ms = (100, 1000) if args.quick else (100, 300, 1000, 3000, 10000)
    ks = (5, 50) if args.quick else (5, 20, 50)
    results = []
    run(100, 5, "glop", 1)  # warm-up: imports OR-Tools and scipy.sparse outside the timed runs
    for m in ms:
        for k in ks:
            glop = run(m, k, "glop", args.repeats)
            pdlp = run(m, k, "pdlp", args.repeats)
            # correctness first: GLOP optimal with everything correct; PDLP agrees on the objective
            assert glop["status"] == "optimal", glop
            assert glop["fixed"] == glop["n_failing"] and glop["kept"] == glop["n_passing"], glop
            if pdlp["objective"] is not None:
                assert abs(pdlp["objective"] - glop["objective"]) <= 1e-3 * max(1.0, glop["objective"]), (glop, pdlp)
            results += [glop, pdlp]
            for r in (glop, pdlp):
                print(f"m={m:>6} k={k:>3} {r['solver']:5} {r['status']:9} rows={r['rows']:>6} nnz={r['nnz']:>7} "
                      f"assemble {r['assemble_s'] * 1e3:8.2f} ms  solve {r['solve_s'] * 1e3:9.2f} ms  "
                      f"ratio {r['assemble_over_solve']:.3f}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = device_tag("cpu")
    payload = {"benchmark": "lp", "metadata": metadata("cpu"), "results": results,
               "notes": "planted last-layer instance, K=10, fan-in 128, bound 0.5; medians over repeats"}
    (RESULTS / f"lp-{tag}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    lines = [f"# lp ({tag})", "", f"commit {payload['metadata']['commit']}, {payload['metadata']['cpu_count']} CPUs, "
             f"torch threads {payload['metadata']['torch_threads']}", "", payload["notes"], "",
             "| examples | edges | solver | status | rows | cols | nnz | assemble ms | solve ms | assemble/solve |",
             "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['m']} | {r['k']} | {r['solver']} | {r['status']} | {r['rows']} | {r['cols']} | "
                     f"{r['nnz']} | {r['assemble_s'] * 1e3:.2f} | {r['solve_s'] * 1e3:.2f} | "
                     f"{r['assemble_over_solve']:.3f} |")
    (RESULTS / f"lp-{tag}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'lp-{tag}.md'}")


if __name__ == "__main__":
    main()
