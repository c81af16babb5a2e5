"""elastic_transform kernels (csrc/corrupt/elastic*) against the torch reference (pyrepair/corrupt/_elastic.py).

Exactness on CPU and CUDA: bit for bit (same float64 operations in the same order; the Gaussian weights are
computed on the host for every back-end).
"""

from __future__ import annotations

import pytest
import torch

from pyrepair.corrupt import _elastic as E
from pyrepair.corrupt import _kernels as K
from pyrepair.testing import num_threads

NAME = "elastic_transform"
CONSTANTS = {"alpha": 3.2, "sigma": 1.28, "affine": 1.6}
SHAPES = [(1, 3, 32, 32), (2, 3, 9, 7), (3, 1, 5, 11), (2, 1, 16, 17), (0, 3, 8, 8), (2, 1, 1, 1)]


def _images(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def _elastic(x: torch.Tensor, backend: str = "cpu", seed: int = 5, severity: int = 3, index_offset: int = 0,
             **const: float) -> torch.Tensor:  # fmt: skip
    c = dict(CONSTANTS, **const)
    return K.run(NAME, x, c, seed=seed, severity=severity, index_offset=index_offset, backend=backend)


def test_registered():
    assert NAME in K.IMPLEMENTED and E.ID == K.CORRUPTION_IDS[NAME]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_cpu_matches_reference(shape: tuple[int, ...]):
    x = _images(shape)
    out = _elastic(x)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert torch.equal(out, _elastic(x, backend="reference"))
    assert torch.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()


@pytest.mark.parametrize("scale", [0.95, 0.75, 0.5, 0.25])
def test_severity_constants_match_reference(scale: float):
    x = _images((2, 3, 32, 29), seed=1)
    const = {"alpha": 5 * scale, "sigma": 8 * scale, "affine": 3 * scale}
    assert torch.equal(_elastic(x, **const), _elastic(x, backend="reference", **const))


def test_determinism_seeds_and_input_untouched():
    x = _images((3, 3, 16, 16))
    keep = x.clone()
    a = _elastic(x, seed=11)
    assert torch.equal(a, _elastic(x, seed=11)) and torch.equal(x, keep)
    assert not torch.equal(a, _elastic(x, seed=12))
    assert not torch.equal(a, _elastic(x, seed=11, severity=4))


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_index_offset_slice_consistency(backend: str):
    x = _images((5, 3, 12, 10))
    full = _elastic(x, backend=backend)
    assert torch.equal(_elastic(x[2:4].contiguous(), backend=backend, index_offset=2), full[2:4])
    assert not torch.equal(_elastic(x[2:4].contiguous(), backend=backend), full[2:4])


def test_thread_count_independence():
    x = _images((4, 3, 33, 31))
    with num_threads(1):
        one = _elastic(x)
    with num_threads(2):
        two = _elastic(x)
    assert torch.equal(one, two)


def test_identity_and_pure_affine():
    x = _images((2, 3, 16, 16))
    assert torch.equal(_elastic(x, alpha=0.0, sigma=0.0, affine=0.0), x)
    y = _elastic(x, alpha=0.0, sigma=0.0, affine=2.56)  # CIFAR severity 1: pure affine
    assert not torch.equal(y, x)
    c = torch.full((1, 1, 16, 16), 0.4)  # a constant image stays constant (convex bilinear weights)
    torch.testing.assert_close(_elastic(c), c, atol=1e-6, rtol=0.0)
    big = _elastic(x, alpha=488.0, sigma=19.52, affine=48.8)  # ImageNet severity 2 constants
    assert torch.isfinite(big).all() and (big >= 0).all() and (big <= 1).all()


def test_bad_constants_and_seed():
    x = _images((1, 3, 8, 8))
    with pytest.raises(KeyError, match="elastic_transform: missing constants"):
        K.run(NAME, x, {"alpha": 1.0}, seed=0, severity=1)
    with pytest.raises(ValueError, match="seed"):
        K.run(NAME, x, CONSTANTS, seed=-1, severity=1)


@pytest.mark.cuda
def test_cuda_matches_cpu_and_reference():
    x = _images((3, 3, 33, 17), seed=4)
    cpu = _elastic(x)
    assert torch.equal(_elastic(x.cuda(), backend="cuda").cpu(), cpu)
    assert torch.equal(_elastic(x.cuda(), backend="reference").cpu(), cpu)
    big = _images((2, 3, 224, 224), seed=5)
    assert torch.equal(_elastic(big.cuda(), backend="cuda").cpu(), _elastic(big))
