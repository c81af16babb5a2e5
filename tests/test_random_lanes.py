"""The CPU Philox lanes (csrc/random/philox_lanes.cpp: the generic lanes over common/rng.h philox_round, the
hand-written AVX2 form, the scalar philox_block loop) give the words of philox4x32_10 bit for bit."""

from __future__ import annotations

import pytest
import torch

from pyrepair import _backend
from pyrepair.random import reference

PATHS = ("auto", "generic", "avx2", "scalar")
_M32 = 0xFFFFFFFF


def _expected(seed: int, stream: int, base: int, stride: int) -> torch.Tensor:
    blocks = [(base + lane * stride) % 2**64 for lane in range(64)]
    lo = torch.tensor([b & _M32 for b in blocks], dtype=torch.int64)
    hi = torch.tensor([b >> 32 for b in blocks], dtype=torch.int64)
    st = (torch.full_like(lo, stream & _M32), torch.full_like(lo, stream >> 32))
    w = reference.philox4x32_10((lo, hi, st[0], st[1]), (seed & _M32, seed >> 32))
    return torch.stack([t & _M32 for t in w])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("seed", "stream", "base", "stride"),
    [(0, 0, 0, 1), (5, 3, 7, 64), (2**64 - 1, 2**63 + 12345, 2**32 - 3, 1), (123456789, 99, 2**40, 1000)],
)
def test_lanes_equal_scalar_philox(path: str, seed: int, stream: int, base: int, stride: int):
    core = _backend.core()
    got = torch.from_numpy(core.philox_lanes_cpu(seed, stream, base, stride, path).astype("int64"))
    assert torch.equal(got, _expected(seed, stream, base, stride))
    for lane in (0, 1, 37, 63):
        blk = (base + lane * stride) % 2**64
        ref = core.philox4x32_10((blk & _M32, blk >> 32, stream & _M32, stream >> 32), (seed & _M32, seed >> 32))
        assert tuple(int(v) for v in got[:, lane]) == ref


def test_bad_path():
    with pytest.raises(ValueError, match="philox_lanes_cpu: path must be"):
        _backend.core().philox_lanes_cpu(0, 0, 0, 1, "sse")
