from __future__ import annotations

import numpy as np
import pytest
import torch

from pyrepair import _backend, _dispatch
from pyrepair.errors import DeviceError, DTypeError, PyrepairWarning, UnknownNameError


class DLPackOnly:
    """Stands in for a cupy/jax array: only the DLPack protocol, backed by a numpy array."""

    def __init__(self, arr: np.ndarray):
        self.arr = arr

    def __dlpack__(self, **kwargs):
        return self.arr.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.arr.__dlpack_device__()


def test_select_cpu_and_reference():
    assert _dispatch.select("f", "cpu") == "cpu"
    assert _dispatch.select("f", "cpu", "reference") == "reference"
    assert _dispatch.select("f", torch.device("cuda"), "reference") == "reference"


def test_select_errors():
    with pytest.raises(UnknownNameError, match="f: unknown backend 'fast'"):
        _dispatch.select("f", "cpu", "fast")
    with pytest.raises(DeviceError, match="backend='cpu' cannot process data on device cuda"):
        _dispatch.select("f", torch.device("cuda"), "cpu")
    with pytest.raises(DeviceError, match="device meta is not supported"):
        _dispatch.select("f", torch.device("meta"))


def test_auto_falls_back_to_reference_loudly_without_core(monkeypatch):
    monkeypatch.setattr(_backend, "has_core", lambda: False)
    monkeypatch.setattr(_dispatch, "_warned_reference", False)
    with pytest.warns(PyrepairWarning, match="pip install"):
        assert _dispatch.select("f", "cpu", "auto") == "reference"


def test_disable_core_env_falls_back_quietly(monkeypatch):
    monkeypatch.setenv("PYREPAIR_DISABLE_CORE", "1")
    monkeypatch.setattr(_backend, "has_core", lambda: False)
    monkeypatch.setattr(_dispatch, "_warned_reference", False)
    assert _dispatch.select("f", "cpu", "auto") == "reference"  # filterwarnings=error: no warning allowed


def test_to_torch_and_restore_kinds():
    t = torch.arange(6.0)
    conv = _dispatch.to_torch(t, "x", "f")
    assert conv.kind == "torch" and conv.tensor is t and _dispatch.restore(t * 2, conv).sum() == 30

    a = np.arange(6, dtype=np.float32)
    conv = _dispatch.to_torch(a, "x", "f")
    assert conv.kind == "numpy"
    conv.tensor[0] = 42  # zero copy: a view of the user's buffer
    assert a[0] == 42
    back = _dispatch.restore(conv.tensor + 1, conv)
    assert isinstance(back, np.ndarray) and back[0] == 43

    ro = np.arange(3, dtype=np.float32)
    ro.flags.writeable = False
    conv = _dispatch.to_torch(ro, "x", "f")  # no torch warning about non-writeable arrays
    assert conv.tensor.tolist() == [0, 1, 2]

    d = DLPackOnly(np.arange(4, dtype=np.float32))
    conv = _dispatch.to_torch(d, "x", "f")
    assert conv.kind == "dlpack"
    conv.tensor[1] = 7  # zero copy through DLPack
    assert d.arr[1] == 7


def test_to_torch_rejects_other_types():
    with pytest.raises(DTypeError, match=r"f: x must be a torch.Tensor, a numpy.ndarray or a DLPack-capable array, "
                                         r"got list"):
        _dispatch.to_torch([1, 2], "x", "f")


def test_cpu_array_is_zero_copy():
    t = torch.zeros(4)
    arr = _dispatch.cpu_array(t)
    arr[2] = 5
    assert t[2] == 5
    with pytest.raises(ValueError, match="contiguous CPU tensor"):
        _dispatch.cpu_array(torch.zeros(4, 4).t())
