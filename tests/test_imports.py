"""Imports go one way only (DESIGN.md, "Layers"): a module imports only from its own layer's package or below.

The test reads the source of every module of the package (no import is executed), collects every import (module
level, inside functions, under ``TYPE_CHECKING``, and ``importlib.import_module`` with a literal name), and maps
each module to its *unit*: the top-level module or subpackage it belongs to (``pyrepair.corrupt.dataset`` ->
``corrupt``). It fails on

* a unit without a layer in :data:`LAYERS` (a new module must be classified here);
* an import of a unit in a higher layer (upward);
* an import of another unit in the same layer, unless :data:`SIDEWAYS` allows it with a reason;
* a cycle between units.

Imports inside one unit (``corrupt/__init__`` <-> ``corrupt/dataset``) are the unit's own business. Importing
``__version__`` from the root package is allowed from anywhere (the root is a facade over everything else).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = "pyrepair"
PKG = Path(__file__).resolve().parents[1] / ROOT

#: The layer of each unit, bottom (0) to top. A unit may import units of lower layers only.
LAYERS: dict[str, int] = {
    # leaves: exceptions
    "errors": 0,
    # argument checks; the compiled core (csrc/, stub _core.pyi)
    "_checks": 1,
    "_core": 1,
    # build introspection, image conversions, atomic writes
    "_backend": 2,
    "_images": 2,
    "_io": 2,
    # the one device switch; the training loop machinery (wavelet.stylizer's train_wct2 runs on it, so it sits
    # below the kernels and never imports data, train or methods)
    "_dispatch": 3,
    "_loop": 3,
    # kernel packages: the counter-based RNG first (corrupt and wavelet draw from it), then the kernel APIs
    "random": 4,
    "corrupt": 5,
    "transform": 5,
    "wavelet": 5,
    # method building blocks, usable alone
    "augment": 6,
    # beside the methods: loaders, failure scenarios, architectures, test helpers
    "data": 7,
    "scenarios": 7,
    "models": 7,
    "testing": 7,
    # fit / evaluate / predict, checkpoints (on _loop)
    "train": 8,
    # NNrepair's localisation and constraint-based weight repair (usable alone; methods.NNRepair builds on it)
    "patch": 8,
    # repair methods; beside them, the robustness metrics (which never import methods)
    "methods": 9,
    "metrics": 9,
    # command line, and `python -m pyrepair`
    "cli": 10,
    "__main__": 11,
    # the package facade: re-exports and lazy access to every submodule
    "__init__": 12,
}

#: Same-layer imports between different units that are allowed, with the reason.
SIDEWAYS: dict[tuple[str, str], str] = {
    ("data", "scenarios"): "deprecated alias data.failure_split and data.FailureSplit, imported lazily",
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover() -> dict[str, Path]:
    """Every module of the package: ``{dotted name: source file}``."""
    return {module_name(p): p for p in sorted(PKG.rglob("*.py")) if "__pycache__" not in p.parts}


def compiled() -> set[str]:
    """Compiled modules, known by their stubs (``_core.pyi``)."""
    return {module_name(p) for p in PKG.rglob("*.pyi") if not p.with_suffix(".py").exists()}


def unit_of(module: str) -> str:
    """``pyrepair`` -> ``__init__``; ``pyrepair.x`` and ``pyrepair.x.y`` -> ``x``."""
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> Iterator[tuple[str, int, list[str]]]:
    """``(imported module, line, names)`` for every import of a ``pyrepair`` module in ``source``.

    ``from a import b`` yields ``a.b`` when that is a module, else ``a`` with ``names=[b]``.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                    yield alias.name, node.lineno, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = _resolve_relative(module, is_package, node.level, node.module)
            else:
                target = node.module or ""
            if not (target == ROOT or target.startswith(ROOT + ".")):
                continue
            plain = []
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    yield sub, node.lineno, []
                else:
                    plain.append(alias.name)
            if plain:
                yield target, node.lineno, plain
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name != "import_module" or not node.args:
                continue
            arg = node.args[0]
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                continue  # a computed name (f-string): not checkable statically
            target = arg.value
            if target.startswith("."):
                level = len(target) - len(target.lstrip("."))
                # import_module(".x", __name__) anchors at the calling module itself
                target = _resolve_relative(module, True, level, target.lstrip(".") or None)
            if target == ROOT or target.startswith(ROOT + "."):
                yield target, node.lineno, []


