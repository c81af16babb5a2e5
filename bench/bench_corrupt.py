"""Corruption engine: throughput per corruption (pyrepair cpu/cuda vs our torch reference vs the per-image
``imagecorruptions`` package, its maintained fork ``imagecorruptions-imaug``) at 32 and 224 px, and the estimated
time to regenerate CIFAR-10-C. Fidelity (PSNR and a classifier's accuracy drop vs imagecorruptions over 500 images)
is ``fidelity_corrupt.py``.

Covers every corruption ``pyrepair.corrupt.names()`` reports as implemented. Correctness first: the compiled
kernels equal the reference on the benchmark's own inputs. Images: the CIFAR-10 test images from
``$PYREPAIR_DATA`` / ``../shared/data`` when present (upsampled to 224 px for the ImageNet-size cases), else
synthetic ones. Nothing is downloaded.

    pip install imagecorruptions-imaug            # the peer (optional; without it only our figures are written)
    python bench/bench_corrupt.py                 # CPU, 2-core defaults
    python bench/bench_corrupt.py --device cuda
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Timing, measure, write_results  # noqa: E402

import pyrepair  # noqa: E402
from pyrepair import corrupt  # noqa: E402

try:
    from imagecorruptions import corrupt as ic_corrupt
except ImportError:  # the peer is optional
    ic_corrupt = None


def load_images(n: int, size: int) -> torch.Tensor:
    """(n, 3, size, size) float32 in [0, 1]: real CIFAR-10 test images when available."""
    root = os.environ.get("PYREPAIR_DATA") or str(Path(__file__).resolve().parents[2] / "shared" / "data")
    try:
        x = pyrepair.data.load("cifar10", "test", root=root, limit=n).images
    except (FileNotFoundError, pyrepair.PyrepairError):
        x = pyrepair.testing.make_images(n, 3, 32, 32, seed=0)
    x = x[:n]
    if x.shape[0] < n:  # repeat to reach n
        x = x.repeat(math.ceil(n / x.shape[0]), 1, 1, 1)[:n]
    if size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return x.contiguous()


def to_u8(x: torch.Tensor) -> np.ndarray:
    return (x.permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of the MSE pooled over all images of two uint8 NHWC arrays. (A mean of per-image PSNRs is
    dominated by near-identical images, e.g. a grey image under saturate, whose PSNR is unbounded.)"""
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 10 * math.log10(255.0**2 / mse) if mse > 0 else float("inf")


def check_correctness(names: list[str], dev: str) -> None:
    x = load_images(8, 32).to(dev)
    for name in names:
        ours = corrupt.apply(x, name, 3, seed=1, scale="cifar")
        ref = corrupt.apply(x, name, 3, seed=1, scale="cifar", backend="reference")
        err = float((ours - ref).abs().max())
        assert err <= 2e-5 or float(((ours - ref).abs() > 1e-4).float().mean()) < 1e-3, f"{name}: max diff {err}"


def bench_throughput(names: list[str], dev: str, size: int, n: int, n_ref: int, n_peer: int) -> list[Timing]:
    x = load_images(n, size).to(dev)
    scale = "cifar" if size <= 64 else "imagenet"
    impl = "cuda" if dev == "cuda" else "cpu"
    out: list[Timing] = []
    xr = x[:n_ref]
    xu8 = to_u8(x[:n_peer])
    for name in names:
        case = f"{name} {size}px"
        out.append(measure(lambda name=name: corrupt.apply(x, name, 3, seed=0, scale=scale), name=case,
                           impl=f"pyrepair-{impl}", items=n, device=dev, repeats=5, params={"size": size}))
        out.append(measure(lambda name=name: corrupt.apply(xr, name, 3, seed=0, scale=scale, backend="reference"),
                           name=case, impl="pyrepair-reference", items=n_ref, device=dev, repeats=3, warmup=1,
                           params={"size": size}))
        if ic_corrupt is not None:
            def peer(name: str = name) -> None:
                for img in xu8:
                    ic_corrupt(img, corruption_name=name, severity=3)

            out.append(measure(peer, name=case, impl="imagecorruptions", items=n_peer, repeats=3, warmup=1,
                               min_time=0.2, params={"size": size}))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = ap.parse_args(argv)
    dev, q, gpu = args.device, args.quick, args.device == "cuda"
    names = corrupt.names()
    check_correctness(names, dev)
    timings = bench_throughput(names, dev, 32, n=(2000 if q else 10000) if gpu else (200 if q else 1000),
                               n_ref=100 if q else 250, n_peer=20 if q else 100)
    timings += bench_throughput(names, dev, 224, n=(64 if q else 256) if gpu else (4 if q else 32),
                                n_ref=4 if q else 8, n_peer=2 if q else 8)
    # whole-set regeneration estimate: the 15 common CIFAR-10-C corruptions x 5 severities of the 10k test images
    ours = {t.name: t for t in timings if t.impl.startswith("pyrepair-") and t.impl != "pyrepair-reference"}
    peer = {t.name: t for t in timings if t.impl == "imagecorruptions"}
    common = [nm for nm in corrupt.COMMON if nm in names]
    total = {"corruptions": common, "images": 10000 * 5 * len(common)}
    total["pyrepair_seconds"] = sum(10000 * 5 / ours[f"{nm} 32px"].items_per_s for nm in common)
    if peer:
        total["imagecorruptions_seconds"] = sum(10000 * 5 / peer[f"{nm} 32px"].items_per_s for nm in common)
        total["speedup"] = total["imagecorruptions_seconds"] / total["pyrepair_seconds"]
    peer_s = (f", imagecorruptions {total['imagecorruptions_seconds']:.0f} s ({total['speedup']:.1f}x)"
              if peer else "")
    missing = [nm for nm in corrupt.COMMON if nm not in names]
    notes = ("Ratios: throughput relative to imagecorruptions (per image, ImageNet constants at every size) in the "
             "same run. Severity 3 for timing. Regenerating CIFAR-10-C (the "
             f"{len(common)} common corruptions x 5 severities of the 10k CIFAR test images, estimated from the 32 px "
             f"rates): pyrepair {total['pyrepair_seconds']:.1f} s" + peer_s + "."
             + (f" Not implemented, so not counted: {', '.join(missing)}." if missing else "")
             + " Fidelity (PSNR and classifier accuracy drop vs imagecorruptions): bench/fidelity_corrupt.py.")
    path = write_results("corrupt", dev, timings, baseline="imagecorruptions", notes=notes,
                         extra={"regeneration": total})
    print(path.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
