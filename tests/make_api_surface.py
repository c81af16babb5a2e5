"""Regenerate tests/api_surface.json after a deliberate API change: ``python tests/make_api_surface.py``."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

MODULES = ["pyrepair", "pyrepair.errors", "pyrepair.random", "pyrepair.data", "pyrepair.models", "pyrepair.train",
           "pyrepair.testing", "pyrepair.cli", "pyrepair.transform", "pyrepair.augment", "pyrepair.methods",
           "pyrepair.corrupt", "pyrepair.wavelet", "pyrepair.scenarios", "pyrepair.metrics",
           "pyrepair.patch"]


def surface() -> dict[str, list[str]]:
    return {m: sorted(importlib.import_module(m).__all__) for m in MODULES}


if __name__ == "__main__":
    path = Path(__file__).with_name("api_surface.json")
    path.write_text(json.dumps(surface(), indent=1) + "\n")
    print(f"wrote {path}")
