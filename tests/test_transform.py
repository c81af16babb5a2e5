"""pyrepair.transform: compiled kernels vs the torch reference, SENSEI and Pillow semantics, edges and errors.

Tolerances: the warp ops (affine_photometric, population, rotate, shear, translate) match the reference within 1e-5
absolute in [0, 1] units (float32 coordinates against the float64 reference; divided by std when normalised); the
8-bit level ops (autocontrast, equalize, posterize, solarize) match exactly; the enhance ops within 1e-5.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch

import pyrepair.transform as T
from pyrepair import _backend
from pyrepair.errors import DeviceError, DTypeError, ShapeError, UnknownNameError
from pyrepair.testing import num_threads

WARP_ATOL = 1e-5
SHAPES = [(3, 3, 7, 9), (2, 1, 8, 8), (2, 3, 32, 32), (1, 3, 5, 4), (2, 1, 1, 6)]  # odd/even, C = 1 and 3, tiny
LEVEL_OPS = ["autocontrast", "equalize"]
GEOMETRIC = {"rotate": 25.0, "shear_x": 0.3, "shear_y": 0.3, "translate_x": 4.0, "translate_y": 4.0}
ENHANCE = ["color", "contrast", "brightness", "sharpness"]
MAGNITUDE = {"posterize": 3, "solarize": 180 / 255, "rotate": 8, "translate_x": 2, "translate_y": -2}  # else 0.5


def apply_op(name: str, x: torch.Tensor, **kw) -> torch.Tensor:
    info = T.OPS[name]
    return info.fn(x, **kw) if info.param_kind == "none" else info.fn(x, MAGNITUDE.get(name, 0.5), **kw)


def images(shape: tuple[int, ...], seed: int = 0, device: str = "cpu") -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g).to(device)


def sensei_params(n: int, seed: int = 0) -> torch.Tensor:
    """Random rows over SENSEI's ranges (spec §2.1), brightness in image units."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 7, generator=g) * 2 - 1  # [-1, 1)
    scale = torch.tensor([30.0, 3.0, 3.0, 0.1, 0.1, 32 / 255, 0.2])
    return u * scale + torch.tensor([0.0, 0, 0, 0, 1, 0, 1])


