"""The low-level helpers below the kernels: the one atomic writer (pyrepair._io) and the image conversions
(pyrepair._images)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pyrepair import data
from pyrepair._images import ImageData, as_image_data, nchw_to_uint8, numpy_to_nchw, uint8_to_nchw
from pyrepair._io import atomic_json_dump, atomic_torch_save, atomic_write
from pyrepair.errors import DTypeError, ShapeError


def test_atomic_write_replaces_and_creates_parents(tmp_path: Path):
    p = tmp_path / "a" / "b" / "f.bin"
    assert atomic_write(p, lambda f: f.write(b"one")) == p and p.read_bytes() == b"one"
    atomic_write(p, lambda f: f.write(b"two"))
    assert p.read_bytes() == b"two" and sorted(x.name for x in p.parent.iterdir()) == ["f.bin"]


def test_atomic_write_keeps_the_old_file_on_error(tmp_path: Path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"old")

    def crash(f):
        f.write(b"partial")
        raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        atomic_write(p, crash)
    assert p.read_bytes() == b"old" and [x.name for x in tmp_path.iterdir()] == ["f.bin"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write(tmp_path / "missing" / "f.bin", lambda f: None, make_parents=False)


def test_atomic_torch_save_and_json(tmp_path: Path):
    atomic_torch_save({"x": torch.arange(3)}, tmp_path / "t.pt")
    assert torch.equal(torch.load(tmp_path / "t.pt", weights_only=True)["x"], torch.arange(3))
    atomic_json_dump({"a": [1, 2]}, tmp_path / "j.json")
    assert json.loads((tmp_path / "j.json").read_text()) == {"a": [1, 2]}
    with pytest.raises(TypeError):
        atomic_json_dump({"a": object()}, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists() and len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("shape", [(2, 5, 6, 3), (2, 5, 6), (5, 6)])
def test_uint8_round_trip(shape):
    x = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    t = uint8_to_nchw(x, "t")
    assert t.dtype == torch.float32 and t.ndim == 4 and float(t.max()) <= 1.0
    np.testing.assert_array_equal(nchw_to_uint8(t, x, "round"), x)


def test_conversion_errors_name_the_function():
    with pytest.raises(ShapeError, match=r"t: images as a uint8 numpy array must have shape \[N, H, W, C\], "):
        uint8_to_nchw(np.zeros((1, 2, 3, 4, 5), np.uint8), "t")
    with pytest.raises(ShapeError, match=r"t: x as a uint8 numpy array must have shape \[N, H, W, C\] or \[N, H, W\]"):
        numpy_to_nchw(np.zeros((4, 4), np.uint8), "t", name="x")
    with pytest.raises(DTypeError, match="t: x must be a float array"):
        numpy_to_nchw(np.zeros((1, 1, 4, 4), np.int32), "t", name="x")


def test_data_reexports_the_one_image_data():
    assert data.ImageData is ImageData and data.as_image_data is as_image_data
    d = as_image_data((np.zeros((2, 4, 4, 3), np.uint8), [0, 1]), "t")
    assert isinstance(d, ImageData) and d.images.shape == (2, 3, 4, 4) and d.labels.dtype == torch.int64