def edges() -> list[tuple[str, str, str, int]]:
    """``(source unit, target unit, source module, line)`` for every import between different units."""
    mods = discover()
    known = set(mods) | compiled()
    out = []
    for mod, path in mods.items():
        for target, line, names in imports_of(path.read_text(encoding="utf-8"), mod, path.name == "__init__.py", known):
            if target == ROOT and names and set(names) <= {"__version__"}:
                continue  # the version string of the facade: allowed from anywhere
            src, dst = unit_of(mod), unit_of(target)
            if src != dst:
                out.append((src, dst, mod, line))
    return out


# --------------------------------------------------------------------------------------------------------------------


def test_every_module_has_a_layer():
    units = {unit_of(m) for m in discover()}
    missing = sorted(units - set(LAYERS))
    assert not missing, f"classify these modules in tests/test_imports.py LAYERS (see DESIGN.md): {missing}"
    stale = sorted(
        u for u in set(LAYERS) - units if not (PKG / f"{u}.pyi").exists() and not (PKG / u).is_dir()
    )
    assert not stale, f"LAYERS names modules that do not exist: {stale}"


def test_no_upward_imports():
    bad = [
        f"{mod}:{line} imports {dst} (layer {LAYERS[dst]}) from {src} (layer {LAYERS[src]})"
        for src, dst, mod, line in edges()
        if src in LAYERS and dst in LAYERS and LAYERS[dst] > LAYERS[src]
    ]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_sideways_imports():
    bad = [
        f"{mod}:{line} imports {dst} from {src} (both layer {LAYERS[src]})"
        for src, dst, mod, line in edges()
        if src in LAYERS and dst in LAYERS and LAYERS[dst] == LAYERS[src] and (src, dst) not in SIDEWAYS
    ]
    assert not bad, "sideways imports (allow one in SIDEWAYS with a reason, or move the shared code down):\n" + (
        "\n".join(bad)
    )


def test_no_cycles_between_units():
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst, _, _ in edges():
        graph[src].add(dst)
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(list(graph)):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles between units: {cycles}"


@pytest.mark.parametrize(
    ("source", "module", "is_package", "expected"),
    [
        ("from ..train import fit", "pyrepair.corrupt.dataset", False, [("pyrepair.train", ["fit"])]),
        ("def f():\n    from . import data\n", "pyrepair.scenarios", False, [("pyrepair.data", [])]),
        ("from .dataset import make_dataset", "pyrepair.corrupt", True,
         [("pyrepair.corrupt.dataset", ["make_dataset"])]),
        ("import importlib\nimportlib.import_module('.stylizer', __name__)", "pyrepair.wavelet", True,
         [("pyrepair.wavelet.stylizer", [])]),
        ("import pyrepair.train as t", "pyrepair.cli", False, [("pyrepair.train", [])]),
        ("import numpy\nfrom torch import nn", "pyrepair.train", False, []),
    ],
)
def test_the_walker_sees_every_kind_of_import(source, module, is_package, expected):
    known = {"pyrepair.data", "pyrepair.train", "pyrepair.corrupt.dataset", "pyrepair.wavelet.stylizer"}
    got = [(t, names) for t, _, names in imports_of(source, module, is_package, known)]
    assert got == expected


def test_an_upward_import_would_be_caught():
    # the lazy import that failure_split used to make from data into train, as the walker sees it
    src = "def failure_split():\n    from .train import predict\n"
    (target, _, _), = imports_of(src, "pyrepair.data", False, {"pyrepair.train"})
    assert LAYERS[unit_of(target)] > LAYERS[unit_of("pyrepair.data")]
