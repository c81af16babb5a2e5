from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pyrepair import _checks
from pyrepair.errors import DeviceError, DTypeError, PyrepairError, ShapeError, UnknownNameError


def test_error_hierarchy():
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, PyrepairError)
    assert issubclass(DTypeError, TypeError)
    assert issubclass(UnknownNameError, ValueError)


def test_check_shape_and_image():
    x = torch.zeros(2, 3, 8, 9)
    assert _checks.check_image(x, "images", "f") == {"B": 2, "C": 3, "H": 8, "W": 9}
    with pytest.raises(ShapeError, match=r"f: images must have shape \[B, C, H, W\] \(4 dimensions\), got \[3, 8, 8\]"):
        _checks.check_image(torch.zeros(3, 8, 8), "images", "f")
    with pytest.raises(ShapeError, match=r"must have 1 or 3 channels .* got shape \[1, 2, 8, 8\]"):
        _checks.check_image(torch.zeros(1, 2, 8, 8), "images", "f")
    with pytest.raises(DTypeError, match="images must be a floating-point tensor .* got torch.uint8"):
        _checks.check_image(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "images", "f")
    with pytest.raises(DTypeError, match="must be a torch.Tensor, got ndarray"):
        _checks.check_image(np.zeros((1, 3, 8, 8)), "images", "f")
    with pytest.raises(ShapeError, match="at least 8 px in H"):
        _checks.check_image(torch.zeros(1, 3, 4, 8), "images", "f", min_size=8)
    with pytest.raises(ShapeError, match=r"params must have shape \[B, K\] with K=7, got \[4, 6\]"):
        _checks.check_shape(torch.zeros(4, 6), "B,K", "params", "f", K=7)
    with pytest.raises(ShapeError, match=r"with 3=3"):
        _checks.check_shape(torch.zeros(4, 2), "B,3", "rgb", "f")


def test_check_labels():
    _checks.check_labels(torch.tensor([0, 1, 2]), 3, "labels", "f", num_classes=3)
    with pytest.raises(ShapeError, match=r"labels must have shape \[N\] with N=4, got \[3\]"):
        _checks.check_labels(torch.tensor([0, 1, 2]), 4, "labels", "f")
    with pytest.raises(DTypeError, match="labels must be an integer tensor"):
        _checks.check_labels(torch.tensor([0.0, 1.0]), 2, "labels", "f")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\), got values in \[0, 5\]"):
        _checks.check_labels(torch.tensor([0, 5]), 2, "labels", "f", num_classes=2)


def test_check_finite():
    _checks.check_finite(torch.ones(3), "x", "f")
    _checks.check_finite(torch.ones(3, dtype=torch.int64), "x", "f")
    with pytest.raises(ValueError, match=r"f: x must be finite, got 2 NaN/inf value\(s\)"):
        _checks.check_finite(torch.tensor([1.0, math.nan, math.inf]), "x", "f")
    with pytest.raises(ValueError, match="got 1 NaN"):
        _checks.check_finite(np.array([np.nan]), "x", "f")


def test_check_same_device_in_dtype():
    _checks.check_same_device("f", a=torch.zeros(1), b=torch.zeros(1))
    with pytest.raises(DeviceError, match="a on cpu, b on meta"):
        _checks.check_same_device("f", a=torch.zeros(1), b=torch.zeros(1, device="meta"))
    with pytest.raises(UnknownNameError, match="f: unknown dataset 'svhn'; valid: digits, mnist") as info:
        _checks.check_in("dataset", "svhn", ["mnist", "digits"], "f")
    assert info.value.valid == ("digits", "mnist") and info.value.name == "svhn"
    with pytest.raises(DTypeError, match=r"x must have dtype in \{torch.float32\}, got torch.int64"):
        _checks.check_dtype(torch.zeros(1, dtype=torch.int64), {torch.float32}, "x", "f")


def test_numbers():
    assert _checks.check_int(np.int64(3), "k", "f", min_value=1) == 3
    with pytest.raises(TypeError, match="k must be an int, got bool True"):
        _checks.check_int(True, "k", "f")
    assert _checks.check_positive(2, "lr", "f") == 2.0
    with pytest.raises(ValueError, match=r"lr must be > 0 and finite, got nan"):
        _checks.check_positive(float("nan"), "lr", "f")
    with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\], got 1.5"):
        _checks.check_range(1.5, "p", "f", 0.0, 1.0)


def test_check_int_rejects_counts_beyond_int64_by_default():
    assert _checks.check_int(2**63 - 1, "k", "f", min_value=1) == 2**63 - 1
    with pytest.raises(ValueError, match=r"f: k must be in \[1, 2\^63 - 1\], got 9223372036854775808"):
        _checks.check_int(2**63, "k", "f", min_value=1)
    assert _checks.check_int(2**70, "k", "f", max_value=None) == 2**70  # opt-out for unbounded values