def per_image(b: int, lo: float, hi: float, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(b, generator=g, dtype=torch.float64)


def close(a: torch.Tensor, b: torch.Tensor, atol: float = WARP_ATOL) -> None:
    torch.testing.assert_close(a.cpu(), b.cpu(), rtol=0, atol=atol)


# ----------------------------------------------------------------------------------------------------------------
# smoke / cardinality
# ----------------------------------------------------------------------------------------------------------------


def test_identity_params():
    p = T.identity_params(3, dtype=torch.float64)
    assert p.shape == (3, 7) and p.dtype == torch.float64
    assert p[1].tolist() == [0, 0, 0, 0, 1, 0, 1]
    assert T.PARAMS == ("rotation", "tx", "ty", "shear", "zoom", "brightness", "contrast")
    assert T.identity_params(0).shape == (0, 7)


def test_ops_table():
    augmix = ["autocontrast", "equalize", "posterize", "rotate", "solarize", "shear_x", "shear_y", "translate_x",
              "translate_y"]
    assert list(T.OPS) == augmix + ENHANCE
    assert {n for n, info in T.OPS.items() if info.overlaps_imagenet_c} == set(ENHANCE)
    assert {n for n, info in T.OPS.items() if info.param_kind == "none"} == {"autocontrast", "equalize"}
    x = images((2, 3, 8, 8))
    for name in T.OPS:
        out = apply_op(name, x)
        assert out.shape == x.shape and out.dtype == x.dtype, name
        assert bool(((out >= 0) & (out <= 1)).all()), name


def test_output_shapes_and_dtype():
    x = images((3, 3, 7, 9)).double()
    assert T.affine_photometric(x, sensei_params(5), index=torch.tensor([0, 1, 2, 2, 0])).shape == (5, 3, 7, 9)
    out = T.population(x, sensei_params(12).view(4, 3, 7))
    assert out.shape == (4, 3, 3, 7, 9) and out.dtype == torch.float64
    assert T.equalize(x).dtype == torch.float64


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_empty_batch(backend):
    x = torch.rand(0, 3, 8, 8)
    assert T.affine_photometric(x, T.identity_params(0), backend=backend).shape == (0, 3, 8, 8)
    assert T.population(x, torch.zeros(4, 0, 7), backend=backend).shape == (4, 0, 3, 8, 8)
    assert T.population(images((2, 3, 8, 8)), torch.zeros(0, 2, 7), backend=backend).shape == (0, 2, 3, 8, 8)
    assert T.affine_photometric(images((2, 3, 8, 8)), T.identity_params(0), index=torch.zeros(0, dtype=torch.long),
                                backend=backend).shape == (0, 3, 8, 8)
    for name, info in T.OPS.items():
        args = () if info.param_kind == "none" else (torch.zeros(0),)
        assert info.fn(x, *args, backend=backend).shape == (0, 3, 8, 8), name


# ----------------------------------------------------------------------------------------------------------------
# feature: compiled kernels vs the reference, on every test device
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_affine_matches_reference(device, shape):
    x = images(shape, device=device)
    p = sensei_params(shape[0])
    close(T.affine_photometric(x, p), T.affine_photometric(x, p, backend="reference"))


def test_affine_index_and_normalisation_match_reference(device):
    x = images((3, 3, 7, 9), device=device)
    p = sensei_params(6, seed=3)
    idx = torch.tensor([2, 0, 0, 1, 2, 2])
    mean, std = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
    got = T.affine_photometric(x, p, index=idx, mean=mean, std=std, contrast_pivot=0.2)
    ref = T.affine_photometric(x, p, index=idx, mean=mean, std=std, contrast_pivot=0.2, backend="reference")
    close(got, ref, atol=WARP_ATOL / min(std))


def test_affine_large_parameters(device):
    """Far-out translations, strong zoom and shear: points far outside the image read as 0, no overflow."""
    x = images((4, 3, 8, 8), device=device)
    p = T.identity_params(4)
    p[0, 1], p[1, 2], p[2, 4], p[3, 3] = 1e9, -50.0, 1e-6, 40.0
    got = T.affine_photometric(x, p)
    close(got, T.affine_photometric(x, p, backend="reference"))
    assert float(got[0].abs().max()) == 0.0


@pytest.mark.parametrize("shape", [(3, 3, 7, 9), (2, 1, 32, 32)])
def test_population_matches_reference_and_separate_calls(device, shape):
    x = images(shape, device=device)
    p = sensei_params(4 * shape[0], seed=5).view(4, shape[0], 7)
    pop = T.population(x, p)
    close(pop, T.population(x, p, backend="reference"))
    separate = torch.stack([T.affine_photometric(x, p[i]) for i in range(4)])
    assert torch.equal(pop, separate)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("op", LEVEL_OPS)
def test_histogram_ops_match_reference_exactly(device, shape, op):
    x = images(shape, device=device) * 0.7 + 0.1  # not spanning [0, 1], so autocontrast has work to do
    fn = getattr(T, op)
    assert torch.equal(fn(x).cpu(), fn(x, backend="reference").cpu())


@pytest.mark.parametrize("shape", SHAPES)
def test_posterize_solarize_match_reference_exactly(device, shape):
    x = images(shape, device=device)
    b = shape[0]
    bits = torch.arange(b) % 9
    thr = per_image(b, 0.0, 256 / 255)
    assert torch.equal(T.posterize(x, bits).cpu(), T.posterize(x, bits, backend="reference").cpu())
    assert torch.equal(T.solarize(x, thr).cpu(), T.solarize(x, thr, backend="reference").cpu())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("op", list(GEOMETRIC))
def test_geometric_ops_match_reference(device, shape, op):
    x = images(shape, device=device)
    mag = GEOMETRIC[op]
    v = per_image(shape[0], -mag, mag)
    fn = getattr(T, op)
    close(fn(x, v), fn(x, v, backend="reference"))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("op", ENHANCE)
def test_enhance_ops_match_reference(device, shape, op):
    x = images(shape, device=device)
    f = per_image(shape[0], 0.0, 2.0)
    fn = getattr(T, op)
    close(fn(x, f), fn(x, f, backend="reference"))


def test_non_contiguous_input(device):
    base = images((2, 3, 9, 16), device=device)
    x = base[..., ::2].transpose(2, 3)  # (2, 3, 8, 9), strided
    assert not x.is_contiguous()
    xc = x.contiguous()
    p = sensei_params(2)
    assert torch.equal(T.affine_photometric(x, p), T.affine_photometric(xc, p))
    for name in T.OPS:
        assert torch.equal(apply_op(name, x), apply_op(name, xc)), name


# ----------------------------------------------------------------------------------------------------------------
# feature: SENSEI semantics
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["auto", "reference"])
@pytest.mark.parametrize("shape", [(3, 3, 7, 9), (2, 1, 8, 8)])
def test_identity_is_exact(device, backend, shape):
    x = images(shape, device=device)
    before = x.clone()
    assert torch.equal(T.affine_photometric(x, T.identity_params(shape[0]), backend=backend), x)
    p = T.identity_params(shape[0]).repeat(3, 1, 1)
    assert torch.equal(T.population(x, p, backend=backend), x.expand(3, *shape))
    assert torch.equal(T.rotate(x, 0.0, backend=backend), x)
    assert torch.equal(T.translate_x(x, 0, backend=backend), x)
    for op in ENHANCE:
        assert torch.equal(getattr(T, op)(x, 1.0, backend=backend), x), op
    assert torch.equal(x, before), "inputs are never modified"


