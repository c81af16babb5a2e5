"""Torch reference of the per-pixel corruption kernels (the oracle of ``csrc/corrupt``).

Covers the noise corruptions (gaussian, shot, impulse, speckle) and the digital point operations (brightness,
contrast, saturate) of ``spec/deeprepair.md`` §C.2 items 1, 2, 3, 11, 12, 16 and 19. Inputs are float32
(B, C, H, W) in [0, 1] with C in {1, 3}; outputs are new float32 tensors clipped to [0, 1], on the input's device.
Every formula uses the same float32 (or float64) operations in the same order as the C++/CUDA kernels.

Randomness (spec §C.0 'Randomness'): Philox 4x32-10 (:func:`pyrepair.random.reference.philox4x32_10`) with
key = ``seed`` (64 bit) and, for image ``b`` of the batch, the 64-bit stream::

    stream = ((index_offset + b) * 32 + corruption_id) * 8 + severity        (mod 2^64)

The Philox counter is (block low, block high, stream low, stream high). Within an image, element ``i`` is the
NCHW-flat index ``(c * H + y) * W + x``. So a result depends only on (seed, global image index, corruption,
severity, element) - never on batch composition, thread count or device.

* gaussian / speckle: ``z_i`` = Box-Muller on block ``i // 4``, words (0, 1) for ``i % 4`` in {0, 1} and (2, 3)
  otherwise, cosine for even ``i``, sine for odd: ``sqrt(-2 log u1) (cos, sin)(2 pi u2)`` with the vectorisable
  float32 :func:`fm_log` and :func:`fm_sincos_2pi` (``csrc/common/fastmath.h``, a few ULP; not libm), so these are
  bit-identical to the C++ kernel (the words are those of :func:`pyrepair.random.reference.normal`, the values
  differ from it by the libm ULPs).
* impulse: one uniform ``u_i`` = word ``i % 4`` of block ``i // 4``; ``u < amount / 2`` -> 0 (pepper),
  ``amount / 2 <= u < amount`` -> 1 (salt), else unchanged: each value independently replaced with probability
  ``amount``, salt and pepper equally likely (skimage ``random_noise(mode='s&p')`` semantics, Bernoulli form).
* shot: element ``i`` owns blocks ``i * 64 + j`` (j = 0..63) of the image's stream; 8-bit inputs
  (``x == float32(k) / 255``, photons <= 4096) invert per-photons CDF tables (:func:`poisson_tables`), every other
  element goes through :func:`poisson`; see :func:`shot_noise`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ..random.reference import philox4x32_10

__all__ = [
    "brightness",
    "contrast",
    "fm_log",
    "fm_log_d",
    "fm_log_factorial",
    "fm_sincos_2pi",
    "gaussian_noise",
    "image_streams",
    "impulse_noise",
    "poisson",
    "poisson_tables",
    "saturate",
    "shot_noise",
    "speckle_noise",
]

_MASK32 = 0xFFFFFFFF
_U64 = 2**64
POISSON_BLOCKS = 64  # Philox blocks reserved per element for shot noise (attempts of the rejection loop)
POISSON_INVERSION_MAX = 10.0  # lambda below this: inversion by sequential search; at or above: PTRS
_INVERSION_MAX_K = 100  # sequential search stops here (P(k > 100 | lambda < 10) < 1e-60)
TABLE_MAX_PHOTONS = 4096.0  # shot noise: CDF tables for 8-bit inputs only when photons <= this
_TABLE_TAIL = 1e-32  # table terms below this (mode term = 1) are dropped


def _f32(v: float) -> float:
    """``v`` rounded to float32 (the C++ kernels receive float constants)."""
    return float(np.float32(v))


def rng_args(fn: str, seed: int, index_offset: int) -> tuple[int, int]:
    """``(seed, index_offset)`` as ints, checked to lie in [0, 2^64) (the Philox key and the RNG image index).

    Raises:
        ValueError: naming ``fn``, the argument and its value.
    """
    if not 0 <= int(seed) < _U64:
        raise ValueError(f"{fn}: seed must be in [0, 2^64), got {seed}")
    if not 0 <= int(index_offset) < _U64:
        raise ValueError(f"{fn}: index_offset must be in [0, 2^64), got {index_offset}")
    return int(seed), int(index_offset)


def image_streams(batch: int, corruption_id: int, severity: int, index_offset: int) -> list[int]:
    """The 64-bit Philox stream of each image: ``((index_offset + b) * 32 + corruption_id) * 8 + severity``.

    The one Python form of the key (every corruption module calls it); the C++ twin is ``corruption_stream`` in
    ``csrc/corrupt/stream.h``.
    """
    return [(((index_offset + b) * 32 + corruption_id) * 8 + severity) % _U64 for b in range(batch)]


def _element_words(x: torch.Tensor, seed: int, streams: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, CHW, 4) words of block ``i // 4`` for every element, and the element index ``i`` (CHW,)."""
    b, n = x.shape[0], math.prod(x.shape[1:])
    dev = x.device
    i = torch.arange(n, dtype=torch.int64, device=dev)
    block = (i >> 2).expand(b, n).reshape(-1)
    image = torch.arange(b, dtype=torch.int64, device=dev).repeat_interleave(n)
    # uint64 streams may exceed int64: split into 32-bit words in Python, then index per element
    lo = torch.tensor([st & _MASK32 for st in streams], dtype=torch.int64, device=dev)
    hi = torch.tensor([st >> 32 for st in streams], dtype=torch.int64, device=dev)
    counter = (block & _MASK32, block >> 32, lo[image], hi[image])
    w = torch.stack(philox4x32_10(counter, (seed & _MASK32, seed >> 32)), dim=1)
    return w.reshape(b, n, 4), i


