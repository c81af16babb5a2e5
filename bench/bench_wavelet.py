"""Wavelet family: pixel-domain style transfer throughput and the §D.7 pattern-transfer score.

1. Correctness first: ``style_transfer`` cpu (and cuda) == the torch reference on the benchmark inputs.
2. Throughput (images/s) of ``style_transfer(mode="pixel")`` at 32 px and 256 px: the compiled back-end, the torch
   reference, and a one-image-at-a-time loop over the compiled back-end; at 1 thread and at all threads. The same
   for ``mode="spectral"`` (compiled and reference; a one-image loop would be a different transform, since the
   spectral statistics are pooled over the batch). WCT2 mode is timed too when :mod:`pyrepair.wavelet.stylizer`
   imports and runs without user weights.
3. Pattern transfer (spec/deeprepair.md §D.7): a "probe" (a small ResNet-style CNN with BatchNorm next to an MLP
   on Haar band energies, blockiness, colour and saturation statistics; CPU, about 10 minutes on 2 cores) is
   trained to tell clean images from each common corruption (CIFAR train images, severities 1-5; 2000 per class,
   24 epochs by default). Clean CIFAR test images are then stylised with corrupted references of corruption k
   (other test images, one per content image); the transplant rate T_k = P(probe says k) is reported with the
   identity floor (content unchanged) and the real ceiling (real corrupted images of k), for each configuration
   in ``CONFIGS`` (the plain §D.6 transform with Gaussian injection, the defaults, cycle spinning, bank and hybrid
   pooling, one Haar level instead of three, and ``mode="spectral"``).
   Null style (clean references) should stay "clean". The 15 x 16 confusion matrices are in the JSON.

    python bench/bench_wavelet.py            # full (a few minutes on 2 cores)
    python bench/bench_wavelet.py --quick    # smoke run
    python bench/bench_wavelet.py --device cuda
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, Timing, measure, write_results  # noqa: E402

import pyrepair  # noqa: E402
from pyrepair import corrupt, wavelet  # noqa: E402


def load_cifar(split: str, n: int, offset: int = 0) -> torch.Tensor:
    """(n, 3, 32, 32) float32 in [0, 1]: CIFAR-10 from shared/data when present, else sklearn digits upscaled."""
    here = Path(__file__).resolve()
    roots = [Path(os.environ["PYREPAIR_DATA"])] if os.environ.get("PYREPAIR_DATA") else []
    roots += [p / "shared" / "data" for p in here.parents]  # repo beside shared/ (main) or two levels up (worktree)
    for root in roots:
        path = root / "cifar10_exact_subset.npz"
        if path.is_file():
            with np.load(path, allow_pickle=False) as d:
                x = d[f"x_{split}"][offset : offset + n]
            return torch.from_numpy(x).permute(0, 3, 1, 2).float().div(255).contiguous()
    from sklearn.datasets import load_digits

    digits = torch.from_numpy(load_digits().images).float().div(16)
    start = (offset if split == "train" else 1000 + offset) % digits.shape[0]
    digits = digits.roll(-start, 0).repeat(math.ceil(n / digits.shape[0]), 1, 1)[:n]
    x = F.interpolate(digits.unsqueeze(1), size=(32, 32), mode="bilinear", align_corners=False)
    return x.expand(-1, 3, -1, -1).clamp(0, 1).contiguous()


def corrupt_mixed(x: torch.Tensor, name: str, seed: int) -> torch.Tensor:
    """Corrupt each image at a severity drawn uniformly from 1..5 (seeded)."""
    g = torch.Generator().manual_seed(seed)
    sev = torch.randint(1, 6, (x.shape[0],), generator=g)
    out = x.clone()
    for s in range(1, 6):
        idx = (sev == s).nonzero().flatten()
        if idx.numel():
            out[idx] = corrupt.apply(x[idx].contiguous(), name, s, seed=seed, scale="cifar")
    return out


# ----------------------------------------------------------------------------------------------------------------
# 1-2: correctness and throughput
# ----------------------------------------------------------------------------------------------------------------
def check_correctness(dev: str) -> float:
    x = load_cifar("test", 16).to(dev)
    s = corrupt_mixed(load_cifar("test", 8, 16), "gaussian_noise", 1).to(dev)
    err = 0.0
    for mode in ("pixel", "spectral"):
        ours = wavelet.style_transfer(x, s, seed=1, mode=mode)
        ref = wavelet.style_transfer(x.cpu(), s.cpu(), seed=1, backend="reference", mode=mode)
        e = float((ours.cpu() - ref).abs().max())
        assert e <= 1e-4, f"style_transfer(mode={mode!r}): max |compiled - reference| = {e}"
        err = max(err, e)
    return err


def bench_throughput(dev: str, size: int, n: int, n_ref: int, n_loop: int, threads: int) -> list[Timing]:
    torch.set_num_threads(threads)
    pyrepair.set_num_threads(threads)
    x = load_cifar("test", n)
    s = corrupt_mixed(load_cifar("test", n, 200), "gaussian_noise", 2)
    if size != 32:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
        s = F.interpolate(s, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    x, s = x.to(dev).contiguous(), s.to(dev).contiguous()
    case = f"pixel {size}px {threads}t"
    params = {"size": size, "threads": threads, "style": "paired, gaussian_noise refs"}
    out = [measure(lambda: wavelet.style_transfer(x, s), name=case, impl=f"pyrepair-{dev}", items=n, device=dev,
                   params=params, repeats=5)]
    xr, sr = x[:n_ref].cpu(), s[:n_ref].cpu()
    out.append(measure(lambda: wavelet.style_transfer(xr, sr, backend="reference"), name=case,
                       impl="pyrepair-reference", items=n_ref, params=params, repeats=3, warmup=1))
    case_s = f"spectral {size}px {threads}t"
    out.append(measure(lambda: wavelet.style_transfer(x, s, mode="spectral"), name=case_s, impl=f"pyrepair-{dev}",
                       items=n, device=dev, params=params, repeats=5))
    out.append(measure(lambda: wavelet.style_transfer(xr, sr, mode="spectral", backend="reference"), name=case_s,
                       impl="pyrepair-reference", items=n_ref, params=params, repeats=3, warmup=1))
    xl, sl = x[:n_loop], s[:n_loop]

    def loop() -> None:
        for i in range(n_loop):
            wavelet.style_transfer(xl[i : i + 1], sl[i : i + 1])

    out.append(measure(loop, name=case, impl="one-image-loop", items=n_loop, device=dev, params=params, repeats=3,
                       warmup=1))
    wct2 = _wct2_callable()
    if wct2 is not None and size == 32:
        xw, sw = x[: min(n, 64)], s[: min(n, 64)]
        try:
            wct2(xw, sw)
            out.append(measure(lambda: wct2(xw, sw), name=case, impl="wct2-mode", items=xw.shape[0], device=dev,
                               params=params, repeats=3, warmup=1))
        except Exception as exc:  # noqa: BLE001 - the WCT2 mode needs user weights; report, do not fail
            print(f"wct2 mode not timed: {type(exc).__name__}: {exc}")
    return out


def _wct2_callable() -> Any:
    try:
        from pyrepair.wavelet import stylizer  # noqa: F401
    except ImportError as exc:
        print(f"pyrepair.wavelet.stylizer not importable ({exc}); WCT2 mode not timed")
        return None
    return lambda c, s: wavelet.style_transfer(c, s, mode="wct2")


# ----------------------------------------------------------------------------------------------------------------
# 3: pattern transfer (§D.7)
# ----------------------------------------------------------------------------------------------------------------
def _haar(x):
    a, b = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
    c, d = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    return 0.5 * (a + b + c + d), 0.5 * (b - a + d - c), 0.5 * (c - a + d - b), 0.5 * (a - b - c + d)


def features(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, F) float32 statistics exposing frequency content, blockiness, colour."""
    x = x.float()
    n = x.shape[0]
    g = x.mean(1, keepdim=True)
    f = [x.mean((2, 3)), x.std((2, 3)), g.flatten(1).quantile(torch.tensor([0.01, 0.1, 0.5, 0.9, 0.99]), dim=1).T,
         (x > 0.98).float().mean((1, 2, 3)).unsqueeze(1), (x < 0.02).float().mean((1, 2, 3)).unsqueeze(1)]
    sat = x.amax(1) - x.amin(1)
    f += [sat.mean((1, 2)).unsqueeze(1), sat.std((1, 2)).unsqueeze(1)]
    for shift in (0, 1):
        low = torch.roll(x, (shift, shift), (2, 3)) if shift else x
        for lvl in range(4 if shift == 0 else 2):
            low, lh, hl, hh = _haar(low)
            for band in (lh, hl, hh):
                e = band.pow(2).mean((1, 2, 3))
                f.append(torch.log(e + 1e-7).unsqueeze(1))
                if lvl == 0 and shift == 0:
                    bg = band.mean(1)  # colour-mean detail
                    m2 = bg.pow(2).mean((1, 2))
                    f.append(torch.log(m2 + 1e-7).unsqueeze(1) - torch.log(e + 1e-7).unsqueeze(1))  # cross-colour
                    k = band.flatten(1)
                    f.append((k.pow(4).mean(1) / (k.pow(2).mean(1).pow(2) + 1e-12)).clamp(max=100).log().unsqueeze(1))
                    loc = F.avg_pool2d(band.pow(2).mean(1, keepdim=True), 4).flatten(1)
                    f.append((loc.std(1) / (loc.mean(1) + 1e-7)).unsqueeze(1))
    for dim in (3, 2):
        d = (x.narrow(dim, 1, x.shape[dim] - 1) - x.narrow(dim, 0, x.shape[dim] - 1)).abs()
        d = d.mean((1, 2)) if dim == 3 else d.mean((1, 3))
        i = torch.arange(1, d.shape[1] + 1)
        base = d[:, i % 2 == 1].mean(1) + 1e-6
        for p in (2, 4, 8):
            f.append(torch.log(d[:, (i % p == 0) & (i % (2 * p) != 0)].mean(1) / base + 1e-6).unsqueeze(1))
    gm = (x[..., 1:, 1:] - x[..., :-1, :-1]).abs().mean(1).flatten(1)
    f.append(torch.log(gm.quantile(torch.tensor([0.5, 0.9, 0.99]), dim=1).T + 1e-5))
    ll = F.avg_pool2d(g, 8).flatten(1)
    f.append(ll.std(1, keepdim=True))
    return torch.cat([t.reshape(n, -1) for t in f], 1)


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Probe(nn.Module):
    """Corruption-type classifier (§D.7): a small ResNet-style CNN with BatchNorm (3 stages of width w, 2w, 4w,
    global average pool) next to an MLP branch on :func:`features` (frequency, blockiness, colour statistics,
    standardised); the two embeddings are concatenated and classified by a 2-layer head."""

    def __init__(self, n_features: int, classes: int, width: int = 16) -> None:
        super().__init__()
        w = width
        self.cnn = nn.Sequential(nn.Conv2d(3, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                                 _block(w, w, 1), _block(w, 2 * w, 2), _block(2 * w, 4 * w, 2),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.stats = nn.Sequential(nn.Linear(n_features, 128), nn.BatchNorm1d(128), nn.ReLU(inplace=True))
        self.register_buffer("mu", torch.zeros(n_features))
        self.register_buffer("sd", torch.ones(n_features))
        self.head = nn.Sequential(nn.Linear(4 * w + 128, 128), nn.ReLU(inplace=True), nn.Dropout(0.1),
                                  nn.Linear(128, classes))

    def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.cnn(x - 0.5), self.stats((f - self.mu) / self.sd)], 1))


