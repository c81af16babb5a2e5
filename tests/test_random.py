from __future__ import annotations

import pytest
import torch

import pyrepair
from pyrepair import _backend
from pyrepair.errors import BackendUnavailableError, DeviceError, DTypeError, ShapeError, UnknownNameError
from pyrepair.random import reference
from pyrepair.testing import num_threads

# Random123 kat_vectors, "philox4x32 10" lines: counter (4 words), key (2 words) -> expected (4 words)
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_known_answers_compiled(ctr, key, expected):
    assert _backend.core().philox4x32_10(ctr, key) == expected


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_known_answers_reference(ctr, key, expected):
    c = tuple(torch.tensor([v], dtype=torch.int64) for v in ctr)
    out = reference.philox4x32_10(c, key)
    assert tuple(int(t) for t in out) == expected


def test_stream_layout_is_philox_blocks():
    seed = 0x299F31D0A4093822
    words = _backend.core().philox4x32_10((5, 0, 3, 0), (seed & 0xFFFFFFFF, seed >> 32))
    got = pyrepair.random.bits(4, seed, stream=3, offset=20)
    assert got.tolist() == list(words)


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 1001])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 7, 2**40 + 1])
def test_cpu_equals_reference(n, offset):
    for seed, stream in [(0, 0), (12345, 7), (2**64 - 1, 2**63)]:
        b = pyrepair.random.bits(n, seed, stream=stream, offset=offset)
        assert b.dtype == torch.int64
        assert torch.equal(b, reference.bits(n, seed, stream, offset))
        u = pyrepair.random.uniform(n, seed, stream=stream, offset=offset)
        assert torch.equal(u, reference.uniform(n, seed, stream, offset)), "uniform is bit-exact"
        z = pyrepair.random.normal(n, seed, stream=stream, offset=offset)
        torch.testing.assert_close(z, reference.normal(n, seed, stream, offset), rtol=1e-5, atol=1e-5)


def test_backend_reference_matches_cpu():
    a = pyrepair.random.uniform((4, 5), 3, backend="reference")
    b = pyrepair.random.uniform((4, 5), 3, backend="cpu")
    assert torch.equal(a, b)


def test_offset_is_skip_ahead():
    full = pyrepair.random.bits(103, 9)
    assert torch.equal(pyrepair.random.bits(50, 9, offset=53), full[53:])
    z = pyrepair.random.normal(103, 9)
    assert torch.equal(pyrepair.random.normal(10, 9, offset=33), z[33:43])


def test_identical_for_one_and_two_threads():
    n = 300_001  # many parallel chunks
    with num_threads(1):
        one = (pyrepair.random.bits(n, 42), pyrepair.random.normal(n, 42))
    with num_threads(2):
        two = (pyrepair.random.bits(n, 42), pyrepair.random.normal(n, 42))
    assert torch.equal(one[0], two[0])
    assert torch.equal(one[1], two[1])


def test_statistics():
    u = pyrepair.random.uniform(1_000_000, 1)
    assert 0 < float(u.min()) and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) < 2e-3
    assert abs(float(u.var()) - 1 / 12) < 2e-3
    z = pyrepair.random.normal(1_000_000, 1)
    assert torch.isfinite(z).all()
    assert abs(float(z.mean())) < 5e-3 and abs(float(z.std()) - 1) < 5e-3
    # bits are uniform over 32 bits: every byte value appears about equally often
    b = pyrepair.random.bits(400_000, 1)
    counts = torch.bincount((b & 0xFF), minlength=256).float()
    assert float(counts.std() / counts.mean()) < 0.05


def test_seeds_and_streams_differ_and_repeat():
    a = pyrepair.random.bits(64, 1)
    assert torch.equal(a, pyrepair.random.bits(64, 1))
    assert not torch.equal(a, pyrepair.random.bits(64, 2))
    assert not torch.equal(a, pyrepair.random.bits(64, 1, stream=1))


def test_shapes_ranges_dtypes():
    u = pyrepair.random.uniform((2, 3, 4), 0, low=-2.0, high=3.0, dtype=torch.float64)
    assert u.shape == (2, 3, 4) and u.dtype == torch.float64
    assert float(u.min()) > -2 and float(u.max()) < 3
    z = pyrepair.random.normal(torch.Size([5]), 0, mean=10.0, std=0.0)
    assert torch.equal(z, torch.full((5,), 10.0))
    assert pyrepair.random.uniform((0, 3)).shape == (0, 3)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(shape=(2, -1)), ShapeError, r"shape must have non-negative sizes, got \(2, -1\)"),
        (dict(shape="abc"), ShapeError, "shape must be an int or a sequence of ints"),
        (dict(shape=3, seed=-1), ValueError, r"seed must be in \[0, 18446744073709551615\], got -1"),
        (dict(shape=3, seed=2**64), ValueError, "seed must be in"),
        (dict(shape=3, seed=1.5), TypeError, "seed must be an int, got float"),
        (dict(shape=3, stream=-2), ValueError, "stream must be in"),
        (dict(shape=3, offset=2**64 - 2), ValueError, "offset \\+ number of elements must be <= 2\\^64"),
        (dict(shape=3, backend="gpu"), UnknownNameError, "unknown backend 'gpu'; valid: auto, cpu, cuda, reference"),
        (dict(shape=3, dtype=torch.int32), DTypeError, "dtype must be a floating-point torch.dtype"),
        (dict(shape=3, low=1.0, high=1.0), ValueError, "low < high, got low=1.0, high=1.0"),
        (dict(shape=3, backend="cuda"), DeviceError, "backend='cuda' cannot process data on device cpu"),
    ],
)
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        pyrepair.random.uniform(**kwargs)


def test_bad_normal_std():
    with pytest.raises(ValueError, match="std finite and >= 0, got mean=0.0, std=-1.0"):
        pyrepair.random.normal(3, std=-1.0)


def test_cuda_device_on_cpu_only_build_says_how_to_rebuild(monkeypatch):
    monkeypatch.setattr(_backend, "cuda_built", lambda: False)
    with pytest.raises(BackendUnavailableError, match="PYREPAIR_CUDA=ON"):
        pyrepair._dispatch.select("pyrepair.random.uniform", torch.device("cuda"), "auto")


@pytest.mark.cuda
def test_cuda_bits_equal_cpu_bit_for_bit():
    for n, offset, stream in [(0, 0, 0), (1, 3, 0), (1_000_003, 5, 9), (4096, 2**40, 2**63)]:
        cpu = pyrepair.random.bits(n, 2024, stream=stream, offset=offset)
        gpu = pyrepair.random.bits(n, 2024, stream=stream, offset=offset, device="cuda")
        assert gpu.is_cuda
        assert torch.equal(cpu, gpu.cpu())
        assert torch.equal(pyrepair.random.uniform(n, 7, offset=offset), pyrepair.random.uniform(n, 7, offset=offset,
                                                                                               device="cuda").cpu())
        torch.testing.assert_close(pyrepair.random.normal(n, 7, offset=offset),
                                   pyrepair.random.normal(n, 7, offset=offset, device="cuda").cpu(),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.cuda
def test_cuda_reference_on_gpu_matches():
    ref = pyrepair.random.bits(1000, 3, device="cuda", backend="reference")
    assert torch.equal(ref.cpu(), pyrepair.random.bits(1000, 3))
