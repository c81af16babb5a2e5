"""Issue 13, kernel side: one image validator, one seed contract, and the smaller gaps the probe calls found.

Every case asserts the error class and the message (function name, argument, expectation, offending value).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

import pyrepair
from pyrepair import augment, corrupt, models, random, transform, wavelet
from pyrepair._checks import SEED_LIMIT, check_images, check_seed, torch_seed
from pyrepair.errors import (
    DeviceError,
    DTypeError,
    PyrepairError,
    PyrepairWarning,
    ShapeError,
    UnknownNameError,
    ValueRangeError,
)
from pyrepair.testing import make_images

NAN = float("nan")


# ---------------------------------------------------------------------------------------------------------------
# check_images
# ---------------------------------------------------------------------------------------------------------------


def test_check_images_accepts_and_reports_sizes():
    found = check_images(torch.rand(2, 3, 8, 8), "f")
    assert found.sizes == {"B": 2, "C": 3, "H": 8, "W": 8}
    assert found.in_range
    assert not check_images(torch.full((1, 1, 2, 2), 1.00005), "f").in_range  # within tol: accepted, to clip
    assert not check_images(torch.full((1, 1, 2, 2), 7.0), "f", check_range=False).in_range  # opt-out: no pass
    assert check_images(torch.empty(0, 3, 8, 8), "f").in_range


@pytest.mark.parametrize(
    "x, exc, match",
    [
        (np.zeros((1, 3, 4, 4)), DTypeError, r"f: images must be a torch.Tensor, got ndarray"),
        (torch.zeros(1, 3, 4, 4, dtype=torch.uint8), DTypeError, r"f: images must be a floating-point .* got "
                                                                  r"torch.uint8 \(convert with x.float\(\) / 255\)"),
        (torch.zeros(3, 4, 4), ShapeError,
         r"f: images must have shape \[B, C, H, W\] \(4 dimensions\), got \[3, 4, 4\]"),
        (torch.zeros(1, 2, 4, 4), ShapeError, r"f: images must have 1 or 3 channels .* got shape \[1, 2, 4, 4\]"),
        (torch.zeros(2, 8, 8, 3), ShapeError, r"looks channels-last \[N, H, W, C\]; pass x.permute\(0, 3, 1, 2\)\), "
                                              r"got shape \[2, 8, 8, 3\]"),
        (torch.zeros(1, 3, 4, 4, device="meta"), DeviceError, r"f: images is on the meta device"),
        (torch.full((1, 3, 4, 4), NAN), ValueRangeError, r"f: images must be finite, got 48 NaN/inf value\(s\)"),
        (torch.full((1, 3, 4, 4), float("inf")), ValueRangeError, r"f: images must be finite"),
        (torch.full((1, 3, 4, 4), 5.0), ValueRangeError, r"f: images must hold values in \[0, 1\], got values in "
                                                          r"\[5, 5\]"),
        (torch.full((1, 3, 4, 4), -0.01), ValueRangeError, r"values in \[-0.01, -0.01\]"),
    ],
)
def test_check_images_rejects(x, exc, match):
    with pytest.raises(exc, match=match):
        check_images(x, "f")
    assert issubclass(exc, PyrepairError)


def test_check_images_channels_last_warns_when_any_c_allowed():
    with pytest.warns(PyrepairWarning, match=r"f: images of shape \[2, 8, 8, 3\] looks channels-last"):
        check_images(torch.zeros(2, 8, 8, 3), "f", channels=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_images(torch.zeros(2, 8, 8, 8), "f", channels=None)  # last dim 8: no hint
        check_images(torch.zeros(2, 3, 8, 3), "f", channels=None)  # C = 3: no hint


def test_check_images_reports_the_given_shape():
    with pytest.raises(ShapeError, match=r"got shape \[32, 32, 3\]") as info:
        check_images(torch.zeros(1, 32, 32, 3), "f", given_shape=(32, 32, 3))
    assert info.value.actual_shape == (32, 32, 3)


# ---------------------------------------------------------------------------------------------------------------
# The validator at every kernel-side entry point
# ---------------------------------------------------------------------------------------------------------------

OUT_OF_RANGE = torch.full((1, 3, 4, 4), 5.0)


@pytest.mark.parametrize("op", sorted(transform.OPS))
def test_transform_ops_reject_out_of_range_and_nan(op):
    info = transform.OPS[op]
    args = () if info.param_kind == "none" else (1,)
    fn = f"pyrepair.transform.{op}"
    with pytest.raises(ValueRangeError, match=rf"{fn}: images must hold values in \[0, 1\], got values in \[5, 5\]"):
        info.fn(OUT_OF_RANGE, *args)
    with pytest.raises(ValueRangeError, match=rf"{fn}: images must be finite"):
        info.fn(torch.full((1, 3, 4, 4), NAN), *args)
    with pytest.raises(DeviceError, match=rf"{fn}: images is on the meta device"):
        info.fn(torch.zeros(1, 3, 4, 4, device="meta"), *args)
    info.fn(OUT_OF_RANGE, *args, check_range=False)  # the opt-out


def test_transform_autocontrast_out_of_range_is_an_error_not_all_ones():
    with pytest.raises(ValueRangeError, match=r"pyrepair.transform.autocontrast: images must hold values in \[0, 1\]"):
        transform.autocontrast(torch.full((1, 3, 4, 4), 5.0))


def test_transform_affine_and_population_validate_values():
    p = transform.identity_params(1)
    with pytest.raises(ValueRangeError, match=r"pyrepair.transform.affine_photometric: images must hold values"):
        transform.affine_photometric(OUT_OF_RANGE, p)
    with pytest.raises(ValueRangeError, match=r"pyrepair.transform.population: images must be finite"):
        transform.population(torch.full((1, 3, 4, 4), NAN), p[None])


def test_transform_channels_last_warning_points_at_the_caller():
    with pytest.warns(PyrepairWarning, match=r"pyrepair.transform.rotate: images of shape \[2, 8, 8, 3\] looks "
                                             r"channels-last") as rec:
        transform.rotate(torch.zeros(2, 8, 8, 3), 10)
    assert rec[0].filename == __file__


def test_transform_identity_params_device_string():
    with pytest.raises(DeviceError, match=r"pyrepair.transform.identity_params: device must be a device such as "
                                          r"'cpu' or 'cuda:0', got 'gpu'"):
        transform.identity_params(2, device="gpu")


LABELS = torch.tensor([0, 1])


@pytest.mark.parametrize(
    "call, fn",
    [
        (lambda x: augment.MixUp(alpha=1.0)(x, LABELS, generator=torch.Generator().manual_seed(0)),
         "pyrepair.augment.MixUp"),
        (lambda x: augment.CutMix(alpha=1.0, prob=1.0)(x, LABELS, generator=torch.Generator().manual_seed(0)),
         "pyrepair.augment.CutMix"),
        (lambda x: augment.Cutout(size=2)(x, generator=torch.Generator().manual_seed(0)), "pyrepair.augment.Cutout"),
        (lambda x: augment.AugMix()(x, generator=torch.Generator().manual_seed(0)), "pyrepair.augment.AugMix"),
        (lambda x: augment.mixup(x, LABELS, 0.5, torch.tensor([1, 0])), "pyrepair.augment.mixup"),
        (lambda x: augment.cutmix(x, LABELS, torch.tensor([0, 0, 2, 2]), torch.tensor([1, 0])),
         "pyrepair.augment.cutmix"),
        (lambda x: augment.cutout(x, torch.tensor([[1, 1], [2, 2]]), 2), "pyrepair.augment.cutout"),
    ],
)
def test_augment_rejects_nan_and_out_of_range(call, fn):
    with pytest.raises(ValueRangeError, match=rf"{fn}: images must be finite, got 96 NaN/inf value\(s\)"):
        call(torch.full((2, 3, 4, 4), NAN))
    with pytest.raises(ValueRangeError, match=rf"{fn}: images must hold values in \[0, 1\]"):
        call(torch.full((2, 3, 4, 4), 2.0))


def test_augment_check_range_opt_out():
    x = torch.full((2, 3, 4, 4), 2.0)
    out = augment.Cutout(size=2)(x, generator=torch.Generator().manual_seed(0), check_range=False)
    assert out.shape == x.shape
    mixed, _ = augment.MixUp(alpha=1.0)(x, LABELS, generator=torch.Generator().manual_seed(0), check_range=False)
    assert torch.allclose(mixed, x)


def test_augmix_apply_rejects_weights_not_summing_to_one():
    aug = augment.AugMix(width=2)
    x = make_images(2, 3, 8, 8)
    params = aug.sample(2, (8, 8), generator=torch.Generator().manual_seed(0))
    bad = dataclasses.replace(params, weights=params.weights * 2)
    with pytest.raises(ValueError, match=r"pyrepair.augment.augmix_apply: params.weights must be non-negative and "
                                         r"sum to 1 per image \(within 1e-4\), got .* \|sum - 1\| = 1"):
        augment.augmix_apply(x, bad)
    neg = dataclasses.replace(params, weights=torch.tensor([[1.5, -0.5], [0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"params.weights must be non-negative .* got minimum -0.5"):
        augment.augmix_apply(x, neg)
    with pytest.raises(ValueError, match=r"pyrepair.augment.AugMix.apply: params.w0 must lie in \[0, 1\]"):
        aug.apply(x, dataclasses.replace(params, w0=torch.tensor([0.5, 1.5])))
    augment.augmix_apply(x, params)  # the sampled weights pass


def test_augment_sample_device_string():
    with pytest.raises(DeviceError, match=r"pyrepair.augment.MixUp.sample: device must be a device such as 'cpu'"):
        augment.MixUp(alpha=1.0).sample(2, device="gpu")


def test_corrupt_uint8_error_reports_the_users_shape():
    with pytest.raises(ShapeError, match=r"pyrepair.corrupt.apply: images as a uint8 numpy array \[N, H, W\] \(grey\) "
                                         r"must be at least 8 px in H and W, got shape \[32, 32, 3\] \(one "
                                         r"channels-last image\? pass images\[None\], shape \[1, 32, 32, 3\]\)"):
        corrupt.apply(np.zeros((32, 32, 3), np.uint8), "fog", 3)
    with pytest.raises(ShapeError, match=r"uint8 numpy array \[N, H, W, C\] must have 1 or 3 channels in C, got "
                                         r"shape \[2, 32, 32, 4\]"):
        corrupt.apply(np.zeros((2, 32, 32, 4), np.uint8), "fog", 3)


def test_corrupt_float_errors_report_the_users_shape():
    with pytest.raises(ShapeError, match=r"looks channels-last \[H, W, C\]; pass x.permute\(2, 0, 1\)\), got shape "
                                         r"\[32, 32, 3\]"):
        corrupt.apply(torch.zeros(32, 32, 3), "fog", 3)
    with pytest.raises(ShapeError, match=r"pyrepair.corrupt.apply: images must be at least 8 px in H, got shape "
                                         r"\[3, 4, 32\]"):
        corrupt.apply(torch.zeros(3, 4, 32), "fog", 3)
    with pytest.raises(ValueRangeError, match=r"pyrepair.corrupt.apply: images must be finite"):
        corrupt.apply(torch.full((1, 3, 8, 8), NAN), "fog", 3)
    with pytest.raises(DeviceError, match=r"pyrepair.corrupt.apply: images is on the meta device"):
        corrupt.apply(torch.zeros(1, 3, 8, 8, device="meta"), "fog", 3)


def test_corrupt_modules_validate_backend_at_construction():
    with pytest.raises(UnknownNameError, match=r"pyrepair.corrupt.Corrupt: unknown backend 'gpu'; valid: auto, cpu, "
                                               r"cuda, reference"):
        corrupt.Corrupt("fog", 3, backend="gpu")
    with pytest.raises(UnknownNameError, match=r"pyrepair.corrupt.RandomCorruption: unknown backend 'bad'"):
        corrupt.RandomCorruption(backend="bad")


def test_style_transfer_all_modes_reject_out_of_range():
    x = torch.full((2, 3, 16, 16), 3.0)
    s = make_images(2, 3, 16, 16)
    for mode in ("pixel", "spectral"):
        with pytest.raises(ValueRangeError, match=r"pyrepair.wavelet.style_transfer: content must hold values in "
                                                  r"\[0, 1\], got values in \[3, 3\]"):
            wavelet.style_transfer(x, s, mode=mode)
    with pytest.raises(ValueRangeError, match=r"pyrepair.wavelet.style_transfer: style must be finite"):
        wavelet.style_transfer(s, torch.full((2, 3, 16, 16), NAN))
    stylizer = pytest.importorskip("pyrepair.wavelet.stylizer")
    model = stylizer.WCT2()
    with pytest.raises(ValueRangeError, match=r"pyrepair.wavelet.wct2_transfer: content must hold values in \[0, 1\]"):
        wavelet.style_transfer(x, s, mode="wct2", model=model)
    out = wavelet.style_transfer(s, s, mode="pixel", check_range=False)
    assert out.shape == s.shape


def test_wct_eps_zero_rank_deficient_is_finite():
    torch.manual_seed(0)
    c = torch.randn(2, 4, 64)
    c[:, 1] = 0.5  # constant channel
    c[:, 2] = c[:, 0]  # duplicated channel: covariance of rank 2
    s = torch.randn(2, 4, 64)
    for rank_tol in (1e-5, 0.0):
        out = wavelet.wct(c, s, eps=0.0, rank_tol=rank_tol)
        assert torch.isfinite(out).all()
    out = wavelet.wct(s, s, eps=0.0, rank_tol=0.0)
    assert torch.isfinite(out).all()


# ---------------------------------------------------------------------------------------------------------------
# The seed contract
# ---------------------------------------------------------------------------------------------------------------


def test_check_seed_and_torch_seed():
    assert check_seed(0, "f") == 0
    assert check_seed(np.uint64(2**64 - 1), "f") == 2**64 - 1
    assert SEED_LIMIT == 2**64
    for s in (0, 2**63 - 1, 2**63, 2**64 - 1):
        assert torch_seed(s) == s
        torch.Generator().manual_seed(torch_seed(s))
    with pytest.raises(ValueError, match=r"f: seed must be in \[0, 18446744073709551615\], got 18446744073709551616"):
        check_seed(2**64, "f")
    with pytest.raises(ValueError, match=r"f: seed must be in \[0, 18446744073709551615\], got -1"):
        check_seed(-1, "f")
    with pytest.raises(TypeError, match=r"f: seed must be an int, got bool True"):
        check_seed(True, "f")
    with pytest.raises(TypeError, match=r"f: key must be an int, got float 1.0"):
        check_seed(1.0, "f", "key")


SEEDED = [
    ("pyrepair.random.uniform", lambda seed: random.uniform(3, seed)),
    ("pyrepair.random.normal", lambda seed: random.normal(3, seed)),
    ("pyrepair.random.bits", lambda seed: random.bits(3, seed)),
    ("pyrepair.corrupt.apply", lambda seed: corrupt.apply(make_images(1, 3, 8, 8), "gaussian_noise", 1, seed=seed)),
    ("pyrepair.corrupt.Corrupt", lambda seed: corrupt.Corrupt("gaussian_noise", 1, seed=seed)),
    ("pyrepair.wavelet.style_transfer", lambda seed: wavelet.style_transfer(
        make_images(2, 3, 16, 16), make_images(3, 3, 16, 16, seed=1), seed=seed)),
    ("pyrepair.models.create", lambda seed: models.create("mlp", seed=seed)),
    ("pyrepair.testing.make_images", lambda seed: make_images(1, 3, 8, 8, seed=seed)),
]


@pytest.mark.parametrize("fn, call", SEEDED, ids=[s[0] for s in SEEDED])
def test_seed_contract_everywhere(fn, call):
    call(2**64 - 1)  # the largest seed works (models.create raised "Overflow when unpacking long long")
    call(2**63)
    with pytest.raises(ValueError,
                       match=rf"{fn}: seed must be in \[0, 18446744073709551615\], got 18446744073709551616"):
        call(2**64)
    with pytest.raises(ValueError, match=rf"{fn}: seed must be in \[0, 18446744073709551615\], got -1"):
        call(-1)
    with pytest.raises(TypeError, match=rf"{fn}: seed must be an int, got bool"):
        call(True)


def test_seed_contract_wct2_and_models_are_deterministic():
    a = models.create("mlp", seed=2**64 - 1)
    b = models.create("mlp", seed=2**64 - 1)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    stylizer = pytest.importorskip("pyrepair.wavelet.stylizer")
    model = stylizer.WCT2()
    x = make_images(2, 3, 16, 16)
    s = make_images(3, 3, 16, 16, seed=1)
    out = wavelet.style_transfer(x, s, mode="wct2", model=model, seed=2**64 - 1)
    assert out.shape == x.shape
    with pytest.raises(ValueError, match=r"pyrepair.wavelet.style_transfer: seed must be in \[0, "):
        wavelet.style_transfer(x, s, mode="wct2", model=model, seed=2**64)


def test_loop_seed_functions_follow_the_contract():
    from pyrepair._loop import seed_for, seed_globals

    assert 0 <= seed_for(2**64 - 1, 3, 1) < 2**63
    with pytest.raises(ValueError, match=r"pyrepair.train.fit: seed must be in \[0, 18446744073709551615\]"):
        seed_for(2**64, 0, 0, fn="pyrepair.train.fit")
    state = torch.random.get_rng_state()
    try:
        seed_globals(2**64 - 1, torch.device("cpu"))
        assert torch.initial_seed() == 2**64 - 1
    finally:
        torch.random.set_rng_state(state)


# ---------------------------------------------------------------------------------------------------------------
# pyrepair.random keeps its promises
# ---------------------------------------------------------------------------------------------------------------


def test_uniform_float64_has_float64_resolution():
    u = random.uniform(1000, low=1e8, high=1e8 + 100, dtype=torch.float64)
    assert u.dtype == torch.float64
    assert len(set(u.tolist())) == 1000  # float32 draws gave 13 distinct values
    assert bool(((u > 1e8) & (u < 1e8 + 100)).all())


def test_uniform_interval_stays_open_after_rounding():
    u = random.uniform(1000, low=1.0, high=1.0 + 1e-7, dtype=torch.float64)
    assert bool(((u > 1.0) & (u < 1.0 + 1e-7)).all())
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        v = random.uniform(20000, dtype=dtype)
        assert bool(((v > 0) & (v < 1)).all()), dtype
        w = random.uniform(20000, low=-3.0, high=5.0, dtype=dtype)
        assert bool(((w > -3) & (w < 5)).all()), dtype
    with pytest.raises(ValueError, match=r"pyrepair.random.uniform: no torch.float32 value lies strictly between "
                                         r"low=1.0 and high=1.0000001"):
        random.uniform(3, low=1.0, high=1.0 + 1e-7)


def test_uniform_float32_unchanged_and_float64_indexable():
    u = random.uniform(10, 7)
    assert torch.equal(u, random.reference.uniform(10, 7))
    d = random.uniform(10, 7, dtype=torch.float64)
    assert torch.equal(d[4:], random.uniform(6, 7, offset=4, dtype=torch.float64))
    assert bool(((d > 0) & (d < 1)).all())
    n = random.normal(10, 7, dtype=torch.float64)
    assert torch.equal(n[3:], random.normal(7, 7, offset=3, dtype=torch.float64))
    assert n.dtype == torch.float64 and torch.isfinite(n).all()


def test_random_huge_shape_and_device_strings():
    with pytest.raises(ShapeError, match=r"pyrepair.random.uniform: shape \(1099511627776, 1099511627776\) has "
                                         r"\d+ elements, more than a tensor can hold"):
        random.uniform((2**40, 2**40))
    with pytest.raises(DeviceError, match=r"pyrepair.random.uniform: device must be a device such as 'cpu' or "
                                          r"'cuda:0', got 'gpu'"):
        random.uniform(3, device="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match=r"pyrepair.random.normal: device=0 is a CUDA device but CUDA is not "
                                              r"available"):
            random.normal(3, device=0)


def test_set_num_threads_huge():
    with pytest.raises(ValueError, match=r"pyrepair.set_num_threads: n must be at most 4096 .* got 2147483648"):
        pyrepair.set_num_threads(2**31)


def test_make_images_device_string():
    with pytest.raises(DeviceError, match=r"pyrepair.testing.make_images: device must be a device such as 'cpu' or "
                                          r"'cuda:0', got 'gpu'"):
        make_images(1, 3, 8, 8, device="gpu")


def test_check_image_is_the_structural_part_of_check_images():
    from pyrepair._checks import check_image

    assert check_image(torch.full((1, 3, 4, 4), 5.0), "x", "f") == {"B": 1, "C": 3, "H": 4, "W": 4}  # no value pass
    with pytest.raises(DeviceError, match=r"f: x is on the meta device"):
        check_image(torch.zeros(1, 3, 4, 4, device="meta"), "x", "f")
    with pytest.raises(ShapeError, match=r"f: x must have 1 or 3 channels \(dimension C of \[N,C,H,W\]\) \(it looks "
                                         r"channels-last"):
        check_image(torch.zeros(2, 8, 8, 3), "x", "f", spec="N,C,H,W")
    with pytest.raises(ShapeError, match=r"f: x must have shape \[N, 3, H, W\], got shape \[1, 1, 4, 4\]"):
        check_image(torch.zeros(1, 1, 4, 4), "x", "f", spec="N,3,H,W", channels=None)


def test_meta_parameters_and_labels_get_a_device_error():
    with pytest.raises(DeviceError, match=r"pyrepair.transform.rotate: degrees is on the meta device"):
        transform.rotate(make_images(1, 3, 8, 8), torch.tensor([1.0], device="meta"))
    with pytest.raises(DeviceError, match=r"pyrepair.augment.mixup: labels is on the meta device"):
        augment.mixup(make_images(2, 3, 8, 8), torch.tensor([0, 1], device="meta"), 0.5, torch.tensor([1, 0]))


def test_argument_errors_are_pyrepair_errors_and_builtins():
    from pyrepair.errors import ArgumentError, ArgumentTypeError

    with pytest.raises(ValueRangeError, match=r"pyrepair.random.uniform: seed must be in") as info:
        random.uniform(3, seed=-1)
    assert isinstance(info.value, (PyrepairError, ValueError))
    with pytest.raises(ArgumentTypeError, match=r"pyrepair.random.uniform: seed must be an int, got float") as tinfo:
        random.uniform(3, seed=1.5)
    assert isinstance(tinfo.value, TypeError)
    with pytest.raises(ArgumentError, match=r"pyrepair.random.uniform: low and high must be finite with low < high"):
        random.uniform(3, low=2.0, high=1.0)
    with pytest.raises(ArgumentError, match=r"pyrepair.corrupt.apply: severity must be in \[1, 5\], got 6"):
        corrupt.apply(make_images(1, 3, 8, 8), "fog", 6)
    with pytest.raises(ArgumentError, match=r"pyrepair.set_num_threads: n must be in \[1, 2\^63 - 1\], got 0"):
        pyrepair.set_num_threads(0)


# ---------------------------------------------------------------------------------------------------------------
# generated-suite gaps: errors name the public callable; constructors check the back-end; index limits
# ---------------------------------------------------------------------------------------------------------------

_CUDA_USABLE = pyrepair.cuda_available() and torch.cuda.is_available()


@pytest.mark.skipif(_CUDA_USABLE, reason="backend='cuda' is valid where CUDA is usable")
@pytest.mark.parametrize(("ctor", "fn"), [
    (lambda: corrupt.Corrupt("fog", 3, backend="cuda"), "pyrepair.corrupt.Corrupt"),
    (lambda: corrupt.RandomCorruption(["fog"], backend="cuda"), "pyrepair.corrupt.RandomCorruption"),
    (lambda: augment.AugMix(backend="cuda"), "pyrepair.augment.AugMix"),
])
def test_constructors_reject_an_unusable_backend_at_construction(ctor, fn):
    with pytest.raises(PyrepairError, match=rf"{fn}: backend='cuda'"):
        ctor()


def test_constructors_reject_an_unknown_backend():
    with pytest.raises(UnknownNameError, match=r"pyrepair.corrupt.Corrupt: unknown backend 'gpu'; valid: auto"):
        corrupt.Corrupt("fog", 3, backend="gpu")


@pytest.mark.skipif(_CUDA_USABLE, reason="needs a machine without CUDA")
def test_backend_device_mismatch_names_the_public_function():
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(DeviceError, match=r"pyrepair.corrupt.apply: backend='cuda' cannot process data on device cpu"):
        corrupt.apply(x, "fog", 3, backend="cuda")
    params = augment.AugMix(severity=1, width=2, depth=1).sample(2, 16, generator=torch.Generator().manual_seed(0))
    with pytest.raises(DeviceError, match=r"pyrepair.augment.augmix_apply: backend='cuda' cannot process data"):
        augment.augmix_apply(x, params, backend="cuda")


def test_corruption_modules_name_their_forward():
    with pytest.raises(ValueRangeError, match=r"pyrepair.corrupt.Corrupt.forward: images must hold values in \[0, 1\]"):
        corrupt.Corrupt("fog", 3)(torch.full((1, 3, 16, 16), 5.0))
    aug = corrupt.RandomCorruption(["fog"], generator=0)
    with pytest.raises(ShapeError, match=r"pyrepair.corrupt.RandomCorruption.forward: x must have shape \[B, C, H, W\] "
                                         r"\(4 dimensions\), got \[\]"):
        aug(torch.tensor(0.5))
    with pytest.raises(DTypeError, match=r"pyrepair.corrupt.RandomCorruption.forward: x must be a torch.Tensor, "
                                         r"got list"):
        aug([[0.5]])
    with pytest.raises(TypeError, match=r"pyrepair.corrupt.RandomCorruption.apply: choice must be a Choice .*got int"):
        aug.apply(torch.rand(2, 3, 16, 16), 3)


def test_index_offset_must_keep_image_streams_distinct():
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match=r"pyrepair.corrupt.fog: index_offset must be in \[0, 2\^56 - 1\], "
                                         r"got 72057594037927936"):
        corrupt.fog(x, 3, index_offset=2**56)
    with pytest.raises(ValueError, match=r"pyrepair.corrupt.apply: index_offset \+ batch size must be at most 2\^56"):
        corrupt.apply(x, "fog", 3, index_offset=2**56 - 1)
    corrupt.apply(x, "fog", 3, index_offset=2**56 - 2)  # the last two indices


def test_make_dataset_checks_path_and_images_up_front(tmp_path):
    x, y = torch.rand(2, 3, 16, 16), torch.tensor([0, 1])
    with pytest.raises(pyrepair.PathIsDirectoryError, match=r"pyrepair.corrupt.make_dataset: path must be a file path, "
                                                             r"got a directory"):
        corrupt.make_dataset(x, y, tmp_path, names=["fog"], severities=[1])
    with pytest.raises(FileNotFoundError, match=r"pyrepair.corrupt.make_dataset: the folder of path does not exist"):
        corrupt.make_dataset(x, y, tmp_path / "no" / "f.npz", names=["fog"], severities=[1])
    with pytest.raises(TypeError, match=r"pyrepair.corrupt.make_dataset: path must be a str or os.PathLike, got int 3"):
        corrupt.make_dataset(x, y, 3, names=["fog"], severities=[1])
    with pytest.raises(ValueRangeError, match=r"pyrepair.corrupt.make_dataset: images must hold values in \[0, 1\]"):
        corrupt.make_dataset(x * 4, y, tmp_path / "c", names=["fog"], severities=[1])


def test_make_images_checks_sizes_and_dtype():
    from pyrepair.errors import ArgumentError, ArgumentTypeError

    with pytest.raises(ArgumentError, match=r"pyrepair.testing.make_images: h must be in \[1, 2\^63 - 1\], got 0"):
        make_images(2, 3, 0, 8)
    with pytest.raises(ArgumentTypeError, match=r"pyrepair.testing.make_images: c must be an int, got float 1.5"):
        make_images(2, 1.5, 8, 8)
    with pytest.raises(ArgumentError, match=r"pyrepair.testing.make_images: b \* c \* h \* w must be at most "
                                            r"2\^63 - 1"):
        make_images(2**40, 2**40, 2**40, 8)
    with pytest.raises(ArgumentTypeError, match=r"pyrepair.testing.make_images: dtype must be a floating-point "
                                                r"torch.dtype, got torch.int64"):
        make_images(2, 3, 8, 8, dtype=torch.int64)
    assert make_images(0, 3, 8, 8).shape == (0, 3, 8, 8)


def test_assert_close_checks_its_arguments():
    from pyrepair.errors import ArgumentError, ArgumentTypeError
    from pyrepair.testing import assert_close

    x = torch.rand(2, 3)
    with pytest.raises(ArgumentTypeError, match=r"pyrepair.testing.assert_close: actual must be a torch.Tensor, "
                                                r"got list"):
        assert_close([1.0], x)
    with pytest.raises(DeviceError, match=r"pyrepair.testing.assert_close: expected is on the meta device"):
        assert_close(x, torch.empty(2, 3, device="meta"))
    with pytest.raises(ArgumentError, match=r"pyrepair.testing.assert_close: rtol must be >= 0 and finite, got nan"):
        assert_close(x, x, rtol=NAN)
    with pytest.raises(AssertionError):
        assert_close(x, x + 1)


def test_wavelet_level_helpers_check_sizes():
    from pyrepair.errors import ArgumentError, ArgumentTypeError

    assert wavelet.max_levels(16, 16) == 4 and wavelet.auto_levels(32, 32) == 3
    with pytest.raises(ArgumentError, match=r"pyrepair.wavelet.max_levels: h must be in \[1, 2\^63 - 1\], got 0"):
        wavelet.max_levels(0, 16)
    with pytest.raises(ArgumentTypeError, match=r"pyrepair.wavelet.auto_levels: w must be an int, got float 1.5"):
        wavelet.auto_levels(16, 1.5)


def test_wct2_transfer_names_itself_for_alpha_eps_and_style():
    from pyrepair.errors import ArgumentError, ArgumentTypeError
    from pyrepair.wavelet.stylizer import WCT2

    torch.manual_seed(0)
    model, x = WCT2().eval(), torch.rand(1, 3, 16, 16)
    with pytest.raises(ArgumentError, match=r"pyrepair.wavelet.wct2_transfer: alpha must be in \[0.0, 1.0\], got 2"):
        wavelet.wct2_transfer(x, x, model=model, alpha=2)
    with pytest.raises(ArgumentError, match=r"pyrepair.wavelet.wct2_transfer: eps must be > 0 and finite, got -1"):
        wavelet.wct2_transfer(x, x, model=model, eps=-1)
    with pytest.raises(ArgumentTypeError, match=r"pyrepair.wavelet.wct2_transfer: style must be a torch.Tensor or "
                                                r"the WCT2StyleStats .*got list"):
        wavelet.wct2_transfer(x, [[0.5]], model=model)
    with pytest.raises(ArgumentError, match=r"pyrepair.wavelet.style_transfer: eps_rel must be > 0 and finite, "
                                            r"got inf"):
        wavelet.style_transfer(x, x, eps_rel=float("inf"))


def test_mixing_rejects_negative_labels_and_meta_index_tensors():
    from pyrepair.errors import ArgumentError

    x, y, perm = torch.rand(2, 3, 8, 8), torch.tensor([-1, 1]), torch.tensor([1, 0])
    with pytest.raises(ArgumentError, match=r"pyrepair.augment.mixup: labels must be >= 0 \(class ids\), "
                                            r"got values in \[-1, 1\]"):
        augment.mixup(x, y, 0.5, perm)
    with pytest.raises(ArgumentError, match=r"pyrepair.augment.cutmix: labels must be >= 0"):
        augment.CutMix(prob=1.0)(x, y, generator=torch.Generator().manual_seed(0))
    with pytest.raises(DeviceError, match=r"pyrepair.augment.cutmix: perm is on the meta device"):
        augment.cutmix(x, y.abs(), torch.tensor([0, 0, 4, 4]), torch.empty(2, dtype=torch.long, device="meta"))
    with pytest.raises(DeviceError, match=r"pyrepair.augment.cutout: centers is on the meta device"):
        augment.cutout(x, torch.empty(2, 2, dtype=torch.long, device="meta"), 4)


def test_normalize_checks_its_values_and_input():
    from pyrepair.errors import ArgumentTypeError

    with pytest.raises(ArgumentTypeError, match=r"pyrepair.models.Normalize: mean must be a real number or a sequence "
                                                r"of real numbers, got '1.0'"):
        models.Normalize("1.0", 0.5)
    with pytest.raises(ArgumentTypeError, match=r"pyrepair.models.Normalize: std must be a real number .*\(1\+1j\)"):
        models.Normalize(0.5, 1 + 1j)
    norm = models.Normalize([0.5] * 3, [0.2] * 3)
    with pytest.raises(ShapeError, match=r"pyrepair.models.Normalize.forward: x must have 3 channels .*channels-last"):
        norm(torch.rand(2, 16, 16, 3))
    with pytest.raises(ShapeError, match=r"pyrepair.models.Normalize.forward: x must have shape \[B, C, H, W\]"):
        norm(torch.rand(3, 16, 16))
    with pytest.raises(DTypeError, match=r"pyrepair.models.Normalize.forward: x must be a floating-point tensor"):
        norm(torch.zeros(2, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(DeviceError, match=r"pyrepair.models.Normalize.forward: x is on the meta device"):
        norm(torch.empty(2, 3, 4, 4, device="meta"))


def test_models_create_and_from_config_name_themselves():
    from pyrepair.errors import ArgumentError, ArgumentTypeError

    with pytest.raises(ArgumentError, match=r"pyrepair.models.create: input_size must be at most 65536 px per side"):
        models.create("mlp", input_size=2**63)
    cfg = {**models.default_config("mlp"), "zz_unknown_key": 1}
    with pytest.raises(ArgumentTypeError, match=r"pyrepair.models.from_config: pyrepair.models.create: unknown "
                                                r"keyword argument\(s\) 'zz_unknown_key'"):
        models.from_config(cfg)


def test_identity_params_checks_n_and_dtype():
    from pyrepair.errors import ArgumentError, ArgumentTypeError

    with pytest.raises(ArgumentError, match=r"pyrepair.transform.identity_params: n must be in \[0, 2\^63 - 1\]"):
        transform.identity_params(2**63)
    with pytest.raises(ArgumentTypeError, match=r"pyrepair.transform.identity_params: dtype must be a floating-point "
                                                r"torch.dtype, got torch.int64"):
        transform.identity_params(2, dtype=torch.int64)
