#!/usr/bin/env python
"""NNrepair reproduction at CPU scale (issue 15; ``shared/spec/nnrepair.md`` §1.2, §2.3, §4, §5).

Protocol, per model (spec §5.2; we train our own, Adam 1e-3, batch 128, the epoch budget in ``CPU_MODELS``):

* **MNIST-LQ, MNIST-HQ** (scenario 1, accuracy): the defect set is Train; goal Test.
* **MNIST-Pois** (scenario 2, BadNets): the LQ architecture trained on Train whose first 600 images carry a 3x3
  white trigger and the label 7 (:func:`pyrepair.scenarios.poison`, ``fraction=0.01``, ``seed=None``). The defect
  set is **P-Train** (those 600 images with their *true* labels); **P-Test** is every test image with the trigger
  and its true label (the poisoned baseline is about the share of true sevens, 10.28 %). Goal P-Test, keep Test.
* **MNIST-Adv** (scenario 3): the LQ architecture trained separately (another seed); **Adv-Train / Adv-Test** are
  one-step FGSM (eps 0.05, true labels, clip to [0, 1]) against it (:func:`pyrepair.scenarios.fgsm`). The defect
  set is Adv-Train; goal Adv-Test, keep Test.
* **CIFAR10** (scenario 1) on the exact-pixel CIFAR-10 subset (``cifar10_exact_subset``: 8,068 train / 1,017 test);
  full CIFAR-10 (``cifar10_jpeg_q75``: lossy pixels, 20k train / 10k test) only with ``--gpu``.
* **CIFAR10-Pois** (scenario 2) on the same subset: the CIFAR architecture trained (same recipe as CIFAR10) on
  Train whose *first* images carry the 3x3 white trigger at the bottom-right and the label 7 (horse). How many: the
  paper poisons the first 600 of 50,000 images (1.2 %). We keep the paper's **absolute 600** (the first 600 of the
  8,068 subset images, 7.4 %): it gives the repair the paper's P-Train (600 images, ~54 poisoned per class) and is
  the stronger of the two poisonings. **40 epochs**: with the clean row's 15 epochs neither the 600 images nor the
  paper's *fraction* (the first 97 images) implants the backdoor (the model is still under-fitted: Train 71-75 %;
  P-Test equals Test within 0.1 pp, the trigger flips 0.4-0.8 % of the test predictions), so there is no scenario-2
  defect to repair. 40 epochs (chosen once, not tuned) is the budget at which the poisoned model reaches the paper's
  Train accuracy (95.90 vs 96.97 %, the §7-A22 rule used for every model) and it learns the backdoor (P-Test
  20.26 %, 82 % of triggered non-horse test images go to "horse"; the paper's model: P-Test 15.89 %). The 15-epoch
  models are kept as the analysis rows ``CIFAR10-Pois-15ep`` (600 images) and ``CIFAR10-Pois-frac`` (97 images).
  P-Test is every test image with the trigger and its true label (a fully working backdoor leaves about the share
  of true horses, 10.03 % of the subset's test images).
* **CIFAR10-Adv** (scenario 3): **the clean CIFAR10 model itself** (the paper uses its CIFAR10 model for scenarios 1
  and 3, spec §5.2; ``base_model="CIFAR10"`` loads the CIFAR10 row's cached model), FGSM eps 0.05 Adv-Train /
  Adv-Test as for MNIST-Adv.

The CIFAR rows use the same code paths and settings as the MNIST rows; in particular the last layer keeps the top
**5** edges (the spec's default, §7-A6) although the authors' artefacts show 10 for the clean and poisoned CIFAR
models, so that all rows share one protocol.

Repair (``NNRepair``'s engine: :func:`pyrepair.patch.class_experts`, then :func:`~pyrepair.patch.f1_filter` and
:func:`~pyrepair.patch.combine`), one expert per class with failing examples, for the **last** layer (top 5 edges of
the class's logit, 5 failing + 5 passing examples of the class drawn from the defect set, topped up from Train,
plus ``k`` clean passing Train examples stratified over the classes, bound 0.5) and for the **intermediate** dense
layer before it (the activation-pattern oracle; top 10 % of the fan-in per faulty neuron, at most ``inter_n_fail``
failing examples of the class matching sigma^inc_C, ``|Fail_C| + 100`` passing ones matching sigma_C, the ``k``
extras keep their status, bound 1.0). The example selection mirrors ``NNRepair._repair`` exactly (same seed, same
draws); ``check_nnrepair`` re-runs :class:`pyrepair.methods.NNRepair` on every scenario-2 row and asserts the
identical merged weights. LP: L1 objective, GLOP, epsilon 1e-3, ``soft="auto"`` (the soft MILP only where the hard
LP is infeasible, §7-A4), a time limit per solve.

Every expert set is evaluated with the four strategies (Naive, Merged, Confidence, Votes) x F1 filter OFF / ON (the
filter set: Train; Train and P-Train / Adv-Train by harmonic mean of the F1 in scenarios 2 / 3, §7-A16), on Train,
Test and P-Train/P-Test or Adv-Train/Adv-Test. Evaluation runs the repaired *suffix* of the network (from the
repaired layer on) on the cached inputs of that layer, which is exact (the prefix is unchanged) and cheap.

Table 2 picks, per model and layer, the configuration with the largest gain on the goal set (Test in scenario 1),
as the paper does (over strategies, filter and ``k``; the paper reports the best it found). The targets are
checked on the paper's own headline configuration and, separately, on the best one.

The per-class last-layer LP timing target (1,000 examples, < 5 s, assembly < 10 % of the solve) is recomputed here
on the real MNIST-Pois model (per class: 5 failing + 5 passing + 990 clean extras; GLOP and PDLP) and compared with
``results/lp-cpu-2core.md`` (planted instance).

Usage::

    OMP_NUM_THREADS=1 python bench/repro_nnrepair.py --quick      # smoke run on scikit-learn digits, < 1 min
    OMP_NUM_THREADS=1 python bench/repro_nnrepair.py              # CPU configuration (~15-20 min on 1 thread)
    python bench/repro_nnrepair.py --models MNIST-Pois,MNIST-Adv  # a subset
    python bench/repro_nnrepair.py --models CIFAR10-Pois,CIFAR10-Adv --merge  # add/replace rows in the results
    python bench/repro_nnrepair.py --gpu --device cuda            # full CIFAR-10 (jpeg_q75 copy) on a GPU

Writes ``<out>/nnrepair-repro-<tag>.json`` and ``.md`` (``tag``: ``cpu``, ``quick`` or ``gpu``), rewritten after
every model. Without ``--merge`` the files hold only the models of this run; with ``--merge`` the existing JSON is
loaded and only the models run are replaced or appended (with their LP-timing rows and NNRepair cross-checks; the
run is listed under ``merged_runs``, the notes are kept). Base models are cached in ``~/.cache/pyrepair-bench``
(``--cache-dir none`` to disable).

Calibration (2026-12-07, this 2-core machine at load average ~4 with another benchmark running, 1 thread): one
epoch of 60k MNIST images costs ~12 s (LQ) / ~7 s (HQ); the CIFAR net ~17 s per epoch of the 8,068-image subset.
Pattern mining for the intermediate layer (decision trees on ~120k signatures) ~40-80 s per call; the LPs are
milliseconds (last layer) to ~10 s per 10 experts (intermediate). A first full run with fewer epochs (LQ 1, HQ 6,
Pois/Adv 3, CIFAR 8) took 706 s; the configuration below adds about 7 minutes (more epochs, the analysis runs).
CIFAR10-Pois / CIFAR10-Adv cost ~12 / ~3 min (a 40-epoch CIFAR training, ~13 s per epoch here; the repairs, most of
it evaluating the intermediate experts); the analysis rows CIFAR10-Pois-15ep ~5 min, CIFAR10-Pois-frac ~2 min.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, default_data_root, log, metadata  # noqa: E402

from pyrepair import data, models, scenarios, train  # noqa: E402
from pyrepair.methods import NNRepair  # noqa: E402
from pyrepair.patch import class_experts, combine, f1_filter  # noqa: E402

STRATEGIES = ["naive", "merged", "confidence", "votes"]
STRAT_LABEL = {"naive": "Naive", "merged": "Merged", "confidence": "Confidence", "votes": "Votes"}

# --------------------------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------------------------

_MNIST = {"data": "mnist", "variant": "auto", "train_n": None, "test_n": None, "lr": 1e-3, "batch": 128}
_REPAIR = {
    "ks_last": [0, 10, 50, 100],  # clean passing extras per LP (§2.3 "Extra"), swept for the last layer
    "ks_inter": [0],  # the intermediate layer: one k (the LPs are larger)
    "inter_n_fail": 200,  # cap on |Fail_C| for the intermediate layer (the paper: all of them)
    "time_limit": 20.0,
}
CPU_MODELS: dict[str, dict[str, Any]] = {
    "MNIST-LQ": {**_MNIST, **_REPAIR, "arch": "nnrepair_mnist_lq", "scenario": "accuracy", "epochs": 2, "seed": 0,
                 "lp_timing": True,
                 "paper": {"train": 96.59, "test": 96.34}},
    "MNIST-HQ": {**_MNIST, **_REPAIR, "arch": "nnrepair_mnist_hq", "scenario": "accuracy", "epochs": 10, "seed": 0,
                 "paper": {"train": 99.81, "test": 98.89}},
    "MNIST-Pois": {**_MNIST, **_REPAIR, "arch": "nnrepair_mnist_lq", "scenario": "poison", "epochs": 8, "seed": 0,
                   "n_poison": 600, "trigger": 3, "target": 7, "ks_inter": [0, 50], "extra_objectives_last": ["none"],
                   "lp_timing": True,
                   "paper": {"train": 98.99, "test": 98.63, "ptest": 10.38}},
    "MNIST-Adv": {**_MNIST, **_REPAIR, "arch": "nnrepair_mnist_lq", "scenario": "adversarial", "epochs": 8,
                  "seed": 1, "fgsm_eps": 0.05, "ks_inter": [0, 50], "extra_objectives_last": ["none"],
                  "paper": {"train": 98.67, "adv_train": 29.92, "test": 97.87, "adv_test": 28.37}},
    # Analysis, not the protocol: the same MNIST-Adv model attacked with the FGSM step that brings its Adv-Train
    # accuracy to the paper's 29.92 % (eps 0.05 leaves our model far more accurate than the paper's, so the room for
    # repair differs); the last layer only.
    "MNIST-Adv-matched": {**_MNIST, **_REPAIR, "arch": "nnrepair_mnist_lq", "scenario": "adversarial", "epochs": 8,
                          "seed": 1, "fgsm_eps": "match:29.92", "cache_name": "MNIST-Adv", "layers": ["last"],
                          "extra_objectives_last": ["none"], "analysis": True,
                          "paper": {"train": 98.67, "adv_train": 29.92, "test": 97.87, "adv_test": 28.37}},
    "CIFAR10": {"data": "cifar10", "variant": "exact_subset", "train_n": None, "test_n": None, "lr": 1e-3,
                "batch": 128, **_REPAIR, "arch": "nnrepair_cifar", "scenario": "accuracy", "epochs": 15, "seed": 0,
                "paper": {"train": 87.25, "test": 81.04}},
    # Scenario 2: the paper's absolute 600 poisoned images (7.4 % of the subset; docstring), 40 epochs: the budget at
    # which the poisoned model reaches the paper's Train accuracy (95.90 vs 96.97 %, §7-A22) and learns the backdoor.
    "CIFAR10-Pois": {"data": "cifar10", "variant": "exact_subset", "train_n": None, "test_n": None, "lr": 1e-3,
                     "batch": 128, **_REPAIR, "arch": "nnrepair_cifar", "scenario": "poison", "epochs": 40, "seed": 0,
                     "n_poison": 600, "trigger": 3, "target": 7, "ks_inter": [0, 50], "cache_name": "CIFAR10-Pois-long",
                     "extra_objectives_last": ["none"],
                     "paper": {"train": 96.97, "test": 72.26, "ptest": 15.89}},
    # Analysis, not the protocol: the clean CIFAR10 row's budget (15 epochs) does not implant the backdoor (Train
    # 71 %, the trigger changes < 1 % of test predictions), so P-Test only follows Test.
    "CIFAR10-Pois-15ep": {"data": "cifar10", "variant": "exact_subset", "train_n": None, "test_n": None, "lr": 1e-3,
                          "batch": 128, **_REPAIR, "arch": "nnrepair_cifar", "scenario": "poison", "epochs": 15,
                          "seed": 0, "n_poison": 600, "trigger": 3, "target": 7, "ks_inter": [0, 50],
                          "cache_name": "CIFAR10-Pois", "extra_objectives_last": ["none"], "analysis": True,
                          "paper": {"train": 96.97, "test": 72.26, "ptest": 15.89}},
    # Analysis, not the protocol: the paper's poisoning *fraction* (600 / 50,000: the first 97 subset images), 15
    # epochs; the backdoor is not learned either (docstring).
    "CIFAR10-Pois-frac": {"data": "cifar10", "variant": "exact_subset", "train_n": None, "test_n": None, "lr": 1e-3,
                          "batch": 128, **_REPAIR, "arch": "nnrepair_cifar", "scenario": "poison", "epochs": 15,
                          "seed": 0, "poison_fraction": 600 / 50000, "cache_name": "CIFAR10-Pois", "trigger": 3,
                          "target": 7, "ks_inter": [0, 50], "extra_objectives_last": ["none"], "analysis": True,
                          "paper": {"train": 96.97, "test": 72.26, "ptest": 15.89}},
    # Scenario 3 on the clean CIFAR10 model (the paper's choice): base_model names the row whose model is reused.
    "CIFAR10-Adv": {"data": "cifar10", "variant": "exact_subset", "train_n": None, "test_n": None, "lr": 1e-3,
                    "batch": 128, **_REPAIR, "arch": "nnrepair_cifar", "scenario": "adversarial", "epochs": 15,
                    "seed": 0, "base_model": "CIFAR10", "fgsm_eps": 0.05, "ks_inter": [0, 50],
                    "extra_objectives_last": ["none"],
                    "paper": {"train": 87.25, "adv_train": 34.00, "test": 81.04, "adv_test": 35.96}},
}  # fmt: skip
GPU_MODELS: dict[str, dict[str, Any]] = {
    "CIFAR10-full": {"data": "cifar10", "variant": "jpeg_q75", "train_n": None, "test_n": None, "lr": 1e-3,
                     "batch": 128, **_REPAIR, "arch": "nnrepair_cifar", "scenario": "accuracy", "epochs": 50,
                     "seed": 0, "paper": {"train": 87.25, "test": 81.04}},
    "CIFAR10-Pois-full": {"data": "cifar10", "variant": "jpeg_q75", "train_n": None, "test_n": None, "lr": 1e-3,
                          "batch": 128, **_REPAIR, "arch": "nnrepair_cifar", "scenario": "poison", "epochs": 50,
                          "seed": 0, "n_poison": 600, "trigger": 3, "target": 7, "ks_inter": [0, 50],
                          "extra_objectives_last": ["none"],
                          "paper": {"train": 96.97, "test": 72.26, "ptest": 15.89}},
    "CIFAR10-Adv-full": {"data": "cifar10", "variant": "jpeg_q75", "train_n": None, "test_n": None, "lr": 1e-3,
                         "batch": 128, **_REPAIR, "arch": "nnrepair_cifar", "scenario": "adversarial", "epochs": 50,
                         "seed": 0, "base_model": "CIFAR10-full", "fgsm_eps": 0.05, "ks_inter": [0, 50],
                         "extra_objectives_last": ["none"],
                         "paper": {"train": 87.25, "adv_train": 34.00, "test": 81.04, "adv_test": 35.96}},
}  # fmt: skip
_DIGITS = {"data": "digits", "variant": "auto", "train_n": None, "test_n": None, "lr": 3e-3, "batch": 64,
           "arch": "nnrepair_mnist_lq", "epochs": 6, "seed": 0, "ks_last": [0, 10], "ks_inter": [0],
           "inter_n_fail": 20, "time_limit": 5.0, "paper": {}}  # fmt: skip
QUICK_MODELS: dict[str, dict[str, Any]] = {
    "digits-LQ": {**_DIGITS, "scenario": "accuracy", "epochs": 2, "lp_timing": True},
    "digits-Pois": {**_DIGITS, "scenario": "poison", "n_poison": 60, "trigger": 2, "target": 7,
                    "extra_objectives_last": ["none"], "lp_timing": True},
    "digits-Adv": {**_DIGITS, "scenario": "adversarial", "fgsm_eps": 0.05, "seed": 1},
}

# The paper's Table 2 rows (pp vs the original; §5.4) and its headline configurations (used for the targets).
PAPER_T2 = {
    ("MNIST-LQ", "intermediate"): ("+0.22", "–", "+0.20", "–", "Votes", "ON(3)"),
    ("MNIST-LQ", "last"): ("+0.00", "–", "+0.00", "–", "ALL", "ON(0)"),
    ("MNIST-HQ", "intermediate"): ("+0.01", "–", "+0.02", "–", "Merged", "ON(3)"),
    ("MNIST-HQ", "last"): ("+0.00", "–", "+0.00", "–", "ALL", "ON(0)"),
    ("MNIST-Pois", "intermediate"): ("+0.00", "–", "−0.01", "+1.81", "Votes", "ON(2)"),
    ("MNIST-Pois", "last"): ("−2.60", "–", "−3.11", "+45.56", "Confidence", "OFF"),
    ("MNIST-Adv", "intermediate"): ("−4.35", "+2.75", "−4.15", "+3.87", "Confidence", "ON(9)"),
    ("MNIST-Adv", "last"): ("−3.99", "+11.15", "−3.14", "+10.40", "Merged", "ON(10)"),
    ("CIFAR10", "intermediate"): ("+0.03", "–", "+0.03", "–", "Merged", "ON(1)"),
    ("CIFAR10", "last"): ("+0.12", "–", "+0.16", "–", "ALL", "ON(1)"),
    ("CIFAR10-Pois", "intermediate"): ("+0.03", "–", "+0.02", "+0.81", "Merged", "ON(4)"),
    ("CIFAR10-Pois", "last"): ("−0.89", "–", "−0.61", "+3.77", "Merged", "OFF"),
    ("CIFAR10-Adv", "intermediate"): ("+0.05", "+0.61", "−0.07", "+0.34", "Merged", "ON(10)"),
    ("CIFAR10-Adv", "last"): ("−0.25", "+0.37", "−0.27", "+0.27", "Merged", "ON(10)"),
}
# The paper's Table 3 (goal-set gain in pp vs the number k of clean passing extras: 0, 10, 50, 100; spec §5.5).
PAPER_T3 = {
    ("MNIST-Pois", "intermediate"): ("+1.06", "+0.36", "+1.81", "+0.55"),
    ("MNIST-Pois", "last"): ("+39.97", "+42.08", "+45.56", "+39.09"),
    ("MNIST-Adv", "intermediate"): ("+3.87", "+2.71", "+3.62", "+2.11"),
    ("MNIST-Adv", "last"): ("+7.80", "+10.40", "+9.72", "+9.70"),
    ("CIFAR10-Pois", "intermediate"): ("+0.81", "+0.41", "+0.48", "N/A (timeout)"),
    ("CIFAR10-Pois", "last"): ("+3.77", "+3.09", "+3.68", "+1.48"),
    ("CIFAR10-Adv", "intermediate"): ("+0.34", "+1.80", "+1.62", "N/A"),
    ("CIFAR10-Adv", "last"): ("+0.24", "+0.24", "+0.27", "+0.27"),
}
HEADLINE = {  # the paper's Table 2 configuration for the two accuracy targets: (strategy, filter, k)
    "MNIST-Pois": ("confidence", False, 50),
    "MNIST-Adv": ("merged", True, 10),
}


# --------------------------------------------------------------------------------------------------------------------
# Data, scenarios, base models
# --------------------------------------------------------------------------------------------------------------------


def load_data(cfg: dict[str, Any], root: str | None) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the jpeg_q75 copy warns; the copy is named in the results instead
        tr = data.load(cfg["data"], "train", root=root, variant=cfg["variant"], limit=cfg["train_n"])
        te = data.load(cfg["data"], "test", root=root, variant=cfg["variant"], limit=cfg["test_n"])
    return {"train": (tr.images.float().contiguous(), tr.labels.long()),
            "test": (te.images.float().contiguous(), te.labels.long())}


def build_model(cfg: dict[str, Any], x: torch.Tensor) -> torch.nn.Module:
    return models.create(cfg["arch"], num_classes=10, in_channels=int(x.shape[1]),
                         input_size=tuple(int(s) for s in x.shape[-2:]), seed=cfg["seed"])


def base_model(name: str, cfg: dict[str, Any], x: torch.Tensor, y: torch.Tensor, cache_dir: Path | None,
               device: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    key = {k: cfg.get(k) for k in ("data", "variant", "arch", "scenario", "epochs", "seed", "lr", "batch",
                                   "n_poison", "trigger", "target")}
    key.update(n=len(y), torch=torch.__version__.split("+")[0])
    base = cfg.get("base_model")
    if base is not None:  # reuse the clean model of the row ``base`` (trained the same way: clean Train, scenario 1)
        if cfg["scenario"] == "poison":
            raise ValueError(f"{name}: base_model reuses a model trained on clean Train; not for the poison scenario")
        key["scenario"] = "accuracy"
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    model = build_model(cfg, x)
    cname = base if base is not None else cfg.get("cache_name", name)
    path = None if cache_dir is None else cache_dir / f"nnrepair-base-{cname}-{cfg['arch']}-{digest}.pt"
    info: dict[str, Any] = {"cache_key": key, "cache_file": None if path is None else str(path), "base_model": base}
    if path is not None and path.is_file():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        info.update(cached=True, train_seconds=None)
        log(f"{name}: base model loaded from {path}")
    else:
        log(f"{name}: training {cfg['arch']} on {len(y)} images, {cfg['epochs']} epoch(s)")
        t0 = time.perf_counter()
        train.fit(model, (x, y), epochs=cfg["epochs"], batch_size=cfg["batch"], lr=cfg["lr"], optimizer="adam",
                  seed=cfg["seed"], device=device, progress=False)
        info.update(cached=False, train_seconds=time.perf_counter() - t0)
        log(f"{name}: trained in {info['train_seconds']:.0f} s")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            torch.save({k: v.cpu() for k, v in model.state_dict().items()}, tmp)
            os.replace(tmp, path)
    return model.to(device).eval(), info


def eval_sets(name: str, cfg: dict[str, Any], d: dict[str, Any], cache_dir: Path | None,
              device: str) -> tuple[torch.nn.Module, dict[str, tuple[torch.Tensor, torch.Tensor]], dict[str, Any]]:
    """The base model and the named evaluation sets of its scenario (all with true labels)."""
    xtr, ytr = d["train"]
    xte, yte = d["test"]
    info: dict[str, Any] = {}
    if cfg["scenario"] == "poison":
        # the first n_poison images, or the first round(poison_fraction * N) (the CIFAR subset rows, docstring)
        n_poison = cfg.get("n_poison")
        if n_poison is None:
            n_poison = int(round(cfg["poison_fraction"] * len(ytr)))
        if not 0 < n_poison <= len(ytr):
            raise ValueError(f"{name}: {n_poison} poisoned images for {len(ytr)} training images")
        frac = n_poison / len(ytr)
        ps = scenarios.poison((xtr, ytr), target=cfg["target"], fraction=frac, trigger=cfg["trigger"])
        model, info["base"] = base_model(name, {**cfg, "n_poison": n_poison}, ps.images, ps.labels, cache_dir,
                                         device)
        pt = scenarios.poison((xte, yte), target=cfg["target"], fraction=1.0, trigger=cfg["trigger"], relabel=False)
        sets = {"Train": (xtr, ytr), "P-Train": (ps.images[ps.index], ytr[ps.index]), "Test": (xte, yte),
                "P-Test": (pt.images, yte)}
        info["n_poisoned"] = len(ps.index)
        info["target_share_test"] = float((yte == cfg["target"]).float().mean())
    elif cfg["scenario"] == "adversarial":
        model, info["base"] = base_model(name, cfg, xtr, ytr, cache_dir, device)
        t0 = time.perf_counter()
        eps = cfg["fgsm_eps"]
        if isinstance(eps, str):  # "match:<acc>": bisect eps so that Adv-Train accuracy is <acc> % (analysis)
            eps = match_eps(model, xtr, ytr, float(eps.split(":")[1]), device)
            info["fgsm_eps_matched"] = eps
        info["fgsm_eps"] = eps
        atr = scenarios.fgsm(model, xtr, ytr, eps=eps, device=device)
        ate = scenarios.fgsm(model, xte, yte, eps=eps, device=device)
        info["fgsm_seconds"] = time.perf_counter() - t0
        sets = {"Train": (xtr, ytr), "Adv-Train": (atr, ytr), "Test": (xte, yte), "Adv-Test": (ate, yte)}
    else:
        model, info["base"] = base_model(name, cfg, xtr, ytr, cache_dir, device)
        sets = {"Train": (xtr, ytr), "Test": (xte, yte)}
    return model, sets, info


def match_eps(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, target: float, device: str,
              n: int = 4000, steps: int = 10) -> float:
    """The FGSM step (to 1e-3) at which the model's accuracy on ``n`` seeded training images is ``target`` %."""
    idx = torch.from_numpy(np.sort(np.random.default_rng(0).choice(len(y), size=min(n, len(y)), replace=False)))
    xs, ys = x[idx], y[idx]
    lo, hi = 0.0, 0.5
    for _ in range(steps):
        mid = (lo + hi) / 2
        adv = scenarios.fgsm(model, xs, ys, eps=mid, device=device)
        acc = 100.0 * float((train.predict(model, adv, device=device).argmax(1).cpu() == ys).float().mean())
        lo, hi = (mid, hi) if acc > target else (lo, mid)
    return round((lo + hi) / 2, 3)


