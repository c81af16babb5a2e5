"""No public name disappears silently: each module's ``__all__`` must still contain every name recorded in
``api_surface.json`` (regenerate it with ``python tests/make_api_surface.py`` when removing a name on purpose).
Every exported name must also resolve."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

RECORDED = json.loads(Path(__file__).with_name("api_surface.json").read_text())


@pytest.mark.parametrize("module", sorted(RECORDED))
def test_recorded_names_still_exported(module):
    mod = importlib.import_module(module)
    missing = sorted(set(RECORDED[module]) - set(mod.__all__))
    assert not missing, f"{module} no longer exports {missing}"
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ lists {name!r} but the module has no such attribute"
