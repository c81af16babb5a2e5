"""Blur corruptions (csrc/corrupt/blur.h, pyrepair/corrupt/_blur.py): compiled kernels against the torch reference.

Exactness on CPU: gaussian, defocus, motion, zoom and glass blur equal the reference bit for bit (same tap order,
no FMA); the motion-blur offsets and the glass-blur shuffle draws are the same integers. Independent oracles
(conv2d, F.interpolate) are compared to 1e-6 / 1e-5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pyrepair import corrupt
from pyrepair.corrupt import _blur as B
from pyrepair.corrupt import _kernels as K
from pyrepair.corrupt import severity as S
from pyrepair.testing import num_threads

BLURS = tuple(n for n in B.BLUR_OPS if n in K.IMPLEMENTED)
CONSTANTS = {
    "gaussian_blur": [{"sigma": 0.4}, {"sigma": 1.0}, {"sigma": 3.0}],
    "defocus_blur": [
        {"radius": 0.3, "alias_sigma": 0.4},
        {"radius": 1.5, "alias_sigma": 0.1},
        {"radius": 10.0, "alias_sigma": 0.5},
    ],
    "motion_blur": [{"radius": 6.0, "sigma": 1.0}, {"radius": 15.0, "sigma": 8.0}],
    "zoom_blur": [
        {"start": 1.0, "stop": 1.06, "step": 0.01, "count": 7.0},
        {"start": 1.0, "stop": 1.30, "step": 0.03, "count": 11.0},
    ],
    "glass_blur": [
        {"sigma": 0.05, "delta": 1.0, "iterations": 1.0},
        {"sigma": 0.4, "delta": 1.0, "iterations": 2.0},
        {"sigma": 1.1, "delta": 3.0, "iterations": 2.0},
    ],
}
SHAPES = [(1, 3, 8, 8), (2, 3, 9, 7), (3, 1, 5, 11), (0, 3, 8, 8), (2, 1, 1, 1), (1, 3, 32, 32)]


def _images(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g)


def _run(
    name: str,
    x: torch.Tensor,
    c: dict[str, float],
    backend: str = "cpu",
    seed: int = 5,
    severity: int = 3,
    index_offset: int = 0,
) -> torch.Tensor:
    return K.run(name, x, c, seed=seed, severity=severity, index_offset=index_offset, backend=backend)


def _cases() -> list[tuple[str, dict[str, float]]]:
    return [(n, c) for n in BLURS for c in CONSTANTS[n]]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(("name", "const"), _cases())
def test_cpu_matches_reference(name: str, const: dict[str, float], shape: tuple[int, ...]):
    x = _images(shape)
    out = _run(name, x, const)
    ref = _run(name, x, const, backend="reference")
    assert out.shape == x.shape and out.dtype == torch.float32
    assert torch.equal(out, ref), f"{name}: max diff {(out - ref).abs().max().item() if out.numel() else 0}"
    assert torch.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()


@pytest.mark.parametrize("name", BLURS)
def test_input_untouched_and_new_tensor(name: str):
    x = _images((2, 3, 8, 8))
    keep = x.clone()
    out = _run(name, x, CONSTANTS[name][0])
    assert torch.equal(x, keep) and out.data_ptr() != x.data_ptr()


@pytest.mark.parametrize("name", BLURS)
def test_thread_count_independence(name: str):
    x = _images((4, 3, 33, 31))
    with num_threads(1):
        one = _run(name, x, CONSTANTS[name][-1])
    with num_threads(2):
        two = _run(name, x, CONSTANTS[name][-1])
    assert torch.equal(one, two)


@pytest.mark.parametrize("sigma", [0.25, 0.7, 2.0])
def test_gaussian_blur_equals_direct_conv(sigma: float):
    x = _images((2, 3, 12, 9), seed=1)
    r = int(4 * sigma + 0.5)
    k = torch.arange(-r, r + 1, dtype=torch.float64)
    t = torch.exp(-k * k / (2 * sigma * sigma))
    t = (t / t.sum()).float()
    xp = F.pad(x.reshape(-1, 1, 12, 9), (r, r, r, r), mode="replicate")
    want = F.conv2d(xp, (t[:, None] * t[None, :])[None, None]).reshape(x.shape).clamp(0, 1)
    torch.testing.assert_close(_run("gaussian_blur", x, {"sigma": sigma}), want, atol=1e-6, rtol=0.0)


def test_gaussian_blur_small_sigma_is_identity():
    x = _images((1, 3, 7, 7))
    assert B.gaussian_taps(0.05).tolist() == [1.0]
    assert torch.equal(_run("gaussian_blur", x, {"sigma": 0.05}), x)


@pytest.mark.parametrize(("radius", "alias"), [(0.3, 0.4), (1.0, 0.2), (1.5, 0.1), (3.0, 0.1), (10.0, 0.5)])
def test_defocus_kernel(radius: float, alias: float):
    k = B.defocus_kernel(radius, alias)
    n = 17 if radius <= 8 else 2 * math.ceil(radius) + 1
    assert k.shape == (n, n) and k.dtype == np.float32
    total = float(k.astype(np.float64).sum())
    if radius < n // 2:  # the disk stays inside the grid: the smoothing keeps the mass
        assert abs(total - 1.0) < 1e-6
    else:  # cv2 reflect-101 folds mass of the edge pixels back in (as in the reference)
        assert 1.0 < total < 1.05
    np.testing.assert_array_equal(k, k.T)
    np.testing.assert_array_equal(k, k[::-1, ::-1])
    if radius < 1:  # a single centre pixel smoothed by the 3 x 3 Gaussian
        g = np.exp(-(np.arange(-1, 2) ** 2) / (2 * alias * alias))
        g /= g.sum()
        np.testing.assert_allclose(k[7:10, 7:10], np.outer(g, g), atol=1e-7)
        assert k.sum() - k[7:10, 7:10].sum() == 0


def test_defocus_constant_image_unchanged():
    x = torch.full((1, 3, 6, 5), 0.5)
    torch.testing.assert_close(_run("defocus_blur", x, {"radius": 3.0, "alias_sigma": 0.5}), x, atol=1e-6, rtol=0.0)


def test_motion_blur_dot_makes_one_sided_streak():
    x = torch.zeros(1, 1, 31, 31)
    x[0, 0, 15, 15] = 1.0
    out = _run("motion_blur", x, {"radius": 6.0, "sigma": 3.0})[0, 0]
    ys, xs = torch.nonzero(out, as_tuple=True)
    assert len(xs) > 3 and out[15, 15] == out.max()
    assert (xs <= 15).all() and (xs < 15).any()  # |theta| <= 45 deg: cos > 0, the tail runs to the left
    assert ((15 - xs).abs() >= (15 - ys).abs()).all()  # and within 45 degrees of the horizontal
    assert torch.equal(torch.round(out * 255) / 255, out)  # 8-bit levels


def test_motion_offsets_and_angles():
    off = B.motion_offsets([0.0, 45.0, -30.0], 5)
    assert off[0].tolist() == [[0, i] for i in range(5)]
    assert off[1, :, 0].tolist() == off[1, :, 1].tolist()
    assert (off[2, :, 0] <= 0).all() and (off[2, :, 1] >= 0).all()
    a = B.motion_angles(512, seed=1, severity=2, index_offset=0)
    assert all(-45.0 <= v <= 45.0 for v in a) and min(a) < -35.0 and max(a) > 35.0
    assert B.motion_angles(3, seed=1, severity=2, index_offset=5) == a[5:8]
    w = B.motion_weights(6.0, 2.0)
    assert w.size == 13 and abs(float(w.sum()) - 1.0) < 1e-6 and (np.diff(w) <= 0).all()


def test_motion_blur_seed_determinism():
    x = _images((3, 3, 20, 20))
    c = {"radius": 8.0, "sigma": 4.0}
    assert torch.equal(_run("motion_blur", x, c, seed=11), _run("motion_blur", x, c, seed=11))
    assert not torch.equal(_run("motion_blur", x, c, seed=11), _run("motion_blur", x, c, seed=12))
    assert not torch.equal(_run("motion_blur", x, c, severity=2), _run("motion_blur", x, c, severity=3))


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_motion_blur_batch_composition_independence(backend: str):
    x = _images((5, 3, 16, 16))
    c = {"radius": 8.0, "sigma": 4.0}
    full = _run("motion_blur", x, c, backend=backend)
    part = _run("motion_blur", x[2:4].contiguous(), c, backend=backend, index_offset=2)
    assert torch.equal(part, full[2:4])
    assert not torch.equal(_run("motion_blur", x[2:4].contiguous(), c, backend=backend), full[2:4])


def test_zoom_factor_one_is_identity():
    x = _images((2, 3, 9, 8))
    assert torch.equal(_run("zoom_blur", x, {"start": 1.0, "stop": 1.0, "step": 0.01, "count": 1.0}), x)


def test_zoom_factors_follow_the_float_arange():
    for name_sev in range(1, 6):
        c = S.resolve("zoom_blur", name_sev, "cifar")
        zs = B.zoom_factors(c["start"], c["step"], c["count"])
        want = np.arange(c["start"], c["stop"] + c["step"] / 2, c["step"]).astype(np.float32)
        np.testing.assert_array_equal(zs, want)


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (1, 1, 17, 24)])
def test_clipped_zoom_matches_interpolate(shape: tuple[int, ...]):
    z = 1.25
    x = _images(shape, seed=2)
    out = _run("zoom_blur", x, {"start": 1.0, "stop": z, "step": z - 1.0, "count": 2.0})
    cz = out * 3 - 2 * x  # (x + x + clipped_zoom(x, z)) / 3
    h, w = shape[2:]
    chh, chw = math.ceil(h / z), math.ceil(w / z)
    th, tw = (h - chh) // 2, (w - chw) // 2
    crop = x[:, :, th : th + chh, tw : tw + chw]
    mh, mw = round(chh * z), round(chw * z)
    big = F.interpolate(crop, size=(mh, mw), mode="bilinear", align_corners=True)
    ah, aw = (mh - h) // 2, (mw - w) // 2
    want = big[:, :, ah : ah + h, aw : aw + w]
    torch.testing.assert_close(cz, want, atol=1e-5, rtol=0.0)


@pytest.mark.parametrize("name", BLURS)
def test_distortion_grows_with_severity(name: str):
    x = _images((4, 3, 32, 32), seed=3)
    err = [
        (corrupt.apply(x, name, s, seed=0, scale="cifar", backend="cpu") - x).pow(2).mean().item() for s in range(1, 6)
    ]
    if name == "glass_blur":  # not monotone (spec §C.4: s1 is a shuffle with an identity blur)
        assert err[0] > 0 and err[4] > 0, err
        return
    if name == "motion_blur":  # random angle per severity; s3 ~ s4 in spec §C.4
        assert err[0] < err[2] < err[4], err
    else:
        assert all(a < b for a, b in zip(err, err[1:], strict=False)), err


@pytest.mark.parametrize("delta", [1, 2, 4])
def test_glass_draws(delta: int):
    hs, ws, dx, dy = B.glass_draws(seed=7, stream=123, iteration=1, h=40, w=36, delta=delta)
    assert hs.tolist()[: 36 - 2 * delta] == [40 - delta] * (36 - 2 * delta)
    assert ws.tolist()[:2] == [36 - delta, 36 - delta - 1]
    assert len(hs) == (40 - 2 * delta) * (36 - 2 * delta)
    for d in (dx, dy):
        assert set(d.tolist()) == set(range(-delta, delta))  # numpy randint(-delta, delta): half-open
    assert not torch.equal(dx, dy)
    assert B.glass_draws(seed=7, stream=123, iteration=0, h=4, w=4, delta=2)[0].numel() == 0


def _quantized(x: torch.Tensor) -> torch.Tensor:
    return torch.floor(x * 255) / 255


def test_glass_blur_copy_semantics_rgb_swap_grey():
    c = {"sigma": 0.05, "delta": 1.0, "iterations": 2.0}  # identity blur: the output is the shuffled 8-bit image
    rgb = _images((2, 3, 12, 10), seed=6)
    out = _run("glass_blur", rgb, c)
    q = _quantized(rgb)
    assert not torch.equal(out, q)
    for b in range(2):  # copy: every output pixel (an RGB triple) is one of the input pixels
        src = {tuple(v) for v in q[b].reshape(3, -1).T.tolist()}
        assert {tuple(v) for v in out[b].reshape(3, -1).T.tolist()} <= src
    assert torch.equal(out[:, :, :2], q[:, :, :2]) and torch.equal(out[:, :, :, :2], q[:, :, :, :2])  # never dst
    grey = _images((2, 1, 12, 10), seed=6)
    out1 = _run("glass_blur", grey, c)
    q1 = _quantized(grey)
    assert not torch.equal(out1, q1)
    for b in range(2):  # a true swap permutes the pixels
        assert torch.equal(out1[b].flatten().sort().values, q1[b].flatten().sort().values)


def test_glass_blur_seed_and_slice_consistency():
    x = _images((5, 3, 16, 16))
    c = {"sigma": 0.4, "delta": 1.0, "iterations": 2.0}
    assert torch.equal(_run("glass_blur", x, c, seed=11), _run("glass_blur", x, c, seed=11))
    assert not torch.equal(_run("glass_blur", x, c, seed=11), _run("glass_blur", x, c, seed=12))
    full = _run("glass_blur", x, c)
    assert torch.equal(_run("glass_blur", x[2:4].contiguous(), c, index_offset=2), full[2:4])
    assert torch.equal(_run("glass_blur", x[2:4].contiguous(), c, index_offset=2, backend="reference"), full[2:4])


@pytest.mark.parametrize("name", BLURS)
def test_apply_imagenet_scale_runs(name: str):
    x = _images((1, 3, 40, 36), seed=4)
    out = corrupt.apply(x, name, 5, seed=0, scale="imagenet", backend="cpu")
    ref = corrupt.apply(x, name, 5, seed=0, scale="imagenet", backend="reference")
    assert torch.equal(out, ref)


@pytest.mark.cuda
@pytest.mark.parametrize(("name", "const"), _cases())
def test_cuda_matches_cpu_and_reference(name: str, const: dict[str, float]):
    x = _images((3, 3, 33, 17), seed=4)
    cpu = _run(name, x, const)
    gpu = _run(name, x.cuda(), const, backend="cuda").cpu()
    torch.testing.assert_close(gpu, cpu, atol=1e-6, rtol=0.0)
    ref = _run(name, x.cuda(), const, backend="reference").cpu()
    torch.testing.assert_close(ref, cpu, atol=1e-5, rtol=0.0)


@pytest.mark.cuda
@pytest.mark.parametrize("name", BLURS)
def test_cuda_empty_and_single_pixel(name: str):
    for shape in [(0, 3, 8, 8), (2, 1, 1, 1)]:
        x = _images(shape).cuda()
        out = _run(name, x, CONSTANTS[name][0], backend="cuda")
        assert out.shape == x.shape and out.device == x.device