def defect_name(cfg: dict[str, Any]) -> str:
    return {"poison": "P-Train", "adversarial": "Adv-Train"}.get(cfg["scenario"], "Train")


def goal_name(cfg: dict[str, Any]) -> str:
    return {"poison": "P-Test", "adversarial": "Adv-Test"}.get(cfg["scenario"], "Test")


# --------------------------------------------------------------------------------------------------------------------
# Repair
# --------------------------------------------------------------------------------------------------------------------


@torch.no_grad()
def layer_inputs(model: torch.nn.Module, idx: int, x: torch.Tensor, device: str) -> torch.Tensor:
    """The input of child ``idx`` (the repaired layer) for every image, on the CPU (the prefix is never changed)."""
    prefix = model[:idx]
    out = [prefix(x[s:s + 2048].to(device)).cpu() for s in range(0, len(x), 2048)]
    return torch.cat(out).contiguous()


@torch.no_grad()
def accuracy(net: torch.nn.Module, f: torch.Tensor, y: torch.Tensor) -> float:
    pred = torch.cat([net(f[s:s + 8192]).argmax(1) for s in range(0, len(f), 8192)])
    return 100.0 * float((pred == y).float().mean())


def select(sub: torch.nn.Module, feats: dict[str, torch.Tensor], sets: dict[str, Any], dname: str, k: int,
           n_pass: int, seed: int) -> dict[str, Any]:
    """``NNRepair._repair``'s selection, on cached layer inputs: defect set + top-up, stratified extras, score set."""
    ft, yt = feats["Train"], sets["Train"][1]
    fd, yd = feats[dname], sets[dname][1]
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        pt = sub(ft).argmax(1)
        pd = sub(fd).argmax(1)
    ncls = int(sub(ft[:1]).shape[1])
    ok_t = (pt == yt).numpy()
    ok_f = (pd == yd).numpy()
    ytn, ydn = yt.numpy(), yd.numpy()
    top_up = []
    for c in range(ncls):
        short = n_pass - int(np.sum(ok_f & (ydn == c)))
        cand = np.nonzero(ok_t & (ytn == c))[0]
        if short > 0 and len(cand):
            top_up.append(rng.choice(cand, size=min(short, len(cand)), replace=False))
    per_class = k // ncls
    extra = [rng.choice(ci, size=min(per_class, len(ci)), replace=False)
             for ci in (np.nonzero(ok_t & (ytn == c))[0] for c in range(ncls)) if per_class and len(ci)]
    up = np.sort(np.concatenate(top_up)) if top_up else np.zeros(0, dtype=np.int64)
    ex = np.sort(np.concatenate(extra)) if extra else np.zeros(0, dtype=np.int64)
    ex = ex[~np.isin(ex, up)]
    pool_pass = np.nonzero(ok_t)[0]
    return {"data": (torch.cat([fd, ft[up]]), torch.cat([yd, yt[up]])), "extra": (ft[ex], yt[ex]),
            "score": (ft[pool_pass], yt[pool_pass])}