def _unit(w: torch.Tensor) -> torch.Tensor:
    # (top 23 bits + 0.5) * 2^-23: exactly representable in float32, strictly inside (0, 1) (common/rng.h)
    return ((w >> 9).to(torch.float32) + 0.5) * 2.0**-23


def _unit53(w_hi: torch.Tensor, w_lo: torch.Tensor) -> torch.Tensor:
    # float64 uniform in (0, 1) from two words: 27 + 26 bits, plus one half, times 2^-53 (exact in float64)
    return ((w_hi >> 5) * 67108864 + (w_lo >> 6)).to(torch.float64).add(0.5).mul(2.0**-53)


def _sqrt_ieee(x: torch.Tensor) -> torch.Tensor:
    """Correctly rounded square root (IEEE, as C++ ``sqrt``/``sqrtf`` and CUDA): torch's vectorised CPU sqrt can be
    one ULP off, numpy's is exact."""
    return torch.from_numpy(np.sqrt(x.detach().cpu().numpy())).to(x.device)


def fm_log_d(x: torch.Tensor) -> torch.Tensor:
    """Natural log of positive, normal, finite float64 values: ``fm_log_d`` of ``csrc/common/fastmath.h``
    (``2 atanh(f / (2 + f))`` series), operation for operation, so the two agree bit for bit. A few ULP."""
    if x.dtype != torch.float64:
        raise TypeError(f"fm_log_d: x must be float64, got {x.dtype}")
    bits = x.view(torch.int64)
    eb = (bits >> 52).to(torch.float64)  # x > 0: the sign bit is clear
    m0 = ((bits & 0x000FFFFFFFFFFFFF) | 0x3FE0000000000000).view(torch.float64)
    low = m0 < 0.70710678118654752440
    f = torch.where(low, (m0 + m0) - 1.0, m0 - 1.0)
    e = torch.where(low, eb - 1023.0, eb - 1022.0)
    s = f / (2.0 + f)
    z = s * s
    q = torch.full_like(z, 1.0 / 23.0)
    for d in (21.0, 19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0):
        q = q * z + 1.0 / d
    q = q * z
    s2 = s + s
    r = s2 * q + e * 1.90821492927058770002e-10
    r = r + s2
    return r + e * 6.93147180369123816490e-01


