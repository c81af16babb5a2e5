"""spatter (spec §C.2 item 18): torch reference and dispatch to the kernels (``csrc/corrupt/spatter*``).

Water drops (mode 0, CIFAR/ImageNet severities 1-3) or mud (mode 1, severities 4-5) over float32 (B, C, H, W)
images in [0, 1]. The exact definition (layer noise, skimage Gaussian, cv2 Canny / distance transform /
equalizeHist / emboss / box filters, colours) is in the header comment of ``csrc/corrupt/spatter.h``; the
OpenCV operations are reimplemented (spec §C.3): Canny as OpenCV computes it for ``apertureSize=3``, L1 gradient;
the distance transform is the exact Euclidean one (cv2's 5 x 5 chamfer differs by < 0.1 px), capped at 20 as the
reference's threshold step.

Randomness: image ``b`` uses the Philox stream ``((index_offset + b) * 32 + 18) * 8 + severity`` (key ``seed``);
pixels ``2q`` and ``2q + 1`` (row-major) take block ``q``: ``u1 = unit53(w0, w1)``, ``u2 = unit53(w2, w3)``,
``r = sqrt(-2 log u1)``, ``z = r cos(2 pi u2)`` and ``r sin(2 pi u2)`` with the series :func:`series_log` /
:func:`series_cossin2pi` (only ``+ - * /``, ``sqrt`` and ``frexp``), so results do not depend on batch composition,
thread count or device.

Exactness: the C++ kernel equals :func:`spatter` bit for bit (same float64 / float32 operations in the same order,
no FMA; integer steps are exact); the CUDA kernel runs the same code (one thread per image).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .. import _backend, _dispatch
from ..errors import ArgumentError
from ..random.reference import philox4x32_10
from .reference import _f32, _unit53, image_streams, rng_args

__all__ = ["ID", "gaussian_taps64", "run_spatter", "series_cossin2pi", "series_log", "spatter", "spatter_normals"]

#: Spec §C.1 id of spatter (RNG key; equal to ``_kernels.CORRUPTION_IDS["spatter"]``).
ID = 18
KEYS: tuple[str, ...] = ("mean", "std", "blur_sigma", "threshold", "intensity", "mode")
_MASK32 = 0xFFFFFFFF
_MAX_DIST = 20
_SQRT_HALF = float.fromhex("0x1.6a09e667f3bcdp-1")
_LN2 = float.fromhex("0x1.62e42fefa39efp-1")
_TWO_PI = float.fromhex("0x1.921fb54442d18p+2")
_LOG_INV = [float.fromhex(v) for v in (
    "0x1.0000000000000p+0", "0x1.5555555555555p-2", "0x1.999999999999ap-3", "0x1.2492492492492p-3",
    "0x1.c71c71c71c71cp-4", "0x1.745d1745d1746p-4", "0x1.3b13b13b13b14p-4",
)]  # fmt: skip
_COS = [float.fromhex(v) for v in (
    "0x1.0000000000000p+0", "-0x1.0000000000000p-1", "0x1.5555555555555p-5", "-0x1.6c16c16c16c17p-10",
    "0x1.a01a01a01a01ap-16", "-0x1.27e4fb7789f5cp-22", "0x1.1eed8eff8d898p-29", "-0x1.93974a8c07c9dp-37",
    "0x1.ae7f3e733b81fp-45", "-0x1.6827863b97d97p-53", "0x1.e542ba4020225p-62",
)]  # fmt: skip
_SIN = [float.fromhex(v) for v in (
    "0x1.0000000000000p+0", "-0x1.5555555555555p-3", "0x1.1111111111111p-7", "-0x1.a01a01a01a01ap-13",
    "0x1.71de3a556c734p-19", "-0x1.ae64567f544e4p-26", "0x1.6124613a86d09p-33", "-0x1.ae7f3e733b81fp-41",
    "0x1.952c77030ad4ap-49", "-0x1.2f49b46814157p-57", "0x1.71b8ef6dcf572p-66",
)]  # fmt: skip
_WATER = (175.0, 238.0, 238.0)
_MUD = (63.0, 42.0, 20.0)
_EMBOSS = ((-2, -1, 0), (-1, 1, 1), (0, 1, 2))


def gaussian_taps64(sigma: float) -> np.ndarray:
    """skimage Gaussian taps ``exp(-k^2 / 2 sigma^2)`` normalised, ``|k| <= int(4 sigma + 0.5)``, float64."""
    r = int(4.0 * sigma + 0.5) if sigma > 0 else 0
    if r == 0:
        return np.ones(1, dtype=np.float64)
    k = np.arange(-r, r + 1, dtype=np.float64)
    t = np.exp(-0.5 / (sigma * sigma) * k * k)
    return t / t.sum()


def series_log(u: torch.Tensor) -> torch.Tensor:
    """``log(u)`` of positive float64 values by frexp + atanh series (``spatter_log`` in spatter.h)."""
    m, e = torch.frexp(u)
    low = m < _SQRT_HALF
    m = torch.where(low, m * 2.0, m)
    e = torch.where(low, e - 1, e)
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    acc = torch.full_like(s, _LOG_INV[6])
    for k in range(5, -1, -1):
        acc = acc * z + _LOG_INV[k]
    return e.to(torch.float64) * _LN2 + 2.0 * s * acc


def series_cossin2pi(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cos(2 pi u), sin(2 pi u))`` of float64 ``u`` in (0, 1) by Taylor series (``spatter_cossin2pi``)."""
    a = (u - 0.5) * _TWO_PI
    y = a * a
    ac = torch.full_like(a, _COS[10])
    as_ = torch.full_like(a, _SIN[10])
    for k in range(9, -1, -1):
        ac = ac * y + _COS[k]
        as_ = as_ * y + _SIN[k]
    return -ac, -(a * as_)