@pytest.mark.parametrize("size", [7, 8])
def test_rotation_by_90_degrees_is_rot90(device, size):
    """Positive angles turn content counter-clockwise on screen: rotation=+90 equals torch.rot90(x, 1, (2, 3))."""
    x = images((2, 3, size, size), device=device)
    for k in (1, 2, 3, -1):
        p = T.identity_params(2)
        p[:, 0] = 90.0 * k
        assert torch.equal(T.affine_photometric(x, p), torch.rot90(x, k, (2, 3))), k
        close(T.affine_photometric(x, p, backend="reference"), torch.rot90(x, k, (2, 3)), atol=1e-6)


def test_integer_translation_is_exact_shift(device):
    x = images((2, 3, 7, 9), device=device)
    p = T.identity_params(2)
    p[:, 1], p[:, 2] = 2.0, -1.0  # SENSEI: +tx moves content right, -ty moves it up
    out = T.affine_photometric(x, p)
    expected = torch.zeros_like(x)
    expected[:, :, :-1, 2:] = x[:, :, 1:, :-2]
    assert torch.equal(out, expected)
    out = T.translate_x(x, 3)  # AugMix/Pillow: out(x, y) = in(x + 3, y), content moves left
    assert torch.equal(out[..., :-3], x[..., 3:]) and float(out[..., -3:].abs().max()) == 0.0
    out = T.translate_y(x, torch.tensor([-2, 1]))
    assert torch.equal(out[0, :, 2:], x[0, :, :-2]) and torch.equal(out[1, :, :-1], x[1, :, 1:])


def test_photometric_formula(device):
    x = images((1, 3, 5, 5), device=device)
    p = T.identity_params(1)
    p[0, 5], p[0, 6] = 0.1, 1.2
    pivot = 127 / 255
    v1 = (x + 0.1).clamp(0, 1)
    expected = (pivot + 1.2 * (v1 - pivot)).clamp(0, 1)
    close(T.affine_photometric(x, p), expected, atol=1e-6)