def expert_row(p: Any) -> dict[str, Any]:
    s = p.summary()
    s.pop("changes", None)
    return s


def run_repair(name: str, cfg: dict[str, Any], model: torch.nn.Module, sets: dict[str, Any], kind: str,
               device: str) -> dict[str, Any]:
    """Every k x strategy x filter for one layer kind; the accuracies on every set, the experts' LP statistics."""
    names = [n for n, _ in model.named_children()]
    lname = model.repair_layer_name if kind == "intermediate" else names[-1]
    idx = names.index(lname)
    t0 = time.perf_counter()
    feats = {s: layer_inputs(model, idx, xy[0], device) for s, xy in sets.items()}
    sub = model[idx:].cpu().eval()
    feat_s = time.perf_counter() - t0
    ys = {s: xy[1] for s, xy in sets.items()}
    before = {s: accuracy(sub, feats[s], ys[s]) for s in sets}
    dname = defect_name(cfg)
    fsets = [(feats["Train"], ys["Train"])] + ([(feats[dname], ys[dname])] if dname != "Train" else [])
    lin = getattr(model, lname)
    if kind == "last":
        kw = {"top_k": 5, "bound": 0.5, "n_fail": 5, "n_pass": 5}
        ks, n_pass_sel = cfg["ks_last"], 5
    else:
        kw = {"top_k": math.ceil(0.1 * lin.in_features), "bound": 1.0, "n_fail": cfg["inter_n_fail"], "n_pass": 100}
        ks, n_pass_sel = cfg["ks_inter"], 5  # NNRepair tops Pass_C up to 5 (its default) before class_experts
    out: dict[str, Any] = {"layer": lname, "kind": kind, "before": before, "feature_seconds": feat_s,
                           "settings": {**kw, "objective": "l1", "solver": "glop", "soft": "auto",
                                        "epsilon": 1e-3, "time_limit": cfg["time_limit"]}, "runs": []}
    objectives = ["l1"] + ([o for o in cfg.get("extra_objectives_last", [])] if kind == "last" else [])
    for objective, k in [(o, k) for o in objectives for k in ks]:
        sel = select(sub, feats, sets, dname, k, n_pass_sel, cfg["seed"])
        t1 = time.perf_counter()
        experts = class_experts(sub, lname, sel["data"], extra=sel["extra"], score_data=sel["score"],
                                objective=objective, solver="glop", time_limit=cfg["time_limit"], soft="auto",
                                epsilon=1e-3, seed=cfg["seed"], **kw)
        rep_s = time.perf_counter() - t1
        kept_f1 = f1_filter(sub, experts, fsets if len(fsets) > 1 else fsets[0]) if experts else []
        usable = [p for p in experts if p.ok]
        run: dict[str, Any] = {"k": k, "objective": objective, "repair_seconds": rep_s,
                               "experts": [expert_row(p) for p in experts], "usable": [p.cls for p in usable],
                               "kept_f1": [p.cls for p in kept_f1],
                               "n_extra": len(sel["extra"][1]), "configs": []}
        for filt, use in ((False, usable), (True, kept_f1)):
            for strat in STRATEGIES:
                net = combine(sub, use, strategy=strat).eval()
                acc = {s: accuracy(net, feats[s], ys[s]) for s in sets}
                run["configs"].append({"strategy": strat, "filter": filt, "n_experts": len(use),
                                       "experts": [p.cls for p in use], "acc": acc,
                                       "delta": {s: acc[s] - before[s] for s in sets}})
        st = {}
        for p in experts:
            st[p.status] = st.get(p.status, 0) + 1
        log(f"{name} {kind} {objective} k={k}: {len(experts)} experts {st}, F1 keeps {run['kept_f1']}, {rep_s:.1f} s")
        out["runs"].append(run)
    return out


