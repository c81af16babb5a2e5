"""The CUDA kernels' math, run on the CPU (csrc/common/device_path.h; coverage table in csrc/README.md).

With ``_core.set_cpu_path("device")`` every ``*_cpu`` binding runs the thread bodies of its family's CUDA kernels
(the ``PR_HD`` functions the ``.cu`` files call), launch by launch, instead of its fast CPU loops. These tests
compare that route with the torch reference (the oracle) and with the fast CPU path, so the GPU's per-element math
is checked on CPU-only CI; tests marked ``cuda`` check the GPU itself where there is one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from pyrepair import _backend, corrupt

# torch reference vs compiled tolerances of the corruption kernels (tests/test_corrupt_*.py); 0 = bit for bit
REF_ATOL = {"contrast": 1e-6, "pixelate": 1e-6, "zoom_blur": 2e-6, "snow": 1e-5}
# device route vs fast CPU loops: contrast's mean is summed in another order (the kernel's tree)
FAST_ATOL = {"contrast": 1e-6}


@pytest.fixture
def device_route() -> Iterator[None]:
    core = _backend.core()
    previous = core.set_cpu_path("device")
    try:
        yield
    finally:
        core.set_cpu_path(previous)


def _images(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    x = torch.rand(shape, generator=torch.Generator().manual_seed(seed))
    if x.numel() >= 8:
        x.view(-1)[:4] = torch.tensor([0.0, 1.0, 0.5, 0.25])
    if shape[0] > 0 and shape[1] == 3 and shape[2] * shape[3] > 3:
        x[0, :, 0, 3] = 0.5  # a grey pixel (brightness / saturate edge case)
    return (x * 255).round() / 255 if seed % 2 else x  # odd seeds: 8-bit values (shot noise's table path)


def _close(a: torch.Tensor, b: torch.Tensor, atol: float, what: str) -> None:
    if atol == 0.0:
        assert torch.equal(a, b), f"{what}: {(a != b).sum().item()} elements differ, max {(a - b).abs().max():.3g}"
    else:
        torch.testing.assert_close(a, b, atol=atol, rtol=0.0, msg=what)


def test_set_cpu_path_round_trip_and_errors():
    core = _backend.core()
    assert core.set_cpu_path("fast") == "fast"
    assert core.set_cpu_path("device") == "fast"
    assert core.set_cpu_path("fast") == "device"
    with pytest.raises(ValueError, match="set_cpu_path: path must be 'fast' or 'device', got 'gpu'"):
        core.set_cpu_path("gpu")


@pytest.mark.parametrize(
    "shape", [(2, 3, 33, 29), (3, 1, 17, 40), (1, 3, 8, 8), (0, 3, 8, 8)], ids=lambda s: "x".join(map(str, s))
)
@pytest.mark.parametrize("name", corrupt.names())
def test_corruption_device_route_matches_reference_and_fast_path(name: str, shape: tuple[int, ...], device_route):
    core = _backend.core()
    for seed, severity, scale in ((1, 1, "cifar10"), (2, 5, "imagenet"), (3, 3, "imagenet")):
        x = _images(shape, seed)
        dev = corrupt.apply(x, name, severity, seed=seed, scale=scale, backend="cpu")
        ref = corrupt.apply(x, name, severity, seed=seed, scale=scale, backend="reference")
        core.set_cpu_path("fast")
        try:
            fast = corrupt.apply(x, name, severity, seed=seed, scale=scale, backend="cpu")
        finally:
            core.set_cpu_path("device")
        what = f"{name} s{severity} {scale} seed {seed}"
        _close(dev, ref, REF_ATOL.get(name, 0.0), f"device route vs reference: {what}")
        _close(dev, fast, FAST_ATOL.get(name, 0.0), f"device route vs fast path: {what}")


# ---- wavelet (csrc/wavelet): the apply kernels' thread bodies; Haar / moments / eigh share their math already --


def _wavelet_cases(g: torch.Generator) -> list[tuple[str, object, object]]:
    """(name, kernel call on a backend, float64 reference value) of every wavelet kernel."""
    from pyrepair.wavelet import _kernels as WK
    from pyrepair.wavelet import reference as WR

    cases: list[tuple[str, object, object]] = []
    for gg, c, n in ((1, 3, 16), (5, 9, 33), (2, 40, 7)):
        x, mat = torch.randn(gg, c, n, generator=g), torch.randn(gg, c, c, generator=g)
        center, bias = torch.randn(gg, c, generator=g), torch.randn(gg, c, generator=g)
        z, nm = torch.randn(gg, c, n, generator=g), torch.randn(gg, c, c, generator=g)
        for zz, mm in ((None, None), (z, nm)):
            cases.append((
                "wct_apply",
                lambda b, x=x, mat=mat, center=center, bias=bias, zz=zz, mm=mm: WK.wct_apply(
                    x, mat, center, bias, zz, mm, b),
                WR.wct_apply(x.double(), mat.double(), center.double(), bias.double(),
                             None if zz is None else zz.double(), None if mm is None else mm.double()).float(),
            ))  # fmt: skip
    for n, c, k in ((1, 3, 17), (9, 3, 300), (5, 8, 33)):
        x = torch.randn(n, c, k, 2, generator=g)
        w = torch.rand(n, generator=g, dtype=torch.float64)
        for ww in (None, w):
            cases.append(
                ("spectral_cross", lambda b, x=x, ww=ww: WK.spectral_cross(x, ww, b), WR.spectral_cross(x, ww))
            )
        mat, z, scale = torch.randn(c, c, k, 2, generator=g), torch.randn(n, c, k, 2, generator=g), torch.rand(k)
        for zz, ss in ((None, None), (z, scale)):
            cases.append((
                "spectral_apply",
                lambda b, x=x, mat=mat, zz=zz, ss=ss: WK.spectral_apply(x, mat, zz, ss, b),
                WR.spectral_apply(x.double(), mat.double(), None if zz is None else zz.double(),
                                  None if ss is None else ss.double()).float(),
            ))  # fmt: skip
    img = torch.rand(3, 3, 33, 18, generator=g)
    cases.append(("dwt", lambda b, img=img: WK.dwt(img, b)[1], WK.dwt(img, "reference")[1]))
    a = torch.randn(7, 5, 5, dtype=torch.float64, generator=g)
    a = a @ a.transpose(1, 2)
    cases.append(("eigh", lambda b, a=a: WK.eigh(a, b)[0], WK.eigh(a, "reference")[0]))
    xm = torch.rand(4, 6, 50, generator=g)
    cases.append(("moments", lambda b, xm=xm: WK.moments(xm, b)[1].double(), WK.moments(xm, "reference")[1].double()))
    return cases


WAVELET_TOL = {"spectral_cross": 1e-10, "eigh": 1e-9}


def test_wavelet_device_route_matches_reference_and_fast_path(device_route):
    core = _backend.core()
    for name, call, ref in _wavelet_cases(torch.Generator().manual_seed(7)):
        dev = call("cpu")
        core.set_cpu_path("fast")
        try:
            fast = call("cpu")
        finally:
            core.set_cpu_path("device")
        tol = WAVELET_TOL.get(name, 1e-5)
        torch.testing.assert_close(dev, ref.to(dev.dtype), rtol=tol, atol=tol, msg=f"{name}: device route vs ref")
        torch.testing.assert_close(dev, fast, rtol=tol, atol=tol, msg=f"{name}: device route vs fast path")


# ---- transform (csrc/transform): warp_kernel's thread body; point / enhance share point_lut / blend already -----


def test_transform_warp_device_route_matches_reference_and_fast_path(device_route):
    from pyrepair import transform as T

    core = _backend.core()
    g = torch.Generator().manual_seed(11)
    x = torch.rand(3, 3, 9, 13, generator=g)
    p = T.identity_params(6)
    p[:, 0] = torch.rand(6, generator=g) * 60 - 30  # rotation (degrees); SENSEI rows (tests/test_transform.py)
    p[:, 1:3] = torch.rand(6, 2, generator=g) * 4 - 2  # translation
    p[:, 3] = 0.8 + 0.4 * torch.rand(6, generator=g)  # zoom
    idx = torch.tensor([2, 0, 0, 1, 2, 2])
    for kwargs in ({}, {"index": idx, "mean": (0.49, 0.48, 0.45), "std": (0.25, 0.24, 0.26)}):
        xs = x if kwargs else x.repeat(2, 1, 1, 1)
        dev = T.affine_photometric(xs, p, **kwargs)
        ref = T.affine_photometric(xs, p, backend="reference", **kwargs)
        core.set_cpu_path("fast")
        try:
            fast = T.affine_photometric(xs, p, **kwargs)
            rot_fast = T.rotate(x, torch.tensor([10.0, -20.0, 33.0]))
        finally:
            core.set_cpu_path("device")
        assert torch.equal(dev, fast)
        torch.testing.assert_close(dev, ref, atol=1e-5 / 0.24 if kwargs else 1e-5, rtol=0.0)
    assert torch.equal(T.rotate(x, torch.tensor([10.0, -20.0, 33.0])), rot_fast)