# ----------------------------------------------------------------------------------------------------------------
# feature: AugMix / Pillow semantics
# ----------------------------------------------------------------------------------------------------------------


def test_equalize_flattens_the_histogram():
    x = images((1, 1, 128, 128), seed=7) ** 1.5  # skewed towards black; no level holds more than ~2 % of pixels

    def cdf_error(v: torch.Tensor) -> float:
        levels = torch.round(v * 255).to(torch.int64).flatten()
        cdf = torch.bincount(levels, minlength=256).cumsum(0).double() / levels.numel()
        return float((cdf - torch.arange(1, 257, dtype=torch.float64) / 256).abs().max())

    assert cdf_error(x) > 0.1
    assert cdf_error(T.equalize(x)) < 0.03


def test_level_ops_quantise():
    x = images((2, 3, 8, 8))
    for op in (T.autocontrast, T.equalize, lambda v: T.posterize(v, 8), lambda v: T.solarize(v, 256 / 255)):
        out = op(x)
        assert torch.equal(out, torch.round(out * 255) / 255)
    assert torch.equal(T.posterize(x, 8), torch.round(x * 255) / 255)
    assert float(T.posterize(x, 0).abs().max()) == 0.0
    assert torch.equal(T.solarize(x, 0.0), (255 - torch.round(x * 255)) / 255)


def _pil_batch(u8: np.ndarray, op) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(op(Image.fromarray(im.squeeze(-1) if im.shape[-1] == 1 else im))) for im in u8])


