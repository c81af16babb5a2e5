"""NNrepair RQ3 (spec §5.3): inference cost of the expert combinations against the original model.

The paper measured, over the 10k MNIST test inputs: Merged no overhead; last-layer experts (Naive) 1.0383x slower;
intermediate-layer experts 7.7638x; intermediate with the F1 filter (3 experts) 3.0742x. Here, on the MNIST-LQ
architecture (``pyrepair.models.create("nnrepair_mnist_lq")``, untrained weights: the cost does not depend on them)
with ``E`` experts of random sparse changes (58 edges into each of 20 neurons of ``dense6``, the spec's typical
size; 5 edges into one logit of ``dense8``), built through :func:`pyrepair.patch.combine`:

* ``original``: the model (the baseline);
* ``merged``: the changes added to the weights (must equal the original's cost);
* ``last-votes``: output-layer experts run side by side on the layer's input (one pass);
* ``inter-votes``: intermediate experts, the prefix once and the suffix on ``(E + 1) B`` stacked rows;
* ``inter-votes-perpass``: the same experts, one full pass per expert (the row-dropping fallback, what a naive
  ensemble costs; forced by wrapping the model in a module that trims its output to the batch).

Correctness first: ``inter-votes`` equals ``inter-votes-perpass`` (1e-5) on a batch (``tests/test_patch.py``
checks both against each expert's own network, combined by hand). Times are per batch of ``--batch`` inputs,
medians (bench/common.py ``measure``), one torch thread by default; the ratio column is throughput against
``original`` measured in the same run.

Usage: ``OMP_NUM_THREADS=1 python bench/bench_nnrepair_inference.py [--quick] [--experts 10] [--device cpu]``;
writes ``results/nnrepair-inference-<tag>.{json,md}``.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure, write_results  # noqa: E402

from pyrepair import models  # noqa: E402
from pyrepair.patch import Patch, combine  # noqa: E402


class _Trim(nn.Module):
    """Forces the per-expert fallback of the intermediate ensemble (its output is cut to the input's batch)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[: x.shape[0]]


def experts(layer: nn.Linear, name: str, kind: str, n: int, neurons: int, edges: int, seed: int) -> list[Patch]:
    """``n`` class experts with random changes in ``[-1, 1]`` on ``edges`` inputs of ``neurons`` outputs each."""
    g = torch.Generator().manual_seed(seed)
    out_f, in_f = layer.weight.shape
    ps = []
    for c in range(n):
        mask = torch.zeros(out_f, in_f, dtype=torch.bool)
        rows = [c] if kind == "last" else torch.randperm(out_f, generator=g)[:neurons].tolist()
        for r in rows:
            mask[r, torch.randperm(in_f, generator=g)[:edges]] = True
        delta = torch.where(mask, torch.rand(out_f, in_f, generator=g, dtype=torch.float64) * 2 - 1, 0.0)
        ps.append(Patch(layer=name, delta=delta, edges=mask, status="optimal", objective=float(delta.abs().sum()),
                        solver="glop", solve_seconds=0.0, assemble_seconds=0.0, fixed=torch.ones(1, dtype=torch.bool),
                        kept=torch.ones(0, dtype=torch.bool), lp={}, epsilon=1e-3, cls=c, kind=kind))
    return ps


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experts", type=int, default=10)
    ap.add_argument("--batch", type=int, default=10_000, help="inputs per call (the paper: the 10k test set)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="batch 512, 3 repeats (smoke run)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    batch = 512 if args.quick else args.batch
    dev = torch.device(args.device)
    model = models.create("nnrepair_mnist_lq", num_classes=10, in_channels=1, input_size=28, seed=0).eval().to(dev)
    x = torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(1)).to(dev)
    n_in = model.dense6.weight.shape[1]
    inter = experts(model.dense6, "dense6", "intermediate", args.experts, 20, math.ceil(0.1 * n_in), seed=2)
    last = experts(model.dense8, "dense8", "last", args.experts, 1, 5, seed=3)
    cases = {
        "original": model,
        "merged": combine(model, inter, strategy="merged"),
        "last-votes": combine(model, last, strategy="votes"),
        "inter-votes": combine(model, inter, strategy="votes"),
        "inter-votes-perpass": combine(_Trim(model), [replace(p, layer="net.dense6") for p in inter],
                                       strategy="votes"),
    }
    with torch.no_grad():  # correctness first
        a, b = cases["inter-votes"](x[:256]), cases["inter-votes-perpass"](x[:256])
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        assert cases["merged"](x[:256]).shape == (256, 10) and torch.equal(cases["original"](x[:1]),
                                                                            model(x[:1]))
    timings = []
    repeats = 3 if args.quick else 7
    for impl, net in cases.items():
        def run(net: nn.Module = net) -> None:
            with torch.no_grad():
                net(x)
        timings.append(measure(run, name=f"MNIST-LQ, {args.experts} experts, batch {batch}", impl=impl, items=batch,
                               device=dev, warmup=1, repeats=repeats, min_time=0.2))
        print(f"{impl:>20}: {timings[-1].median_s * 1e3:9.2f} ms per batch", flush=True)
    notes = ("Paper (RQ3, MNIST, 10k test inputs): Merged no overhead, last-layer experts 1.0383x slower, "
             "intermediate experts 7.7638x, intermediate with F1 filter (3 experts) 3.0742x. 'vs original' below is "
             "throughput relative to the original model (1/x = slowdown).")
    path = write_results("nnrepair-inference", dev, timings, baseline="original", notes=notes,
                         extra={"experts": args.experts, "batch": batch, "threads": args.threads})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
