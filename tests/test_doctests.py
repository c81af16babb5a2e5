"""Docstring examples run (STYLE rule 13): every ``Example`` in the public modules is executed as a doctest."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["pyrepair", "pyrepair.random", "pyrepair.testing", "pyrepair.data", "pyrepair.models", "pyrepair.train",
           "pyrepair._checks", "pyrepair.errors", "pyrepair.transform", "pyrepair.augment", "pyrepair.augment.augmix",
           "pyrepair.augment.mixing", "pyrepair.augment.losses", "pyrepair.methods", "pyrepair.methods.base",
           "pyrepair.methods.baselines", "pyrepair.corrupt", "pyrepair.corrupt.severity", "pyrepair.corrupt.modules",
           "pyrepair.corrupt.dataset", "pyrepair.wavelet", "pyrepair.wavelet.reference", "pyrepair.wavelet._autograd",
           "pyrepair.wavelet._wct", "pyrepair.wavelet.stylizer", "pyrepair.scenarios", "pyrepair.metrics",
           "pyrepair._loop", "pyrepair._io", "pyrepair._images", "pyrepair.patch",
           "pyrepair.methods.nnrepair"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
