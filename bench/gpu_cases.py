"""One small case per compiled kernel family, on one device: the workload of ``gpu_check.sh``'s sanitizer step.

Each case calls the public API on a tiny batch (so ``compute-sanitizer --tool memcheck`` finishes in seconds), checks
that the output is finite and in range, and on CUDA compares it with the same call on CPU (the parity tests in
``tests/`` are the real check; here a gross difference is reported as a failure because it usually means an
out-of-bounds read). Every CUDA entry point of ``pyrepair._core`` is reached: Philox fill, the transform warp /
point / enhance kernels, every corruption (noise, blur, fog/pixelate, elastic, snow/frost, spatter, JPEG and the
per-pixel digital ones) and the wavelet DWT/IDWT, moments, eigh, WCT apply and spectral kernels.

    python bench/gpu_cases.py --device cuda       # on a GPU machine (gpu_check.sh runs it under compute-sanitizer)
    python bench/gpu_cases.py --device cpu        # the same cases on CPU: checks this script on any machine

Exit status: 0 when every case passed, 1 otherwise; one line per case on stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable

import torch

import pyrepair
from pyrepair import corrupt, random, transform, wavelet
from pyrepair.testing import make_images

Case = Callable[[str], torch.Tensor | tuple[torch.Tensor, ...]]
# Loose on purpose: fast-math and FMA contraction differ between the host and device builds; an indexing bug gives
# differences of order 1, not 1e-2. The pytest parity tests hold the real tolerances.
TOL = 5e-2


def _img(device: str, b: int = 2, c: int = 3, h: int = 32, w: int = 32, seed: int = 0) -> torch.Tensor:
    return make_images(b, c, h, w, seed=seed).to(device)


def _cases() -> dict[str, Case]:
    cases: dict[str, Case] = {
        "random.uniform": lambda d: random.uniform((3, 1000), seed=7, device=d),
        "random.normal": lambda d: random.normal((3, 1000), seed=7, device=d),
        "transform.affine_photometric": lambda d: transform.affine_photometric(
            _img(d), transform.identity_params(2, device=d) + torch.tensor(
                [[10.0, 0.1, -0.1, 0.1, 0.05, 0.1, 0.1]], device=d)),
        "transform.population": lambda d: transform.population(
            _img(d), transform.identity_params(2, device=d).expand(3, 2, 7)
            + torch.linspace(0, 1, 3, device=d)[:, None, None] * 0.1),
        "transform.posterize": lambda d: transform.posterize(_img(d), 3),
        "transform.autocontrast": lambda d: transform.autocontrast(_img(d)),
        "transform.equalize": lambda d: transform.equalize(_img(d)),
        "transform.sharpness": lambda d: transform.sharpness(_img(d), 1.5),
        "transform.color": lambda d: transform.color(_img(d), 0.5),
        "wavelet.haar_dwt2d+idwt": lambda d: _dwt_roundtrip(d),
        "wavelet.wct": lambda d: wavelet.wct(_img(d, b=2, c=8, h=8, w=8), _img(d, b=2, c=8, h=8, w=8, seed=1)),
        "wavelet.style_transfer.pixel": lambda d: wavelet.style_transfer(_img(d), _img(d, seed=1), seed=3),
        "wavelet.style_transfer.spectral": lambda d: wavelet.style_transfer(
            _img(d), _img(d, seed=1), mode="spectral", seed=3),
    }
    for name in corrupt.names():
        cases[f"corrupt.{name}"] = lambda d, name=name: corrupt.apply(_img(d), name, 3, seed=5)
    return cases


def _dwt_roundtrip(device: str) -> torch.Tensor:
    x = _img(device, h=16, w=16)
    low, highs = wavelet.haar_dwt2d(x, levels=2)
    return wavelet.haar_idwt2d(low, highs)


def _flat(out: torch.Tensor | tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    return list(out) if isinstance(out, tuple | list) else [out]


def run(device: str, only: str | None = None) -> int:
    """Run every case (or those whose name contains ``only``) on ``device``; returns the number of failures."""
    failures = 0
    for name, case in _cases().items():
        if only and only not in name:
            continue
        t0 = time.perf_counter()
        try:
            outs = _flat(case(device))
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            for o in outs:
                if o.is_floating_point() and not bool(torch.isfinite(o).all()):
                    raise AssertionError("non-finite output")
            diff = 0.0
            if device != "cpu":
                ref = _flat(case("cpu"))
                diff = max(float((o.cpu().double() - r.double()).abs().max()) for o, r in zip(outs, ref, strict=True))
                if diff > TOL:
                    raise AssertionError(f"max |{device} - cpu| = {diff:.3g} > {TOL}")
            print(f"ok    {name:40s} {1e3 * (time.perf_counter() - t0):8.1f} ms  max|dev-cpu| {diff:.2e}", flush=True)
        except Exception as exc:  # noqa: BLE001  (report every case, then fail)
            failures += 1
            print(f"FAIL  {name:40s} {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc(file=sys.stderr)
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    ap.add_argument("--only", default=None, help="run only the cases whose name contains this")
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not (torch.cuda.is_available() and pyrepair.build_info()["cuda"]):
        print(f"FAIL  no usable CUDA: build_info cuda={pyrepair.build_info()['cuda']}, "
              f"torch.cuda.is_available()={torch.cuda.is_available()}")
        return 1
    failures = run(args.device, args.only)
    print(f"{len(_cases()) if not args.only else 'selected'} cases on {args.device}: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