def check_nnrepair(cfg: dict[str, Any], model: torch.nn.Module, sets: dict[str, Any], rep: dict[str, Any],
                   device: str) -> dict[str, Any]:
    """Run :class:`NNRepair` itself (last layer, merged, the first k) on the full model and compare with the
    script's own merged result: the same accuracies (same draws, same LPs)."""
    k = rep["runs"][0]["k"]
    dname = defect_name(cfg)
    m = NNRepair(combine="merged", n_extra=k, bound=0.5, soft="auto", time_limit=cfg["time_limit"])
    t0 = time.perf_counter()
    res = m.repair(model.cpu(), sets["Train"], sets[dname], seed=cfg["seed"], progress=False)
    secs = time.perf_counter() - t0
    net = res.model.eval()
    got = {s: 100.0 * float((train.predict(net, xy[0]).argmax(1) == xy[1]).float().mean()) for s, xy in sets.items()}
    ref = next(c["acc"] for c in rep["runs"][0]["configs"] if c["strategy"] == "merged" and not c["filter"])
    same = all(abs(got[s] - ref[s]) < 1e-9 for s in sets)
    log(f"NNRepair cross-check (k={k}, merged): {'identical' if same else 'DIFFERENT'} ({secs:.1f} s)")
    model.to(device)
    return {"k": k, "acc": got, "script_acc": ref, "identical": same, "seconds": secs}