def _as_float(u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255


def _as_u8(t: torch.Tensor) -> np.ndarray:
    u8 = torch.round(t.clamp(0, 1) * 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return u8[..., 0] if u8.shape[-1] == 1 else u8


@pytest.fixture(scope="module")
def u8_images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (3, 13, 16, 3), dtype=np.uint8)
    low_contrast = (noise // 3 + 40).astype(np.uint8)
    grey = rng.integers(20, 200, (2, 9, 9, 1), dtype=np.uint8)
    return [noise, low_contrast, grey]


def test_pil_parity_level_ops(u8_images):
    ImageOps = pytest.importorskip("PIL.ImageOps")
    cases = [
        (ImageOps.autocontrast, T.autocontrast),
        (ImageOps.equalize, T.equalize),
        (lambda im: ImageOps.posterize(im, 3), lambda x: T.posterize(x, 3)),
        (lambda im: ImageOps.solarize(im, 200), lambda x: T.solarize(x, 200 / 255)),
    ]
    for u8 in u8_images:
        for pil_op, op in cases:
            assert np.array_equal(_pil_batch(u8, pil_op), _as_u8(op(_as_float(u8))))


def test_pil_parity_geometric_ops(u8_images):
    Image = pytest.importorskip("PIL.Image")
    bil = Image.BILINEAR

    def affine(coeffs):
        return lambda im: im.transform(im.size, Image.AFFINE, coeffs, resample=bil)

    cases = [
        (lambda im: im.rotate(7, resample=bil), lambda x: T.rotate(x, 7)),
        (lambda im: im.rotate(-23.5, resample=bil), lambda x: T.rotate(x, -23.5)),
        (affine((1, 0.27, 0, 0, 1, 0)), lambda x: T.shear_x(x, 0.27)),
        (affine((1, 0, 0, -0.21, 1, 0)), lambda x: T.shear_y(x, -0.21)),
        (affine((1, 0, 3, 0, 1, 0)), lambda x: T.translate_x(x, 3)),
        (affine((1, 0, 0, 0, 1, -2.5)), lambda x: T.translate_y(x, -2.5)),
    ]
    for u8 in u8_images:
        for pil_op, op in cases:
            diff = np.abs(_pil_batch(u8, pil_op).astype(int) - _as_u8(op(_as_float(u8))).astype(int))
            assert diff.max() <= 1


def test_pil_parity_enhance_ops(u8_images):
    ImageEnhance = pytest.importorskip("PIL.ImageEnhance")
    for u8 in u8_images:
        for name, cls in [("color", ImageEnhance.Color), ("contrast", ImageEnhance.Contrast),
                          ("brightness", ImageEnhance.Brightness), ("sharpness", ImageEnhance.Sharpness)]:
            for f in (0.3, 1.7):
                pil = _pil_batch(u8, lambda im, cls=cls, f=f: cls(im).enhance(f))
                ours = _as_u8(getattr(T, name)(_as_float(u8), f))
                assert np.abs(pil.astype(int) - ours.astype(int)).max() <= 2, (name, f)


# ----------------------------------------------------------------------------------------------------------------
# determinism
# ----------------------------------------------------------------------------------------------------------------


def test_independent_of_thread_count():
    x = images((16, 3, 16, 16))
    p = sensei_params(3 * 16).view(3, 16, 7)
    def run() -> list[torch.Tensor]:
        return [T.population(x, p), T.equalize(x), T.rotate(x, 11.0), T.contrast(x, 0.4), T.sharpness(x, 1.5)]

    with num_threads(1):
        one = run()
    with num_threads(2):
        two = run()
    for a, b in zip(one, two, strict=True):
        assert torch.equal(a, b)
    assert all(torch.equal(a, b) for a, b in zip(one, run(), strict=True)), "same input, same output"


@pytest.mark.cuda
def test_cuda_equals_cpu():
    x = images((3, 3, 7, 9))
    xd = x.cuda()
    for op in (T.autocontrast, T.equalize, lambda v: T.posterize(v, 3), lambda v: T.solarize(v, 0.5)):
        assert torch.equal(op(xd).cpu(), op(x)), "level ops are exact on every device"
    p = sensei_params(3)
    close(T.affine_photometric(xd, p), T.affine_photometric(x, p), atol=1e-6)
    close(T.sharpness(xd, 1.5), T.sharpness(x, 1.5), atol=1e-6)


# ----------------------------------------------------------------------------------------------------------------
# exceptions
# ----------------------------------------------------------------------------------------------------------------

AP = "pyrepair.transform.affine_photometric"


def test_bad_images():
    with pytest.raises(ShapeError, match=rf"{AP}: images must have shape \[B, C, H, W\].*got \[3, 8, 8\]"):
        T.affine_photometric(torch.rand(3, 8, 8), T.identity_params(3))
    with pytest.raises(DTypeError, match="images must be a floating-point tensor"):
        T.equalize(torch.zeros(1, 1, 4, 4, dtype=torch.uint8))
    x = torch.rand(1, 3, 4, 4)
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="pyrepair.transform.rotate: images must be finite"):
        T.rotate(x, 3.0)
    with pytest.raises(ShapeError, match="at least 1 px"):
        T.posterize(torch.rand(1, 3, 0, 4), 3)


def test_bad_params_and_index():
    x = torch.rand(2, 3, 8, 8)
    with pytest.raises(ShapeError, match=rf"{AP}: params must have shape \[M, 7\].*got \[2, 8\]"):
        T.affine_photometric(x, torch.zeros(2, 8))
    with pytest.raises(ShapeError, match=r"pyrepair.transform.population: params must have shape \[P, B=2, 7\]"):
        T.population(x, torch.zeros(3, 4, 7))
    with pytest.raises(ShapeError, match="params has 3 rows but images has B=2"):
        T.affine_photometric(x, T.identity_params(3))
    with pytest.raises(ValueError, match=r"index must lie in \[0, 2\).*got values in \[0, 5\]"):
        T.affine_photometric(x, T.identity_params(2), index=torch.tensor([0, 5]))
    with pytest.raises(DTypeError, match="index must be an integer tensor"):
        T.affine_photometric(x, T.identity_params(2), index=torch.tensor([0.0, 1.0]))
    with pytest.raises(ShapeError, match=r"index must have shape \[M\] with M=2"):
        T.affine_photometric(x, T.identity_params(2), index=torch.tensor([0]))
    p = T.identity_params(2)
    p[1, 4] = 0.0
    with pytest.raises(ValueError, match=r"zoom \(column 4\) must be > 0, got 0.0"):
        T.affine_photometric(x, p)
    p = T.identity_params(2)
    p[0, 0] = float("inf")
    with pytest.raises(ValueError, match="params must be finite"):
        T.affine_photometric(x, p)


def test_bad_normalisation():
    x = torch.rand(2, 3, 8, 8)
    p = T.identity_params(2)
    with pytest.raises(ShapeError, match="mean must have length C=3"):
        T.affine_photometric(x, p, mean=[0.5, 0.5], std=[1, 1, 1])
    with pytest.raises(ValueError, match=r"std must be > 0 in every channel, got \[1.0, 0.0, 1.0\]"):
        T.affine_photometric(x, p, mean=[0.5] * 3, std=[1, 0, 1])
    with pytest.raises(ValueError, match="mean and std must be given together"):
        T.affine_photometric(x, p, mean=[0.5] * 3)
    with pytest.raises(ValueError, match=r"contrast_pivot must be in \[0.0, 1.0\], got 127"):
        T.affine_photometric(x, p, contrast_pivot=127)


def test_bad_per_image_parameters():
    x = torch.rand(2, 3, 8, 8)
    with pytest.raises(ShapeError, match=r"pyrepair.transform.color: factor must be a number or a 1-D tensor of "
                                         r"length B=2, got shape \[3\]"):
        T.color(x, torch.ones(3))
    with pytest.raises(ValueError, match=r"pyrepair.transform.posterize: bits must be integers in \[0, 8\], got 9"):
        T.posterize(x, torch.tensor([3, 9]))
    with pytest.raises(ValueError, match=r"bits must be integers in \[0, 8\], got 2.5"):
        T.posterize(x, 2.5)
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 256/255\], got 2.0"):
        T.solarize(x, 2.0)
    with pytest.raises(ValueError, match="degrees must be finite"):
        T.rotate(x, float("nan"))
    with pytest.raises(DTypeError, match="pixels must be a number"):
        T.translate_x(x, True)
    with pytest.raises(ShapeError, match="must have 1 or 3 channels"):
        T.contrast(torch.rand(1, 2, 4, 4), 0.5)


