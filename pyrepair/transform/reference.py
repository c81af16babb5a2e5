"""Torch reference of the ``transform`` kernels (the oracle of the compiled C++/CUDA versions).

Slow, obvious and device-agnostic; written from the specifications, not from the kernels:

* :func:`affine_photometric` / :func:`population`: SENSEI's transform (``spec/sensei.md`` §2.2). The inverse map of
  every output pixel ``q`` is built literally from the spec in float64 (``u = (q - c) / z``,
  ``v = (u_x - s u_y, u_y)``, ``w = v - t``, ``p = c + R^T w``) and sampled with ``grid_sample`` (bilinear, zero
  padding per tap: exactly ``grid_sample(..., align_corners=True)`` in pixel space; the grid is normalised with the
  ``align_corners=False`` formula because it round-trips the same pixel coordinates and also works for 1-pixel
  sides), then brightness, contrast and the optional normalisation.
* the AugMix ops (``spec/deeprepair.md`` §B): Pillow's ``ImageOps`` / ``Image.transform`` / ``ImageEnhance``
  semantics on 8-bit levels ``k = round(255 v)`` (round half to even, as ``torch.round``).

Inputs are validated by the public functions in :mod:`pyrepair.transform`; here images are float (B, C, H, W) and
per-image parameters are 1-D tensors of length B on the images' device. Outputs are float32.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "affine_photometric",
    "autocontrast",
    "brightness",
    "color",
    "contrast",
    "equalize",
    "luminance",
    "population",
    "posterize",
    "rotate",
    "sharpness",
    "shear_x",
    "shear_y",
    "solarize",
    "translate_x",
    "translate_y",
    "unit_cos_sin",
]

_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma, as Pillow's convert("L"): L = (299 R + 587 G + 114 B) / 1000


# ----------------------------------------------------------------------------------------------------------------
# Geometry helpers
# ----------------------------------------------------------------------------------------------------------------


def unit_cos_sin(degrees: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``cos`` and ``sin`` of angles in degrees (float64), with values below 1e-12 in magnitude set to 0.

    Snapping makes multiples of 90 degrees exact permutations of pixels (Pillow rounds its rotation matrix to 15
    decimals for the same reason).
    """
    phi = degrees.to(torch.float64) * (math.pi / 180.0)
    c, s = torch.cos(phi), torch.sin(phi)
    c = torch.where(c.abs() < 1e-12, torch.zeros_like(c), c)
    s = torch.where(s.abs() < 1e-12, torch.zeros_like(s), s)
    return c, s