def lp_timing(cfg: dict[str, Any], model: torch.nn.Module, sets: dict[str, Any], device: str,
              n_examples: int = 1000, repeats: int = 3) -> list[dict[str, Any]]:
    """Per-class last-layer LPs with ``n_examples`` examples (5 failing + 5 passing of the class + clean extras of
    every class) on the real model; assembly and solve time, GLOP and PDLP, medians over ``repeats``."""
    names = [n for n, _ in model.named_children()]
    lname = names[-1]
    idx = names.index(lname)
    dname = defect_name(cfg)
    feats = {s: layer_inputs(model, idx, sets[s][0], device) for s in ("Train", dname)}
    sub = model[idx:].cpu().eval()
    sel = select(sub, feats, sets, dname, 0, 5, cfg["seed"])
    ft, yt = feats["Train"], sets["Train"][1]
    with torch.no_grad():
        ok = (sub(ft).argmax(1) == yt).numpy()
    rng = np.random.default_rng(cfg["seed"] + 1)
    ex = np.sort(rng.choice(np.nonzero(ok)[0], size=n_examples - 10, replace=False))
    rows = []
    yd = sel["data"][1].numpy()
    with torch.no_grad():
        pd = sub(sel["data"][0]).argmax(1).numpy()
    for c in sorted(set(yd[pd != yd].tolist())):
        for solver in ("glop", "pdlp"):
            ps = [class_experts(sub, lname, sel["data"], extra=(ft[ex], yt[ex]), score_data=sel["score"],
                                classes=[c], top_k=5, bound=0.5, n_fail=5, n_pass=5, solver=solver,
                                time_limit=60.0, soft=False, seed=cfg["seed"])[0] for _ in range(repeats)]
            p = ps[0]
            asm = float(np.median([q.assemble_seconds for q in ps]))
            sol = float(np.median([q.solve_seconds for q in ps]))
            rows.append({"cls": c, "solver": solver, "status": p.status, "examples": len(p.fixed) + len(p.kept),
                         "rows": p.lp.get("rows"), "cols": p.lp.get("cols"), "nnz": p.lp.get("nnz"),
                         "assemble_s": asm, "solve_s": sol, "ratio": asm / sol if sol > 0 else float("inf"),
                         "objective": p.objective})
    return rows


# --------------------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------------------


def _pp(v: float | None) -> str:
    return "–" if v is None else f"{v:+.2f}".replace("-", "−")


def _f1_label(c: dict[str, Any]) -> str:
    return f"ON({c['n_experts']})" if c["filter"] else "OFF"


def best_config(rep: dict[str, Any], goal: str, objective: str = "l1") -> tuple[dict[str, Any], dict[str, Any]]:
    """The configuration with the largest gain on ``goal`` (ties: smaller Test loss, then the order tried)."""
    best = None
    for run in rep["runs"]:
        if run.get("objective", "l1") != objective:
            continue
        for c in run["configs"]:
            key = (round(c["delta"][goal], 6), round(c["delta"]["Test"], 6))
            if best is None or key > best[0]:
                best = (key, run, c)
    assert best is not None
    return best[1], best[2]


