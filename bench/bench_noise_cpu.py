"""Noise corruptions on the CPU, per core: pyrepair (1 thread) vs ``imagecorruptions`` (1 thread) at 32 and 224 px.

Rates are images per second at severity 3 (pyrepair: CIFAR constants at 32 px, ImageNet constants at 224 px; the
peer always uses its ImageNet constants: speed is what is compared). With ``--before DIR`` the pyrepair timings are
also taken from another checkout (a directory whose ``pyrepair`` package has a built ``_core``), in a subprocess of
the same run, so before/after ratios share the peer's figures.

    python bench/bench_noise_cpu.py --before /tmp/noise-before --out bench/results/noise-speedup-cpu.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

NAMES = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise")
SIZES = {32: (1000, 200), 224: (16, 8)}  # size -> (pyrepair batch, peer images)


def _rate(fn, items: int, min_time: float = 0.3, repeats: int = 5) -> float:  # noqa: ANN001
    """Median items per CPU second (process CPU time: the machine is shared, so wall time would count time spent
    descheduled) over ``repeats`` timed batches of at least ``min_time`` seconds."""
    fn()
    inner, rates = 1, []
    while True:
        t0 = time.process_time()
        for _ in range(inner):
            fn()
        dt = time.process_time() - t0
        if dt >= min_time / 4 or inner >= 1 << 12:
            break
        inner *= 2
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(inner):
            fn()
        rates.append(items * inner / (time.process_time() - t0))
    rates.sort()
    return rates[len(rates) // 2]


def _images(n: int, size: int):
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), generator=g).float() / 255  # uint8-valued, like CIFAR
    if size != 32:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return x.contiguous()


def ours() -> dict[str, float]:
    """pyrepair rates (1 thread) for every (name, size): {"name size": images/s}."""
    import torch

    from pyrepair import corrupt
    from pyrepair.testing import num_threads

    torch.set_num_threads(1)
    out = {}
    with num_threads(1):
        for size, (n, _) in SIZES.items():
            x = _images(n, size)
            scale = "cifar" if size == 32 else "imagenet"
            for name in NAMES:
                out[f"{name} {size}"] = _rate(
                    lambda name=name, x=x, scale=scale: corrupt.apply(x, name, 3, seed=0, scale=scale), n
                )
    return out


def peer() -> dict[str, float]:
    from imagecorruptions import corrupt as ic

    out = {}
    for size, (_, n) in SIZES.items():
        xu8 = (_images(n, size).permute(0, 2, 3, 1).numpy() * 255).round().astype("uint8")

        for name in NAMES:
            def run(name: str = name, xu8=xu8) -> None:  # noqa: ANN001
                for img in xu8:
                    ic(img, corruption_name=name, severity=3)

            out[f"{name} {size}"] = _rate(run, n)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", help="directory holding the 'before' pyrepair package (built)")
    ap.add_argument("--out", help="write the markdown table here")
    ap.add_argument("--ours-json", action="store_true", help=argparse.SUPPRESS)  # subprocess mode
    args = ap.parse_args(argv)
    if args.ours_json:
        print(json.dumps(ours()))
        return
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"

    def sub(path: str) -> dict[str, float]:
        env = dict(os.environ, PYTHONPATH=path)
        res = subprocess.run([sys.executable, __file__, "--ours-json"], env=env, check=True, capture_output=True,
                             text=True, cwd=path)
        return json.loads(res.stdout.strip().splitlines()[-1])

    after = sub(str(Path(__file__).resolve().parents[1]))
    before = sub(args.before) if args.before else None
    p = peer()
    lines = ["# Noise corruptions, CPU, per core (1 thread each side)", "",
             "Images per CPU second (process time, 1 thread) at severity 3 (pyrepair: CIFAR constants at 32 px, "
             "ImageNet constants at 224 px; "
             "imagecorruptions: its ImageNet constants). Ratio = pyrepair rate / imagecorruptions rate, measured in "
             "the same run (`python bench/bench_noise_cpu.py --before <old checkout>`).", ""]
    head = "| corruption | px | imagecorruptions img/s |"
    head += " before img/s | before ratio |" if before else ""
    head += " after img/s | after ratio |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for key in after:
        name, size = key.split()
        row = f"| {name} | {size} | {p[key]:.0f} |"
        if before:
            row += f" {before[key]:.0f} | {before[key] / p[key]:.1f}x |"
        row += f" {after[key]:.0f} | {after[key] / p[key]:.1f}x |"
        lines.append(row)
    lines += ["", f"Machine: {os.uname().machine}, {os.cpu_count()} logical cores (shared; figures are noisy)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
