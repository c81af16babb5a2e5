"""spatter (csrc/corrupt/spatter*) against the torch reference (pyrepair/corrupt/_spatter.py), and its fidelity.

Exactness: the C++ kernel equals the reference bit for bit (same float64 / float32 operations in the same order,
series log / cos instead of libm, integer Canny / distance / histogram steps), for every shape tested here.
The OpenCV replacements are checked against cv2 when it is installed (test-only; pyrepair never imports it):
Canny and equalizeHist exactly, the exact distance transform within 0.35 px of cv2's 5 x 5 chamfer.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from pyrepair import _backend, corrupt
from pyrepair.corrupt import _kernels as K
from pyrepair.corrupt import _spatter as S
from pyrepair.corrupt import severity
from pyrepair.errors import DTypeError, ShapeError
from pyrepair.testing import num_threads

SHAPES = [(1, 3, 32, 32), (2, 3, 33, 47), (2, 1, 32, 32), (1, 1, 17, 16), (3, 3, 8, 9), (0, 3, 8, 8),
          (1, 3, 2, 3), (1, 1, 1, 1)]  # fmt: skip

# Mean per-image PSNR (dB) of CIFAR-10 x_test[:200] (../shared/data/cifar10_exact_subset.npz), CIFAR constants,
# uint8 truncation, seed 0. Spec §C.4 leaves spatter unmeasured ("needs Canny/EDT"); these values [M] come from
# the make_cifar_c.py spatter transcribed with numpy + skimage + cv2 (numpy RNG seed 0), the same protocol as §C.4.
# pyrepair measured 30.62, 26.19, 22.73, 23.73, 21.80 (seed 1: 30.60, 26.12, 22.75, 24.35, 21.69; the prototype's
# seed 1: 30.63, 26.18, 22.80, 24.02, 21.51).
PSNR_CIFAR = (30.70, 26.28, 22.81, 23.94, 21.55)
PSNR_TOL = 0.5


def _images(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def _smooth(b: int, c: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """Natural-ish images: smooth random fields (distortion measures are less noisy than on white noise)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(b, c, max(2, h // 8), max(2, w // 8), generator=g)
    return torch.nn.functional.interpolate(low, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)


def _run(x: torch.Tensor, const: dict[str, float], backend: str = "cpu", seed: int = 5, severity_: int = 3,
         index_offset: int = 0) -> torch.Tensor:  # fmt: skip
    return K.run("spatter", x, const, seed=seed, severity=severity_, index_offset=index_offset, backend=backend)


def _const(sev: int, scale: str = "cifar") -> dict[str, float]:
    return severity.resolve("spatter", sev, scale)


def test_registered():
    assert "spatter" in corrupt.names()
    assert "spatter" in K.IMPLEMENTED
    assert K.CORRUPTION_IDS["spatter"] == S.ID
    assert corrupt.spatter.__name__ == "spatter" and "spatter" in corrupt.__all__


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("sev", [1, 2, 3, 4, 5])
def test_cpu_matches_reference_cifar(shape: tuple[int, ...], sev: int):
    x = _images(shape, seed=sev)
    c = _const(sev)
    out = _run(x, c, severity_=sev)
    ref = _run(x, c, backend="reference", severity_=sev)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert torch.equal(out, ref), f"{(out != ref).sum().item()} elements differ"
    assert torch.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()


@pytest.mark.parametrize("sev", [1, 2, 3, 4, 5])
def test_cpu_matches_reference_imagenet_constants(sev: int):
    x = _images((2, 3, 40, 37), seed=10 + sev)
    c = _const(sev, "imagenet")
    assert torch.equal(_run(x, c, severity_=sev), _run(x, c, backend="reference", severity_=sev))


@pytest.mark.parametrize("sev", [2, 5])
def test_cpu_matches_reference_224(sev: int):
    x = _smooth(1, 3, 224, 224, seed=sev)
    c = _const(sev, "imagenet")
    assert torch.equal(_run(x, c, severity_=sev), _run(x, c, backend="reference", severity_=sev))


def test_auto_scale_between_presets_matches_reference():
    c = severity.resolve("spatter", 2, "auto", image_size=100)
    x = _images((1, 3, 100, 100), seed=3)
    assert torch.equal(_run(x, c), _run(x, c, backend="reference"))


def test_seed_determinism():
    x = _smooth(3, 3, 32, 32)
    for sev in (2, 4):
        c = _const(sev)
        a = _run(x, c, seed=11, severity_=sev)
        assert torch.equal(a, _run(x, c, seed=11, severity_=sev))
        assert not torch.equal(a, _run(x, c, seed=12, severity_=sev))
        assert not torch.equal(a, _run(x, c, seed=11, severity_=sev, index_offset=1))


def test_thread_count_independence():
    x = _smooth(7, 3, 32, 32, seed=4)
    c = _const(3)
    with num_threads(1):
        one = _run(x, c)
    with num_threads(max(2, _backend.get_num_threads())):
        many = _run(x, c)
    with num_threads(3):
        three = _run(x, c)
    assert torch.equal(one, many) and torch.equal(one, three)


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_batch_composition_independence(backend: str):
    x = _smooth(5, 3, 32, 32, seed=6)
    for sev in (1, 4):
        c = _const(sev)
        full = _run(x, c, backend=backend, severity_=sev)
        for k in (1, 3, 4):
            part = _run(x[k:], c, backend=backend, severity_=sev, index_offset=k)
            assert torch.equal(part, full[k:])
        single = _run(x[2:3], c, backend=backend, severity_=sev, index_offset=2)
        assert torch.equal(single, full[2:3])


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean())


@pytest.mark.parametrize(("scale", "size", "n"), [("cifar", 32, 24), ("imagenet", 224, 3)])
def test_distortion_grows_within_each_mode(scale: str, size: int, n: int):
    """Water (1-3) and mud (4-5) each get stronger with severity; the switch between them is not monotone."""
    x = _smooth(n, 3, size, size, seed=8)
    mse = [_mse(corrupt.spatter(x, s, seed=1, scale=scale), x) for s in range(1, 6)]
    assert 0 < mse[0] < mse[1] < mse[2], mse
    assert 0 < mse[3] < mse[4], mse


def test_mud_mask_and_colours():
    """Mud pixels move toward brown (63, 42, 20) / 255, others are untouched; water only brightens."""
    x = _smooth(4, 3, 32, 32, seed=2)
    mud = corrupt.spatter(x, 5, seed=3, scale="cifar")
    changed = (mud != x).any(dim=1)
    assert changed.any() and (~changed).any()
    brown = torch.tensor([63.0, 42.0, 20.0]).div(255).view(1, 3, 1, 1).expand_as(x)
    assert ((mud - brown).abs() <= (x - brown).abs() + 1e-6).all()
    water = corrupt.spatter(x, 3, seed=3, scale="cifar")
    assert (water >= x).all() and (water > x).any()


def test_no_mask_leaves_image_unchanged():
    """A threshold above every layer value gives an empty mask (the reference would divide 0 by 0 here)."""
    x = _images((2, 3, 16, 16))
    for mode in (0.0, 1.0):
        c = dict(_const(2), threshold=5.0, mode=mode)
        assert torch.equal(_run(x, c), x)
        assert torch.equal(_run(x, c, backend="reference"), x)


def test_public_api_uint8_and_grey():
    u8 = (np.arange(2 * 32 * 32 * 3) % 256).astype(np.uint8).reshape(2, 32, 32, 3)
    out = corrupt.spatter(u8, 2, seed=0)
    assert out.dtype == np.uint8 and out.shape == u8.shape
    grey = corrupt.apply(u8[..., 0], "spatter", 4, seed=0)
    assert grey.dtype == np.uint8 and grey.shape == (2, 32, 32)
    x = _smooth(2, 3, 32, 32)
    assert torch.equal(corrupt.spatter(x, 2, seed=4), corrupt.apply(x, "spatter", 2, seed=4, backend="reference"))


def test_series_functions_and_normals():
    u = torch.linspace(1e-6, 1 - 1e-6, 20001, dtype=torch.float64)
    assert float((S.series_log(u) - torch.log(u)).abs().max()) < 1e-11
    c, s = S.series_cossin2pi(u)
    assert float((c - torch.cos(2 * math.pi * u)).abs().max()) < 1e-9
    assert float((s - torch.sin(2 * math.pi * u)).abs().max()) < 1e-9
    z = S.spatter_normals(64, 64, 0, [1, 2, 3, 4], torch.device("cpu"))
    assert abs(float(z.mean())) < 0.03 and abs(float(z.std()) - 1) < 0.03


def _layers(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """uint8 thresholded liquid layers as the water mode sees them (varied blur and threshold)."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(n):
        f = torch.from_numpy(rng.normal(0.65, 0.3, (1, h, w)))
        f = S._gauss(f, S.gaussian_taps64(0.7 + 0.5 * (t % 4)))[0].numpy()
        f[f < 0.62 + 0.02 * (t % 4)] = 0
        out.append(np.minimum(np.floor(f * 255), 255).astype(np.uint8))
    return np.stack(out)


def test_opencv_replacements_match_cv2():
    cv2 = pytest.importorskip("cv2")
    layers = np.concatenate([_layers(16, 32, 32), _layers(8, 33, 47, seed=1)[:, :32, :32]])
    t = torch.from_numpy(layers.astype(np.int64))
    edges = S.canny(t).numpy()
    dist = S.capped_distance(torch.from_numpy(edges)).numpy()
    n_edges = 0
    for k, l8 in enumerate(layers):
        ref = cv2.Canny(l8, 50, 150)
        assert np.array_equal(edges[k], ref > 0), k
        n_edges += int(edges[k].sum())
        cd = np.minimum(cv2.distanceTransform(255 - ref, cv2.DIST_L2, 5), 20)
        assert np.abs(cd - dist[k]).max() <= 0.35, k
    assert n_edges > 100
    u = np.random.default_rng(2).integers(0, 21, (6, 32, 32)).astype(np.uint8)
    u[0] = 7  # constant image: unchanged
    u[1, :16] = 3
    eq = S.equalize_hist(torch.from_numpy(u.astype(np.int64))).numpy()
    for k in range(len(u)):
        assert np.array_equal(eq[k], cv2.equalizeHist(u[k])), k


def test_psnr_close_to_measured_reference(shared_data: Path):
    x = np.load(shared_data / "cifar10_exact_subset.npz")["x_test"][:200]
    for sev in range(1, 6):
        y = corrupt.spatter(x, sev, seed=0, scale="cifar")
        mse = ((y.astype(np.float64) - x.astype(np.float64)) ** 2).reshape(len(x), -1).mean(1)
        assert (mse > 0).all()
        psnr = float(np.mean(10 * np.log10(255.0**2 / mse)))
        assert abs(psnr - PSNR_CIFAR[sev - 1]) < PSNR_TOL, (sev, psnr)


def test_bad_inputs():
    x = _images((1, 3, 16, 16))
    with pytest.raises(ValueError, match="severity"):
        corrupt.spatter(x, 6)
    with pytest.raises(ShapeError):
        corrupt.spatter(_images((1, 2, 16, 16)), 1)
    with pytest.raises(ShapeError):
        corrupt.spatter(_images((1, 3, 4, 16)), 1)
    with pytest.raises(DTypeError):
        corrupt.spatter(torch.zeros(1, 3, 16, 16, dtype=torch.int64), 1)
    with pytest.raises(ValueError, match="finite|NaN|nan"):
        corrupt.spatter(torch.full((1, 3, 16, 16), float("nan")), 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        corrupt.spatter(x * 3, 1)
    with pytest.raises(ValueError, match="seed"):
        corrupt.spatter(x, 1, seed=-1)
    with pytest.raises(KeyError, match="threshold"):
        _run(x, {k: v for k, v in _const(1).items() if k != "threshold"})
    with pytest.raises(ValueError, match="mode"):
        _run(x, dict(_const(1), mode=2.0))
    core = _backend.core()
    out = torch.empty_like(x).numpy()
    ones = np.ones(1)
    with pytest.raises(ValueError, match="taps"):
        core.corrupt_spatter_cpu(x.numpy(), out, np.ones(2), ones, 0.6, 0.1, 0.7, 0.5, 0, 0, 0, 1)
    with pytest.raises(ValueError, match="mode"):
        core.corrupt_spatter_cpu(x.numpy(), out, ones, ones, 0.6, 0.1, 0.7, 0.5, 3, 0, 0, 1)
    with pytest.raises(ValueError, match="shape"):
        core.corrupt_spatter_cpu(x.numpy(), out[:, :1].copy(), ones, ones, 0.6, 0.1, 0.7, 0.5, 0, 0, 0, 1)


@pytest.mark.cuda
@pytest.mark.parametrize("sev", [1, 3, 4, 5])
def test_cuda_matches_cpu_and_reference(sev: int):
    for scale, shape in (("cifar", (3, 3, 32, 32)), ("cifar", (2, 1, 33, 47)), ("imagenet", (2, 3, 224, 224))):
        x = _smooth(*shape, seed=sev)
        c = _const(sev, scale)
        cpu = _run(x, c, severity_=sev)
        gpu = _run(x.cuda(), c, backend="cuda", severity_=sev)
        assert gpu.device.type == "cuda"
        assert torch.equal(gpu.cpu(), cpu)
        assert torch.equal(_run(x.cuda(), c, backend="reference", severity_=sev).cpu(), cpu)


@pytest.mark.cuda
def test_cuda_empty_and_tiny():
    for shape in [(0, 3, 8, 8), (1, 1, 1, 1), (1, 3, 2, 3)]:
        x = _images(shape).cuda()
        out = _run(x, _const(2), backend="cuda")
        assert out.shape == x.shape
        assert torch.equal(out.cpu(), _run(x.cpu(), _const(2)))
