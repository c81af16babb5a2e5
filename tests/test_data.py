"""Tests for pyrepair.data: the embedded digits set, npz / idx / python-pickle readers, search paths and errors."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from pyrepair import data
from pyrepair.errors import DataNotFoundError, DTypeError, PyrepairWarning, ShapeError, UnknownNameError

FN = "pyrepair.tests.fake_fn"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without $PYREPAIR_DATA so that lookups only see what the test sets up."""
    monkeypatch.delenv("PYREPAIR_DATA", raising=False)


# --------------------------------------------------------------------------------------------------------------------
# helpers writing small files in the original formats
# --------------------------------------------------------------------------------------------------------------------


def write_idx(path: Path, arr: np.ndarray, *, gz: bool = False, magic: bytes | None = None) -> None:
    assert arr.dtype == np.uint8
    header = magic if magic is not None else bytes([0, 0, 0x08, arr.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    raw = header + arr.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


def fake_mnist(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_mnist_npz(path: Path, n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    xtr, ytr = fake_mnist(n_train, seed)
    xte, yte = fake_mnist(n_test, seed + 1)
    arrays = {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}
    np.savez(path, **arrays)
    return arrays


def fake_cifar_npz(path: Path, n_train: int, n_test: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    np.savez(path, **arrays)
    return arrays


def write_cifar_batches(root: Path, per_batch: int = 3, n_test: int = 2) -> dict[str, np.ndarray]:
    """Tiny fake ``cifar-10-batches-py``; returns the expected NCHW uint8 train/test arrays in canonical order."""
    bdir = root / "cifar-10-batches-py"
    bdir.mkdir(parents=True)
    rng = np.random.default_rng(7)
    xs, ys = [], []
    for b, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        y = [int(v) for v in rng.integers(0, 10, n)]
        d = {b"batch_label": b.encode(), b"labels": y, b"data": x, b"filenames": [b"f.png"] * n}
        with open(bdir / b, "wb") as f:
            pickle.dump(d, f, protocol=2)
        xs.append(x.reshape(n, 3, 32, 32))
        ys.append(np.array(y))
    return {
        "x_train": np.concatenate(xs[:5]),
        "y_train": np.concatenate(ys[:5]),
        "x_test": xs[5],
        "y_test": ys[5],
    }


def rows(images: torch.Tensor, labels: torch.Tensor) -> list[tuple[bytes, int]]:
    return sorted((img.numpy().tobytes(), int(lab)) for img, lab in zip(images, labels, strict=True))


def check_standard(d: data.ImageData, n: int, chw: tuple[int, int, int]) -> None:
    images, labels = d  # a NamedTuple unpacks
    assert images.shape == (n, *chw) and labels.shape == (n,)
    assert images.dtype == torch.float32 and labels.dtype == torch.int64
    assert images.is_contiguous() and labels.is_contiguous()
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0


# --------------------------------------------------------------------------------------------------------------------
# names / info
# --------------------------------------------------------------------------------------------------------------------


def test_names_and_info() -> None:
    assert data.names() == ["cifar10", "digits", "fashion_mnist", "mnist"]
    i = data.info("cifar10")
    assert i["classes"][3] == "cat" and i["num_classes"] == 10 and i["channels"] == 3 and i["size"] == (32, 32)
    assert "PARTIAL" in i["description"] and "LOSSY" in i["description"]
    f = data.info("fashion_mnist")
    assert f["classes"][9] == "Ankle boot" and f["channels"] == 1 and f["size"] == (28, 28)
    assert data.info("digits")["size"] == (8, 8)
    i["classes"].append("x")  # a copy: the registry is unchanged
    assert len(data.info("cifar10")["classes"]) == 10
    with pytest.raises(UnknownNameError, match="cifar10, digits, fashion_mnist, mnist"):
        data.info("imagenet")


# --------------------------------------------------------------------------------------------------------------------
# digits (embedded)
# --------------------------------------------------------------------------------------------------------------------


def test_digits_shapes_and_split() -> None:
    train, test, full = (data.load("digits", s) for s in ("train", "test", "all"))
    check_standard(train, 1438, (1, 8, 8))
    check_standard(test, 359, (1, 8, 8))
    check_standard(full, 1797, (1, 8, 8))
    assert float(full.images.max()) == 1.0  # 16/16
    assert torch.equal(full.images * 16, (full.images * 16).round())  # values k/16
    # train + test is a partition of all (as multisets of (image, label) rows)
    assert rows(*full) == sorted(rows(*train) + rows(*test))
    # stratified: every class is ~20% test
    n_all = torch.bincount(full.labels, minlength=10)
    n_test = torch.bincount(test.labels, minlength=10)
    assert ((n_test - 0.2 * n_all).abs() <= 0.5 + 1e-9).all()
    # deterministic: identical on every call (and the split is a fixed seed, independent of global RNG state)
    torch.manual_seed(123)
    np.random.seed(123)
    data.clear_cache()
    again = data.load("digits", "test")
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)


def test_digits_split_indices_disjoint() -> None:
    _, _, train_idx, test_idx = data._digits_arrays()
    assert len(set(train_idx.tolist()) & set(test_idx.tolist())) == 0
    assert sorted(train_idx.tolist() + test_idx.tolist()) == list(range(1797))


def test_resize_and_limit() -> None:
    d = data.load("digits", "test", size=16, limit=10)
    check_standard(d, 10, (1, 16, 16))
    assert torch.equal(d.labels, data.load("digits", "test").labels[:10])
    d2 = data.load("digits", "train", size=(4, 6))
    check_standard(d2, 1438, (1, 4, 6))
    assert data.load("digits", limit=10**6).images.shape[0] == 1438  # limit beyond N keeps everything


@pytest.mark.parametrize("size", [0, -3, (8,), (8, 0), 2.5, "8", True, (8, 8, 8)])
def test_bad_size(size: object) -> None:
    with pytest.raises(ValueError, match="size"):
        data.load("digits", size=size)  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, -1, 1.5, True, "3"])
def test_bad_limit(limit: object) -> None:
    with pytest.raises(ValueError, match="limit"):
        data.load("digits", limit=limit)  # type: ignore[arg-type]


def test_unknown_names() -> None:
    with pytest.raises(UnknownNameError, match="valid: cifar10, digits, fashion_mnist, mnist") as e:
        data.load("svhn")
    assert e.value.valid == ("cifar10", "digits", "fashion_mnist", "mnist")
    with pytest.raises(UnknownNameError, match="split 'val'.*all, test, train"):
        data.load("digits", "val")
    with pytest.raises(UnknownNameError, match="auto, exact_subset, full, jpeg_q75"):
        data.load("cifar10", variant="jpeg")
    with pytest.raises(UnknownNameError, match="variant 'jpeg_q75'; valid: auto, full"):
        data.load("mnist", variant="jpeg_q75")


def test_returned_tensors_do_not_alias_cache(tmp_path: Path) -> None:
    a = data.load("digits", "train")
    a.images.zero_()
    a.labels.fill_(-1)
    b = data.load("digits", "train")
    assert float(b.images.max()) == 1.0 and int(b.labels.min()) == 0

    arrays = write_mnist_npz(tmp_path / "mnist.npz")
    c = data.load("mnist", "train", tmp_path)
    c.images.fill_(0.5)
    c.labels.add_(100)
    d = data.load("mnist", "train", tmp_path)
    np.testing.assert_array_equal((d.images[:, 0] * 255).round().numpy(), arrays["x_train"])
    np.testing.assert_array_equal(d.labels.numpy(), arrays["y_train"])


def test_cache_sees_rewritten_file(tmp_path: Path) -> None:
    p = tmp_path / "mnist.npz"
    write_mnist_npz(p, n_train=5, seed=1)
    assert data.load("mnist", "train", tmp_path).images.shape[0] == 5
    write_mnist_npz(p, n_train=7, seed=2)
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert data.load("mnist", "train", tmp_path).images.shape[0] == 7


# --------------------------------------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST from the shared npz files
# --------------------------------------------------------------------------------------------------------------------


def test_mnist_shared(shared_data: Path) -> None:
    train = data.load("mnist", "train", shared_data)
    check_standard(train, 60000, (1, 28, 28))
    assert torch.bincount(train.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert int(train.labels[0]) == 5
    assert float(train.images[0].mean()) * 255 == pytest.approx(35.11, abs=0.01)
    assert int((train.images[0] > 0).sum()) == 166
    assert float(train.images.mean()) == pytest.approx(0.1307, abs=1e-4)
    test = data.load("mnist", "test", shared_data)
    check_standard(test, 10000, (1, 28, 28))
    assert torch.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert int(test.labels[0]) == 7
    small = data.load("mnist", "test", shared_data, size=14, limit=3)
    check_standard(small, 3, (1, 14, 14))


def test_fashion_mnist_shared(shared_data: Path) -> None:
    train = data.load("fashion_mnist", "train", shared_data)
    check_standard(train, 60000, (1, 28, 28))
    assert (torch.bincount(train.labels) == 6000).all()
    assert int(train.labels[0]) == 9
    assert float(train.images[0].mean()) * 255 == pytest.approx(97.25, abs=0.01)
    test = data.load("fashion_mnist", "test", shared_data)
    check_standard(test, 10000, (1, 28, 28))
    assert (torch.bincount(test.labels) == 1000).all()
    assert float(test.images[0].mean()) * 255 == pytest.approx(42.67, abs=0.01)


# --------------------------------------------------------------------------------------------------------------------
# idx files
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dotted", [False, True])
def test_idx_roundtrip(tmp_path: Path, gz: bool, dotted: bool) -> None:
    sep = "." if dotted else "-"
    suffix = ".gz" if gz else ""
    xtr, ytr = fake_mnist(5, 0)
    xte, yte = fake_mnist(3, 1)
    sub = tmp_path / "mnist"  # found via root/<name>
    sub.mkdir()
    write_idx(sub / f"train-images{sep}idx3-ubyte{suffix}", xtr, gz=gz)
    write_idx(sub / f"train-labels{sep}idx1-ubyte{suffix}", ytr, gz=gz)
    write_idx(sub / f"t10k-images{sep}idx3-ubyte{suffix}", xte, gz=gz)
    write_idx(sub / f"t10k-labels{sep}idx1-ubyte{suffix}", yte, gz=gz)
    train = data.load("mnist", "train", tmp_path)
    check_standard(train, 5, (1, 28, 28))
    np.testing.assert_array_equal(train.images[:, 0].numpy(), xtr.astype(np.float32) / 255)
    np.testing.assert_array_equal(train.labels.numpy(), ytr)
    every = data.load("mnist", "all", tmp_path)
    check_standard(every, 8, (1, 28, 28))
    np.testing.assert_array_equal(every.labels.numpy(), np.concatenate([ytr, yte]))


def test_idx_corrupt(tmp_path: Path) -> None:
    x, y = fake_mnist(4, 0)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", x, magic=b"\x12\x34\x08\x03")  # bad magic number
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y)
    with pytest.raises(data.DataFormatError, match=r"t10k-images-idx3-ubyte.*magic number 12 34 08 03"):
        data.load("mnist", "test", tmp_path)
    assert issubclass(data.DataFormatError, ValueError)

    write_idx(tmp_path / "t10k-images-idx3-ubyte", x)
    raw = (tmp_path / "t10k-images-idx3-ubyte").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(raw[:-10])
    with pytest.raises(data.DataFormatError, match="truncated"):
        data.load("mnist", "test", tmp_path)

    write_idx(tmp_path / "t10k-images-idx3-ubyte", x)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y[:3])
    with pytest.raises(ShapeError, match="4 images.*3 labels"):
        data.load("mnist", "test", tmp_path)

    write_idx(tmp_path / "t10k-images-idx3-ubyte", x[:, :20])  # 20x28 images
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y)
    with pytest.raises(ShapeError, match=r"t10k-images-idx3-ubyte.*\[N, 28, 28\]"):
        data.load("mnist", "test", tmp_path)