def spatter_normals(h: int, w: int, seed: int, streams: list[int], device: torch.device) -> torch.Tensor:
    """(B, H, W) float64 standard normals of the layer noise (module docstring)."""
    b, n = len(streams), h * w
    npair = (n + 1) // 2
    cells = torch.arange(npair, dtype=torch.int64, device=device).repeat(b)
    image = torch.arange(b, dtype=torch.int64, device=device).repeat_interleave(npair)
    lo = torch.tensor([st & _MASK32 for st in streams], dtype=torch.int64, device=device)
    hi = torch.tensor([st >> 32 for st in streams], dtype=torch.int64, device=device)
    w0, w1, w2, w3 = philox4x32_10((cells & _MASK32, cells >> 32, lo[image], hi[image]), (seed & _MASK32, seed >> 32))
    rad = torch.sqrt(-2.0 * series_log(_unit53(w0, w1)))
    c, s = series_cossin2pi(_unit53(w2, w3))
    z = torch.stack((rad * c, rad * s), dim=1).reshape(b, 2 * npair)[:, :n]
    return z.reshape(b, h, w)


def _gauss(f: torch.Tensor, taps: np.ndarray) -> torch.Tensor:
    """(B, H, W) float64 separable Gaussian, rows then columns, edge replicate, ``acc = acc + w * v``."""
    _, h, w = f.shape
    r = taps.size // 2
    dev = f.device
    t = torch.zeros_like(f)
    for k, wk in enumerate(taps.tolist()):
        t = t + wk * f[:, torch.arange(h, device=dev).add(k - r).clamp(0, h - 1), :]
    out = torch.zeros_like(f)
    for k, wk in enumerate(taps.tolist()):
        out = out + wk * t[:, :, torch.arange(w, device=dev).add(k - r).clamp(0, w - 1)]
    return out


def _r101(n: int, device: torch.device) -> torch.Tensor:
    """Indices of the reflect-101 padded axis ``-1 .. n`` (one pixel each side)."""
    if n == 1:
        return torch.zeros(3, dtype=torch.int64, device=device)
    i = torch.arange(-1, n + 1, device=device).abs()
    return torch.where(i >= n, 2 * n - 2 - i, i)


def _pad101(u: torch.Tensor) -> torch.Tensor:
    return u[:, _r101(u.shape[1], u.device)][:, :, _r101(u.shape[2], u.device)]


def canny(l8: torch.Tensor) -> torch.Tensor:
    """``cv2.Canny(img, 50, 150)`` (aperture 3, L1 gradient) of (B, H, W) integer images in 0..255; bool edges."""
    b, h, w = l8.shape
    p = F.pad(l8.to(torch.float64)[:, None], (1, 1, 1, 1), mode="replicate")[:, 0].to(torch.int64)
    dx = (p[:, :-2, 2:] - p[:, :-2, :-2]) + 2 * (p[:, 1:-1, 2:] - p[:, 1:-1, :-2]) + (p[:, 2:, 2:] - p[:, 2:, :-2])
    dy = (p[:, 2:, :-2] - p[:, :-2, :-2]) + 2 * (p[:, 2:, 1:-1] - p[:, :-2, 1:-1]) + (p[:, 2:, 2:] - p[:, :-2, 2:])
    m = dx.abs() + dy.abs()
    mp = F.pad(m, (1, 1, 1, 1))  # zero magnitude outside
    x, y = dx.abs(), dy.abs() << 15
    tg22x = x * 13573
    tg67x = tg22x + (x << 16)
    horiz = y < tg22x
    vert = ~horiz & (y > tg67x)
    diag = ~horiz & ~vert
    same = (dx ^ dy) >= 0
    keep_h = (m > mp[:, 1:-1, :-2]) & (m >= mp[:, 1:-1, 2:])
    keep_v = (m > mp[:, :-2, 1:-1]) & (m >= mp[:, 2:, 1:-1])
    keep_d = torch.where(same, (m > mp[:, :-2, :-2]) & (m > mp[:, 2:, 2:]), (m > mp[:, :-2, 2:]) & (m > mp[:, 2:, :-2]))
    cand = (m > 50) & ((horiz & keep_h) | (vert & keep_v) | (diag & keep_d))
    edge = cand & (m > 150)
    while True:
        grown = (F.max_pool2d(edge[:, None].to(torch.float32), 3, 1, 1)[:, 0] > 0) & cand
        grown = grown | edge
        if torch.equal(grown, edge):
            return edge
        edge = grown


