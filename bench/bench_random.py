"""Philox throughput: pyrepair cpu vs cuda vs its torch reference vs ``torch.rand``/``torch.randn``.

Correctness first (the compiled stream equals the reference bit for bit; CUDA equals CPU), then timing.

    python bench/bench_random.py                 # CPU, default sizes for 2 cores
    python bench/bench_random.py --device cuda   # GPU machine
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure, write_results  # noqa: E402

import pyrepair  # noqa: E402
from pyrepair.random import reference  # noqa: E402


def check_correctness(device: str) -> None:
    n = 100_003
    assert torch.equal(pyrepair.random.bits(n, 5, offset=3), reference.bits(n, 5, 0, 3)), "cpu bits != reference"
    assert torch.equal(pyrepair.random.uniform(n, 5), reference.uniform(n, 5)), "cpu uniform != reference"
    if device == "cuda":
        assert torch.equal(pyrepair.random.bits(n, 5, device="cuda").cpu(), pyrepair.random.bits(n, 5))
        torch.testing.assert_close(pyrepair.random.normal(n, 5, device="cuda").cpu(), pyrepair.random.normal(n, 5),
                                   rtol=1e-5, atol=1e-5)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--n", type=int, default=None, help="numbers per call (default 4M on CPU, 64M on CUDA)")
    ap.add_argument("--ref-n", type=int, default=None, help="numbers per call for the slow reference")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run: 4M numbers, reference 256k)")
    args = ap.parse_args(argv)
    dev = args.device
    if args.quick:
        args.n, args.ref_n = args.n or 4 << 20, args.ref_n or 1 << 18
    n = args.n or (64 << 20 if dev == "cuda" else 4 << 20)
    ref_n = args.ref_n or (n if dev == "cuda" else 1 << 18)
    check_correctness(dev)
    timings = []
    for dist in ("uniform", "normal"):
        ours = getattr(pyrepair.random, dist)
        torch_fn = torch.rand if dist == "uniform" else torch.randn
        gen = torch.Generator(device=dev).manual_seed(0)
        impl = "cuda" if dev == "cuda" else "cpu"
        timings.append(measure(lambda ours=ours: ours(n, 1, device=dev), name=dist, impl=f"pyrepair-{impl}", items=n,
                               device=dev, params={"n": n}))
        timings.append(measure(lambda f=torch_fn, g=gen: f(n, generator=g, device=dev), name=dist, impl="torch",
                               items=n, device=dev, params={"n": n}))
        timings.append(measure(lambda ours=ours: ours(ref_n, 1, device=dev, backend="reference"), name=dist,
                               impl="pyrepair-reference", items=ref_n, device=dev, repeats=3, params={"n": ref_n}))
    path = write_results(
        "random", dev, timings, baseline="torch",
        notes="Ratios are throughput relative to torch.rand/torch.randn in the same run (>1x: faster than torch). "
              "pyrepair's stream is counter-based (same numbers on CPU and CUDA, any thread count); torch's CPU "
              "generator is a sequential Mersenne Twister.")
    print(path.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
