"""Public API of pyrepair.corrupt: names, severity tables, apply (kinds, errors, determinism), modules, datasets."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from pyrepair import corrupt
from pyrepair.corrupt import Corrupt, RandomCorruption, make_dataset, severity
from pyrepair.corrupt import _kernels as K
from pyrepair.errors import DTypeError, ShapeError, UnknownNameError

IMPL = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "brightness", "contrast", "saturate")


def _x(b: int = 3, c: int = 3, s: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, c, s, s, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------------------- names, tables


def test_names() -> None:
    assert set(IMPL) <= set(corrupt.names())
    every = corrupt.names()
    assert set(every) == set(K.IMPLEMENTED) == set(K.CORRUPTION_IDS)  # every corruption has its kernel
    assert len(every) == 19 and every == list(severity.ALL_CORRUPTIONS)
    assert every[:15] == list(severity.COMMON) and every[15:] == list(severity.EXTRA)
    assert every[12] == "elastic_transform" and every[-1] == "saturate"


@pytest.mark.parametrize("table", [severity.CIFAR, severity.IMAGENET])
def test_tables_complete(table) -> None:
    assert list(table) == list(severity.ALL_CORRUPTIONS)
    for name, rows in table.items():
        assert len(rows) == 5 and all(len(r) == len(severity.FIELDS[name]) for r in rows)
    with pytest.raises(TypeError):
        table["gaussian_noise"] = ()  # frozen


@pytest.mark.parametrize(
    ("name", "sev", "scale", "expected"),
    [
        ("gaussian_noise", 1, "cifar", {"sigma": 0.04}),
        ("gaussian_noise", 5, "imagenet", {"sigma": 0.38}),
        ("shot_noise", 2, "cifar", {"photons": 250}),
        ("shot_noise", 5, "imagenet", {"photons": 3}),
        ("defocus_blur", 4, "cifar", {"radius": 1, "alias_sigma": 0.2}),
        ("glass_blur", 2, "imagenet", {"sigma": 0.9, "delta": 2, "iterations": 1}),
        ("zoom_blur", 5, "imagenet", {"start": 1, "stop": 1.30, "step": 0.03, "count": 11}),
        ("snow", 3, "cifar", {"mean": .15, "std": .3, "zoom": 1.75, "threshold": .55, "blur_radius": 10,
                              "blur_sigma": 4, "blend": .9}),
        ("elastic_transform", 2, "imagenet", {"alpha": 488, "sigma": 19.52, "affine": 48.8}),
        ("jpeg_compression", 3, "cifar", {"quality": 58}),
        ("spatter", 4, "imagenet", {"mean": .65, "std": .3, "blur_sigma": 1, "threshold": .65, "intensity": 1.5,
                                    "mode": 1}),
        ("saturate", 5, "imagenet", {"scale": 20, "shift": 0.2}),
        ("brightness", 3, "cifar", {"delta": 0.15}),
        ("contrast", 5, "cifar", {"factor": 0.15}),
    ],
)
def test_table_values(name, sev, scale, expected) -> None:
    assert severity.resolve(name, sev, scale) == pytest.approx(expected)


@pytest.mark.parametrize("scale", ["cifar", "imagenet"])
@pytest.mark.parametrize(
    ("name", "field", "sign"),
    [("gaussian_noise", "sigma", 1), ("shot_noise", "photons", -1), ("impulse_noise", "amount", 1),
     ("speckle_noise", "sigma", 1), ("brightness", "delta", 1), ("contrast", "factor", -1),
     ("gaussian_blur", "sigma", 1), ("pixelate", "scale", -1), ("jpeg_compression", "quality", -1)],
)  # fmt: skip
def test_tables_monotone(name, field, sign, scale) -> None:
    v = [sign * severity.resolve(name, s, scale)[field] for s in range(1, 6)]
    assert all(a < b for a, b in zip(v, v[1:], strict=False))


def test_resolve_auto() -> None:
    r = severity.resolve
    assert r("gaussian_noise", 3, "auto", image_size=32) == r("gaussian_noise", 3, "cifar")
    assert r("gaussian_noise", 3, "auto", image_size=224) == r("gaussian_noise", 3, "imagenet")
    # halfway in log(side) between 64 and 160 px: the mean of the two continuous constants
    mid = math.sqrt(64 * 160)
    assert severity.preset_for(round(mid))[1] == pytest.approx(0.5, abs=0.01)
    t = severity.preset_for(100)[1]
    assert 0 < t < 1
    got = severity.resolve("gaussian_noise", 3, "auto", image_size=100)["sigma"]
    assert got == pytest.approx(0.08 + (0.18 - 0.08) * t)
    # discrete constants from the nearer preset (100 px: t < 0.5 -> cifar; 110 px: t > 0.5 -> imagenet)
    assert t < 0.5 < severity.preset_for(110)[1]
    assert severity.resolve("jpeg_compression", 1, "auto", image_size=100)["quality"] == 80
    assert severity.resolve("jpeg_compression", 1, "auto", image_size=110)["quality"] == 25
    assert severity.resolve("jpeg_compression", 1, "auto", image_size=70)["quality"] == 80
    g = severity.resolve("glass_blur", 2, "auto", image_size=(110, 90))
    assert g["delta"] == 2 and g["iterations"] == 1 and 0.25 < g["sigma"] < 0.9


def test_resolve_errors() -> None:
    with pytest.raises(ValueError, match="image_size"):
        severity.resolve("contrast", 1, "auto")
    with pytest.raises(UnknownNameError, match="scale"):
        severity.resolve("contrast", 1, "mnist")
    with pytest.raises(ValueError, match="severity"):
        severity.resolve("contrast", 6, "cifar")


# ---------------------------------------------------------------------------------------------------- apply


@pytest.mark.parametrize("name", IMPL)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_apply_torch(name, dtype) -> None:
    x = _x().to(dtype)
    y = corrupt.apply(x, name, 3, seed=1)
    assert isinstance(y, torch.Tensor) and y.dtype == dtype and y.shape == x.shape
    assert float(y.min()) >= 0 and float(y.max()) <= 1
    assert not torch.equal(y, x)
    assert torch.equal(y, getattr(corrupt, name)(x, 3, seed=1))  # per-corruption function == apply


def test_every_corruption_has_its_function() -> None:
    x = _x(2, s=9)
    for name in corrupt.names():
        fn = getattr(corrupt, name)
        assert fn.__name__ == name and name in corrupt.__all__ and fn.__doc__
        assert torch.equal(fn(x, 2, seed=4), corrupt.apply(x, name, 2, seed=4)), name


def test_apply_numpy_uint8() -> None:
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    y = corrupt.apply(u8, "gaussian_noise", 2, seed=3)
    assert isinstance(y, np.ndarray) and y.dtype == np.uint8 and y.shape == u8.shape
    ref = corrupt.apply(torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255, "gaussian_noise", 2, seed=3)
    np.testing.assert_array_equal(y, np.uint8(np.clip(ref.permute(0, 2, 3, 1).numpy() * np.float32(255), 0, 255)))
    rounded = corrupt.apply(u8, "gaussian_noise", 2, seed=3, quantize="round")
    assert (rounded.astype(int) - y.astype(int)).min() >= 0
    grey = corrupt.apply(u8[..., 0], "contrast", 2)
    assert grey.shape == (4, 8, 8) and grey.dtype == np.uint8


def test_apply_float_quantize() -> None:
    y = corrupt.apply(_x(), "brightness", 2, quantize="truncate")
    assert torch.equal(y, torch.round(y * 255) / 255)


def test_apply_single_image() -> None:
    x = _x(1)
    y = corrupt.apply(x[0], "shot_noise", 2, seed=5)
    assert y.shape == x.shape[1:]
    assert torch.equal(y, corrupt.apply(x, "shot_noise", 2, seed=5)[0])


def test_seed_determinism_and_index_offset() -> None:
    x = _x(6)
    a = corrupt.apply(x, "gaussian_noise", 3, seed=7)
    assert torch.equal(a, corrupt.apply(x, "gaussian_noise", 3, seed=7))
    assert not torch.equal(a, corrupt.apply(x, "gaussian_noise", 3, seed=8))
    assert torch.equal(a[2:], corrupt.apply(x[2:], "gaussian_noise", 3, seed=7, index_offset=2))
    assert torch.equal(corrupt.apply(x[:0], "gaussian_noise", 3), x[:0])  # empty batch


def test_unknown_name_lists_valid() -> None:
    with pytest.raises(UnknownNameError, match="valid: gaussian_noise, shot_noise") as e:
        corrupt.apply(_x(), "gausian_noise", 1)
    assert "saturate" in str(e.value) and len(e.value.valid) == 19


@pytest.mark.parametrize(
    ("images", "sev", "exc", "match"),
    [
        (None, 0, ValueError, "severity must be in"),
        (None, 6, ValueError, "severity must be in"),
        (None, 2.0, TypeError, "severity must be an int"),
        (torch.rand(2, 3, 8), 1, ShapeError, "channels"),
        (torch.rand(8, 8), 1, ShapeError, r"\[B, C, H, W\]"),
        (torch.rand(1, 2, 8, 8), 1, ShapeError, "1 or 3 channels"),
        (torch.rand(1, 3, 7, 8), 1, ShapeError, "at least 8 px"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), 1, DTypeError, "floating-point"),
        (np.zeros((1, 8, 8, 3), dtype=np.int32), 1, DTypeError, "floating-point"),
        (torch.full((1, 3, 8, 8), float("nan")), 1, ValueError, "finite"),
        (torch.full((1, 3, 8, 8), 1.01), 1, ValueError, r"values in \[0, 1\]"),
        (torch.full((1, 3, 8, 8), -0.5), 1, ValueError, r"values in \[0, 1\]"),
        ([[0.5]], 1, DTypeError, "torch.Tensor"),
    ],
)
def test_apply_errors(images, sev, exc, match) -> None:
    x = _x() if images is None else images
    with pytest.raises(exc, match=match):
        corrupt.apply(x, "contrast", sev)


def test_apply_tolerates_tiny_excursion() -> None:
    x = _x()
    x[0, 0, 0, 0] = 1 + 5e-7
    x[0, 0, 0, 1] = -5e-7
    y = corrupt.apply(x, "contrast", 1)
    assert float(y.max()) <= 1 and float(y.min()) >= 0


def test_apply_bad_seed_and_quantize() -> None:
    with pytest.raises(ValueError, match="seed"):
        corrupt.apply(_x(), "contrast", 1, seed=-1)
    with pytest.raises(UnknownNameError, match="quantize"):
        corrupt.apply(_x(), "contrast", 1, quantize="floor")


# ---------------------------------------------------------------------------------------------------- modules


def test_corrupt_module() -> None:
    m = Corrupt("impulse_noise", 4, seed=2)
    x = _x()
    assert torch.equal(m(x), corrupt.apply(x, "impulse_noise", 4, seed=2))
    assert torch.equal(m(x), m(x))
    assert "impulse_noise" in repr(m)
    with pytest.raises(UnknownNameError):
        Corrupt("nope", 1)


def test_random_corruption_replay_and_generator() -> None:
    x = _x(5)
    aug = RandomCorruption(["gaussian_noise", "contrast"], p=0.8, generator=torch.Generator().manual_seed(3))
    y = aug(x)
    choice = aug.last_choice
    assert choice is not None and choice.seed.shape == (5,)
    assert torch.equal(aug.apply(x, choice), y)  # replay equals the call
    for i in range(5):
        if not choice.applied[i]:
            assert torch.equal(y[i], x[i])
    again = RandomCorruption(["gaussian_noise", "contrast"], p=0.8, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again(x), y)  # same generator seed, same output
    assert not torch.equal(aug(x), y)  # the generator advanced
    with pytest.raises(ShapeError, match="B=5"):
        aug.apply(x[:2], choice)
    with pytest.raises(ValueError, match="p must be in"):
        RandomCorruption(p=1.5)


# ---------------------------------------------------------------------------------------------------- make_dataset


def _digits_like() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8), np.arange(12) % 10


def test_make_dataset(tmp_path: Path) -> None:
    images, labels = _digits_like()
    names = ["gaussian_noise", "contrast"]
    p1 = make_dataset(images, labels, tmp_path / "a", names=names, severities=(1, 3), chunk_size=7, progress=False)
    p2 = make_dataset(images, labels, tmp_path / "b.npz", names=names, severities=(1, 3), chunk_size=1000)
    assert p1 == tmp_path / "a.npz" and p2.exists()
    with np.load(p1) as a, np.load(p2) as b:
        assert sorted(a.files) == sorted([*names, "labels", "severities"])
        for n in names:
            assert a[n].shape == (24, 8, 8, 3) and a[n].dtype == np.uint8
            np.testing.assert_array_equal(a[n], b[n])  # chunking invariance
            np.testing.assert_array_equal(a[n][12:], corrupt.apply(images, n, 3))
        np.testing.assert_array_equal(a["labels"], np.tile(labels, 2))
        np.testing.assert_array_equal(a["severities"], np.repeat([1, 3], 12))
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "b.npz"]  # no temp files left


def test_make_dataset_torch_and_errors(tmp_path: Path) -> None:
    x = _x(4)
    p = make_dataset(x, torch.arange(4), tmp_path / "t.npz", names=["brightness"], severities=(2,))
    with np.load(p) as d:
        want = torch.floor(corrupt.apply(x, "brightness", 2) * 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        np.testing.assert_array_equal(d["brightness"], want)
    with pytest.raises(ValueError, match="severities"):
        make_dataset(x, torch.arange(4), tmp_path / "e.npz", severities=(1, 1))
    with pytest.raises(FileNotFoundError):
        make_dataset(x, torch.arange(4), tmp_path / "missing" / "e.npz")
    assert sorted(os.listdir(tmp_path)) == ["t.npz"]
