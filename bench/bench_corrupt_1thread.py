"""Per-core throughput of the corruptions: pyrepair (1 OpenMP thread) vs ``imagecorruptions`` (1 thread), and
optionally an earlier pyrepair build ("before"), measured round-robin in fresh processes so that load on a shared
machine hits every side alike. Severity 3; pyrepair uses the CIFAR constants at 32 px and the ImageNet constants at
224 px, imagecorruptions always its ImageNet constants (speed is what is compared). Images are uniform random 8-bit
values (``--images u8``, default: ``randint(0, 256) / 255``, what CIFAR-10-C / ImageNet-C regeneration feeds; the
peer gets the same uint8 arrays) or uniform random floats (``--images float``: no value is k/255, so shot_noise
takes its general inversion / PTRS path instead of the 8-bit CDF tables; the other kernels do not care).

    python bench/bench_corrupt_1thread.py                                   # ours vs imagecorruptions
    python bench/bench_corrupt_1thread.py --before /path/to/old/tree        # + an older build (its pyrepair/)
    python bench/bench_corrupt_1thread.py --names zoom_blur,fog --rounds 3 --out bench/results/x.md
    python bench/bench_corrupt_1thread.py --names gaussian_noise,shot_noise,impulse_noise,speckle_noise \
        --before /path/to/old/tree --out bench/results/noise-speedup-cpu.md  # the noise table

Each side runs in its own process (``--worker``) with OMP/MKL/OpenBLAS and torch/cv2 threads set to 1 and is
timed in process CPU time (``time.process_time``: one thread, so this is the per-core cost, robust to other load
on the machine); the best of ``--rounds`` rounds (each the best of 3 timed calls) is kept per side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# all 19, spec §C.1 order (pyrepair.corrupt.names(); spelled out: the parent process imports pyrepair late)
DEFAULT_NAMES = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
                 "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate",
                 "jpeg_compression", "speckle_noise", "gaussian_blur", "spatter", "saturate")
SIDES = ("before", "after", "imagecorruptions")


def _best(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _images(n: int, size: int, kind: str):  # noqa: ANN202
    import torch

    g = torch.Generator().manual_seed(0)
    if kind == "u8":
        return torch.randint(0, 256, (n, 3, size, size), generator=g).float() / 255
    return torch.rand(n, 3, size, size, generator=g)


def worker(side: str, names: list[str], size: int, kind: str) -> dict[str, float]:
    """Images per second of ``side`` for each corruption (runs inside the worker process)."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    x = _images(500 if size <= 64 else 8, size, kind)
    out: dict[str, float] = {}
    if side == "imagecorruptions":
        import cv2
        from imagecorruptions import corrupt as ic

        cv2.setNumThreads(1)
        m = 40 if size <= 64 else 2
        u8 = (x[:m].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        for name in names:
            ic(u8[0], corruption_name=name, severity=3)
            out[name] = m / _best(lambda name=name: [ic(im, corruption_name=name, severity=3) for im in u8], 2)
        return out
    from pyrepair import corrupt
    from pyrepair.testing import num_threads

    scale = "cifar" if size <= 64 else "imagenet"
    with num_threads(1):
        for name in names:
            corrupt.apply(x[:2], name, 3, scale=scale)
            out[name] = x.shape[0] / _best(lambda name=name: corrupt.apply(x, name, 3, scale=scale), 3)
    return out


def check_correctness(names: list[str], kind: str) -> None:
    """Correctness first: the CPU kernels equal the torch reference (max abs difference <= 2e-5) on 4 images."""
    from pyrepair import corrupt

    x = _images(4, 32, kind)
    for name in names:
        ours = corrupt.apply(x, name, 3, seed=1, scale="cifar", backend="cpu")
        ref = corrupt.apply(x, name, 3, seed=1, scale="cifar", backend="reference")
        err = float((ours - ref).abs().max())
        assert err <= 2e-5, f"{name}: cpu vs reference max diff {err}"


def tree_has_core(tree: Path) -> bool:
    """A source tree with a built ``pyrepair/_core`` (a worktree build); else the installed package is used."""
    return any((tree / "pyrepair").glob("_core*.so")) or any((tree / "pyrepair").glob("_core*.pyd"))


def run_side(side: str, names: list[str], size: int, before: str | None, kind: str) -> dict[str, float]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if side == "before":
        env["PYTHONPATH"] = before
    elif tree_has_core(ROOT):
        env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, __file__, "--worker", side, "--size", str(size), "--names", ",".join(names),
           "--images", kind]  # fmt: skip
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd="/")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", default=",".join(DEFAULT_NAMES))
    ap.add_argument("--sizes", default="32,224")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--before", default=None, help="a source tree whose pyrepair/ (with _core) is the old build")
    ap.add_argument("--images", default="u8", choices=("u8", "float"), help="8-bit valued (default) or float images")
    ap.add_argument("--out", default=None, help="markdown file to write")
    ap.add_argument("--worker", default=None, choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=32, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    names = [n for n in args.names.split(",") if n]
    if args.worker:
        print(json.dumps(worker(args.worker, names, args.size, args.images)))
        return
    if tree_has_core(ROOT):
        sys.path.insert(0, str(ROOT))
    check_correctness(names, args.images)
    sides = [s for s in SIDES if s != "before" or args.before]
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        best: dict[str, dict[str, float]] = {s: {} for s in sides}
        for _ in range(args.rounds):
            for side in sides:
                for name, v in run_side(side, names, size, args.before, args.images).items():
                    best[side][name] = max(best[side].get(name, 0.0), v)
        for name in names:
            r = {s: best[s][name] for s in sides}
            rows.append((name, size, r))
            print(f"{name:18s} {size:4d}px " + "  ".join(f"{s} {v:10.1f}" for s, v in r.items())
                  + f"  after/ic {r['after'] / r['imagecorruptions']:7.1f}x", flush=True)
    lines = ["| corruption | size | " + " | ".join(f"{s} img/s" for s in sides) + " | after / imagecorruptions |"
             + (" after / before |" if args.before else ""),
             "|---|---|" + "---|" * len(sides) + "---|" + ("---|" if args.before else "")]
    for name, size, r in rows:
        line = f"| {name} | {size} | " + " | ".join(f"{r[s]:.1f}" for s in sides)
        line += f" | {r['after'] / r['imagecorruptions']:.1f}x |"
        if args.before:
            line += f" {r['after'] / r['before']:.1f}x |"
        lines.append(line)
    table = "\n".join(lines)
    print(table)
    if args.out:
        cmd = "python bench/bench_corrupt_1thread.py " + " ".join(a for a in (argv or sys.argv[1:]) if a)
        head = [
            "# Corruptions, CPU, per core (1 thread each side)",
            "",
            f"Images per CPU second (process time, 1 thread, best of {args.rounds} rounds), severity 3, "
            f"{'8-bit' if args.images == 'u8' else 'float'} random images; pyrepair: CIFAR constants at 32 px, "
            "ImageNet constants at 224 px; imagecorruptions: its ImageNet constants. All sides measured in the same "
            f"run: `{cmd}`. Machine: {os.uname().machine}, {os.cpu_count()} logical cores.",
            "",
        ]
        Path(args.out).write_text("\n".join(head) + "\n" + table + "\n")


if __name__ == "__main__":
    main()
