"""Per-pixel corruption kernels (csrc/corrupt) against the torch reference (pyrepair/corrupt/reference.py).

Exactness on CPU: gaussian, speckle (Box-Muller on the fastmath log / sin / cos, no libm), impulse, shot (integer
Poisson counts), brightness and saturate are compared bit for bit; contrast up to 1e-6 (float64 summation order of
the mean).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pyrepair.corrupt import _kernels as K
from pyrepair.corrupt import reference as R
from pyrepair.testing import num_threads

CONSTANTS = {
    "gaussian_noise": {"sigma": 0.08},
    "shot_noise": {"photons": 60.0},
    "impulse_noise": {"amount": 0.09},
    "speckle_noise": {"sigma": 0.35},
    "brightness": {"delta": 0.3},
    "contrast": {"factor": 0.2},
    "saturate": {"scale": 5.0, "shift": 0.1},
}
# the per-pixel kernels tested here (blur: tests/test_corrupt_blur.py)
PER_PIXEL = tuple(n for n in K.IMPLEMENTED if n in CONSTANTS)
ATOL = {"contrast": 1e-6}
NOISE = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise")
SHAPES = [(1, 3, 8, 8), (2, 3, 9, 7), (3, 1, 5, 11), (0, 3, 8, 8), (2, 1, 1, 1)]


def _images(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g)
    if x.numel() >= 4:  # include exact 0/1 values and a grey pixel (saturate/brightness edge cases)
        flat = x.view(-1)
        flat[0], flat[1] = 0.0, 1.0
        if shape[1] == 3 and shape[2] * shape[3] > 2:
            x[0, :, 0, 2] = 0.5
            x[0, :, 0, 1] = 0.0
    return x


def _run(
    name: str,
    x: torch.Tensor,
    backend: str = "cpu",
    seed: int = 5,
    severity: int = 3,
    index_offset: int = 0,
    **const: float,
) -> torch.Tensor:
    c = dict(CONSTANTS[name], **const)
    return K.run(name, x, c, seed=seed, severity=severity, index_offset=index_offset, backend=backend)


def _close(a: torch.Tensor, b: torch.Tensor, name: str) -> None:
    atol = ATOL.get(name, 0.0)
    if atol == 0.0:
        assert torch.equal(a, b), f"{name}: {(a != b).sum().item()} elements differ"
    else:
        torch.testing.assert_close(a, b, atol=atol, rtol=0.0)


def test_ids_cover_the_spec_table():
    assert sorted(K.CORRUPTION_IDS.values()) == list(range(1, 20))
    assert set(K.IMPLEMENTED) <= set(K.CORRUPTION_IDS)
    assert K.CORRUPTION_IDS["saturate"] == 19 and K.CORRUPTION_IDS["speckle_noise"] == 16


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", PER_PIXEL)
def test_cpu_matches_reference(name: str, shape: tuple[int, ...]):
    x = _images(shape)
    out = _run(name, x)
    ref = _run(name, x, backend="reference")
    assert out.shape == x.shape and out.dtype == torch.float32
    _close(out, ref, name)
    assert torch.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()


@pytest.mark.parametrize("photons", [3.0, 25.0, 100.0, 500.0, 5000.0])
def test_shot_noise_exact_across_inversion_and_ptrs(photons: float):
    x = _images((2, 3, 16, 16), seed=1)
    _close(
        _run("shot_noise", x, photons=photons),
        _run("shot_noise", x, backend="reference", photons=photons),
        "shot_noise",
    )


@pytest.mark.parametrize("name", PER_PIXEL)
def test_input_untouched_and_new_tensor(name: str):
    x = _images((2, 3, 8, 8))
    keep = x.clone()
    out = _run(name, x)
    assert torch.equal(x, keep) and out.data_ptr() != x.data_ptr()


@pytest.mark.parametrize("name", ["gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"])
def test_seed_determinism(name: str):
    x = _images((2, 3, 12, 12))
    assert torch.equal(_run(name, x, seed=11), _run(name, x, seed=11))
    assert not torch.equal(_run(name, x, seed=11), _run(name, x, seed=12))
    assert not torch.equal(_run(name, x, severity=2), _run(name, x, severity=3))  # severity is in the key


@pytest.mark.parametrize("backend", ["cpu", "reference"])
@pytest.mark.parametrize("name", ["gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"])
def test_batch_composition_independence(name: str, backend: str):
    x = _images((5, 3, 9, 9))
    full = _run(name, x, backend=backend)
    part = _run(name, x[2:4].contiguous(), backend=backend, index_offset=2)
    assert torch.equal(part, full[2:4])
    assert not torch.equal(_run(name, x[2:4].contiguous(), backend=backend), full[2:4])


@pytest.mark.parametrize("name", PER_PIXEL)
def test_thread_count_independence(name: str):
    x = _images((4, 3, 33, 31))
    with num_threads(1):
        one = _run(name, x)
    with num_threads(2):
        two = _run(name, x)
    assert torch.equal(one, two)


@pytest.mark.parametrize(
    ("name", "key", "values"),
    [
        ("gaussian_noise", "sigma", [0.04, 0.1, 0.38]),
        ("speckle_noise", "sigma", [0.06, 0.2, 0.6]),
        ("shot_noise", "photons", [500.0, 60.0, 3.0]),
        ("impulse_noise", "amount", [0.01, 0.07, 0.27]),
        ("brightness", "delta", [0.05, 0.2, 0.5]),
        ("contrast", "factor", [0.75, 0.4, 0.05]),
    ],
)
def test_distortion_grows_with_strength(name: str, key: str, values: list[float]):
    x = _images((2, 3, 32, 32), seed=3) * 0.8 + 0.1
    d = [(_run(name, x, **{key: v}) - x).abs().mean().item() for v in values]
    assert d[0] < d[1] < d[2], d


def test_saturate_c1_identity_and_grey_turns_reddish():
    x = _images((2, 1, 8, 8))
    assert torch.equal(_run("saturate", x), x)
    grey = torch.full((1, 3, 2, 2), 0.5)
    out = _run("saturate", grey, scale=2.0, shift=0.1)
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.5, 0.45, 0.45]))


def test_brightness_black_becomes_grey():
    out = _run("brightness", torch.zeros(1, 3, 2, 2), delta=0.2)
    assert torch.allclose(out, torch.full_like(out, 0.2))


def test_contrast_uses_per_channel_mean():
    x = torch.zeros(1, 3, 4, 4)
    x[:, 0] = 0.2
    x[:, 1] = 0.8
    x[:, 2, :2] = 1.0
    out = _run("contrast", x, factor=0.0)
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.2, 0.8, 0.5]))


def test_gaussian_residual_std():
    x = torch.full((4, 3, 64, 64), 0.5)
    for sigma in (0.04, 0.1):
        r = _run("gaussian_noise", x, sigma=sigma) - x
        assert abs(r.std().item() - sigma) < 0.03 * sigma
        assert abs(r.mean().item()) < 0.03 * sigma


@pytest.mark.parametrize("lam", [3.0, 25.0, 100.0, 500.0])
def test_poisson_mean_and_variance(lam: float):
    """Through the CPU kernel: x = 1/4 and photons = 4 lambda, so the counts are round(out * photons)."""
    photons = 4.0 * lam  # clipping at 1 needs k > 4 lambda: P < 1e-4 at lambda = 3
    k = torch.round(_run("shot_noise", torch.full((8, 1, 64, 64), 0.25), photons=photons).double() * photons)
    n = k.numel()
    mean, var = k.mean().item(), k.var().item()
    assert abs(mean - lam) < 5 * (lam / n) ** 0.5
    assert abs(var - lam) < 5 * lam * (2 / n) ** 0.5 + 5 * (lam / n) ** 0.5


@pytest.mark.parametrize("lam", [0.5, 3.0, 9.99, 10.0, 25.0, 100.0, 500.0])
def test_poisson_draws_unclipped(lam: float):
    """The raw sampler (reference, identical to the kernels): mean and variance within 5 standard errors."""
    n = 20000
    k = R.poisson(torch.full((1, n), lam, dtype=torch.float64), seed=9, streams=[77])
    assert torch.equal(k, k.round()) and (k >= 0).all()
    mean, var = k.mean().item(), k.var().item()
    assert abs(mean - lam) < 5 * (lam / n) ** 0.5
    assert abs(var - lam) < 5 * lam * (2 / n) ** 0.5 + 5 * (lam / n) ** 0.5


def test_impulse_rate():
    x = torch.full((4, 3, 64, 64), 0.5)
    out = _run("impulse_noise", x, amount=0.2)
    salt = (out == 1).float().mean().item()
    pepper = (out == 0).float().mean().item()
    assert abs(salt - 0.1) < 0.01 and abs(pepper - 0.1) < 0.01


@pytest.mark.cuda
@pytest.mark.parametrize("name", PER_PIXEL)
def test_cuda_matches_cpu_and_reference(name: str):
    x = _images((3, 3, 33, 17), seed=4)
    cpu = _run(name, x)
    gpu = _run(name, x.cuda(), backend="cuda").cpu()
    if name in NOISE:  # libm-free (common/fastmath.h), no FMA: the same bits on both devices
        assert torch.equal(gpu, cpu), f"{name}: {(gpu != cpu).sum().item()} elements differ"
    else:
        torch.testing.assert_close(gpu, cpu, atol=1e-5 if name in ATOL else 1e-6, rtol=0.0)
    ref = _run(name, x.cuda(), backend="reference").cpu()
    torch.testing.assert_close(ref, cpu, atol=1e-5, rtol=0.0)


def test_device_fixture_parity(device: str):
    x = _images((2, 3, 9, 9)).to(device)
    for name in PER_PIXEL:
        out = _run(name, x, backend="auto")
        assert out.device == x.device
        ref = _run(name, x, backend="reference")
        torch.testing.assert_close(out.cpu(), ref.cpu(), atol=ATOL.get(name, 0.0) + 1e-6, rtol=0.0)


# ---- shot noise on 8-bit inputs: CDF-table inversion (csrc/corrupt/poisson_table.h) ---------------------------


def _u8_images(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=g).float() / 255  # what ToTensor / uint8.div(255) give


def test_shot_table_keys_are_exactly_the_8bit_values():
    k = torch.arange(256)
    x8 = k.float() / 255
    assert torch.equal(R._table_keys(x8), k)
    np_div = torch.from_numpy(np.arange(256, dtype=np.uint8) / np.float32(255.0))  # the uint8 API's conversion
    assert np_div.dtype == torch.float32 and torch.equal(R._table_keys(np_div), k)
    off = torch.nextafter(x8, torch.full_like(x8, 2.0))
    assert (R._table_keys(off) == -1).all()
    assert (R._table_keys(torch.tensor([-0.0, float("nan"), 1.5, -1 / 255])) == torch.tensor([0, -1, -1, -1])).all()


@pytest.mark.parametrize("photons", [3.0, 12.0, 60.0, 100.0, 500.0, 4096.0, 5000.0])
def test_shot_noise_exact_on_8bit_and_mixed_inputs(photons: float):
    x = _u8_images((2, 3, 16, 16), seed=2)
    _close(
        _run("shot_noise", x, photons=photons),
        _run("shot_noise", x, backend="reference", photons=photons),
        "shot_noise",
    )
    mixed = x.clone()
    mixed.view(-1)[::3] = _images((2, 3, 16, 16), seed=4).view(-1)[::3]  # table and non-table elements in a chunk
    mixed.view(-1)[1::7] = mixed.view(-1)[1::7] * 255 * (1 / 255)  # x * (1/255): often 1 ULP off k/255
    _close(
        _run("shot_noise", mixed, photons=photons),
        _run("shot_noise", mixed, backend="reference", photons=photons),
        "shot_noise",
    )


def test_shot_noise_8bit_thread_and_batch_independence():
    x = _u8_images((5, 3, 33, 31), seed=5)
    with num_threads(1):
        one = _run("shot_noise", x, photons=100.0)
    with num_threads(2):
        two = _run("shot_noise", x, photons=100.0)
    assert torch.equal(one, two)
    part = _run("shot_noise", x[2:4].contiguous(), photons=100.0, index_offset=2)
    assert torch.equal(part, one[2:4])


@pytest.mark.parametrize("photons", [3.0, 100.0, 500.0, 4096.0])
def test_poisson_tables_match_the_pmf(photons: float):
    """Normalised table terms vs the Poisson pmf (float64 lgamma), and nothing of weight outside the table."""
    for key, (lo, cdf) in enumerate(R.poisson_tables(photons)):
        if key % 17:
            continue
        lam = float(torch.tensor(key, dtype=torch.float32) / 255) * photons
        pmf = torch.diff(cdf, prepend=cdf.new_zeros(1)) / cdf[-1]
        ks = torch.arange(lo, lo + cdf.numel(), dtype=torch.float64)
        if lam == 0:
            assert lo == 0 and cdf.numel() == 1
            continue
        exact = torch.exp(ks * math.log(lam) - lam - torch.lgamma(ks + 1))
        assert (pmf - exact).abs().max().item() < 1e-12
        assert abs(1 - exact.sum().item()) < 1e-9  # (the lgamma pmf itself is ~1e-12 relative off at lambda 4096)
        assert cdf[0] / cdf[-1] < 1e-28 or lo == 0  # dropped tails: below the first / after the last kept term
        assert (cdf[-1] - cdf[-2]) / cdf[-1] < 1e-28


@pytest.mark.parametrize("photons", [12.0, 100.0, 500.0])
def test_shot_table_and_general_paths_agree_in_distribution(photons: float):
    """x = 64/255 (table) and the next float32 up (inversion / PTRS): both means and variances match lambda."""
    x8 = torch.full((8, 1, 64, 64), 64.0) / 255
    xo = torch.nextafter(x8, torch.ones_like(x8))
    lam = float(x8[0, 0, 0, 0]) * photons
    for x in (x8, xo):
        k = torch.round(_run("shot_noise", x, photons=photons).double() * photons)
        n = k.numel()
        mean, var = k.mean().item(), k.var().item()
        assert abs(mean - lam) < 5 * (lam / n) ** 0.5
        assert abs(var - lam) < 5 * lam * (2 / n) ** 0.5 + 5 * (lam / n) ** 0.5
    assert (R._table_keys(x8) >= 0).all() and (R._table_keys(xo) < 0).all()