def train_probe(names: list[str], per_class: int, epochs: int, seed: int = 0,
                width: int = 16) -> tuple[Probe, float, list[float]]:
    """Train on CIFAR-10 train images (the exact subset, reused across classes: every class sees the same images
    under a different corruption), each class at severities 1-5 uniformly; 10 % held out. AdamW, one-cycle,
    batch 128, horizontal flips only (crops would move the JPEG / pixelate grid)."""
    torch.manual_seed(seed)
    classes = ["clean", *names]
    xs, ys = [], []
    pool = load_cifar("train", 50000)
    for k, name in enumerate(classes):
        base = pool[(torch.arange(per_class) + k * per_class) % pool.shape[0]]
        xs.append(base if name == "clean" else corrupt_mixed(base, name, 100 + k))
        ys.append(torch.full((per_class,), k))
    x, y = torch.cat(xs), torch.cat(ys)
    f = features(x)
    held = torch.randperm(x.shape[0])
    n_val = max(len(classes) * 10, x.shape[0] // 10)
    val_idx, tr_idx = held[:n_val], held[n_val:]
    model = Probe(f.shape[1], len(classes), width)
    model.mu.copy_(f[tr_idx].mean(0))
    model.sd.copy_(f[tr_idx].std(0).clamp_min(1e-6))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    bs = 128
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * math.ceil(len(tr_idx) / bs))
    t0 = time.perf_counter()
    for ep in range(epochs):
        model.train()
        perm = tr_idx[torch.randperm(len(tr_idx))]
        for i in range(0, len(perm), bs):
            b = perm[i : i + bs]
            xb = x[b]
            flip = torch.rand(len(b)) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb, f[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"probe epoch {ep + 1}/{epochs}: loss {float(loss):.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    pred = predict(model, x[val_idx])
    acc = float((pred == y[val_idx]).float().mean())
    recall = [float((pred[y[val_idx] == k] == k).float().mean()) for k in range(len(classes))]
    return model, acc, recall


@torch.no_grad()
def predict(model: Probe, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + 500], features(x[i : i + 500])).argmax(1) for i in range(0, x.shape[0], 500)])