def capped_distance(edge: torch.Tensor) -> torch.Tensor:
    """``min(EDT to the nearest True pixel, 20)`` of (B, H, W) bool maps, float32 (20 where there is none)."""
    b, h, w = edge.shape
    cap = _MAX_DIST
    col = torch.full((b, h, w), cap + 1, dtype=torch.int64, device=edge.device)
    e = F.pad(edge.to(torch.uint8), (0, 0, cap, cap)).bool()  # False outside
    for k in range(cap, -1, -1):
        hit = e[:, cap - k : cap - k + h] | e[:, cap + k : cap + k + h]
        col = torch.where(hit, torch.full_like(col, k), col)
    cp = F.pad(col, (cap, cap), value=cap + 1)
    best = torch.full_like(col, cap * cap)
    for dk in range(-cap, cap + 1):
        g = cp[:, :, cap + dk : cap + dk + w]
        d2 = torch.where(g <= cap, g * g + dk * dk, torch.full_like(g, cap * cap))
        best = torch.minimum(best, d2)
    return torch.sqrt(best.to(torch.float64)).to(torch.float32).clamp(max=20.0)


def equalize_hist(u: torch.Tensor) -> torch.Tensor:
    """``cv2.equalizeHist`` of (B, H, W) int64 images in 0..255 (per image)."""
    b = u.shape[0]
    flat = u.reshape(b, -1)
    n = flat.shape[1]
    hist = torch.zeros(b, 256, dtype=torch.int64, device=u.device).scatter_add_(1, flat, torch.ones_like(flat))
    imin = (hist > 0).to(torch.int64).argmax(1, keepdim=True)
    hmin = hist.gather(1, imin)
    csum = hist.cumsum(1) - hmin
    scale = torch.tensor(255.0, dtype=torch.float32, device=u.device) / (n - hmin).clamp(min=1).to(torch.float32)
    lut = torch.round(csum.to(torch.float32) * scale).clamp(0, 255).to(torch.int64)
    v = torch.arange(256, device=u.device)[None, :]
    lut = torch.where(v <= imin, torch.zeros_like(lut), lut)
    lut = torch.where(hmin == n, v.expand(b, 256), lut)
    return lut.gather(1, flat).reshape(u.shape)


def _water_mask(f: torch.Tensor, intensity: float) -> torch.Tensor:
    b = f.shape[0]
    l8 = torch.floor(f * 255.0).clamp(max=255.0).to(torch.int64)
    dist = capped_distance(canny(l8))
    p = _pad101(dist)
    rows = (p[:, :, :-2] + p[:, :, 1:-1]) + p[:, :, 2:]
    ninth = torch.tensor(1.0 / 9.0, dtype=torch.float32, device=f.device)
    box = ((rows[:, :-2] + rows[:, 1:-1]) + rows[:, 2:]) * ninth
    d = equalize_hist(torch.floor(box).to(torch.int64))
    p = _pad101(d)
    h, w = d.shape[1:]
    acc = torch.zeros_like(d)
    for a in range(3):
        for c in range(3):
            acc = acc + _EMBOSS[a][c] * p[:, a : a + h, c : c + w]
    p = _pad101(acc.clamp(0, 255))
    s = sum(p[:, a : a + h, c : c + w] for a in range(3) for c in range(3))
    dv = torch.div(2 * s + 9, 18, rounding_mode="floor").to(torch.float32)
    m = l8.to(torch.float32) * dv
    mx = m.reshape(b, -1).amax(1).reshape(b, 1, 1)
    k = torch.tensor(_f32(intensity), dtype=torch.float32, device=f.device)
    return torch.where(mx > 0, (m / torch.where(mx > 0, mx, 1.0)) * k, torch.zeros_like(m))


