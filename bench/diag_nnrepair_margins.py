"""Diagnostic for ``repro_nnrepair.py`` (issue 15): why MNIST-Pois's last-layer LPs are infeasible.

For every failing example of the defect set (P-Train / Adv-Train) of the cached CPU-configuration models: the logit
margin that must be overturned (largest other logit minus the true-class logit) against the largest gain the class's
top-5 edges (defect score of §2.4 with Fail = all failing examples of the class; each expert uses its 5 drawn ones)
can give with |delta| <= 0.5, i.e. 0.5 * sum |a_i|. Needs the base models in ~/.cache/pyrepair-bench
(run repro_nnrepair.py first).

Usage: ``OMP_NUM_THREADS=1 python bench/diag_nnrepair_margins.py [MODEL ...]`` (default MNIST-Pois MNIST-Adv; any
scenario-2/3 row of ``CPU_MODELS``, e.g. CIFAR10-Pois CIFAR10-Adv)
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("repro_nnrepair", HERE / "repro_nnrepair.py")
m = importlib.util.module_from_spec(_spec)
assert _spec.loader is not None
_spec.loader.exec_module(m)


def margins(model: torch.nn.Module, sets: dict[str, Any], dn: str) -> dict[str, Any]:
    """Failing examples of the defect set ``dn``: the margin to overturn vs the gain of the class's top-5 edges."""
    names = [n for n, _ in model.named_children()]
    idx = names.index(names[-1])
    ft = m.layer_inputs(model, idx, sets["Train"][0], "cpu")
    fd = m.layer_inputs(model, idx, sets[dn][0], "cpu")
    sub = model[idx:].eval()
    with torch.no_grad():
        yl = sub(fd).double()
        yt = sub(ft)
    y = sets[dn][1]
    pred = yl.argmax(1)
    fail = (pred != y).numpy()
    W = sub[0].weight.detach().double().numpy()
    a = fd.double().numpy()
    at = ft.double().numpy()
    okt = (yt.argmax(1) == sets["Train"][1]).numpy()
    mean_pass = np.abs(at[okt]).mean(0)
    need, can, canall = [], [], []
    for c in range(W.shape[0]):
        fi = np.nonzero(fail & (y.numpy() == c))[0]
        if not len(fi):
            continue
        score = np.abs(W[c]) * (np.abs(a[fi]).mean(0) - mean_pass)
        top = np.argsort(-score)[:5]
        for i in fi:
            other = np.delete(yl[i].numpy(), c).max()
            need.append(other - yl[i, c].item())
            can.append(0.5 * np.abs(a[i, top]).sum())
            canall.append(0.5 * np.abs(a[i]).sum())
    need, can, canall = map(np.array, (need, can, canall))
    if not len(need):
        return {"n_fail": 0, "median_margin_needed": 0.0, "median_max_gain_top5_b0.5": 0.0,
                "share_fixable_alone_top5": 0.0, "share_fixable_alone_all_edges_b0.5": 0.0}
    return {"n_fail": int(len(need)), "median_margin_needed": float(np.median(need)),
            "median_max_gain_top5_b0.5": float(np.median(can)),
            "share_fixable_alone_top5": float(np.mean(can > need)),
            "share_fixable_alone_all_edges_b0.5": float(np.mean(canall > need))}


def main(argv: list[str]) -> dict[str, Any]:
    torch.set_num_threads(1)
    out = {}
    for name in argv or ("MNIST-Pois", "MNIST-Adv"):
        cfg = m.CPU_MODELS[name]
        d = m.load_data(cfg, os.environ.get("PYREPAIR_DATA") or m.default_data_root())
        model, sets, info = m.eval_sets(name, cfg, d, Path.home() / ".cache" / "pyrepair-bench", "cpu")
        out[name] = margins(model, sets, m.defect_name(cfg))
        print(name, out[name], flush=True)
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