# The configurations scored: (label, style_transfer keyword arguments).
CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("D.6 plain", {"noise": "gaussian"}),
    ("style noise", {}),
    ("style noise, spin 8", {"spin": 8}),
    ("bank pooling", {"pooling": "bank"}),
    ("hybrid pooling", {"pooling": "hybrid"}),
    ("1 level", {"levels": 1}),
    ("hybrid, 1 level", {"pooling": "hybrid", "levels": 1}),
    ("spectral", {"mode": "spectral"}),
]


def pattern_transfer(model: Probe, names: list[str], n_eval: int, dev: str, kw: dict[str, Any]) -> dict[str, Any]:
    """Transplant rates of one configuration: content = the first n_eval CIFAR test images, references = the next
    n_eval test images corrupted with k (severities 1-5), one per content image."""
    content = load_cifar("test", n_eval)
    refs_clean = load_cifar("test", n_eval, n_eval)
    rows = {}
    identity_pred = predict(model, content)
    null_pred = predict(model, wavelet.style_transfer(content.to(dev), refs_clean.to(dev), seed=3, **kw).cpu())
    confusion = []
    for k, name in enumerate(names, start=1):
        refs = corrupt_mixed(refs_clean, name, 200 + k)
        styled = wavelet.style_transfer(content.to(dev), refs.to(dev), seed=k, **kw).cpu()
        real = corrupt_mixed(content, name, 300 + k)
        pred = predict(model, styled)
        confusion.append(torch.bincount(pred, minlength=len(names) + 1).tolist())
        t = float((pred == k).float().mean())
        floor = float((identity_pred == k).float().mean())
        ceil = float((predict(model, real) == k).float().mean())
        calibrated = (t - floor) / (ceil - floor) if ceil - floor > 1e-9 else float("nan")
        rows[name] = {"transplant": t, "identity": floor, "real": ceil, "calibrated": calibrated}
    return {"rows": rows, "confusion": confusion, "identity_clean": float((identity_pred == 0).float().mean()),
            "null_style_clean": float((null_pred == 0).float().mean())}