def fm_log_factorial(k: torch.Tensor) -> torch.Tensor:
    """``log k!`` for integer-valued float64 ``k >= 0`` (``fm_log_factorial`` of ``csrc/common/fastmath.h``): log of
    the exact ``k!`` for ``k <= 17``, Stirling's series at ``z = k + 1`` (four terms) above."""
    if k.dtype != torch.float64:
        raise TypeError(f"fm_log_factorial: k must be float64, got {k.dtype}")
    small = k <= 17.0
    fk = torch.ones_like(k)
    for j in range(2, 18):
        fk = torch.where(k >= float(j), fk * float(j), fk)
    z = k + 1.0
    lg = fm_log_d(torch.where(small, fk, z))
    r = 1.0 / z
    r2 = r * r
    c = torch.full_like(r, -1.0 / 1680.0)
    c = c * r2 + 1.0 / 1260.0
    c = c * r2 - 1.0 / 360.0
    c = c * r2 + 1.0 / 12.0
    tail = (((z - 0.5) * lg - z) + 0.91893853320467274178) + c * r
    return torch.where(small, lg, tail)


def _f32c(v: float, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float32, device=like.device)


def fm_log(x: torch.Tensor) -> torch.Tensor:
    """Natural log of positive, normal, finite float32 values: ``fm_log`` of ``csrc/common/fastmath.h`` (Cephes
    minimax polynomial), operation for operation, so the two agree bit for bit. Accuracy: a few ULP."""
    if x.dtype != torch.float32:
        raise TypeError(f"fm_log: x must be float32, got {x.dtype}")
    bits = x.view(torch.int32)
    e0 = ((bits >> 23) & 0xFF) - 126
    m0 = ((bits & 0x7FFFFF) | 0x3F000000).view(torch.float32)
    low = m0 < _f32c(0.70710678118654752440, m0)
    f = torch.where(low, (m0 + m0) - 1.0, m0 - 1.0)
    e = torch.where(low, e0 - 1, e0).to(torch.float32)
    z = f * f
    y = torch.full_like(f, _f32(7.0376836292e-2))
    for c in (-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
              2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1):  # fmt: skip
        y = y * f + _f32c(c, f)
    y = (y * f) * z
    y = y + e * _f32c(-2.12194440e-4, f)
    y = y - z * 0.5
    r = f + y
    return r + e * _f32c(0.693359375, f)