def _colour(mode: int, channels: int, device: torch.device) -> torch.Tensor:
    rgb = _WATER if mode == 0 else _MUD
    if channels == 1:
        vals = [(0.2125 * rgb[0] + 0.7154 * rgb[1] + 0.0721 * rgb[2]) / 255.0]
    else:
        vals = [v / 255.0 for v in rgb]
    return torch.tensor(vals, dtype=torch.float32, device=device).reshape(1, channels, 1, 1)


def spatter(
    x: torch.Tensor,
    constants: dict[str, float],
    seed: int,
    streams: list[int],
) -> torch.Tensor:
    """Reference spatter (``csrc/corrupt/spatter.h`` header comment); constants rounded to float32 as the kernel.

    Args:
        x: float32 (B, C, H, W) in [0, 1], C in {1, 3}.
        constants: ``mean``, ``std``, ``blur_sigma``, ``threshold``, ``intensity``, ``mode`` (0 water, 1 mud).
        seed: Philox key.
        streams: one Philox stream per image.

    Returns:
        A new float32 tensor of the shape of ``x``, in [0, 1].
    """
    b, c, h, w = x.shape
    if x.numel() == 0:
        return torch.empty_like(x)
    mode = int(round(float(constants["mode"])))
    mean, sd, thr = (_f32(float(constants[k])) for k in ("mean", "std", "threshold"))
    intensity = float(constants["intensity"])
    dev = x.device
    f = mean + sd * spatter_normals(h, w, seed, streams, dev)
    f = _gauss(f, gaussian_taps64(float(constants["blur_sigma"])))
    f = torch.where(f < thr, torch.zeros_like(f), f)
    col = _colour(mode, c, dev)
    if mode == 0:
        m = _water_mask(f, intensity)[:, None]
        out = x + m * col
    else:
        mm = _gauss((f > thr).to(torch.float64), gaussian_taps64(intensity)).to(torch.float32)
        m = torch.where(mm < torch.tensor(0.8, dtype=torch.float32, device=dev), torch.zeros_like(mm), mm)[:, None]
        out = x * (1.0 - m) + col * m
    return out.clamp(0.0, 1.0).contiguous()


def run_spatter(
    images: torch.Tensor,
    constants: dict[str, float],
    *,
    seed: int,
    severity: int,
    index_offset: int = 0,
    backend: str = "auto",
) -> torch.Tensor:
    """Apply spatter to a batch (called by :func:`pyrepair.corrupt._kernels.run`).

    Args:
        images: float32 contiguous (B, C, H, W) in [0, 1], C in {1, 3}.
        constants: the resolved constants (:data:`KEYS`).
        seed: Philox key, in [0, 2^64).
        severity: 1..5 (RNG key only).
        index_offset: global index of ``images[0]`` (RNG key).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Returns:
        A new float32 tensor of the same shape on the same device, clipped to [0, 1].

    Raises:
        KeyError: a constant is missing.
        ValueError: ``seed`` or ``index_offset`` out of range, or ``mode`` not 0 / 1.
    """
    fn = "pyrepair.corrupt.spatter"
    missing = [k for k in KEYS if k not in constants]
    if missing:
        raise KeyError(f"{fn}: missing constants {missing} (expected {list(KEYS)})")
    seed, index_offset = rng_args(fn, seed, index_offset)
    mode = int(round(float(constants["mode"])))
    if mode not in (0, 1):
        raise ArgumentError(f"{fn}: mode must be 0 (water) or 1 (mud), got {constants['mode']!r}")
    severity = int(severity)
    x = images.detach().contiguous()
    impl = _dispatch.select(fn, x.device, backend)
    if impl == "reference":
        return spatter(x, constants, seed, image_streams(x.shape[0], ID, severity, index_offset))
    out = torch.empty_like(x)
    if x.numel() == 0:
        return out
    taps = gaussian_taps64(float(constants["blur_sigma"]))
    mud = gaussian_taps64(float(constants["intensity"])) if mode == 1 else np.ones(1, dtype=np.float64)
    args = (float(constants["mean"]), float(constants["std"]), float(constants["threshold"]),
            float(constants["intensity"]), mode, seed, index_offset, severity)  # fmt: skip
    core = _backend.core(fn)
    if impl == "cuda":
        stream, device = _dispatch.cuda_launch(x)
        taps_d = torch.from_numpy(taps).to(x.device)
        mud_d = torch.from_numpy(mud).to(x.device)
        core.corrupt_spatter_cuda(
            x.data_ptr(), out.data_ptr(), tuple(x.shape), taps_d.data_ptr(), taps_d.numel(), mud_d.data_ptr(),
            mud_d.numel(), *args, stream, device,
        )  # fmt: skip
        return out
    core.corrupt_spatter_cpu(
        _dispatch.cpu_array(x, "images"), _dispatch.cpu_array(out, "out"), np.ascontiguousarray(taps),
        np.ascontiguousarray(mud), *args,
    )  # fmt: skip
    return out
