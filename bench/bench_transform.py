"""Transform family throughput: SENSEI population warps and AugMix, pyrepair cpu/cuda vs the torch reference vs the
per-image PIL/numpy loop a user would otherwise write; plus an AugMix fine-tune epoch with and without JSD.

Correctness first (compiled == reference on the benchmark inputs), then timing; results to bench/results/.

    python bench/bench_transform.py                       # CPU (2-core defaults)
    python bench/bench_transform.py --device cuda         # GPU machine
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Timing, measure, write_results  # noqa: E402

import pyrepair  # noqa: E402
from pyrepair import augment, transform  # noqa: E402

try:
    from PIL import Image, ImageOps
except ImportError:  # the peer is optional; install the `bench` extra
    Image = ImageOps = None


# ----------------------------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------------------------
def sensei_params(p: int, b: int, size: int, seed: int = 0) -> torch.Tensor:
    """(P, B, 7) random genes inside SENSEI's T6 ranges (sensei.md §2.1), brightness in [0,1] units."""
    g = torch.Generator().manual_seed(seed)
    t = math.floor(0.1 * size + 0.5)

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(p, b, generator=g)

    return torch.stack([u(-30, 30), torch.randint(-t, t + 1, (p, b), generator=g).float(),
                        torch.randint(-t, t + 1, (p, b), generator=g).float(), u(-0.1, 0.1), u(0.9, 1.1),
                        u(-32, 32) / 255.0, u(0.8, 1.2)], dim=-1)


# ----------------------------------------------------------------------------------------------------------------
# the per-image peer: PIL for the geometry, numpy for the photometric part (what a user writes without pyrepair)
# ----------------------------------------------------------------------------------------------------------------
def _pil_sensei(img_u8: np.ndarray, g: np.ndarray) -> np.ndarray:
    """One SENSEI variant with PIL: inverse affine map of sensei.md §2.2 at pixel centres, then numpy photometric."""
    h, w = img_u8.shape[:2]
    rot, tx, ty, sh, z, beta, kappa = (float(v) for v in g)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    # p = c + R^T((Sh^-1 (q - c)/z) - t): compose as a 2x3 matrix on (x, y, 1)
    a = np.array([[1 / z, -sh / z], [0, 1 / z]])
    rt = np.array([[c, -s], [s, c]])
    m = rt @ a
    off = np.array([cx, cy]) - m @ np.array([cx, cy]) - rt @ np.array([tx, ty])
    # PIL samples the input at M (q + 1/2) + off_pil - 1/2; equal to M q + off for off_pil = off - (M - I) 1/2
    off = off - (m - np.eye(2)) @ np.array([0.5, 0.5])
    mode = "L" if img_u8.ndim == 2 else "RGB"
    out = Image.fromarray(img_u8, mode).transform((w, h), Image.Transform.AFFINE,
                                                  (m[0, 0], m[0, 1], off[0], m[1, 0], m[1, 1], off[1]),
                                                  resample=Image.Resampling.BILINEAR, fillcolor=0)
    v = np.asarray(out, dtype=np.float32)
    v = np.clip(v + beta * 255.0, 0, 255)
    return np.clip(127.0 + kappa * (v - 127.0), 0, 255)


def pil_population(images_u8: np.ndarray, params: np.ndarray) -> np.ndarray:
    p, b = params.shape[:2]
    return np.stack([np.stack([_pil_sensei(images_u8[j], params[i, j]) for j in range(b)]) for i in range(p)])


_PIL_OPS = ["autocontrast", "equalize", "posterize", "rotate", "solarize", "shear_x", "shear_y", "translate_x",
            "translate_y"]