def fm_sincos_2pi(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sin(2 pi u), cos(2 pi u))`` for float32 ``u`` in [0, 1]: ``fm_sincos_2pi`` of ``csrc/common/fastmath.h``
    (quadrant from ``4 u``, Cephes minimax polynomials on [-pi/4, pi/4]), bit for bit. Accuracy: a few ULP."""
    if u.dtype != torch.float32:
        raise TypeError(f"fm_sincos_2pi: u must be float32, got {u.dtype}")
    v = u * 4.0
    q = (v + 0.5).to(torch.int32)  # v >= 0: truncation = floor
    f = v - q.to(torch.float32)
    a = f * _f32c(1.57079632679489662, f)
    z = a * a
    s = torch.full_like(z, _f32(-1.9515295891e-4))
    s = s * z + _f32c(8.3321608736e-3, z)
    s = s * z - _f32c(1.6666654611e-1, z)
    s = (s * z) * a + a
    c = torch.full_like(z, _f32(2.443315711809948e-5))
    c = c * z - _f32c(1.388731625493765e-3, z)
    c = c * z + _f32c(4.166664568298827e-2, z)
    c = (c * z) * z
    c = c - z * 0.5
    c = c + 1.0
    k = q & 3
    odd = (k & 1) == 1
    ss = torch.where(odd, c, s)
    cc = torch.where(odd, s, c)
    ss = torch.where((k & 2) != 0, -ss, ss)
    cc = torch.where(((k + 1) & 2) != 0, -cc, cc)
    return ss, cc


def _normal(x: torch.Tensor, seed: int, streams: list[int]) -> torch.Tensor:
    """Standard normals, one per element of ``x`` (Box-Muller with :func:`fm_log` / :func:`fm_sincos_2pi`, as
    ``box_muller`` in ``csrc/corrupt/corrupt.h``)."""
    w, i = _element_words(x, seed, streams)
    k = (i & 3).expand(w.shape[0], -1)
    pair = k >> 1
    u1 = _unit(w.gather(2, (2 * pair).unsqueeze(2)).squeeze(2))
    u2 = _unit(w.gather(2, (2 * pair + 1).unsqueeze(2)).squeeze(2))
    r = _sqrt_ieee(-2.0 * fm_log(u1))
    s, c = fm_sincos_2pi(u2)
    z = torch.where((k & 1) == 1, r * s, r * c)
    return z.reshape(x.shape)


def _clip(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(0.0, 1.0)


def gaussian_noise(x: torch.Tensor, sigma: float, seed: int, streams: list[int]) -> torch.Tensor:
    """``clip(x + sigma * z)`` (spec §C.2 item 1)."""
    z = _normal(x, seed, streams)
    return _clip(x + z * _f32(sigma))


def speckle_noise(x: torch.Tensor, sigma: float, seed: int, streams: list[int]) -> torch.Tensor:
    """``clip(x + x * (sigma * z))`` (spec §C.2 item 16)."""
    z = _normal(x, seed, streams)
    return _clip(x + x * (z * _f32(sigma)))


def impulse_noise(x: torch.Tensor, amount: float, seed: int, streams: list[int]) -> torch.Tensor:
    """Salt and pepper per value (spec §C.2 item 3): prob ``amount/2`` -> 0, prob ``amount/2`` -> 1."""
    w, i = _element_words(x, seed, streams)
    k = (i & 3).expand(w.shape[0], -1)
    u = _unit(w.gather(2, k.unsqueeze(2)).squeeze(2)).reshape(x.shape)
    a = torch.tensor(_f32(amount), dtype=torch.float32, device=x.device)
    half = a * 0.5
    out = torch.where(u < a, torch.where(u < half, torch.zeros_like(x), torch.ones_like(x)), x)
    return _clip(out)


def _exp_neg(lam: torch.Tensor) -> torch.Tensor:
    """``exp(-lam)`` for float64 ``lam`` in [0, 10), built from +, -, * only (so C++, CUDA and torch agree bit
    for bit): Taylor series of degree 18 in Horner form at ``t = lam / 16`` (``r = 1 - (t r) (1/k)``, ``1/k``
    rounded to float64), then squared four times."""
    t = lam * 0.0625
    r = torch.ones_like(t)
    for k in range(18, 0, -1):
        r = 1.0 - (t * r) * (1.0 / k)
    for _ in range(4):
        r = r * r
    return r


def _poisson_inversion(lam: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Sequential search of the Poisson CDF with one float64 uniform: smallest k with u <= sum_{j<=k} p_j, where
    ``p_0 = exp(-lam)`` (:func:`_exp_neg`) and ``p_j = p_{j-1} (lam (1/j))``."""
    p = _exp_neg(lam)
    s = p.clone()
    k = torch.zeros_like(lam)
    active = u > s
    for j in range(1, _INVERSION_MAX_K + 1):
        if not bool(active.any()):
            break
        p = torch.where(active, p * (lam * (1.0 / j)), p)
        s = torch.where(active, s + p, s)
        k = torch.where(active, torch.full_like(k, float(j)), k)
        active = active & (u > s)
    return k


