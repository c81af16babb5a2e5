"""Torch reference of the Philox 4x32-10 stream (the oracle of the compiled ``random`` kernels).

Written from Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC'11). Unsigned 32-bit arithmetic is
emulated in int64 tensors: a 32x32-bit product is split into 16-bit halves so no intermediate exceeds 2^49, so the
code runs unchanged on any torch device. Element ``g`` of stream ``s`` under seed ``k`` is word ``g % 4`` of the
Philox block with counter ``(g // 4 low, g // 4 high, s low, s high)`` and key ``(k low, k high)``.
"""

from __future__ import annotations

import torch

__all__ = ["bits", "normal", "philox4x32_10", "uniform"]

_MASK32 = 0xFFFFFFFF
_M0, _M1 = 0xD2511F53, 0xCD9E8D57  # round multipliers (SC'11, Table 2)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85  # Weyl key increments
_TWO_PI_F32 = 6.283185307179586  # rounded to float32 when multiplied with a float32 tensor, as in C++


def _mulhilo(a: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32-bit words of ``a * m`` for ``a`` in [0, 2^32) (int64 tensor) and a 32-bit constant ``m``."""
    t_lo = a * (m & 0xFFFF)  # < 2^48
    t_hi = a * (m >> 16)  # < 2^48; a * m = t_hi * 2^16 + t_lo
    s = (t_hi & 0xFFFF) * 65536 + t_lo  # < 2^49
    return (t_hi >> 16) + (s >> 32), s & _MASK32


def philox4x32_10(
    counter: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], key: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Philox 4x32-10 on int64 tensors holding 32-bit words; ten rounds, key bumped between rounds."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r:
            k0 = (k0 + _W0) & _MASK32
            k1 = (k1 + _W1) & _MASK32
        hi0, lo0 = _mulhilo(c0, _M0)
        hi1, lo1 = _mulhilo(c2, _M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def _words(n: int, seed: int, stream: int, offset: int, device: torch.device) -> torch.Tensor:
    """(n, 4) int64: the words of the Philox block of each element ``g = offset + i``."""
    g = torch.arange(n, dtype=torch.int64, device=device) + offset  # reference limited to g < 2^63
    block = g >> 2
    z = torch.zeros_like(block)
    counter = (block & _MASK32, block >> 32, z + (stream & _MASK32), z + (stream >> 32))
    return torch.stack(philox4x32_10(counter, (seed & _MASK32, seed >> 32)), dim=1)


def bits(n: int, seed: int, stream: int = 0, offset: int = 0, device: torch.device | str = "cpu") -> torch.Tensor:
    """Elements ``offset .. offset+n-1`` of the 32-bit integer stream, as int64 in [0, 2^32)."""
    g = torch.arange(n, dtype=torch.int64, device=device) + offset
    w = _words(n, seed, stream, offset, torch.device(device))
    return w.gather(1, (g & 3).unsqueeze(1)).squeeze(1)


def _unit(w: torch.Tensor) -> torch.Tensor:
    # (top 23 bits + 0.5) * 2^-23: exactly representable in float32, strictly inside (0, 1)
    return ((w >> 9).to(torch.float32) + 0.5) * 2.0**-23


def uniform(n: int, seed: int, stream: int = 0, offset: int = 0, device: torch.device | str = "cpu") -> torch.Tensor:
    """Uniform float32 in the open interval (0, 1), bit-identical to the compiled kernels."""
    return _unit(bits(n, seed, stream, offset, device))


def normal(n: int, seed: int, stream: int = 0, offset: int = 0, device: torch.device | str = "cpu") -> torch.Tensor:
    """Standard normal float32 by Box-Muller on word pairs (0, 1) and (2, 3) of each block: cosine branch for even
    elements, sine for odd (equal to the compiled kernels up to libm rounding)."""
    g = torch.arange(n, dtype=torch.int64, device=device) + offset
    w = _words(n, seed, stream, offset, torch.device(device))
    k = g & 3
    pair = k >> 1
    u1 = _unit(w.gather(1, (2 * pair).unsqueeze(1)).squeeze(1))
    u2 = _unit(w.gather(1, (2 * pair + 1).unsqueeze(1)).squeeze(1))
    r = torch.sqrt(-2.0 * torch.log(u1))
    t = u2 * _TWO_PI_F32
    return torch.where((k & 1) == 1, r * torch.sin(t), r * torch.cos(t))


