"""Blur corruptions (spec §C.0, §C.2 items 4 to 7, 17): filter construction, torch reference and dispatch.

Filters are built here in float64 and rounded to float32 once; the compiled kernels (``csrc/corrupt/blur.h``) and
the torch reference below only apply them, summing taps in the same order (``acc = acc + w * v`` from 0, no FMA),
so the CPU kernel equals the reference bit for bit (zoom blur: the bilinear weights are computed with the same
float32 steps too).

* gaussian_blur: skimage ``gaussian``: taps ``exp(-k^2 / 2 sigma^2)`` normalised, radius ``int(4 sigma + 0.5)``,
  edge replicate, H pass then W pass.
* defocus_blur: the disk kernel of §C.0 (17 x 17 grid for ``r <= 8``, else ``-ceil(r)..ceil(r)``), smoothed by a
  3 x 3 (5 x 5 when ``r > 8``) cv2 Gaussian with reflect-101, then correlated with each channel, reflect-101.
* motion_blur: the ImageMagick one-sided line kernel (``K = 2 ceil(R) + 1`` taps ``exp(-i^2 / 2 sigma^2)``,
  offsets ``ceil(i cos t - 1/2)``, ``ceil(i sin t - 1/2)``, clamped coordinates), rounded to 8-bit levels
  ``round(255 v) / 255``. The angle ``t = -45 + 90 u`` degrees, ``u`` = the unit float (common/rng.h) of word 0 of
  Philox block 0 of the image's stream ``((index_offset + b) * 32 + 6) * 8 + severity``. The input is not
  quantised to 8 bits first (the float API has no PIL step).
* zoom_blur: ``(x + sum_z clipped_zoom(x, z)) / (|Z| + 1)`` with ``Z = start + i step``, ``i < count`` (the float
  ``np.arange`` of §C.1), per-axis crop, corner-aligned bilinear resize (scipy ``zoom(order=1)``).
* glass_blur: Gaussian(sigma) -> 8-bit truncation ``floor(255 v) / 255`` -> ``iterations`` sequential sweeps, h from
  ``H - delta`` down to ``delta + 1``, w from ``W - delta`` down to ``delta + 1``: pixel (h, w) takes the value of
  (h + dy, w + dx) (copy for C = 3, numpy's aliasing "swap"; a true swap for C = 1) -> Gaussian(sigma), clip.
  dx, dy: words 0 and 1 of Philox block ``(iteration * H + h) * W + w`` of stream
  ``((index_offset + b) * 32 + 5) * 8 + severity``, each ``floor(word * 2 delta / 2^32) - delta`` (uniform on
  ``{-delta, ..., delta - 1}``, numpy's half-open randint). The C++ kernel runs the loop per image (OpenMP over
  images; CUDA: one thread per image).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import _backend, _dispatch
from ..errors import ArgumentError
from ..random.reference import philox4x32_10
from .reference import image_streams

__all__ = [
    "BLUR_OPS",
    "defocus_kernel",
    "gaussian_taps",
    "glass_draws",
    "motion_offsets",
    "motion_weights",
    "reference",
    "run_blur",
    "zoom_factors",
]

BLUR_OPS: tuple[str, ...] = ("gaussian_blur", "defocus_blur", "motion_blur", "zoom_blur", "glass_blur")
_OP = {"gaussian_blur": 0, "defocus_blur": 1, "motion_blur": 2, "zoom_blur": 3, "glass_blur": 4}
_GLASS_ID = 5  # CORRUPTION_IDS["glass_blur"] (RNG key)
_MOTION_ID = 6  # CORRUPTION_IDS["motion_blur"] (RNG key)
_MASK32 = 0xFFFFFFFF


def gaussian_taps(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """skimage/scipy 1-D Gaussian: ``exp(-k^2 / 2 sigma^2)`` normalised, ``|k| <= int(truncate sigma + 0.5)``.

    Args:
        sigma: standard deviation in pixels (``<= 0`` or a zero radius gives the identity ``[1]``).
        truncate: radius in units of sigma.

    Returns:
        float32 taps of odd length ``2 r + 1``.
    """
    r = int(truncate * sigma + 0.5) if sigma > 0 else 0
    if r == 0:
        return np.ones(1, dtype=np.float32)
    k = np.arange(-r, r + 1, dtype=np.float64)
    t = np.exp(-(k * k) / (2.0 * sigma * sigma))
    return (t / t.sum()).astype(np.float32)


def _cv2_gaussian(size: int, sigma: float) -> np.ndarray:
    k = np.arange(size, dtype=np.float64) - (size - 1) / 2
    t = np.exp(-(k * k) / (2.0 * sigma * sigma))
    return t / t.sum()


def _reflect101(i: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    i = np.mod(i, period)
    return np.where(i < n, i, period - i)


def defocus_kernel(radius: float, alias_sigma: float) -> np.ndarray:
    """The defocus disk of §C.0: normalised ``X^2 + Y^2 <= r^2`` mask, smoothed by a cv2 Gaussian (reflect-101).

    Args:
        radius: disk radius ``r`` in pixels; grid ``-8..8`` for ``r <= 8``, else ``-ceil(r)..ceil(r)``.
        alias_sigma: sigma of the 3 x 3 (5 x 5 when ``r > 8``) smoothing Gaussian.

    Returns:
        float32 (n, n) kernel, n odd, summing to 1 (up to float32 rounding) while the disk stays inside the grid
        (``r < 8``, or non-integer ``r > 8``); when it touches the grid edge (``r = 8``, integer ``r > 8``) the
        reflect-101 smoothing folds edge mass back in and the sum is slightly above 1, as with cv2.
    """
    half = 8 if radius <= 8 else math.ceil(radius)
    ksize = 3 if radius <= 8 else 5
    lin = np.arange(-half, half + 1, dtype=np.float64)
    xx, yy = np.meshgrid(lin, lin)
    disk = (xx * xx + yy * yy <= radius * radius).astype(np.float64)
    disk /= disk.sum()
    g = _cv2_gaussian(ksize, alias_sigma) if alias_sigma > 0 else np.eye(1)[0]
    n, r = disk.shape[0], g.size // 2
    idx = _reflect101(np.arange(n)[:, None] + np.arange(-r, r + 1)[None, :], n)  # (n, taps)
    rows = (disk[idx, :] * g[None, :, None]).sum(axis=1)  # vertical pass
    out = (rows[:, idx] * g[None, None, :]).sum(axis=2)  # horizontal pass
    return out.astype(np.float32)


def _trim_zero_border(kernel: np.ndarray) -> np.ndarray:
    """Drop the all-zero outer rings of a centred odd-sized kernel (the same margin on every side keeps it centred).

    The 17 x 17 grid of small CIFAR radii is mostly zeros; the correlation adds ``0 * v`` for them, which never
    changes a sum of finite values, so the result is bit-identical while the work drops up to ~30x.
    """
    nz = np.argwhere(kernel != 0)
    if nz.size == 0:
        return kernel
    h, w = kernel.shape
    m = int(min(nz[:, 0].min(), h - 1 - nz[:, 0].max(), nz[:, 1].min(), w - 1 - nz[:, 1].max()))
    return kernel[m:h - m, m:w - m] if m > 0 else kernel


def motion_weights(radius: float, sigma: float) -> np.ndarray:
    """ImageMagick motion-blur weights: ``K = 2 ceil(R) + 1`` taps ``exp(-i^2 / 2 sigma^2)``, normalised, float32."""
    k = 2 * math.ceil(radius) + 1 if radius > 0 else 1
    i = np.arange(k, dtype=np.float64)
    t = np.exp(-(i * i) / (2.0 * sigma * sigma)) if sigma > 0 else (i == 0).astype(np.float64)
    return (t / t.sum()).astype(np.float32)


def motion_angles(batch: int, seed: int, severity: int, index_offset: int) -> list[float]:
    """Per-image angle in degrees, ``-45 + 90 u`` with ``u`` from word 0 of Philox block 0 of the image's stream."""
    if batch == 0:
        return []
    streams = image_streams(batch, _MOTION_ID, severity, index_offset)
    lo = torch.tensor([s & _MASK32 for s in streams], dtype=torch.int64)
    hi = torch.tensor([s >> 32 for s in streams], dtype=torch.int64)
    zero = torch.zeros(batch, dtype=torch.int64)
    w0 = philox4x32_10((zero, zero, lo, hi), (seed & _MASK32, seed >> 32))[0]
    u = ((w0 >> 9).to(torch.float64) + 0.5) * 2.0**-23
    return [float(np.float32(-45.0 + 90.0 * v)) for v in u.tolist()]