def _pil_op(img: Image.Image, op: str, level: float, size: int, rng: np.random.Generator) -> Image.Image:
    sign = 1 if rng.random() < 0.5 else -1
    if op == "autocontrast":
        return ImageOps.autocontrast(img)
    if op == "equalize":
        return ImageOps.equalize(img)
    if op == "posterize":
        return ImageOps.posterize(img, 4 - int(level * 4 / 10))
    if op == "solarize":
        return ImageOps.solarize(img, 256 - int(level * 256 / 10))
    if op == "rotate":
        return img.rotate(sign * int(level * 30 / 10), resample=Image.Resampling.BILINEAR)
    affine = Image.Transform.AFFINE
    bil = Image.Resampling.BILINEAR
    if op == "shear_x":
        return img.transform(img.size, affine, (1, sign * level * 0.3 / 10, 0, 0, 1, 0), resample=bil)
    if op == "shear_y":
        return img.transform(img.size, affine, (1, 0, 0, sign * level * 0.3 / 10, 1, 0), resample=bil)
    t = sign * int(level * (size / 3) / 10)
    if op == "translate_x":
        return img.transform(img.size, affine, (1, 0, t, 0, 1, 0), resample=bil)
    return img.transform(img.size, affine, (1, 0, 0, 0, 1, t), resample=bil)


def pil_augmix(images_u8: np.ndarray, rng: np.random.Generator, severity: int = 3, width: int = 3) -> np.ndarray:
    """Per-image AugMix with PIL ops and numpy mixing (deeprepair.md §A.4/§B), one image at a time."""
    size = images_u8.shape[1]
    out = np.empty(images_u8.shape, dtype=np.float32)
    for i, x in enumerate(images_u8):
        ws = rng.dirichlet([1.0] * width).astype(np.float32)
        m = float(rng.beta(1.0, 1.0))
        mix = np.zeros(x.shape, dtype=np.float32)
        for k in range(width):
            img = Image.fromarray(x)
            for _ in range(int(rng.integers(1, 4))):
                img = _pil_op(img, _PIL_OPS[int(rng.integers(len(_PIL_OPS)))], float(rng.uniform(0.1, severity)),
                              size, rng)
            mix += ws[k] * (np.asarray(img, dtype=np.float32) / 255.0)
        out[i] = m * mix + (1 - m) * (x.astype(np.float32) / 255.0)
    return out


# ----------------------------------------------------------------------------------------------------------------
def check_correctness(dev: str) -> None:
    x = pyrepair.testing.make_images(8, 3, 32, 32, seed=1, device=dev)
    prm = sensei_params(3, 8, 32).to(dev)
    ours = transform.population(x, prm)
    ref = transform.population(x, prm, backend="reference")
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-4)
    a = augment.AugMix()
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    diff = (a(x, generator=g1) - augment.AugMix(backend="reference")(x, generator=g2)).abs()
    # a 1e-6 warp difference can flip a later quantising op (posterize, solarize, equalize) by one 8-bit level
    assert float(diff.max()) <= 1 / 255 + 1e-5, f"AugMix cpu vs reference: max diff {float(diff.max())}"
    assert float((diff > 1e-4).float().mean()) < 1e-3, "AugMix cpu vs reference: too many differing pixels"