def test_bad_backend():
    x = torch.rand(1, 3, 4, 4)
    with pytest.raises(UnknownNameError, match="unknown backend 'gpu'"):
        T.equalize(x, backend="gpu")
    with pytest.raises(DeviceError, match="backend='cuda' cannot process data on device cpu"):
        T.rotate(x, 1.0, backend="cuda")


def test_core_rechecks_sizes():
    core = _backend.core()
    src = np.zeros((2, 1, 4, 4), np.float32)
    out = np.zeros((1, 2, 1, 4, 4), np.float32)
    mats = np.zeros((1, 2, 6), np.float32)
    with pytest.raises(ValueError, match=r"transform_warp_cpu: index must lie in \[0, 2\), got 7"):
        core.transform_warp_cpu(src, np.array([0, 7]), mats, None, None, None, out, 0.5, 0)
    with pytest.raises(ValueError, match=r"out must have shape \[1, 2, 1, 4, 4\], got \[1, 2, 1, 4, 3\]"):
        core.transform_warp_cpu(src, np.array([0, 1]), mats, None, None, None, out[..., :3].copy(), 0.5, 0)
    with pytest.raises(ValueError, match=r"bits must be in \[0, 8\], got 9"):
        core.transform_point_cpu(src, np.array([9, 0], np.int32), np.zeros_like(src), 2)


def test_docstring_examples():
    result = doctest.testmod(T, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0 and result.failed == 0
