"""Direct pattern statistics of style_transfer at 32 px (results/wavelet-patterns-cpu-2core.md):
pixel mean / std, Haar detail energy per level, level-1 LH/HL ratio, block-edge ratios, for real severity-5
corruptions, the default transform (spin 1), cycle spinning (spin 8), bank pooling (spin 1) and mode="spectral".

    PYTHONPATH=$PWD python bench/stats_wavelet_patterns.py > table.md
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_wavelet import load_cifar  # noqa: E402

from pyrepair import corrupt, wavelet  # noqa: E402
from pyrepair.wavelet import reference  # noqa: E402


def summ(x: torch.Tensor) -> dict[str, float]:
    out = {"mean": float(x.mean()), "std": float(x.std(dim=(1, 2, 3)).mean())}
    low = x
    for lvl in range(3):
        low, hi = reference.haar_analysis(low)
        e = hi.pow(2).mean(dim=(0, 1, 3, 4))
        out[f"E{lvl + 1}"] = float(e.sum() * 1e3)
        if lvl == 0:
            out["LH/HL"] = float(e[0] / e[1])
    d = (x[..., 1:] - x[..., :-1]).abs().mean(dim=(0, 1, 2))
    i = torch.arange(d.shape[0]) + 1
    out["b8"] = float(d[(i % 8 == 0) & (i % 16 != 0)].mean() / d[i % 2 == 1].mean())
    out["b2"] = float(d[(i % 2 == 0) & (i % 4 != 0)].mean() / d[i % 2 == 1].mean())
    return out


def main() -> None:
    n = 200
    content = load_cifar("test", n)
    refs = load_cifar("test", n, n)
    c = summ(content)
    keys = list(c)
    print("| style (severity 5) | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    print("| content (clean) | " + " | ".join(f"{c[k]:.3g}" for k in keys) + " |")
    for name in corrupt.COMMON:
        rr = corrupt.apply(refs, name, 5, seed=1, scale="cifar")
        rows = {"real": summ(corrupt.apply(content, name, 5, seed=2, scale="cifar")),
                "spin 1": summ(wavelet.style_transfer(content, rr, seed=3)),
                "spin 8": summ(wavelet.style_transfer(content, rr, seed=3, spin=8)),
                "bank": summ(wavelet.style_transfer(content, rr, seed=3, pooling="bank")),
                "spectral": summ(wavelet.style_transfer(content, rr, seed=3, mode="spectral"))}
        for lab, r in rows.items():
            print(f"| {name} {lab} | " + " | ".join(f"{r[k]:.3g}" for k in keys) + " |")


if __name__ == "__main__":
    main()