def bench_population(dev: str, size: int, b: int, p: int, pil_b: int) -> list[Timing]:
    x = pyrepair.testing.make_images(b, 3, size, size, seed=0, device=dev)
    prm = sensei_params(p, b, size).to(dev)
    impl = "cuda" if dev == "cuda" else "cpu"
    case = f"population {size}px P={p}"
    out = [measure(lambda: transform.population(x, prm), name=case, impl=f"pyrepair-{impl}", items=p * b, device=dev,
                   params={"B": b, "P": p, "size": size})]
    rb = max(1, b // 8) if dev == "cpu" else b
    xr, pr = x[:rb], prm[:, :rb]
    out.append(measure(lambda: transform.population(xr, pr, backend="reference"), name=case, impl="pyrepair-reference",
                       items=p * rb, device=dev, repeats=5, params={"B": rb, "P": p, "size": size}))
    if Image is not None:
        xu8 = (x[:pil_b].permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
        pn = prm[:, :pil_b].cpu().numpy()
        out.append(measure(lambda: pil_population(xu8, pn), name=case, impl="pil-per-image", items=p * pil_b,
                           repeats=3, min_time=0.2, params={"B": pil_b, "P": p, "size": size}))
    return out


def bench_augmix(dev: str, size: int, b: int, pil_b: int) -> list[Timing]:
    x = pyrepair.testing.make_images(b, 3, size, size, seed=0, device=dev)
    impl = "cuda" if dev == "cuda" else "cpu"
    case = f"augmix {size}px"
    ours, ref = augment.AugMix(), augment.AugMix(backend="reference")
    g = torch.Generator().manual_seed(0)
    out = [measure(lambda: ours(x, generator=g), name=case, impl=f"pyrepair-{impl}", items=b, device=dev,
                   params={"B": b, "size": size})]
    out.append(measure(lambda: ref(x, generator=g), name=case, impl="pyrepair-reference", items=b, device=dev,
                       repeats=5, params={"B": b, "size": size}))
    if Image is not None:
        xu8 = (x[:pil_b].permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
        rng = np.random.default_rng(0)
        out.append(measure(lambda: pil_augmix(xu8, rng), name=case, impl="pil-per-image", items=pil_b, repeats=3,
                           min_time=0.2, params={"B": pil_b, "size": size}))
    return out


def bench_finetune_epoch(dev: str, n: int) -> dict[str, float]:
    """Seconds for one AugMix fine-tune epoch on n CIFAR-size images: JSD (3 views, one forward of 3B) vs CE on
    one AugMix view."""
    from pyrepair import models

    x = pyrepair.testing.make_images(n, 3, 32, 32, seed=0)
    y = torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(0))
    model = models.create("resnet20").to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    aug = augment.AugMix()
    g = torch.Generator().manual_seed(0)
    res = {}
    for mode in ("jsd", "no_jsd"):
        t0 = time.perf_counter()
        for i in range(0, n, 128):
            xb, yb = x[i:i + 128].to(dev), y[i:i + 128].to(dev)
            if mode == "jsd":
                clean, a1, a2 = augment.augmix_views(xb, aug, generator=g)
                logits = model(torch.cat([clean, a1, a2])).chunk(3)
                loss = augment.augmix_loss(*logits, yb)
            else:
                loss = torch.nn.functional.cross_entropy(model(aug(xb, generator=g)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if dev == "cuda":
            torch.cuda.synchronize()
        res[f"{mode}_seconds"] = time.perf_counter() - t0
    res["jsd_over_no_jsd"] = res["jsd_seconds"] / res["no_jsd_seconds"]
    res["images"] = n
    res["model"] = "resnet20"
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = ap.parse_args(argv)
    dev = args.device
    check_correctness(dev)
    gpu = dev == "cuda"
    q = args.quick
    timings: list[Timing] = []
    timings += bench_population(dev, 32, b=4096 if gpu else (64 if q else 256), p=10, pil_b=8 if q else 32)
    timings += bench_population(dev, 224, b=256 if gpu else (4 if q else 16), p=10, pil_b=2 if q else 4)
    timings += bench_augmix(dev, 32, b=4096 if gpu else (64 if q else 256), pil_b=16 if q else 64)
    timings += bench_augmix(dev, 224, b=256 if gpu else (4 if q else 16), pil_b=2 if q else 8)
    extra = {"finetune_epoch": bench_finetune_epoch(dev, 512 if q else 2048)}
    ft = extra["finetune_epoch"]
    path = write_results(
        "transform", dev, timings, baseline="pil-per-image",
        notes="Ratios: throughput relative to the per-image PIL/numpy loop measured in the same run. "
              f"AugMix fine-tune epoch ({ft['images']} images, {ft['model']}): JSD {ft['jsd_seconds']:.2f} s vs "
              f"no JSD {ft['no_jsd_seconds']:.2f} s ({ft['jsd_over_no_jsd']:.2f}x).",
        extra=extra)
    print(path.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