def test_npz_bad_contents(tmp_path: Path) -> None:
    xtr, ytr = fake_mnist(4, 0)
    np.savez(tmp_path / "mnist.npz", x_train=xtr, y_train=ytr[:3], x_test=xtr, y_test=ytr)
    with pytest.raises(ShapeError, match=r"mnist\.npz holds 4 images but 3 labels"):
        data.load("mnist", "train", tmp_path)
    np.savez(tmp_path / "mnist.npz", x_train=xtr[:, None], y_train=ytr)
    with pytest.raises(ShapeError, match=r"x_train in .*mnist\.npz must have shape \[N, 28, 28\], got \[4, 1, 28"):
        data.load("mnist", "train", tmp_path)
    with pytest.raises(data.DataFormatError, match="no array 'x_test'"):
        data.load("mnist", "test", tmp_path)
    (tmp_path / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(data.DataFormatError, match=r"mnist\.npz"):
        data.load("mnist", "train", tmp_path)


# --------------------------------------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------------------------------------


def test_cifar_python_batches(tmp_path: Path) -> None:
    expected = write_cifar_batches(tmp_path)
    train = data.load("cifar10", "train", tmp_path)
    check_standard(train, 15, (3, 32, 32))
    np.testing.assert_array_equal(train.images.numpy(), expected["x_train"].astype(np.float32) / 255)
    np.testing.assert_array_equal(train.labels.numpy(), expected["y_train"])
    test = data.load("cifar10", "test", tmp_path, variant="full")
    np.testing.assert_array_equal(test.images.numpy(), expected["x_test"].astype(np.float32) / 255)
    # root may also be the batch folder itself
    again = data.load("cifar10", "all", tmp_path / "cifar-10-batches-py", limit=16)
    check_standard(again, 16, (3, 32, 32))
    np.testing.assert_array_equal(again.labels.numpy(), np.concatenate([expected["y_train"], expected["y_test"][:1]]))

    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x02}q\x00(")  # truncated pickle
    with pytest.raises(data.DataFormatError, match="test_batch"):
        data.load("cifar10", "test", tmp_path)


def test_cifar_full_npz(tmp_path: Path) -> None:
    arrays = fake_cifar_npz(tmp_path / "cifar10.npz", 4, 2, 0)
    d = data.load("cifar10", "train", tmp_path, variant="full")
    check_standard(d, 4, (3, 32, 32))
    np.testing.assert_array_equal(d.images.numpy(), arrays["x_train"].transpose(0, 3, 1, 2).astype(np.float32) / 255)
    with pytest.raises(DataNotFoundError):
        data.load("cifar10", "train", tmp_path, variant="exact_subset")


def test_cifar_auto_preference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    fake_cifar_npz(a / "cifar10_jpeg_q75.npz", 3, 3, 0)
    fake_cifar_npz(b / "cifar10_exact_subset.npz", 2, 2, 1)
    monkeypatch.setenv("PYREPAIR_DATA", str(b))
    # exact subset in a later directory beats the lossy copy in root
    assert data.load("cifar10", "train", a).images.shape[0] == 2
    fake_cifar_npz(b / "cifar10.npz", 5, 5, 2)
    assert data.load("cifar10", "train", a).images.shape[0] == 5
    write_cifar_batches(b, per_batch=1)
    assert data.load("cifar10", "train", a).images.shape[0] == 5  # batches first
    assert data.load("cifar10", "train", a, variant="exact_subset").images.shape[0] == 2
    with pytest.warns(PyrepairWarning, match="LOSSY.*JPEG"):
        assert data.load("cifar10", "train", a, variant="jpeg_q75").images.shape[0] == 3
    monkeypatch.delenv("PYREPAIR_DATA")
    with pytest.warns(PyrepairWarning, match="do not report accuracies"):
        assert data.load("cifar10", "test", a).images.shape[0] == 3


def test_cifar_exact_subset_shared(shared_data: Path) -> None:
    train = data.load("cifar10", "train", shared_data, variant="exact_subset")
    check_standard(train, 8068, (3, 32, 32))
    assert torch.bincount(train.labels).tolist() == [810, 777, 808, 783, 856, 782, 808, 799, 835, 810]
    assert int(train.labels[0]) == 6
    assert float(train.images[0].mean()) * 255 == pytest.approx(103.45, abs=0.01)
    test = data.load("cifar10", "test", shared_data)  # auto picks the exact subset without warning
    check_standard(test, 1017, (3, 32, 32))
    assert int(test.labels[0]) == 3
    assert float(test.images[0].mean()) * 255 == pytest.approx(108.39, abs=0.01)


def test_cifar_jpeg_shared(shared_data: Path) -> None:
    with pytest.warns(PyrepairWarning, match="LOSSY"):
        test = data.load("cifar10", "test", shared_data, variant="jpeg_q75")
    check_standard(test, 10000, (3, 32, 32))
    assert (torch.bincount(test.labels) == 1000).all()
    assert int(test.labels[0]) == 3
    assert float(test.images[0].mean()) * 255 == pytest.approx(108.37, abs=0.01)


# --------------------------------------------------------------------------------------------------------------------
# search paths, $PYREPAIR_DATA, missing data
# --------------------------------------------------------------------------------------------------------------------


def test_search_paths_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    e1, e2 = tmp_path / "e1", tmp_path / "e2"
    monkeypatch.setenv("PYREPAIR_DATA", f"{e1}{os.pathsep}{e2}")
    r = tmp_path / "r"
    assert data.search_paths(r, "cifar10") == [r, r / "cifar10", e1, e1 / "cifar10", e2, e2 / "cifar10"]
    assert data.search_paths(r) == [r, e1, e2]
    fm = data.search_paths(None, "fashion_mnist")
    assert fm[:2] == [e1, e1 / "fashion_mnist"] and fm[-1] == Path("/usr/share/datasets/fashion-mnist")
    assert data.search_paths(r, "digits") == []
    assert data.search_paths(e1, "mnist")[:2] == [e1, e1 / "mnist"]  # root == env entry: listed once
    assert data.search_paths(e1, "mnist").count(e1) == 1


def test_env_var_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = tmp_path / "fashion_mnist"
    sub.mkdir()
    arrays = write_mnist_npz(sub / "fashion_mnist.npz", n_train=3, n_test=2)
    monkeypatch.setenv("PYREPAIR_DATA", str(tmp_path))
    d = data.load("fashion_mnist", "test")
    np.testing.assert_array_equal(d.labels.numpy(), arrays["y_test"])
    # root comes before $PYREPAIR_DATA
    other = tmp_path / "other"
    other.mkdir()
    write_mnist_npz(other / "fashion_mnist.npz", n_train=4, n_test=1, seed=5)
    assert data.load("fashion_mnist", "test", other).images.shape[0] == 1


def test_missing_dataset_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "env"
    env.mkdir()
    monkeypatch.setenv("PYREPAIR_DATA", str(env))
    root = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError) as e:
        data.load("mnist", "train", root)
    msg = str(e.value)
    for piece in ["mnist.npz", "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "PYREPAIR_DATA", "root="]:
        assert piece in msg
    for d in data.search_paths(root, "mnist"):
        assert str(d) in msg
    assert "does not exist" in msg
    assert isinstance(e.value, FileNotFoundError)
    with pytest.raises(DataNotFoundError, match=r"cifar10_exact_subset\.npz.*cifar10_jpeg_q75\.npz") as e2:
        data.load("cifar10", "test", root)
    assert "cifar-10-batches-py" in str(e2.value) and str(env / "cifar10") in str(e2.value)


def test_root_type() -> None:
    with pytest.raises(TypeError, match="root"):
        data.load("mnist", root=3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------------------------
# as_image_data
# --------------------------------------------------------------------------------------------------------------------


def test_as_image_data_numpy_uint8() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4, 5, 6, 3), dtype=np.uint8)
    y = np.array([0, 1, 2, 1], dtype=np.uint8)
    d = data.as_image_data((x, y), FN)
    assert isinstance(d, data.ImageData)
    assert d.images.shape == (4, 3, 5, 6) and d.images.dtype == torch.float32 and d.labels.dtype == torch.int64
    np.testing.assert_array_equal(d.images.numpy(), x.transpose(0, 3, 1, 2).astype(np.float32) / 255)
    g = data.as_image_data([x[..., 0], [0, 1, 2, 3]], FN)  # (N, H, W) grayscale, list labels
    assert g.images.shape == (4, 1, 5, 6)


