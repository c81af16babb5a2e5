"""The typed stub pyrepair/_core.pyi and the compiled module export the same names (STYLE rule 14)."""

from __future__ import annotations

import ast
from pathlib import Path

import pyrepair
from pyrepair import _backend

# Names bound only in CUDA builds: every `*_cuda` entry point, plus the device count (a CPU-only build has no
# runtime to ask). Derived from the stub, so a new CUDA kernel needs no edit here.
CUDA_EXTRA = {"cuda_device_count"}


def _cuda_only(names: set[str]) -> set[str]:
    return {n for n in names if n.endswith("_cuda")} | (CUDA_EXTRA & names)


def _stub_names() -> set[str]:
    stub = Path(pyrepair.__file__).with_name("_core.pyi")
    tree = ast.parse(stub.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_stub_matches_module():
    core = _backend.core()
    public = {n for n in dir(core) if not n.startswith("_")}
    stub = _stub_names()
    if not pyrepair.build_info()["cuda"]:
        stub -= _cuda_only(stub)
    assert public == stub, f"in module only: {public - stub}; in stub only: {stub - public}"


def test_cuda_only_names_are_in_stub():
    stub = _stub_names()
    assert CUDA_EXTRA <= stub
    # every CPU entry point `<op>_cpu` that has a device twin is declared with it, and vice versa
    cuda = {n[: -len("_cuda")] for n in stub if n.endswith("_cuda")}
    assert cuda, "no CUDA entry points in the stub"
    assert all(f"{op}_cpu" in stub or op in stub for op in cuda), sorted(
        op for op in cuda if f"{op}_cpu" not in stub and op not in stub)
