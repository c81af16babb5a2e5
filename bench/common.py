"""Shared benchmark harness (STYLE rule 12): correctness first, then honest timing, then JSON + markdown.

Timing: ``warmup`` untimed calls, then ``repeats`` timed calls (each long enough to be measurable: the number of
inner iterations is calibrated to reach ``min_time`` seconds), reporting median and inter-quartile range of the
per-call time. CUDA work is synchronised inside the timed region. Results carry metadata (git commit, versions,
device, threads) and are written to ``bench/results/<name>-<device tag>.json`` and ``.md``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

# Where results go: bench/results/, or $PYREPAIR_BENCH_RESULTS (gpu_check.sh collects its quick runs there).
RESULTS = Path(os.environ.get("PYREPAIR_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")


@dataclass
class Timing:
    """One measured case: ``items`` processed per call, per-call median/IQR in seconds, derived throughput."""

    name: str
    impl: str
    items: int
    median_s: float
    iqr_s: float
    repeats: int
    inner: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def items_per_s(self) -> float:
        return self.items / self.median_s if self.median_s > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["items_per_s"] = self.items_per_s
        return d


def _sync(device: str | torch.device | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    fn: Callable[[], Any],
    *,
    name: str,
    impl: str,
    items: int,
    device: str | torch.device | None = None,
    warmup: int = 2,
    repeats: int = 7,
    min_time: float = 0.05,
    params: dict[str, Any] | None = None,
) -> Timing:
    """Time ``fn`` (no arguments); returns per-call median and IQR over ``repeats`` measurements."""
    for _ in range(warmup):
        fn()
    _sync(device)
    inner = 1
    while True:  # calibrate the inner loop so one measurement takes at least min_time
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        _sync(device)
        dt = time.perf_counter() - t0
        if dt >= min_time or inner >= 1 << 16:
            break
        inner *= 2
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        _sync(device)
        samples.append((time.perf_counter() - t0) / inner)
    q = statistics.quantiles(samples, n=4) if len(samples) >= 2 else [samples[0]] * 3
    return Timing(name, impl, items, statistics.median(samples), q[2] - q[0], repeats, inner, params or {})


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=Path(__file__).resolve().parent).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def device_tag(device: str | torch.device) -> str:
    """``cpu-2core``, ``h100``, ``h200`` ...: names the results file."""
    dev = torch.device(device)
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev).lower()
        for tag in ("h200", "h100", "a100", "l40", "a10"):
            if tag in name:
                return tag
        return "cuda"
    return f"cpu-{os.cpu_count()}core"


def metadata(device: str | torch.device) -> dict[str, Any]:
    import pyrepair

    dev = torch.device(device)
    meta: dict[str, Any] = {
        "commit": git_commit(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pyrepair": pyrepair.__version__,
        "build": pyrepair.build_info(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "pyrepair_threads": pyrepair.get_num_threads(),
        "processor": platform.processor() or platform.machine(),
        "device": str(dev),
    }
    if dev.type == "cuda":
        meta["gpu"] = torch.cuda.get_device_name(dev)
    return meta


def fmt_rate(v: float) -> str:
    """Items/s for a table: thousands separators, three significant digits below 100 (never a bare 0)."""
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def write_results(name: str, device: str | torch.device, timings: list[Timing], *, baseline: str,
                  notes: str = "", extra: dict[str, Any] | None = None) -> Path:
    """Write ``results/<name>-<tag>.json`` and ``.md``; the markdown table gives each impl's throughput and its
    throughput ratio to ``baseline`` measured in the same run for the same case."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = device_tag(device)
    payload = {"benchmark": name, "metadata": metadata(device), "baseline": baseline,
               "results": [t.to_dict() for t in timings], "notes": notes, **(extra or {})}
    path = RESULTS / f"{name}-{tag}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    base = {t.name: t for t in timings if t.impl == baseline}
    lines = [f"# {name} ({tag})", "", f"commit {payload['metadata']['commit']}, torch {torch.__version__}, "
             f"{payload['metadata']['cpu_count']} CPUs, device {device}", ""]
    if notes:
        lines += [notes, ""]
    lines += ["| case | impl | items/s | median ms | IQR ms | vs " + baseline + " |", "|---|---|---:|---:|---:|---:|"]
    for t in timings:
        ref = base.get(t.name)
        ratio = f"{t.items_per_s / ref.items_per_s:.2f}x" if ref else "n/a"
        lines.append(f"| {t.name} | {t.impl} | {fmt_rate(t.items_per_s)} | {t.median_s * 1e3:.3f} | "
                     f"{t.iqr_s * 1e3:.3f} | {ratio} |")
    (RESULTS / f"{name}-{tag}.md").write_text("\n".join(lines) + "\n")
    return path


def log(msg: str) -> None:
    """A timestamped progress line on stderr (the long reproduction scripts)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def default_data_root() -> str | None:
    """``$PYREPAIR_DATA``, else a ``shared/data`` folder beside (or inside) the repository, else None."""
    env = os.environ.get("PYREPAIR_DATA")
    if env:
        return env
    here = Path(__file__).resolve().parent.parent
    for cand in (here.parent / "shared" / "data", here / "shared" / "data"):
        if cand.is_dir():
            return str(cand)
    return None