def _poisson_ptrs(
    lam: torch.Tensor, seed: int, stream_lo: torch.Tensor, stream_hi: torch.Tensor, elem: torch.Tensor
) -> torch.Tensor:
    """Hoermann's PTRS (transformed rejection with squeeze), float64; attempt ``j`` uses block ``elem * 64 + j``:
    U from words (0, 1), V from words (2, 3). The acceptance test is
    ``fm_log_d(V invalpha / (a / us^2 + b)) <= (k fm_log_d(lam) - lam) - fm_log_factorial(k)`` (no libm: the same
    decision on every back-end). After 64 rejected attempts (probability < 1e-60) the result is ``floor(lam + 0.5)``.
    """
    slam = _sqrt_ieee(lam)
    loglam = fm_log_d(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    out = torch.floor(lam + 0.5)
    active = torch.ones_like(lam, dtype=torch.bool)
    for j in range(POISSON_BLOCKS):
        idx = active.nonzero().squeeze(1)
        if idx.numel() == 0:
            break
        block = elem[idx] * POISSON_BLOCKS + j
        w = philox4x32_10((block & _MASK32, block >> 32, stream_lo[idx], stream_hi[idx]), (seed & _MASK32, seed >> 32))
        u = _unit53(w[0], w[1]) - 0.5
        v = _unit53(w[2], w[3])
        la, bb, aa, ia, vv, ll = lam[idx], b[idx], a[idx], invalpha[idx], vr[idx], loglam[idx]
        us = 0.5 - torch.abs(u)
        k = torch.floor((2.0 * aa / us + bb) * u + la + 0.43)
        fast = (us >= 0.07) & (v <= vv)
        reject = (k < 0) | ((us < 0.013) & (v > us))
        lhs = fm_log_d(v * ia / (aa / (us * us) + bb))
        rhs = (k * ll - la) - fm_log_factorial(k.clamp(min=0.0))
        accept = fast | (~reject & (lhs <= rhs))
        done = idx[accept]
        out[done] = k[accept]
        active[done] = False
    return out


def poisson(lam: torch.Tensor, seed: int, streams: list[int]) -> torch.Tensor:
    """Poisson draws (float64 counts) for float64 rates ``lam`` of shape (B, N), element ``i`` of row ``b`` keyed
    by the image stream ``streams[b]`` and blocks ``i * 64 + j``.

    * ``lam < 10``: inversion by sequential search with one float64 uniform from words (0, 1) of block ``i * 64``;
      ``exp(-lam)`` from :func:`_exp_neg` (only +, -, *, /: identical on every back-end).
    * ``lam >= 10``: PTRS (W. Hoermann, "The transformed rejection method for generating Poisson random
      variables", Insurance: Mathematics and Economics 12, 1993), attempt ``j`` on block ``i * 64 + j``, with the
      libm-free logs of :func:`fm_log_d` / :func:`fm_log_factorial` in the acceptance test.

    Both branches are exact samplers up to float64 rounding (of the CDF sum, of the acceptance test), and they are
    bit-identical to the C++ and CUDA kernels.
    """
    bsz, n = lam.shape
    dev = lam.device
    lo = torch.tensor([st & _MASK32 for st in streams], dtype=torch.int64, device=dev)
    hi = torch.tensor([st >> 32 for st in streams], dtype=torch.int64, device=dev)
    image = torch.arange(bsz, dtype=torch.int64, device=dev).repeat_interleave(n)
    elem = torch.arange(n, dtype=torch.int64, device=dev).repeat(bsz)
    lam_f = lam.reshape(-1)
    s_lo, s_hi = lo[image], hi[image]
    out = torch.zeros_like(lam_f)
    small = lam_f < POISSON_INVERSION_MAX
    if bool(small.any()):
        idx = small.nonzero().squeeze(1)
        block = elem[idx] * POISSON_BLOCKS
        w = philox4x32_10((block & _MASK32, block >> 32, s_lo[idx], s_hi[idx]), (seed & _MASK32, seed >> 32))
        out[idx] = _poisson_inversion(lam_f[idx], _unit53(w[0], w[1]))
    if bool((~small).any()):
        idx = (~small).nonzero().squeeze(1)
        out[idx] = _poisson_ptrs(lam_f[idx], seed, s_lo[idx], s_hi[idx], elem[idx])
    return out.reshape(bsz, n)


def _poisson_table(lam: float) -> tuple[int, list[float]]:
    """(lo, cdf) of one rate, in Python floats (IEEE float64, the operations of ``poisson_table_one`` in
    ``csrc/corrupt/poisson_table.h`` in the same order): unnormalised terms ``q_m = 1`` at the mode
    ``m = floor(lam)``, ``q_j = q_{j-1} (lam / j)`` upwards and ``q_{j-1} = q_j (j / lam)`` downwards while
    ``>= 1e-32``; ``cdf`` is their running sum from the lowest kept count ``lo`` upwards."""
    mode = math.floor(lam)
    down: list[float] = []
    q, j = 1.0, float(mode)
    while j > 0.0:
        q = q * (j / lam)
        j = j - 1.0
        if q < _TABLE_TAIL:
            break
        down.append(q)
    up: list[float] = []
    q, j = 1.0, float(mode) + 1.0
    while True:
        q = q * (lam / j)
        if q < _TABLE_TAIL:
            break
        up.append(q)
        j = j + 1.0
    cdf, s = [], 0.0
    for v in [*reversed(down), 1.0, *up]:
        s = s + v
        cdf.append(s)
    return int(mode) - len(down), cdf


@functools.lru_cache(maxsize=8)
def poisson_tables(photons: float) -> tuple[tuple[int, torch.Tensor], ...]:
    """The 256 CDF tables of ``photons`` (float32-rounded, <= 4096): entry ``k`` is ``(lo, cdf)`` (cdf float64,
    shape (len,)) for the rate ``float64(float32(k) / 255) * float64(photons)`` (see :func:`shot_noise`)."""
    c = _f32(photons)
    out = []
    for k in range(256):
        lo, cdf = _poisson_table(float(np.float32(k) / np.float32(255.0)) * c)
        out.append((lo, torch.tensor(cdf, dtype=torch.float64)))
    return tuple(out)


def _table_keys(x: torch.Tensor) -> torch.Tensor:
    """int64 key ``k`` where float32 ``x == float32(k) / 255`` (``k`` in 0..255), else -1."""
    kf = torch.floor(x * 255.0 + 0.5)
    ok = (x >= 0) & (x <= 1) & (kf / 255.0 == x)
    return torch.where(ok, kf, torch.full_like(kf, -1.0)).to(torch.int64)


def shot_noise(x: torch.Tensor, photons: float, seed: int, streams: list[int]) -> torch.Tensor:
    """``clip(Poisson(x * photons) / photons)`` (spec §C.2 item 2); rate ``lam = float64(x) * photons``, result in
    float32.

    8-bit elements (``x == float32(k) / 255``, what ``uint8 / 255`` gives) when ``photons <= 4096``: exact
    inversion of the float64 CDF table of their rate (:func:`poisson_tables`): ``k = lo + `` the smallest index
    ``i`` with ``u * cdf[-1] <= cdf[i]``, ``u`` the float64 uniform of words (0, 1) of block ``i_elem * 64`` (the
    inversion's). Every other element: :func:`poisson` (inversion below 10, PTRS above). Both are exact samplers
    up to float64 rounding; the choice depends on (x, photons) only.
    """
    c = _f32(photons)
    bsz, n = x.shape[0], math.prod(x.shape[1:])
    xf = x.reshape(bsz, n)
    lam = xf.to(torch.float64) * c
    keys = _table_keys(xf) if c <= TABLE_MAX_PHOTONS else torch.full_like(xf, -1, dtype=torch.int64)
    tab = keys >= 0
    k = poisson(torch.where(tab, torch.zeros_like(lam), lam), seed, streams)  # tabled: replaced below
    if bool(tab.any()):
        img, elem = tab.nonzero(as_tuple=True)
        lo = torch.tensor([st & _MASK32 for st in streams], dtype=torch.int64, device=x.device)
        hi = torch.tensor([st >> 32 for st in streams], dtype=torch.int64, device=x.device)
        block = elem * POISSON_BLOCKS
        w = philox4x32_10((block & _MASK32, block >> 32, lo[img], hi[img]), (seed & _MASK32, seed >> 32))
        u = _unit53(w[0], w[1])
        kt = keys[img, elem]
        draw = torch.empty_like(u)
        tables = poisson_tables(c)
        for key in torch.unique(kt).tolist():
            sel = kt == key
            t_lo, cdf = tables[key]
            cdf = cdf.to(x.device)
            i = torch.searchsorted(cdf, u[sel] * cdf[-1]).clamp(max=cdf.numel() - 1)
            draw[sel] = (i + t_lo).to(torch.float64)
        k[img, elem] = draw
    return _clip(k.to(torch.float32).reshape(x.shape) / torch.tensor(c, dtype=torch.float32, device=x.device))


def brightness(x: torch.Tensor, delta: float) -> torch.Tensor:
    """skimage HSV brightness (spec §C.2 item 11): ``V' = clip(V + delta)``, H and S unchanged.

    Closed form for RGB: ``x * (V' / V)``; a black pixel (V = 0) becomes grey ``(V', V', V')``. C = 1 (grey):
    ``clip(x + delta)``.
    """
    d = torch.tensor(_f32(delta), dtype=torch.float32, device=x.device)
    if x.shape[1] == 1:
        return _clip(x + d)
    v = x.amax(dim=1, keepdim=True)
    v2 = _clip(v + d)
    ratio = v2 / torch.where(v > 0, v, torch.ones_like(v))
    out = torch.where(v > 0, x * ratio, v2.expand_as(x))
    return _clip(out)


def contrast(x: torch.Tensor, factor: float) -> torch.Tensor:
    """``clip((x - mu) * factor + mu)`` with ``mu`` the mean over H and W per image and channel (spec §C.2 item 12),
    accumulated in float64 and rounded to float32."""
    c = torch.tensor(_f32(factor), dtype=torch.float32, device=x.device)
    if x.numel() == 0:
        return x.clone()
    mu = x.to(torch.float64).mean(dim=(2, 3), keepdim=True).to(torch.float32)
    return _clip((x - mu) * c + mu)


def saturate(x: torch.Tensor, scale: float, shift: float) -> torch.Tensor:
    """skimage HSV saturation (spec §C.2 item 19): ``S' = clip(S * scale + shift)``, H and V unchanged.

    Closed form for RGB with ``S = (V - min) / V``: ``V - (V - x) * (S' / S)`` when S > 0; a grey pixel (S = 0,
    hue 0 in skimage) becomes ``(V, V (1 - S'), V (1 - S'))`` (greys turn reddish when shift > 0: a reference
    artefact, reproduced). C = 1 (grey images have no saturation): identity.
    """
    if x.shape[1] == 1:
        return _clip(x.clone())
    a = torch.tensor(_f32(scale), dtype=torch.float32, device=x.device)
    b = torch.tensor(_f32(shift), dtype=torch.float32, device=x.device)
    v = x.amax(dim=1, keepdim=True)
    mn = x.amin(dim=1, keepdim=True)
    safe_v = torch.where(v > 0, v, torch.ones_like(v))
    s = (v - mn) / safe_v
    s2 = _clip(s * a + b)
    grey = s <= 0
    k = s2 / torch.where(grey, torch.ones_like(s), s)
    colour = v - (v - x) * k
    g = v * (1.0 - s2)
    grey_px = torch.cat([v, g, g], dim=1)
    out = torch.where(grey, grey_px, colour)
    return _clip(out)