def well_above_chance(row: dict[str, float], chance: float) -> bool:
    """T_k >= 3 x chance and at least 10 points above the identity floor."""
    return row["transplant"] >= 3 * chance and row["transplant"] >= row["identity"] + 0.10


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="smaller sizes and a shorter probe training (smoke run)")
    ap.add_argument("--out", default=None, help="results name (default: wavelet, or wavelet-quick with --quick)")
    ap.add_argument("--skip-probe", action="store_true", help="throughput only")
    ap.add_argument("--skip-throughput", action="store_true", help="pattern transfer only")
    ap.add_argument("--probe-per-class", type=int, default=None, help="probe training images per class")
    ap.add_argument("--probe-epochs", type=int, default=None, help="probe training epochs")
    ap.add_argument("--probe-width", type=int, default=16, help="probe CNN width (stages w, 2w, 4w)")
    args = ap.parse_args(argv)
    dev, q = args.device, args.quick
    gpu = dev == "cuda"
    err = check_correctness(dev)
    t0 = time.perf_counter()
    all_threads = os.cpu_count() or 1
    timings: list[Timing] = []
    for threads in [] if args.skip_throughput else sorted({1, all_threads}):
        timings += bench_throughput(dev, 32, n=8192 if gpu else (256 if q else 1024), n_ref=64 if q else 256,
                                    n_loop=16 if q else 64, threads=threads)
        timings += bench_throughput(dev, 256, n=256 if gpu else (8 if q else 32), n_ref=4 if q else 8,
                                    n_loop=2 if q else 8, threads=threads)
    torch.set_num_threads(all_threads)
    pyrepair.set_num_threads(all_threads)
    extra: dict[str, Any] = {"max_abs_diff_vs_reference": err, "throughput_seconds": time.perf_counter() - t0}
    names = [n for n in corrupt.COMMON if n in corrupt.names()]
    if not args.skip_probe:
        t1 = time.perf_counter()
        per_class, epochs, n_eval = (300, 2, 100) if q else (2000, 24, 500)
        per_class = args.probe_per_class or per_class
        epochs = args.probe_epochs or epochs
        model, acc, recall = train_probe(names, per_class, epochs, width=args.probe_width)
        results = {label: pattern_transfer(model, names, n_eval, dev, kw) for label, kw in CONFIGS}
        probe = f"ResNet-style CNN (width {args.probe_width}) + statistics MLP"
        extra["pattern_transfer"] = {"classes": ["clean", *names], "probe": probe,
                                     "probe_val_accuracy": acc, "probe_recall": recall, "per_class_train": per_class,
                                     "epochs": epochs, "n_eval": n_eval, "chance": 1.0 / (len(names) + 1),
                                     "configs": {label: kw for label, kw in CONFIGS}, "by_config": results,
                                     "seconds": time.perf_counter() - t1}
    missing = [n for n in corrupt.COMMON if n not in names]
    notes = ("style_transfer (mode='pixel', cases 'pixel ...'; mode='spectral', cases 'spectral ...') with paired "
             "gaussian_noise references (stochastic injection on). "
             "Ratios: throughput relative to the torch reference measured in the same run; cases 'Nt' run the "
             "compiled kernels and torch on N threads. The machine is shared with other jobs: 1-thread figures are "
             "the stable ones." + (f" Corruptions not implemented in this build (not probed): {', '.join(missing)}."
                                  if missing else ""))
    name = args.out or ("wavelet-quick" if q else "wavelet")
    path = write_results(name, dev, timings, baseline="pyrepair-reference", notes=notes, extra=extra)
    md = path.with_suffix(".md")
    lines = [md.read_text()]
    loops = {t.name: t for t in timings if t.impl == "one-image-loop"}
    lines += ["", "| case | compiled vs one-image loop |", "|---|---:|"]
    for t in timings:
        if t.impl == f"pyrepair-{dev}" and t.name in loops:
            lines.append(f"| {t.name} | {t.items_per_s / loops[t.name].items_per_s:.1f}x |")
    if "pattern_transfer" in extra:
        p = extra["pattern_transfer"]
        by = p["by_config"]
        chance = p["chance"]
        labels = list(by)
        first = by[labels[0]]
        lines += ["", f"## Pattern transfer (§D.7): probe = {p['probe']}, held-out accuracy on real corrupted "
                  f"images {p['probe_val_accuracy']:.3f} ({p['per_class_train']}/class, severities 1-5, "
                  f"{p['epochs']} epochs); {p['n_eval']} content images per corruption, one reference each; "
                  f"chance {chance:.3f}", "",
                  "Configurations: " + "; ".join(f"{lb} = `{p['configs'][lb] or 'defaults'}`" for lb in labels) + ".",
                  "", f"Identity predicted clean: {first['identity_clean']:.2f}; null style (clean references) "
                  "predicted clean: " + ", ".join(f"{lb}: {by[lb]['null_style_clean']:.2f}" for lb in labels) + ".",
                  "", "T_k = P(probe says k | stylised); * = well above chance (T_k >= 3 x chance and >= identity "
                  "+ 0.10).", "",
                  "| corruption | " + " | ".join(f"T_k {lb}" for lb in labels) + " | identity floor | real ceiling | "
                  "probe recall |", "|---|" + "---:|" * (len(labels) + 3)]
        hits = {lb: 0 for lb in labels}
        for k, nm in enumerate(first["rows"], start=1):
            cells = []
            for lb in labels:
                r = by[lb]["rows"][nm]
                ok = well_above_chance(r, chance)
                hits[lb] += ok
                cells.append(f"{r['transplant']:.2f}{'*' if ok else ''}")
            r0 = first["rows"][nm]
            lines.append(f"| {nm} | " + " | ".join(cells) + f" | {r0['identity']:.2f} | {r0['real']:.2f} | "
                         f"{p['probe_recall'][k]:.2f} |")
        means = [sum(r["transplant"] for r in by[lb]["rows"].values()) / len(first["rows"]) for lb in labels]
        lines.append("| **mean** | " + " | ".join(f"{m:.2f}" for m in means) + " | | | |")
        lines.append("| **well above chance** | " + " | ".join(f"{hits[lb]}/{len(first['rows'])}" for lb in labels)
                     + " | | | |")
    md.write_text("\n".join(lines) + "\n")
    print(md.read_text())
    print(f"wrote {path} ({RESULTS})")


if __name__ == "__main__":
    main()
