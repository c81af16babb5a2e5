"""Vectorisable log, sin/cos(2 pi u), float64 log and log k! (csrc/common/fastmath.h; torch twins in
pyrepair.corrupt.reference).

The torch twins are checked against float64 torch / numpy / math over their ranges; the C++ versions equal the
twins bit for bit (through the gaussian / speckle / shot kernels: tests/test_corrupt_kernels.py compares those
exactly).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pyrepair.corrupt import _kernels as K
from pyrepair.corrupt import reference as R


def _ulp(x: torch.Tensor) -> torch.Tensor:
    """float32 ULP of (float64) values, as float64."""
    a = x.abs().to(torch.float32)
    return (torch.nextafter(a, torch.full_like(a, float("inf"))) - a).to(torch.float64)


def _unit_grid() -> torch.Tensor:
    """Every kernel uniform of the form (m + 0.5) 2^-23 on a stride, plus both ends."""
    m = torch.cat([torch.arange(0, 1 << 23, 97), torch.tensor([0, 1, 2, (1 << 23) - 2, (1 << 23) - 1])])
    return ((m.to(torch.float32) + 0.5) * 2.0**-23).contiguous()


def test_fm_log_accuracy():
    g = torch.Generator().manual_seed(0)
    x = torch.cat([
        _unit_grid(),
        torch.exp(torch.empty(200000, dtype=torch.float64).uniform_(-80, 80, generator=g)).to(torch.float32),
        torch.tensor([1.0, 2.0, 0.5, 0.70710677, 0.70710683, 1.1754944e-38, 3.4028235e38]),
    ])  # fmt: skip
    got = R.fm_log(x).to(torch.float64)
    want = torch.log(x.to(torch.float64))
    err = (got - want).abs()
    # a few ULP of the result; near x = 1 (result ~ 0) the absolute error is bounded by a few ULP of x - 1
    bound = 4 * torch.maximum(_ulp(want), _ulp(x.to(torch.float64) - 1.0))
    assert bool((err <= bound).all()), float((err / bound).max())
    assert R.fm_log(torch.tensor([1.0])).item() == 0.0


def test_fm_sincos_accuracy():
    u = torch.cat([_unit_grid(), torch.tensor([0.0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0])])
    s, c = R.fm_sincos_2pi(u)
    t = u.to(torch.float64) * (2 * torch.pi)
    es = (s.to(torch.float64) - torch.sin(t)).abs()
    ec = (c.to(torch.float64) - torch.cos(t)).abs()
    assert float(es.max()) < 4e-7 and float(ec.max()) < 4e-7
    assert float((s.double() ** 2 + c.double() ** 2 - 1).abs().max()) < 1e-6
    assert torch.equal(R.fm_sincos_2pi(torch.tensor([0.0]))[1], torch.tensor([1.0]))


def test_fm_dtype_checked():
    with pytest.raises(TypeError, match="float32"):
        R.fm_log(torch.ones(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="float32"):
        R.fm_sincos_2pi(torch.ones(3, dtype=torch.float64))


def test_normal_moments():
    """The Box-Muller normals of the gaussian / speckle kernels (reference draws, unclipped): mean 0, variance 1,
    upper tail P(z > 2)."""
    x = torch.zeros(4, 3, 64, 64)
    z = R._normal(x, seed=3, streams=R.image_streams(4, K.CORRUPTION_IDS["gaussian_noise"], 1, 0)).double()
    n = z.numel()
    assert abs(z.mean().item()) < 5 / n**0.5
    assert abs(z.var().item() - 1) < 5 * (2 / n) ** 0.5
    assert abs((z > 2).double().mean().item() - 0.02275) < 0.004


def test_fm_log_d_accuracy():
    g = torch.Generator().manual_seed(1)
    x = torch.cat([
        torch.exp(torch.empty(200000, dtype=torch.float64).uniform_(-700, 700, generator=g)),
        torch.empty(100000, dtype=torch.float64).uniform_(0.5, 2.0, generator=g),
        torch.tensor([1.0, 2.0, 0.5, 10.0, 1e-300, 1e300], dtype=torch.float64),
    ])  # fmt: skip
    got = R.fm_log_d(x)
    want = torch.from_numpy(np.log(x.numpy()))  # numpy: glibc log, < 1 ULP
    ulp = torch.from_numpy(np.spacing(np.abs(want.numpy())))
    ulp_arg = torch.from_numpy(np.spacing(np.abs(x.numpy() - 1.0)))  # near x = 1 the result is ~ x - 1
    err = (got - want).abs()
    assert bool((err <= 4 * torch.maximum(ulp, ulp_arg)).all()), float((err / ulp).max())
    assert R.fm_log_d(torch.tensor([1.0], dtype=torch.float64)).item() == 0.0


def test_fm_log_factorial_accuracy():
    k = torch.cat([torch.arange(0, 2000, dtype=torch.float64), torch.tensor([1e4, 1e6, 1e12], dtype=torch.float64)])
    got = R.fm_log_factorial(k)
    want = torch.tensor([math.lgamma(v + 1.0) for v in k.tolist()], dtype=torch.float64)
    assert got[0].item() == 0.0 and got[1].item() == 0.0
    assert float(((got - want).abs() / want.abs().clamp(min=1.0)).max()) < 1e-14


def test_fm_double_dtype_checked():
    with pytest.raises(TypeError, match="float64"):
        R.fm_log_d(torch.ones(3))
    with pytest.raises(TypeError, match="float64"):
        R.fm_log_factorial(torch.ones(3))
