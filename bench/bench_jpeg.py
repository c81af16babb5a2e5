"""jpeg_compression: fidelity and throughput of our batched JPEG round trip vs Pillow's (the published code's path).

Correctness first: the compiled kernel equals the torch reference bit for bit on the benchmark's inputs. Fidelity:
per quality, PSNR vs the clean images of our round trip and of Pillow's (``Image.save(format="JPEG", quality=q)``
then reload), their difference, the mean absolute difference between the two outputs (grey levels) and the
fraction of identical values. Throughput: images/s of pyrepair ``cpu`` (and ``cuda`` with ``--device cuda``), the
torch reference and a per-image Pillow loop (uint8 -> save -> load), all in the same run, on ``--threads`` threads
(default 1: Pillow is single-threaded). Images: CIFAR-10 test images from ``$PYREPAIR_DATA`` / ``../shared/data``
when present, else synthetic ones; 224 px cases upsample them.

    python bench/bench_jpeg.py                   # CPU, 1 thread
    python bench/bench_jpeg.py --device cuda
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_corrupt import load_images  # noqa: E402
from common import Timing, measure, write_results  # noqa: E402

import pyrepair  # noqa: E402
from pyrepair.corrupt import _jpeg  # noqa: E402

QUALITIES = (7, 10, 25, 30, 40, 50, 58, 65, 70, 80, 90)


def to_u8(x: torch.Tensor) -> np.ndarray:
    return torch.round(x * 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def pillow_roundtrip(u8: np.ndarray, quality: int) -> np.ndarray:
    out = np.empty_like(u8)
    for i, im in enumerate(u8):
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        out[i] = np.asarray(Image.open(buf))
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def fidelity(x: torch.Tensor) -> list[dict[str, float]]:
    u8 = to_u8(x)
    rows = []
    for q in QUALITIES:
        ours = to_u8(_jpeg.run_jpeg(x, q, backend="cpu"))
        pil = pillow_roundtrip(u8, q)
        diff = np.abs(ours.astype(np.int64) - pil)
        rows.append({"quality": q, "psnr_pillow": psnr(u8, pil), "psnr_ours": psnr(u8, ours),
                     "mad_levels": float(diff.mean()), "max_levels": int(diff.max()),
                     "identical": float((diff == 0).mean())})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1, help="pyrepair and torch CPU threads (Pillow uses one)")
    ap.add_argument("--n", type=int, default=500, help="images for the fidelity table")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = ap.parse_args(argv)
    pyrepair.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    n_fid = 50 if args.quick else args.n
    x = load_images(n_fid, 32)
    rows = fidelity(x)
    timings: list[Timing] = []
    for size, batch in ((32, 256 if not args.quick else 32), (224, 16 if not args.quick else 4)):
        xb = load_images(batch, size)
        q = 50
        cpu = _jpeg.run_jpeg(xb, q, backend="cpu")
        if not torch.equal(cpu, _jpeg.run_jpeg(xb, q, backend="reference")):
            raise SystemExit(f"cpu kernel != reference at {size} px")
        case = f"jpeg q{q} {size}px"
        u8 = to_u8(xb)
        timings.append(measure(lambda u8=u8, q=q: pillow_roundtrip(u8, q), name=case, impl="pillow", items=batch))
        timings.append(measure(lambda xb=xb, q=q: _jpeg.run_jpeg(xb, q, backend="cpu"), name=case, impl="cpu",
                               items=batch))  # fmt: skip
        timings.append(measure(lambda xb=xb, q=q: _jpeg.run_jpeg(xb, q, backend="reference"), name=case,
                               impl="reference", items=batch, repeats=3))  # fmt: skip
        if args.device == "cuda":
            xg = xb.cuda()
            if not torch.equal(_jpeg.run_jpeg(xg, q, backend="cuda").cpu(), cpu):
                raise SystemExit(f"cuda kernel != cpu at {size} px")
            timings.append(measure(lambda xg=xg, q=q: _jpeg.run_jpeg(xg, q, backend="cuda"), name=case, impl="cuda",
                                   items=batch, device="cuda"))  # fmt: skip
    table = ["| quality | PSNR Pillow dB | PSNR ours dB | difference dB | mean abs diff (levels) | max | identical |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| {r['quality']} | {r['psnr_pillow']:.3f} | {r['psnr_ours']:.3f} | "
                     f"{r['psnr_ours'] - r['psnr_pillow']:+.3f} | {r['mad_levels']:.3f} | {r['max_levels']} | "
                     f"{r['identical']:.3f} |")  # fmt: skip
    notes = (f"Fidelity vs Pillow {Image.__version__} over {x.shape[0]} CIFAR-10 test images (32 px, RGB):\n\n"
             + "\n".join(table) + f"\n\nThroughput on {args.threads} thread(s), quality 50:")  # fmt: skip
    path = write_results("jpeg", args.device, timings, baseline="pillow", notes=notes, extra={"fidelity": rows})
    print(path.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