def test_as_image_data_tensors_pass_through() -> None:
    images = torch.rand(3, 1, 8, 8)
    labels = torch.tensor([0, 2, 1], dtype=torch.int32)
    d = data.as_image_data((images, labels), FN)
    assert d.images is images and d.labels.dtype == torch.int64
    loaded = data.load("digits", "test", limit=4)
    assert data.as_image_data(loaded, FN).images is loaded.images
    f = data.as_image_data((np.zeros((2, 3, 4, 4)), np.array([1, 2])), FN)
    assert f.images.dtype == torch.float32 and f.images.shape == (2, 3, 4, 4)


def test_as_image_data_bad_input() -> None:
    imgs = torch.rand(3, 1, 8, 8)
    with pytest.raises(TypeError, match=f"{FN}: data must be an \\(images, labels\\) pair"):
        data.as_image_data(imgs, FN)
    with pytest.raises(TypeError, match="pair"):
        data.as_image_data((imgs,), FN)
    with pytest.raises(ShapeError, match=rf"{FN}: train_data images must have shape \[N, C, H, W\]"):
        data.as_image_data((torch.rand(3, 8, 8), torch.zeros(3, dtype=torch.long)), FN, name="train_data")
    with pytest.raises(ShapeError, match=f"{FN}: data has 3 images but 2 labels"):
        data.as_image_data((imgs, torch.zeros(2, dtype=torch.long)), FN)
    with pytest.raises(DTypeError, match="labels must be an integer tensor"):
        data.as_image_data((imgs, torch.zeros(3)), FN)
    with pytest.raises(DTypeError, match="labels must be integer"):
        data.as_image_data((imgs, np.zeros(3)), FN)
    with pytest.raises(DTypeError, match="uint8"):
        data.as_image_data((torch.zeros(3, 1, 8, 8, dtype=torch.uint8), torch.zeros(3, dtype=torch.long)), FN)
    with pytest.raises(DTypeError, match="images"):
        data.as_image_data((np.zeros((3, 1, 8, 8), dtype=np.int32), np.zeros(3, dtype=np.int64)), FN)
    with pytest.raises(ShapeError, match="channels"):
        data.as_image_data((torch.rand(3, 5, 8, 8), torch.zeros(3, dtype=torch.long)), FN)
    with pytest.raises(ShapeError, match=r"\[N, H, W, C\]"):
        data.as_image_data((np.zeros((3, 8), dtype=np.uint8), np.zeros(3, dtype=np.int64)), FN)
    with pytest.raises(ValueError, match="non-negative"):
        data.as_image_data((imgs, torch.tensor([0, -1, 2])), FN)
    with pytest.raises(ValueError, match="at least one image"):
        data.as_image_data((torch.rand(0, 1, 8, 8), torch.zeros(0, dtype=torch.long)), FN)
    with pytest.raises(DTypeError, match="labels must be a torch.Tensor or numpy array"):
        data.as_image_data((imgs, None), FN)