def find_config(rep: dict[str, Any], strategy: str, filt: bool, k: int,
                objective: str = "l1") -> dict[str, Any] | None:
    for run in rep["runs"]:
        if run["k"] == k and run.get("objective", "l1") == objective:
            for c in run["configs"]:
                if c["strategy"] == strategy and c["filter"] == filt:
                    return c
    return None


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets on the main protocol (L1 objective); the ``none`` objective (the paper's z3 feasibility
    query, §7-A1) is listed after them as an analysis, marked so."""
    out = []
    mods = res["models"]
    specs = [("MNIST-Pois", "P-Test", "MNIST-Pois last layer: P-Test >= +40 pp, Test >= −3.5 pp", "+45.56 / −3.11",
              lambda d: d["P-Test"] >= 40 and d["Test"] >= -3.5,
              lambda d: f"{_pp(d['P-Test'])} / {_pp(d['Test'])}"),
             ("MNIST-Adv", "Adv-Test", "MNIST-Adv last layer: Adv-Test >= +8 pp", "+10.40",
              lambda d: d["Adv-Test"] >= 8, lambda d: f"{_pp(d['Adv-Test'])} (Test {_pp(d['Test'])})"),
             ("MNIST-Adv-matched", "Adv-Test", "[analysis, FGSM eps matched to the paper's Adv-Train accuracy] "
              "MNIST-Adv last layer: Adv-Test >= +8 pp", "+10.40",
              lambda d: d["Adv-Test"] >= 8, lambda d: f"{_pp(d['Adv-Test'])} (Test {_pp(d['Test'])})")]
    for mname, goal, title, paper, ok, show in specs:
        if mname not in mods or "last" not in mods[mname]["repairs"]:
            continue
        rep = mods[mname]["repairs"]["last"]
        strat, filt, k = HEADLINE[mname.replace("-matched", "")]
        for objective in sorted({r.get("objective", "l1") for r in rep["runs"]}, key=lambda o: o != "l1"):
            tag = "" if objective == "l1" else f"[analysis, objective={objective}] "
            if tag and title.startswith("[analysis, "):
                tag, title = "", f"[analysis, objective={objective}, " + title[len("[analysis, "):]
            head = f"paper's config ({STRAT_LABEL[strat]}, {'ON' if filt else 'OFF'}, k={k})"
            cands = [(head, find_config(rep, strat, filt, k, objective)),
                     (f"best {goal} gain", best_config(rep, goal, objective)[1])]
            for label, c in cands:
                if c is None:
                    continue
                out.append({"target": tag + title, "config": label, "strategy": c["strategy"], "filter": c["filter"],
                            "objective": objective, "paper": paper, "measured": show(c["delta"]),
                            "met": ok(c["delta"]), "primary": objective == "l1" and "analysis" not in title})
            hits = [(r["k"], c) for r in rep["runs"] if r.get("objective", "l1") == objective for c in r["configs"]
                    if ok(c["delta"])]
            n_all = sum(len(r["configs"]) for r in rep["runs"] if r.get("objective", "l1") == objective)
            out.append({"target": tag + title, "config": "any configuration", "objective": objective, "paper": "–",
                        "measured": f"{len(hits)} of {n_all}"
                        + (": " + ", ".join(f"{STRAT_LABEL[c['strategy']]} {'ON' if c['filter'] else 'OFF'} k={kk}"
                                            for kk, c in hits[:6]) if hits else ""),
                        "met": bool(hits), "primary": objective == "l1" and "analysis" not in title})
    lp = res.get("lp_timing") or []
    for mname in dict.fromkeys(r.get("model") for r in lp):
        glop = [r for r in lp if r["solver"] == "glop" and r.get("model") == mname]
        if not glop:
            continue
        mx = max(r["solve_s"] for r in glop)
        ratio = max(r["ratio"] for r in glop)
        n_ex = max(r["examples"] for r in glop)
        st: dict[str, int] = {}
        for r in glop:
            st[r["status"]] = st.get(r["status"], 0) + 1
        sts = ", ".join(f"{k} {v}" for k, v in sorted(st.items()))
        out.append({"target": f"per-class last-layer LP, {n_ex:,} examples: solve < 5 s (GLOP)",
                    "config": f"{mname} ({sts})", "paper": "–", "measured": f"max {mx * 1e3:.2f} ms",
                    "met": mx < 5})
        out.append({"target": "assembly < 10 % of solve (GLOP)", "config": f"{mname} ({sts})", "paper": "–",
                    "measured": f"max assembly/solve {ratio:.2f} (median "
                                f"{float(np.median([r['ratio'] for r in glop])):.2f})", "met": ratio < 0.10})
    return out


def render(res: dict[str, Any]) -> str:
    meta = res["metadata"]
    L = [f"# NNrepair reproduction ({res['tag']})", "",
         f"commit {meta['commit']}, torch {meta['torch']}, pyrepair {meta['pyrepair']}, OR-Tools "
         f"{res.get('ortools')}, {meta['cpu_count']} CPUs, torch threads {meta['torch_threads']}, "
         f"OMP_NUM_THREADS={res['omp_threads']}, device {meta['device']}; wall time {res['wall_seconds']:.0f} s. "
         f"Data: {', '.join(res['data_copies'])}. Started {res['started']}.", ""]
    for r in res.get("merged_runs") or []:
        rm = r["metadata"]
        L += [f"Merged in later (`--merge`): {', '.join(r['models'])} — commit {rm['commit']}, torch {rm['torch']}, "
              f"OR-Tools {r.get('ortools')}, torch threads {rm['torch_threads']}, "
              f"OMP_NUM_THREADS={r['omp_threads']}, device {rm['device']}; wall time {r['wall_seconds']:.0f} s; "
              f"started {r['started']}; arguments `{' '.join(r['argv'])}`.", ""]
    L += ["Protocol: `bench/repro_nnrepair.py` docstring; spec `shared/spec/nnrepair.md` §2.3, §4, §5. We train our "
          "own models (Adam 1e-3, batch 128, the epochs below). Accuracies in %, changes in percentage points (pp). "
          "The evaluation runs on the full Train and Test sets of each data copy.", ""]
    L += ["## Base models", "", "| model | data copy | arch | epochs | train s | Train | Test | Adv/P-Train | "
          "P-/Adv-Test | paper (Train / Test / Adv,P-Train / Adv,P-Test) |",
          "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for mname, m in res["models"].items():
        cfg = m["config"]
        b = next(iter(m["repairs"].values()))["before"] if m["repairs"] else {}
        dn, gn = defect_name(cfg), goal_name(cfg)
        ts = m["info"]["base"].get("train_seconds")
        tcell = "cached" if ts is None else f"{ts:.0f}"
        if m["info"]["base"].get("base_model"):
            tcell = f"{m['info']['base']['base_model']}'s model"
        pp = cfg.get("paper", {})
        paper = " / ".join("–" if v is None else f"{v:.2f}" for v in (
            pp.get("train"), pp.get("test"), pp.get("adv_train", pp.get("ptrain")), pp.get("adv_test", pp.get("ptest"))
        )) if pp else "–"
        L.append(f"| {mname} | {cfg['data']} ({cfg['variant']}) | {cfg['arch']} | {cfg['epochs']} | "
                 f"{tcell} | {b.get('Train', 0):.2f} | {b.get('Test', 0):.2f} | "
                 f"{b[dn]:.2f} | {b[gn]:.2f} | {paper} |" if dn != "Train" else
                 f"| {mname} | {cfg['data']} ({cfg['variant']}) | {cfg['arch']} | {cfg['epochs']} | "
                 f"{tcell} | {b.get('Train', 0):.2f} | {b.get('Test', 0):.2f} | – | "
                 f"– | {paper} |")
    L += ["", "## Table 2 (shape of the paper's): best goal-set improvement per model and layer (pp vs original)", "",
          "Goal set: Test (scenario 1), P-Test (Pois), Adv-Test (Adv). Best over strategy x F1 filter x k, as in the "
          "paper (which also reports its best run); the paper's row follows each of ours.", "",
          "| Model (orig. Train / Adv,P-Train / Test / P-,Adv-Test) | Repair | Train | Adv/P-Train | Test | "
          "P-/Adv-Test | Strategy | F1 filter (#experts) | k |", "|---|---|---:|---:|---:|---:|---|---|---:|"]
    for mname, m in res["models"].items():
        cfg = m["config"]
        dn, gn = defect_name(cfg), goal_name(cfg)
        for kind in ("intermediate", "last"):
            rep = m["repairs"].get(kind)
            if rep is None:
                continue
            b = rep["before"]
            orig = (f"{b['Train']:.2f} / {b[dn]:.2f} / {b['Test']:.2f} / {b[gn]:.2f}" if dn != "Train"
                    else f"{b['Train']:.2f} / – / {b['Test']:.2f} / –")
            objectives = sorted({r.get("objective", "l1") for r in rep["runs"]}, key=lambda o: o != "l1")
            for objective in objectives:
                run, c = best_config(rep, gn, objective)
                same = [x for x in run["configs"] if x["filter"] == c["filter"]
                        and all(abs(x["delta"][s] - c["delta"][s]) < 1e-9 for s in c["delta"])]
                strat = "ALL" if len(same) == 4 else ", ".join(STRAT_LABEL[x["strategy"]] for x in same)
                d = c["delta"]
                label = "Interm." if kind == "intermediate" else "Last"
                if objective != "l1":
                    label += f" (objective {objective}, analysis)"
                L.append(f"| {mname} ({orig}) | {label} | {_pp(d['Train'])} | "
                         f"{_pp(d.get(dn)) if dn != 'Train' else '–'} | {_pp(d['Test'])} | "
                         f"{_pp(d.get(gn)) if gn != 'Test' else '–'} | {strat} | {_f1_label(c)} | {run['k']} |")
                pr = PAPER_T2.get((mname, kind))
                if pr and objective == objectives[-1]:
                    L.append(f"| *paper* | | *{pr[0]}* | *{pr[1]}* | *{pr[2]}* | *{pr[3]}* | *{pr[4]}* | *{pr[5]}* | |")
    L += ["", "## Targets (issue 15)", "", "| target | configuration | paper | measured | met |",
          "|---|---|---|---|---|"]
    for t in res["targets"]:
        conf = t["config"] + (f" = {STRAT_LABEL[t['strategy']]} {'ON' if t['filter'] else 'OFF'}"
                              if "strategy" in t else "")
        L.append(f"| {t['target']} | {conf} | {t['paper']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |")
    if res.get("target_notes"):
        L += ["", res["target_notes"]]
    L += ["", "## Table 3 shape: goal-set improvement (pp) vs the number k of clean passing extras "
          "(best over strategy x filter)", "", "`n/r` = not run; the paper's row (spec §5.5) follows ours.", "",
          "| Model | Repair | " + " | ".join(f"k={k}" for k in (0, 10, 50, 100))
          + " |", "|---|---|---:|---:|---:|---:|"]
    for mname, m in res["models"].items():
        gn = goal_name(m["config"])
        for kind, rep in m["repairs"].items():
            for objective in sorted({r.get("objective", "l1") for r in rep["runs"]}, key=lambda o: o != "l1"):
                cells = []
                for k in (0, 10, 50, 100):
                    runs = [r for r in rep["runs"] if r["k"] == k and r.get("objective", "l1") == objective]
                    cells.append(_pp(max(c["delta"][gn] for c in runs[0]["configs"])) if runs else "n/r")
                label = kind if objective == "l1" else f"{kind} (objective {objective})"
                L.append(f"| {mname} | {label} | " + " | ".join(cells) + " |")
            pr = PAPER_T3.get((mname, kind))
            if pr:
                L.append("| *paper* | | " + " | ".join(f"*{v}*" for v in pr) + " |")
    L += ["", "## All configurations", "", "Accuracy after repair (%), per set; `n` = experts used "
          "(OFF: every expert with a solution; ON: those the F1 filter keeps).", ""]
    for mname, m in res["models"].items():
        for kind, rep in m["repairs"].items():
            sets = list(rep["before"])
            L += [f"### {mname}, {kind} layer (`{rep['layer']}`)", "",
                  "before: " + ", ".join(f"{s} {rep['before'][s]:.2f}" for s in sets), "",
                  "| objective | k | strategy | F1 | n | " + " | ".join(sets) + " |",
                  "|---|---:|---|---|---:|" + "---:|" * len(sets)]
            for run in rep["runs"]:
                for c in run["configs"]:
                    L.append(f"| {run.get('objective', 'l1')} | {run['k']} | {STRAT_LABEL[c['strategy']]} | "
                             f"{'ON' if c['filter'] else 'OFF'} | "
                             f"{c['n_experts']} | " + " | ".join(f"{c['acc'][s]:.2f} ({_pp(c['delta'][s])})"
                                                                  for s in sets) + " |")
            L.append("")
    L += ["## Solver statistics (per expert)", "",
          "GLOP (L1 objective unless the row says otherwise); `soft` = the hard LP was infeasible and the soft "
          "MILP (SCIP: max fixed failing examples, then min L1) ran. Times in ms; LP size of the solved "
          "problem(s) (intermediate: the per-neuron LPs summed).", "",
          "| model | layer | objective | k | experts | statuses | fixed / failing | rows (min–max) | cols (min–max) | "
          "nnz (min–max) | assembly ms (median, max) | solve ms (median, max) | repair s |",
          "|---|---|---|---:|---:|---|---|---|---|---|---|---:|"]
    for mname, m in res["models"].items():
        for kind, rep in m["repairs"].items():
            for run in rep["runs"]:
                ex = run["experts"]
                if not ex:
                    L.append(f"| {mname} | {kind} | {run.get('objective', 'l1')} | {run['k']} | 0 | – | – | – | – | "
                             f"– | – | – | {run['repair_seconds']:.1f} |")
                    continue
                st: dict[str, int] = {}
                for e in ex:
                    st[e["status"]] = st.get(e["status"], 0) + 1

                def rng_(key: str, ex: list[dict[str, Any]] = ex) -> str:
                    v = [e["lp"].get(key, 0) for e in ex]
                    return f"{min(v)}–{max(v)}"

                a = [e["assemble_seconds"] * 1e3 for e in ex]
                s = [e["solve_seconds"] * 1e3 for e in ex]
                fx = sum(e["fixed"] for e in ex)
                nf = sum(e["n_failing"] for e in ex)
                L.append(f"| {mname} | {kind} | {run.get('objective', 'l1')} | {run['k']} | {len(ex)} | "
                         f"{', '.join(f'{k} {v}' for k, v in sorted(st.items()))} | {fx} / {nf} | {rng_('rows')} | "
                         f"{rng_('cols')} | {rng_('nnz')} | {np.median(a):.1f}, {max(a):.1f} | "
                         f"{np.median(s):.1f}, {max(s):.1f} | {run['repair_seconds']:.1f} |")
    lp = res.get("lp_timing") or []
    if lp:
        n_ex = max(r["examples"] for r in lp)
        L += ["", f"## Per-class last-layer LP with {n_ex:,} examples (real activations)",
              "", f"5 failing + 5 passing examples of the class + {n_ex - 10} clean passing Train examples of every "
              "class; top 5 edges; hard LP; medians of 3 runs. Compare `results/lp-cpu-2core.md` (planted "
              "instance, 1,000 examples, 5 edges: GLOP assembly 1.24 ms, solve 1.54 ms, ratio 0.81; 50 edges: "
              "6.41 / 12.23 ms, ratio 0.52).", "",
              "| model | class | solver | status | examples | rows | cols | nnz | assembly ms | solve ms | "
              "assembly/solve |", "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in lp:
            L.append(f"| {r.get('model')} | {r['cls']} | {r['solver']} | {r['status']} | {r['examples']} | "
                     f"{r['rows']} | {r['cols']} | "
                     f"{r['nnz']} | {r['assemble_s'] * 1e3:.2f} | {r['solve_s'] * 1e3:.2f} | {r['ratio']:.2f} |")
    for c in checks(res):
        L += ["", f"NNRepair cross-check ({c['model']}, last layer, merged, k={c['k']}): "
              f"`pyrepair.methods.NNRepair` on the full model gives "
              + ", ".join(f"{s} {v:.2f}" for s, v in c["acc"].items())
              + f" — {'identical to' if c['identical'] else 'DIFFERENT from'} the script's merged result "
              f"({c['seconds']:.1f} s)."]
    if res.get("notes"):
        L += ["", "## Notes", "", res["notes"]]
    return "\n".join(L) + "\n"


def write(res: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    res["targets"] = targets(res)
    base = out / f"nnrepair-repro-{res['tag']}"
    jp, mp = base.with_suffix(".json"), base.with_suffix(".md")
    jp.write_text(json.dumps(res, indent=1, default=str) + "\n")
    mp.write_text(render(res))
    return jp, mp


# --------------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------------


def checks(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The NNRepair cross-checks of a result (a list; results written before the CIFAR rows hold one dict)."""
    c = res.get("nnrepair_check") or []
    return [c] if isinstance(c, dict) else list(c)


