"""bench/gpu_check.sh stays runnable on machines that never see it run: its syntax, and its kernel cases on CPU.

The script is the first thing run when a GPU machine is available (a few minutes, rarely); a rename in the API it
drives must fail here, on CPU, not there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "gpu_check.sh"
CASES = REPO / "bench" / "gpu_cases.py"


def test_script_parses_and_names_every_step():
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not found")
    subprocess.run([bash, "-n", str(SCRIPT)], check=True)
    text = SCRIPT.read_text()
    for needle in ("PYREPAIR_CUDA=$cuda_flag", "PYREPAIR_REQUIRE_CUDA=1", "-m cuda --device all",
                   "compute-sanitizer --tool memcheck", "bench/gpu_cases.py", "--quick", "gpu-check-$tag.md"):
        assert needle in text, needle


def test_kernel_cases_run_on_cpu():
    """Every case of the sanitizer workload runs (on CPU here) and passes: one per kernel family, every corruption."""
    out = subprocess.run([sys.executable, str(CASES), "--device", "cpu"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(("ok", "FAIL"))]
    assert lines and all(ln.startswith("ok") for ln in lines), out.stdout
    import pyrepair.corrupt

    for name in pyrepair.corrupt.names():
        assert any(f"corrupt.{name} " in ln for ln in lines), name
    for family in ("random.", "transform.", "wavelet."):
        assert any(family in ln for ln in lines), family


def test_cases_refuse_cuda_without_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    out = subprocess.run([sys.executable, str(CASES), "--device", "cuda"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 1 and "no usable CUDA" in out.stdout