def motion_offsets(angles_deg: list[float], n_taps: int) -> np.ndarray:
    """(B, K, 2) int32 ``(dy, dx) = (ceil(i sin t - 1/2), ceil(i cos t - 1/2))`` for ``i = 0..K-1``."""
    out = np.zeros((len(angles_deg), n_taps, 2), dtype=np.int32)
    for b, a in enumerate(angles_deg):
        t = math.radians(a)
        for i in range(n_taps):
            out[b, i, 0] = math.ceil(i * math.sin(t) - 0.5)
            out[b, i, 1] = math.ceil(i * math.cos(t) - 0.5)
    return out


def zoom_factors(start: float, step: float, count: float) -> np.ndarray:
    """The zoom list ``start + i step``, ``i = 0..count-1`` (``np.arange`` with the float end point), float32."""
    return (start + np.arange(int(round(count)), dtype=np.float64) * step).astype(np.float32)


def _zoom_axis(n: int, z: np.float32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source indices i0, i1 and weight l1 of each output index along one axis (mirrors blur.h ``zoom_axis``)."""
    zd = float(z)
    ch = min(max(math.ceil(n / zd), 1), n)
    top = (n - ch) // 2
    m = int(np.rint(ch * zd))
    trim = (m - n) // 2 if m > n else 0
    scale = np.float32(ch - 1) / np.float32(m - 1) if m > 1 else np.float32(0.0)
    j = np.arange(n, dtype=np.int64) + trim
    s = (scale * j.astype(np.float32)).astype(np.float32)
    a = np.minimum(s.astype(np.int64), ch - 1)
    b = np.where(a + 1 < ch, a + 1, ch - 1)
    l1 = (s - a.astype(np.float32)).astype(np.float32)
    return torch.from_numpy(top + a), torch.from_numpy(top + b), torch.from_numpy(l1)


def glass_draws(
    seed: int, stream: int, iteration: int, h: int, w: int, delta: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The shuffle steps of one glass-blur sweep in loop order: ``(hs, ws, dx, dy)`` int64 tensors.

    Args:
        seed: Philox key.
        stream: the image's stream ``((index_offset + b) * 32 + 5) * 8 + severity``.
        iteration: sweep index (0-based).
        h: image height.
        w: image width.
        delta: maximal displacement (>= 1).

    Returns:
        destination rows and columns (h from ``H - delta`` down to ``delta + 1``, w likewise, row-major) and the
        offsets dx, dy in ``[-delta, delta)``.
    """
    rows = (
        torch.arange(h - delta, delta, -1, dtype=torch.int64)
        if h - delta > delta
        else torch.zeros(0, dtype=torch.int64)
    )
    cols = (
        torch.arange(w - delta, delta, -1, dtype=torch.int64)
        if w - delta > delta
        else torch.zeros(0, dtype=torch.int64)
    )
    hs = rows.repeat_interleave(cols.numel())
    ws = cols.repeat(rows.numel())
    block = (iteration * h + hs) * w + ws
    n = block.numel()
    lo = torch.full((n,), stream & _MASK32, dtype=torch.int64)
    hi = torch.full((n,), stream >> 32, dtype=torch.int64)
    words = philox4x32_10((block & _MASK32, block >> 32, lo, hi), (seed & _MASK32, seed >> 32))
    dx = ((words[0] * (2 * delta)) >> 32) - delta
    dy = ((words[1] * (2 * delta)) >> 32) - delta
    return hs, ws, dx, dy


def _gauss(x: torch.Tensor, wt: list[float]) -> torch.Tensor:
    """Separable Gaussian, H pass then W pass, edge replicate, unclipped (blur.h ``gauss_pass`` order)."""
    h, w = x.shape[2], x.shape[3]
    r = len(wt) // 2
    rows = [torch.arange(h, device=x.device).add(k - r).clamp(0, h - 1) for k in range(len(wt))]
    cols = [torch.arange(w, device=x.device).add(k - r).clamp(0, w - 1) for k in range(len(wt))]
    tmp = _acc([(wt[k], x[:, :, rows[k], :]) for k in range(len(wt))])
    return _acc([(wt[k], tmp[:, :, :, cols[k]]) for k in range(len(wt))])


def _glass(x: torch.Tensor, wt: list[float], glass: tuple[int, int, int, list[int]]) -> torch.Tensor:
    delta, iterations, seed, streams = glass
    y = (torch.floor(_gauss(x, wt).clamp(0.0, 1.0) * 255.0) / 255.0).cpu().numpy().copy()
    b, c, h, w = y.shape
    for bi in range(b):
        img = y[bi]
        for it in range(iterations):
            hs, ws, dx, dy = (t.tolist() for t in glass_draws(seed, streams[bi], it, h, w, delta))
            for hh, ww, ddx, ddy in zip(hs, ws, dx, dy, strict=True):
                if c == 1:
                    img[0, hh, ww], img[0, hh + ddy, ww + ddx] = img[0, hh + ddy, ww + ddx], img[0, hh, ww]
                else:
                    img[:, hh, ww] = img[:, hh + ddy, ww + ddx]
    return _gauss(torch.from_numpy(y).to(x.device), wt).clamp(0.0, 1.0)


def _acc(terms: list[tuple[torch.Tensor | float, torch.Tensor]]) -> torch.Tensor:
    acc = torch.zeros_like(terms[0][1])
    for w, v in terms:
        acc = acc + w * v
    return acc


def reference(
    name: str,
    x: torch.Tensor,
    weights: np.ndarray,
    offsets: np.ndarray | None = None,
    glass: tuple[int, int, int, list[int]] | None = None,
) -> torch.Tensor:
    """Torch oracle of one blur op with a prepared filter (same tap order as the kernels).

    Args:
        name: one of :data:`BLUR_OPS`.
        x: float32 (B, C, H, W).
        weights: gaussian taps, the 2-D defocus kernel, motion weights or zoom factors.
        offsets: motion-blur (B, K, 2) int32 offsets.
        glass: glass-blur ``(delta, iterations, seed, per-image streams)``.

    Returns:
        the blurred batch (new tensor, clipped to [0, 1]).
    """
    b, c, h, w = x.shape
    dev = x.device
    if x.numel() == 0:
        return x.clone()
    wt = [float(v) for v in np.asarray(weights, dtype=np.float32).reshape(-1)]
    if name == "gaussian_blur":
        return _gauss(x, wt).clamp(0.0, 1.0)
    if name == "glass_blur":
        assert glass is not None
        return _glass(x, wt, glass)
    if name == "defocus_blur":
        kh, kw = weights.shape
        ry, rx = kh // 2, kw // 2
        terms = []
        for i in range(kh):
            yy = torch.from_numpy(_reflect101(np.arange(h) + i - ry, h)).to(dev)
            xr = x[:, :, yy, :]
            for j in range(kw):
                xx = torch.from_numpy(_reflect101(np.arange(w) + j - rx, w)).to(dev)
                terms.append((wt[i * kw + j], xr[:, :, :, xx]))
        return _acc(terms).clamp(0.0, 1.0)
    if name == "motion_blur":
        assert offsets is not None
        outs = []
        for bi in range(b):
            terms = []
            for i in range(len(wt)):
                yy = torch.arange(h, device=dev).add(int(offsets[bi, i, 0])).clamp(0, h - 1)
                xx = torch.arange(w, device=dev).add(int(offsets[bi, i, 1])).clamp(0, w - 1)
                terms.append((wt[i], x[bi : bi + 1, :, yy, :][:, :, :, xx]))
            outs.append(torch.round(_acc(terms).clamp(0.0, 1.0) * 255.0) / 255.0)
        return torch.cat(outs)
    acc = x.clone()
    for z in np.asarray(weights, dtype=np.float32).reshape(-1):
        y0, y1, ly1 = (t.to(dev) for t in _zoom_axis(h, z))
        x0, x1, lx1 = (t.to(dev) for t in _zoom_axis(w, z))
        ly0, lx0 = (1.0 - ly1).view(h, 1), (1.0 - lx1)
        ly1 = ly1.view(h, 1)
        r0, r1 = x[:, :, y0, :], x[:, :, y1, :]
        top = lx0 * r0[..., x0] + lx1 * r0[..., x1]
        bot = lx0 * r1[..., x0] + lx1 * r1[..., x1]
        acc = acc + (ly0 * top + ly1 * bot)
    return (acc / float(np.float32(len(wt) + 1))).clamp(0.0, 1.0)


def prepare(
    name: str, constants: dict[str, float], batch: int, *, seed: int, severity: int, index_offset: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The float32 filter (and motion offsets) of ``name`` for these constants; see the module docstring.

    Args:
        name: one of :data:`BLUR_OPS`.
        constants: the resolved constants (:func:`pyrepair.corrupt.severity.resolve` keys).
        batch: number of images (motion blur draws one angle each).
        seed: Philox key.
        severity: RNG key part.
        index_offset: global index of image 0.

    Returns:
        ``(weights, offsets)``; offsets only for motion blur.
    """
    if name in ("gaussian_blur", "glass_blur"):
        return gaussian_taps(float(constants["sigma"])), None
    if name == "defocus_blur":
        return _trim_zero_border(defocus_kernel(float(constants["radius"]), float(constants["alias_sigma"]))), None
    if name == "motion_blur":
        wt = motion_weights(float(constants["radius"]), float(constants["sigma"]))
        return wt, motion_offsets(motion_angles(batch, seed, severity, index_offset), wt.size)
    return zoom_factors(float(constants["start"]), float(constants["step"]), float(constants["count"])), None


def run_blur(
    name: str,
    images: torch.Tensor,
    constants: dict[str, float],
    *,
    seed: int,
    severity: int,
    index_offset: int,
    backend: str,
) -> torch.Tensor:
    """Apply one blur corruption to a contiguous float32 (B, C, H, W) batch (called by ``_kernels.run``).

    Args:
        name: one of :data:`BLUR_OPS`.
        images: float32 (B, C, H, W) in [0, 1], C in {1, 3}.
        constants: resolved constants of ``name``.
        seed: Philox key in [0, 2^64) (used by motion blur).
        severity: 1..5 (RNG key only).
        index_offset: global index of ``images[0]``.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Returns:
        a new float32 tensor of the same shape on the same device, clipped to [0, 1].

    Raises:
        KeyError: a constant is missing.
    """
    fn = f"pyrepair.corrupt.{name}"
    x = images.detach().contiguous()
    weights, offsets = prepare(name, constants, x.shape[0], seed=seed, severity=severity, index_offset=index_offset)
    impl = _dispatch.select(fn, x.device, backend)
    delta = int(round(float(constants["delta"]))) if name == "glass_blur" else 0
    iterations = int(round(float(constants["iterations"]))) if name == "glass_blur" else 0
    if name == "glass_blur" and (delta < 1 or iterations < 0):
        raise ArgumentError(f"{fn}: delta must be >= 1 and iterations >= 0, got {delta}, {iterations}")
    if impl == "reference":
        streams = image_streams(x.shape[0], _GLASS_ID, severity, index_offset)
        return reference(name, x, weights, offsets, (delta, iterations, seed, streams))
    out = torch.empty_like(x)
    if x.numel() == 0:
        return out
    core = _backend.core(fn)
    kh, kw = weights.shape if weights.ndim == 2 else (1, weights.size)
    off = offsets if offsets is not None else np.zeros(0, dtype=np.int32)
    if impl == "cuda":
        stream, device = _dispatch.cuda_launch(x)
        wt_d = torch.from_numpy(np.ascontiguousarray(weights).reshape(-1)).to(x.device)
        off_d = torch.from_numpy(np.ascontiguousarray(off).reshape(-1)).to(x.device)
        tmp = torch.empty_like(x) if name in ("gaussian_blur", "glass_blur") else None
        work = torch.empty_like(x) if name == "glass_blur" else None
        core.corrupt_blur_cuda(
            x.data_ptr(), out.data_ptr(), tmp.data_ptr() if tmp is not None else 0,
            work.data_ptr() if work is not None else 0, tuple(x.shape), _OP[name],
            wt_d.data_ptr(), int(wt_d.numel()), off_d.data_ptr() if off_d.numel() else 0, int(off_d.numel()),
            int(kh), int(kw), delta, iterations, seed, index_offset, severity, stream, device,
        )  # fmt: skip
        return out
    core.corrupt_blur_cpu(
        _dispatch.cpu_array(x, "images"),
        _dispatch.cpu_array(out, "out"),
        _OP[name],
        np.ascontiguousarray(weights, dtype=np.float32).reshape(-1),
        np.ascontiguousarray(off, dtype=np.int32).reshape(-1),
        int(kh),
        int(kw),
        delta,
        iterations,
        seed,
        index_offset,
        severity,
    )
    return out