def merge_into(old: dict[str, Any], new: dict[str, Any], chosen: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--merge``: the earlier result ``old`` with the models in ``chosen`` dropped from its LP timings and
    cross-checks (their entries are replaced in place, or appended, as the run goes), and this run (``new``'s
    metadata) recorded under ``merged_runs``. Returns the result to fill and the dict that keeps this run's clock."""
    if old.get("tag") != new["tag"]:
        raise SystemExit(f"--merge: the existing results have tag {old.get('tag')!r}, this run {new['tag']!r}")
    run = {k: new[k] for k in ("metadata", "ortools", "omp_threads", "started", "data_root", "argv")}
    run.update(models=list(chosen), wall_seconds=0.0)
    for r in old.get("merged_runs") or []:  # an earlier merged run no longer provides the models re-run now
        r["models"] = [m for m in r["models"] if m not in chosen]
    old["merged_runs"] = [r for r in old.get("merged_runs") or [] if r["models"]] + [run]
    old["lp_timing"] = [r for r in old.get("lp_timing") or [] if r.get("model") not in chosen]
    old["nnrepair_check"] = [c for c in checks(old) if c.get("model") not in chosen]
    old["status"] = "running"
    return old, run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run on scikit-learn digits (< 1 min)")
    p.add_argument("--gpu", action="store_true", help="full CIFAR-10 (cifar10_jpeg_q75 copy); use with --device cuda")
    p.add_argument("--models", default=None, help="comma-separated subset of the configuration's models")
    p.add_argument("--layers", default="last,intermediate", help="last, intermediate or both")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "pyrepair-bench"))
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default=None, help="results file tag (default: cpu, quick or gpu)")
    p.add_argument("--no-lp-timing", action="store_true")
    p.add_argument("--merge", action="store_true",
                   help="load <out>/nnrepair-repro-<tag>.json and replace/add only the models run (the other models, "
                        "their LP timings and cross-checks, and the notes are kept)")
    p.add_argument("--notes", type=Path, default=None,
                   help="re-render <out>/nnrepair-repro-<tag>.{json,md} with this markdown file as the Notes section "
                        "(no runs)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    if args.quick and args.gpu:  # the GPU configuration's code path at toy sizes (runs on a CPU too)
        table = {n: {**c, "train_n": 512, "test_n": 256, "epochs": 1, "ks_last": [0], "ks_inter": [0],
                     "inter_n_fail": 20, "time_limit": 5.0, **({"n_poison": 12} if c.get("n_poison") else {})}
                 for n, c in GPU_MODELS.items()}
    else:
        table = QUICK_MODELS if args.quick else GPU_MODELS if args.gpu else CPU_MODELS
    chosen = list(table) if args.models is None else [m.strip() for m in args.models.split(",") if m.strip()]
    for m in chosen:
        if m not in table:
            raise SystemExit(f"unknown model {m!r}; choose from {', '.join(table)}")
    layers = [s.strip() for s in args.layers.split(",") if s.strip()]
    root = args.data_root or default_data_root()
    cache_dir = None if str(args.cache_dir).lower() == "none" else Path(args.cache_dir)
    tag = args.tag or ("quick" if args.quick else "gpu" if args.gpu else "cpu")
    if args.quick and args.gpu and not args.tag:
        tag = "gpu-quick"
    if args.notes is not None:  # re-render only: the measured results are not touched
        res = json.loads((args.out / f"nnrepair-repro-{tag}.json").read_text())
        res["notes"] = args.notes.read_text().strip()
        write(res, args.out)
        return res
    try:
        import ortools

        ortools_v = ortools.__version__
    except ImportError:  # pragma: no cover
        ortools_v = None
    res: dict[str, Any] = {"benchmark": "nnrepair-repro", "tag": tag, "metadata": metadata(args.device),
                           "ortools": ortools_v, "omp_threads": os.environ.get("OMP_NUM_THREADS"),
                           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "data_root": root,
                           "argv": sys.argv[1:] if argv is None else argv, "data_copies": [], "models": {},
                           "wall_seconds": 0.0, "status": "running", "notes": ""}
    clock = res  # the dict whose "wall_seconds" this run updates
    prev = args.out / f"nnrepair-repro-{tag}.json"
    if args.merge and prev.is_file():
        res, clock = merge_into(json.loads(prev.read_text()), res, chosen)
        kept = [m for m in res["models"] if m not in chosen]
        log(f"merging {', '.join(chosen)} into {prev} (keeping {', '.join(kept)})")
    for mname in chosen:
        cfg = table[mname]
        log(f"{mname}: loading {cfg['data']} ({cfg['variant']})")
        t0 = time.perf_counter()
        d = load_data(cfg, root)
        copy = f"{cfg['data']}:{cfg['variant']} ({len(d['train'][1])} train / {len(d['test'][1])} test)"
        if copy not in res["data_copies"]:
            res["data_copies"].append(copy)
        model, sets, info = eval_sets(mname, cfg, d, cache_dir, args.device)
        entry: dict[str, Any] = {"config": cfg, "info": info, "sizes": {s: len(xy[1]) for s, xy in sets.items()},
                                 "repairs": {}}
        res["models"][mname] = entry
        if args.merge:  # keep the configuration's order (merged models would otherwise land at the end)
            order = {m: i for i, m in enumerate(table)}
            res["models"] = dict(sorted(res["models"].items(), key=lambda kv: order.get(kv[0], len(order))))
        for kind in [k for k in layers if k in cfg.get("layers", layers)]:
            entry["repairs"][kind] = run_repair(mname, cfg, model, sets, kind, args.device)
            clock["wall_seconds"] = time.perf_counter() - t_start
            write(res, args.out)
        if cfg.get("lp_timing") and not args.no_lp_timing:
            t1 = time.perf_counter()
            rows = lp_timing(cfg, model, sets, args.device,
                             n_examples=1000 if not args.quick else min(300, len(sets["Train"][1]) // 2))
            res.setdefault("lp_timing", []).extend({"model": mname, **r} for r in rows)
            log(f"{mname}: LP timing {time.perf_counter() - t1:.1f} s")
        if cfg["scenario"] == "poison" and "last" in entry["repairs"]:
            res.setdefault("nnrepair_check", []).append(
                {"model": mname, **check_nnrepair(cfg, model, sets, entry["repairs"]["last"], args.device)})
        entry["seconds"] = time.perf_counter() - t0
        clock["wall_seconds"] = time.perf_counter() - t_start
        jp, mp = write(res, args.out)
        log(f"{mname}: done in {entry['seconds']:.0f} s; wrote {mp}")
    clock["wall_seconds"] = time.perf_counter() - t_start
    res["status"] = "complete"
    jp, mp = write(res, args.out)
    log(f"all done in {clock['wall_seconds']:.0f} s: {mp}")
    return res


if __name__ == "__main__":
    main()