def _pixel_grid(m: int, h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer pixel-centre coordinates ``(x, y)`` (column, row) as float64 tensors of shape (m, h, w)."""
    y, x = torch.meshgrid(
        torch.arange(h, dtype=torch.float64, device=device),
        torch.arange(w, dtype=torch.float64, device=device),
        indexing="ij",
    )
    return x.expand(m, h, w), y.expand(m, h, w)


def _sample(src: torch.Tensor, px: torch.Tensor, py: torch.Tensor, sampler: str) -> torch.Tensor:
    """Bilinear samples of ``src`` (M, C, H, W) at pixel coordinates ``(px, py)`` (M, H', W'), in float64.

    Pixel ``(x, y)`` of the source has its centre at the integer coordinates ``(x, y)``.

    * ``sampler="zeros"``: each of the four taps outside the image contributes 0 (SENSEI).
    * ``sampler="pil"``: Pillow's bilinear filter: a point outside ``[-1/2, W - 1/2) x [-1/2, H - 1/2)`` (outside
      the pixel squares) is filled with 0, a point inside uses the nearest valid taps (edge clamping), which is
      ``grid_sample(padding_mode="border")`` masked by that inside test.
    """
    h, w = src.shape[-2:]
    # align_corners=False normalisation: grid_sample maps x_n back to ((x_n + 1) W - 1) / 2 = px exactly (in exact
    # arithmetic) for every W >= 1.
    grid = torch.stack(((2.0 * px + 1.0) / w - 1.0, (2.0 * py + 1.0) / h - 1.0), dim=-1)
    padding = "zeros" if sampler == "zeros" else "border"
    out = F.grid_sample(src.to(torch.float64), grid, mode="bilinear", padding_mode=padding, align_corners=False)
    if sampler == "pil":
        inside = (px >= -0.5) & (px < w - 0.5) & (py >= -0.5) & (py < h - 0.5)
        out = out * inside.unsqueeze(1)
    return out


# ----------------------------------------------------------------------------------------------------------------
# SENSEI: affine + photometric (spec/sensei.md §2.2)
# ----------------------------------------------------------------------------------------------------------------


def affine_photometric(
    images: torch.Tensor,
    params: torch.Tensor,
    index: torch.Tensor | None = None,
    mean: torch.Tensor | None = None,
    std: torch.Tensor | None = None,
    contrast_pivot: float = 127 / 255,
) -> torch.Tensor:
    """SENSEI's affine + photometric warp of ``images[index[m]]`` by ``params[m]``.

    Args:
        images: (B, C, H, W) float in [0, 1].
        params: (M, 7) rows ``[rotation_deg, tx_px, ty_px, shear, zoom, brightness, contrast]``; brightness in
            image units ([0, 1] scale, SENSEI's beta / 255).
        index: (M,) int64 source image of each row; default ``arange(B)`` (then M == B).
        mean, std: optional (C,) normalisation applied last: ``(v - mean[c]) / std[c]``.
        contrast_pivot: the contrast pivot in image units (SENSEI's 127 / 255).

    Returns:
        (M, C, H, W) float32.
    """
    b, c, h, w = images.shape
    dev = images.device
    if index is None:
        index = torch.arange(b, device=dev)
    m = params.shape[0]
    p = params.to(device=dev, dtype=torch.float64)
    theta, tx, ty, shear, zoom, beta, kappa = (p[:, i].view(m, 1, 1) for i in range(7))
    src = images.to(torch.float32)[index.to(device=dev, dtype=torch.int64)]

    # Inverse map of each output pixel q (spec §2.2), in float64.
    qx, qy = _pixel_grid(m, h, w, dev)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    ux, uy = (qx - cx) / zoom, (qy - cy) / zoom  # undo zoom
    vx, vy = ux - shear * uy, uy  # undo horizontal shear
    wx, wy = vx - tx, vy - ty  # undo translation
    cos, sin = unit_cos_sin(theta)
    px = cx + cos * wx - sin * wy  # undo rotation: p = c + R^T w
    py = cy + sin * wx + cos * wy
    out = _sample(src, px, py, "zeros").to(torch.float32)
    # The geometric identity returns the source pixels exactly (not via a float64 round trip).
    identity = (theta == 0) & (tx == 0) & (ty == 0) & (shear == 0) & (zoom == 1)
    out = torch.where(identity.view(m, 1, 1, 1), src, out)

    # Photometric part, per channel, in image units: v1 = clip(v + beta), v2 = clip(pivot + kappa (v1 - pivot)).
    beta32, kappa32 = beta.to(torch.float32).view(m, 1, 1, 1), kappa.to(torch.float32).view(m, 1, 1, 1)
    pivot = torch.tensor(contrast_pivot, dtype=torch.float32, device=dev)
    v1 = torch.where(beta32 != 0, (out + beta32).clamp(0.0, 1.0), out)  # beta == 0 is skipped: exact identity
    v2 = torch.where(kappa32 != 1, (pivot + kappa32 * (v1 - pivot)).clamp(0.0, 1.0), v1)
    if mean is not None and std is not None:
        mean32 = mean.to(device=dev, dtype=torch.float32).view(1, c, 1, 1)
        std32 = std.to(device=dev, dtype=torch.float32).view(1, c, 1, 1)
        v2 = (v2 - mean32) / std32
    return v2


def population(
    images: torch.Tensor,
    params: torch.Tensor,
    mean: torch.Tensor | None = None,
    std: torch.Tensor | None = None,
    contrast_pivot: float = 127 / 255,
) -> torch.Tensor:
    """P variants of every image: ``params`` (P, B, 7) -> (P, B, C, H, W), row ``[p, b]`` applied to image ``b``."""
    n_var, b = params.shape[:2]
    _, c, h, w = images.shape
    index = torch.arange(b, device=images.device).repeat(n_var)
    flat = affine_photometric(images, params.reshape(n_var * b, 7), index, mean, std, contrast_pivot)
    return flat.reshape(n_var, b, c, h, w)


# ----------------------------------------------------------------------------------------------------------------
# AugMix point ops on 8-bit levels (Pillow ImageOps)
# ----------------------------------------------------------------------------------------------------------------


def _levels(images: torch.Tensor) -> torch.Tensor:
    """8-bit levels ``k = round(255 v)`` (half to even, float32 product) clamped to [0, 255], as int64."""
    return torch.round(images.to(torch.float32) * 255.0).clamp(0, 255).to(torch.int64)


def _apply_lut(levels: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """``lut`` (B, C, 256) int64 applied per image and channel; returns float32 ``lut[k] / 255``."""
    b, c, h, w = levels.shape
    out = torch.gather(lut, 2, levels.reshape(b, c, h * w)).reshape(b, c, h, w)
    return out.to(torch.float32) / 255.0


def _histogram(levels: torch.Tensor) -> torch.Tensor:
    """256-bin histogram per image and channel: (B, C, 256) int64."""
    b, c = levels.shape[:2]
    flat = levels.reshape(b, c, -1)
    hist = torch.zeros(b, c, 256, dtype=torch.int64, device=levels.device)
    return hist.scatter_add_(2, flat, torch.ones_like(flat))


def autocontrast(images: torch.Tensor) -> torch.Tensor:
    """Pillow ``ImageOps.autocontrast`` (cutoff 0) per image and channel.

    ``lo``/``hi`` are the lowest/highest occupied levels; ``hi <= lo`` keeps the levels; otherwise
    ``lut[k] = clamp(int(k * scale + offset), 0, 255)`` with ``scale = 255 / (hi - lo)``, ``offset = -lo * scale``
    in float64 and truncation toward zero, exactly as Pillow computes it.
    """
    k = _levels(images)
    hist = _histogram(k)
    occupied = hist > 0
    bins = torch.arange(256, device=images.device)
    lo = torch.where(occupied, bins, 256).amin(dim=2, keepdim=True)
    hi = torch.where(occupied, bins, -1).amax(dim=2, keepdim=True)
    flat = hi <= lo  # one level (or, for an empty plane, none): identity
    # a tensor / tensor division: `255.0 / t` would be computed as 255 * (1 / t), rounded twice, unlike Pillow
    scale = torch.full_like(lo, 255, dtype=torch.float64) / torch.where(flat, 1, hi - lo).to(torch.float64)
    offset = -lo.to(torch.float64) * scale
    mapped = (bins.to(torch.float64) * scale + offset).trunc().clamp(0, 255).to(torch.int64)
    lut = torch.where(flat, bins, mapped)
    return _apply_lut(k, lut)


def equalize(images: torch.Tensor) -> torch.Tensor:
    """Pillow ``ImageOps.equalize`` per image and channel.

    ``step = (n - h[last occupied level]) // 255``; ``step == 0`` (this includes a single occupied level) keeps the
    levels; otherwise ``lut[i] = (step // 2 + sum(h[:i])) // step`` clipped to 255.
    """
    k = _levels(images)
    hist = _histogram(k)
    bins = torch.arange(256, device=images.device)
    last = torch.where(hist > 0, bins, -1).amax(dim=2, keepdim=True).clamp(min=0)
    total = hist.sum(dim=2, keepdim=True)
    step = (total - hist.gather(2, last)) // 255
    before = torch.cumsum(hist, dim=2) - hist  # exclusive running sum: sum(h[:i])
    mapped = ((step // 2 + before) // step.clamp(min=1)).clamp(max=255)
    lut = torch.where(step == 0, bins, mapped)
    return _apply_lut(k, lut)


def posterize(images: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """Keep the top ``bits[b]`` (0..8) bits of every level: ``k & ~(2^(8 - bits) - 1)``."""
    k = _levels(images)
    mask = (255 - ((1 << (8 - bits.to(torch.int64))) - 1)).view(-1, 1, 1, 1)
    return (k & mask).to(torch.float32) / 255.0


def solarize(images: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Invert levels at or above ``t = round(255 * threshold[b])``: ``k >= t ? 255 - k : k``."""
    k = _levels(images)
    t = torch.round(threshold.to(torch.float64) * 255.0).to(torch.int64).view(-1, 1, 1, 1)
    return torch.where(k >= t, 255 - k, k).to(torch.float32) / 255.0


# ----------------------------------------------------------------------------------------------------------------
# AugMix geometric ops (Pillow Image.transform / Image.rotate, bilinear, fill 0)
# ----------------------------------------------------------------------------------------------------------------


def _pil_affine(images: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """Pillow ``Image.transform(size, AFFINE, (a, b, c, d, e, f), BILINEAR)`` per image.

    ``coeffs`` (B, 6) float64 maps output pixel centres ``(x + 1/2, y + 1/2)`` to input positions
    ``(a X + b Y + c, d X + e Y + f)`` in Pillow's corner-based coordinates; subtracting 1/2 gives pixel indices.
    """
    b, _, h, w = images.shape
    x, y = _pixel_grid(b, h, w, images.device)
    a = coeffs.to(device=images.device, dtype=torch.float64).view(b, 6, 1, 1)
    cx, cy = x + 0.5, y + 0.5
    px = a[:, 0] * cx + a[:, 1] * cy + a[:, 2] - 0.5
    py = a[:, 3] * cx + a[:, 4] * cy + a[:, 5] - 0.5
    return _sample(images.to(torch.float32), px, py, "pil").to(torch.float32)


def rotate(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Pillow ``Image.rotate(degrees, BILINEAR)``: counter-clockwise for positive degrees about ``(W/2, H/2)``.

    Input position of output pixel centre ``X`` (corner coordinates): ``centre + R (X - centre)`` with
    ``x_in = cos X - sin Y``, ``y_in = sin X + cos Y`` (y down).
    """
    b, _, h, w = images.shape
    cos, sin = unit_cos_sin(degrees.to(device=images.device))
    cx, cy = w / 2.0, h / 2.0
    coeffs = torch.stack((cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy), dim=1)
    return _pil_affine(images, coeffs)


def _coeffs(values: torch.Tensor, which: int) -> torch.Tensor:
    """Identity Pillow affine coefficients (B, 6) with entry ``which`` set to ``values``."""
    coeffs = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], dtype=torch.float64, device=values.device)
    coeffs = coeffs.repeat(values.shape[0], 1)
    coeffs[:, which] = values.to(torch.float64)
    return coeffs


def shear_x(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Pillow affine ``(1, s, 0, 0, 1, 0)``: output ``(x, y)`` samples the input at ``(x + s y, y)`` (pixel centres)."""
    return _pil_affine(images, _coeffs(factor.to(images.device), 1))


def shear_y(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Pillow affine ``(1, 0, 0, s, 1, 0)``: output ``(x, y)`` samples the input at ``(x, y + s x)``."""
    return _pil_affine(images, _coeffs(factor.to(images.device), 3))


def translate_x(images: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """Pillow affine ``(1, 0, t, 0, 1, 0)``: ``out(x, y) = in(x + t, y)`` (content moves left for t > 0)."""
    return _pil_affine(images, _coeffs(pixels.to(images.device), 2))


def translate_y(images: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """Pillow affine ``(1, 0, 0, 0, 1, t)``: ``out(x, y) = in(x, y + t)`` (content moves up for t > 0)."""
    return _pil_affine(images, _coeffs(pixels.to(images.device), 5))


# ----------------------------------------------------------------------------------------------------------------
# ImageEnhance ops: blend with a degenerate image, clip to [0, 1] (float, not quantised)
# ----------------------------------------------------------------------------------------------------------------


def luminance(images: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) float32 luminance: ``0.299 R + 0.587 G + 0.114 B`` for 3 channels, the channel itself for 1."""
    x = images.to(torch.float32)
    if x.shape[1] == 1:
        return x
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return _LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b


def _blend(images: torch.Tensor, degenerate: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Pillow ``Image.blend(degenerate, image, f)`` in float: ``clip(d + f (x - d), 0, 1)``; ``f == 1`` is exact."""
    x = images.to(torch.float32)
    f = factor.to(device=x.device, dtype=torch.float32).view(-1, 1, 1, 1)
    out = (degenerate + f * (x - degenerate)).clamp(0.0, 1.0)
    return torch.where(f == 1, x, out)


def color(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Color``: blend with the grey image (luminance on every channel; identity for 1 channel)."""
    return _blend(images, luminance(images).expand_as(images), factor)


def contrast(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Contrast``: blend with a constant grey equal to the image's mean luminance (float, not rounded;
    the mean is accumulated in float64)."""
    grey = luminance(images).to(torch.float64).mean(dim=(1, 2, 3)).to(torch.float32)
    return _blend(images, grey.view(-1, 1, 1, 1).expand_as(images), factor)


def brightness(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Brightness``: blend with black, i.e. ``clip(f x, 0, 1)``."""
    return _blend(images, torch.zeros_like(images, dtype=torch.float32), factor)


def sharpness(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Sharpness``: blend with Pillow's ``SMOOTH`` filter ``[[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13``
    applied to interior pixels; the one-pixel border is left untouched (as Pillow's 3x3 filter does)."""
    x = images.to(torch.float32)
    b, c, h, w = x.shape
    smooth = x.clone()
    if h >= 3 and w >= 3:
        kernel = torch.ones(3, 3, dtype=torch.float32, device=x.device)
        kernel[1, 1] = 5.0
        kernel = (kernel / 13.0).view(1, 1, 3, 3)
        inner = F.conv2d(x.reshape(b * c, 1, h, w), kernel).reshape(b, c, h - 2, w - 2)
        smooth[:, :, 1:-1, 1:-1] = inner
    return _blend(x, smooth, factor)
