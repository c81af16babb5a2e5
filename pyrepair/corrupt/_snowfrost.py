"""Snow and frost (spec §C.2 items 8 and 9, §C.3): torch references, the procedural frost textures, and dispatch to
the kernels (``csrc/corrupt/snowfrost*``).

Semantics (float32 (B, C, H, W) in [0, 1], C in {1, 3}; constants rounded to float32 as the kernels receive them):

* **snow** (``mean`` mu, ``std`` s, ``zoom`` z, ``threshold`` t, ``blur_radius`` R, ``blur_sigma`` sm, ``blend`` b):

  1. ``L = mu + s * n`` (one H x W layer of standard normals ``n`` per image, float32);
  2. ``L = clipped_zoom(L, z)`` (per-axis crop, corner-aligned bilinear, the zoom-blur helper of :mod:`._blur`);
  3. ``L[L < t] = 0``; ``L = floor(255 clip(L)) / 255`` (the reference's uint8 truncation before Wand);
  4. ``M`` = the ImageMagick motion blur of ``L`` (:func:`._blur.motion_weights`, :func:`._blur.motion_offsets`:
     one-sided line kernel, clamped coordinates, ``round(255 clip(.)) / 255``) at angle
     ``theta = -135 + 90 u`` degrees (near-vertical streaks);
  5. ``x' = b x + (1 - b) max(x, 1.5 gray(x) + 0.5)``, ``gray = 0.299 R + 0.587 G + 0.114 B`` (``gray = x`` for
     C = 1);
  6. ``out = clip(x' + M + rot180(M))``.

* **frost** (``image_weight`` a, ``frost_weight`` f): ``out = clip(a * 255 x + f * T, 0, 255) / 255`` where ``T`` is
  a crop of a procedural frost texture (0..255 integer levels, :func:`frost_textures`), tiled periodically when the
  image is larger than the texture. The 5 texture slots are the reference's ``randint(5)`` photos
  frost1, frost2, frost3 (= frost2, pixel-identical), frost4, frost5; each is synthesised from the photo's measured
  statistics (spec §C.3 table) with the fixed texture seed :data:`FROST_TEXTURE_SEED`, so no image file is read.
  The texture set follows the image size, not ``scale``: images whose nearer preset is CIFAR (side <= 101 px, see
  :func:`pyrepair.corrupt.severity.preset_for`) use the CIFAR-scale textures (the photos decimated by 0.2, e.g.
  120 x 180 for frost1), larger images the native-size ones (e.g. 600 x 900). C = 1 images use the texture's
  luminance plane ``round(0.299 R + 0.587 G + 0.114 B)``.

Randomness (Philox 4x32-10, key ``seed``; image ``b`` uses the stream ``((index_offset + b) * 32 + id) * 8 +
severity`` with id 8 for snow and 9 for frost, as every corruption):

* snow: the normal of layer element ``i = y * W + x`` is Box-Muller on block ``i // 4`` (exactly
  :func:`pyrepair.random.reference.normal` on the image's stream); the angle's ``u`` is the unit float of word 0 of
  block ``2^32`` (clear of the layer's blocks).
* frost: block 0; word 0 -> slot ``floor(w0 * 5 / 2^32)``, word 1 -> ``top = floor(w1 * nt / 2^32)``, word 2 ->
  ``left = floor(w2 * nl / 2^32)``, with ``nt = Th - H`` if the texture is taller than the image (the reference's
  half-open ``randint(0, Th - H)``), else ``nt = Th`` (any phase of the tiling); likewise ``nl``.

Exactness: frost is bit-identical between the C++ kernel and :func:`frost` (integer indexing, the same float32
operations). Snow uses the same float32 operations in the same order (no FMA), but the normals go through
``log``/``sin``/``cos``, whose libm and torch implementations can differ by one ULP; such a difference changes the
output only where it moves the layer across the threshold or an 8-bit truncation boundary (rare). Tests compare
snow with ``max |diff| <= 2/255`` and require >= 99.9 % of the values bit-equal (all equal in practice).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .. import _backend, _dispatch
from ..errors import ArgumentError
from ..random.reference import normal as _philox_normal
from ..random.reference import philox4x32_10
from . import _blur
from .reference import _f32, _normal, image_streams, rng_args
from .severity import preset_for

__all__ = [
    "FROST_TEMPLATES",
    "FROST_TEXTURE_SEED",
    "IDS",
    "frost",
    "frost_crops",
    "frost_textures",
    "run_snowfrost",
    "snow",
    "snow_angles",
]

#: Names handled here -> spec §C.1 id (the RNG key; equal to ``_kernels.CORRUPTION_IDS``).
IDS: dict[str, int] = {"snow": 8, "frost": 9}
_KEYS: dict[str, tuple[str, ...]] = {
    "snow": ("mean", "std", "zoom", "threshold", "blur_radius", "blur_sigma", "blend"),
    "frost": ("image_weight", "frost_weight"),
}
#: Philox key of the procedural frost textures (fixed: the textures are constants of the library).
FROST_TEXTURE_SEED = 0
#: Philox block of the snow angle draw (above every layer block: layers have < 2^34 elements).
SNOW_ANGLE_BLOCK = 1 << 32
_MASK32 = 0xFFFFFFFF

#: Procedural frost templates (spec §C.3 table, [M] statistics of the reference photos): name, CIFAR-scale size
#: (H, W) after the reference's 0.2 decimation, native size (H, W), mean RGB, std RGB (CIFAR scale), minimum
#: inter-channel correlation rho, spectrum slope beta (CIFAR scale), std RGB and beta at native scale.
FROST_TEMPLATES: tuple[dict[str, object], ...] = (
    {"name": "frost1", "cifar": (120, 180), "native": (600, 900), "mean": (78, 149, 166), "std": (25, 16, 15),
     "rho": 0.57, "beta": 1.9, "native_std": (27, 17, 15), "native_beta": 1.6},
    {"name": "frost2", "cifar": (63, 112), "native": (315, 560), "mean": (201, 206, 215), "std": (21, 21, 22),
     "rho": 0.99, "beta": 1.5, "native_std": (21, 21, 22), "native_beta": 1.5},
    {"name": "frost4", "cifar": (70, 105), "native": (350, 527), "mean": (137, 153, 165), "std": (27, 27, 28),
     "rho": 0.99, "beta": 0.9, "native_std": (27, 27, 28), "native_beta": 0.9},
    {"name": "frost5", "cifar": (99, 132), "native": (495, 660), "mean": (113, 124, 135), "std": (43, 41, 40),
     "rho": 0.998, "beta": 1.5, "native_std": (43, 41, 40), "native_beta": 1.5},
)  # fmt: skip
#: The reference's 5 slots (``randint(5)`` over frost1..frost5; frost3 == frost2) -> template index.
FROST_SLOTS: tuple[int, ...] = (0, 1, 1, 2, 3)


# ---- procedural frost texture ------------------------------------------------------------------------------------


def _standardise(p: torch.Tensor) -> torch.Tensor:
    p = p - p.mean()
    s = p.std(unbiased=False)
    return p / s if float(s) > 0 else p


def _power_noise(h: int, w: int, beta: float, stream: int) -> torch.Tensor:
    """Periodic noise with a 1/f^(beta/2) amplitude spectrum (DC removed), standardised; float64 (H, W)."""
    white = _philox_normal(h * w, FROST_TEXTURE_SEED, stream).double().reshape(h, w)
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    f = torch.sqrt(fy * fy + fx * fx)
    amp = torch.where(f > 0, f.clamp_min(1e-12).pow(-beta / 2.0), torch.zeros_like(f))
    return _standardise(torch.fft.ifft2(torch.fft.fft2(white) * amp).real)


def _template_texture(t: int, scale: str) -> torch.Tensor:
    """(4, H, W) float32 integer levels 0..255 of template ``t``: R, G, B and the luminance plane."""
    spec = FROST_TEMPLATES[t]
    native = scale == "native"
    h, w = spec["native" if native else "cifar"]  # type: ignore[misc]
    std = spec["native_std" if native else "std"]
    beta = float(spec["native_beta" if native else "beta"])  # type: ignore[arg-type]
    rho = float(spec["rho"])  # type: ignore[arg-type]
    base = (t * 16 + (8 if native else 0)) * 1  # stream per (template, scale, field)
    p_beta = _power_noise(h, w, beta, base + 0)
    ridges = torch.zeros(h, w, dtype=torch.float64)
    for o in range(3):
        p2 = _power_noise(h, w, 2.0, base + 1 + o)
        ridges = ridges + 0.5**o * (1.0 - torch.tanh(p2).abs()).pow(6)
    g = _standardise(0.7 * p_beta + 0.5 * _standardise(ridges))
    planes = []
    for c in range(3):
        pc = _power_noise(h, w, beta, base + 4 + c)
        v = float(spec["mean"][c]) + float(std[c]) * (rho * g + math.sqrt(1.0 - rho * rho) * pc)  # type: ignore[index]
        planes.append(torch.round(v.clamp(0.0, 255.0)))
    lum = torch.round(0.299 * planes[0] + 0.587 * planes[1] + 0.114 * planes[2]).clamp(0.0, 255.0)
    return torch.stack([*planes, lum]).to(torch.float32)


@functools.lru_cache(maxsize=4)
def _texture_pack(scale: str) -> tuple[torch.Tensor, tuple[tuple[int, int, int], ...]]:
    texs = [_template_texture(t, scale) for t in range(len(FROST_TEMPLATES))]
    flat, table, off = [], [], 0
    for tex in texs:
        flat.append(tex.reshape(-1))
        table.append((off, int(tex.shape[1]), int(tex.shape[2])))
        off += tex.numel()
    return torch.cat(flat).contiguous(), tuple(table)


def frost_textures(scale: str = "cifar") -> list[torch.Tensor]:
    """The procedural frost textures of the 5 slots (cached; slots 1 and 2 are the same texture, as frost2/3).

    Args:
        scale: ``"cifar"`` (the photos' CIFAR-scale sizes, e.g. 120 x 180) or ``"native"`` (full photo sizes).

    Returns:
        5 float32 tensors ``(4, H, W)`` (R, G, B, luminance) with integer values in 0..255 (views of the cache:
        do not modify).
    """
    if scale not in ("cifar", "native"):
        raise ArgumentError(f"pyrepair.corrupt.frost_textures: scale must be 'cifar' or 'native', got {scale!r}")
    flat, table = _texture_pack(scale)
    out = []
    for slot in FROST_SLOTS:
        off, h, w = table[slot]
        out.append(flat[off : off + 4 * h * w].view(4, h, w))
    return out


def _texture_scale(h: int, w: int) -> str:
    return "cifar" if preset_for((h, w))[0] == "cifar" else "native"


@functools.lru_cache(maxsize=8)
def _device_pack(scale: str, device: str) -> torch.Tensor:
    return _texture_pack(scale)[0].to(device)


def _block0_words(seed: int, streams: list[int], block: int) -> list[torch.Tensor]:
    b = len(streams)
    lo = torch.tensor([s & _MASK32 for s in streams], dtype=torch.int64)
    hi = torch.tensor([s >> 32 for s in streams], dtype=torch.int64)
    blk = torch.full((b,), block, dtype=torch.int64)
    return list(philox4x32_10((blk & _MASK32, blk >> 32, lo, hi), (seed & _MASK32, seed >> 32)))


def frost_crops(h: int, w: int, seed: int, streams: list[int]) -> np.ndarray:
    """Per-image texture choice and crop: int64 (B, 5) rows ``(offset, Th, Tw, top, left)``.

    ``offset`` is the start of the slot's (4, Th, Tw) texture in the packed texture buffer; the crop starts at
    ``(top, left)`` and wraps around (tiling) when the image is larger than the texture.
    """
    _, table = _texture_pack(_texture_scale(h, w))
    out = np.zeros((len(streams), 5), dtype=np.int64)
    if not streams:
        return out
    w0, w1, w2, _ = (v.tolist() for v in _block0_words(seed, streams, 0))
    for b in range(len(streams)):
        off, th, tw = table[FROST_SLOTS[(w0[b] * 5) >> 32]]
        nt = th - h if th > h else th
        nl = tw - w if tw > w else tw
        out[b] = (off, th, tw, (w1[b] * nt) >> 32, (w2[b] * nl) >> 32)
    return out


def frost(x: torch.Tensor, image_weight: float, frost_weight: float, seed: int, streams: list[int]) -> torch.Tensor:
    """Reference frost (module docstring).

    Args:
        x: float32 (B, C, H, W) in [0, 1], C in {1, 3}.
        image_weight: a (weight of the image in 0..255 units).
        frost_weight: f (weight of the texture).
        seed: Philox key.
        streams: one Philox stream per image (id 9).

    Returns:
        A new float32 tensor of the shape of ``x``.
    """
    b, c, h, w = x.shape
    if x.numel() == 0:
        return torch.empty_like(x)
    flat = _device_pack(_texture_scale(h, w), str(x.device))
    crops = frost_crops(h, w, seed, streams)
    a, f = _f32(image_weight), _f32(frost_weight)
    planes = [0, 1, 2] if c == 3 else [3]
    outs = []
    for bi in range(b):
        off, th, tw, top, left = (int(v) for v in crops[bi])
        tex = flat[off : off + 4 * th * tw].view(4, th, tw)[planes]
        rows = (torch.arange(h, device=x.device) + top) % th
        cols = (torch.arange(w, device=x.device) + left) % tw
        t = tex[:, rows][:, :, cols]
        outs.append(((x[bi] * 255.0) * a + t * f).clamp(0.0, 255.0) / 255.0)
    return torch.stack(outs).contiguous()


# ---- snow --------------------------------------------------------------------------------------------------------


def snow_angles(batch: int, seed: int, severity: int, index_offset: int) -> list[float]:
    """Per-image streak angle in degrees, ``-135 + 90 u`` (float32), ``u`` from word 0 of block 2^32."""
    if batch == 0:
        return []
    streams = image_streams(batch, IDS["snow"], severity, index_offset)
    w0 = _block0_words(seed, streams, SNOW_ANGLE_BLOCK)[0]
    u = ((w0 >> 9).to(torch.float64) + 0.5) * 2.0**-23
    return [float(np.float32(-135.0 + 90.0 * v)) for v in u.tolist()]


def _snow_filter(radius: float, sigma: float, angles: list[float]) -> tuple[np.ndarray, np.ndarray]:
    wt = _blur.motion_weights(radius, sigma)
    return wt, _blur.motion_offsets(angles, wt.size)


def snow(
    x: torch.Tensor,
    constants: tuple[float, float, float, float, float, float, float],
    seed: int,
    severity: int,
    index_offset: int,
) -> torch.Tensor:
    """Reference snow (module docstring).

    Args:
        x: float32 (B, C, H, W) in [0, 1], C in {1, 3}.
        constants: ``(mean, std, zoom, threshold, blur_radius, blur_sigma, blend)``.
        seed: Philox key.
        severity: RNG key part.
        index_offset: global index of image 0.

    Returns:
        A new float32 tensor of the shape of ``x``.
    """
    b, c, h, w = x.shape
    if x.numel() == 0:
        return torch.empty_like(x)
    mu, sd, z, thr, radius, sigma, blend = (_f32(v) for v in constants)
    dev = x.device
    streams = image_streams(b, IDS["snow"], severity, index_offset)
    layer = _normal(torch.empty(b, 1, h, w, device=dev), seed, streams) * sd + mu
    y0, y1, ly1 = (t.to(dev) for t in _blur._zoom_axis(h, np.float32(z)))
    x0, x1, lx1 = (t.to(dev) for t in _blur._zoom_axis(w, np.float32(z)))
    ly0, lx0 = (1.0 - ly1).view(h, 1), 1.0 - lx1
    ly1 = ly1.view(h, 1)
    r0, r1 = layer[:, :, y0, :], layer[:, :, y1, :]
    top = lx0 * r0[..., x0] + lx1 * r0[..., x1]
    bot = lx0 * r1[..., x0] + lx1 * r1[..., x1]
    layer = ly0 * top + ly1 * bot
    layer = torch.where(layer < thr, torch.zeros_like(layer), layer)
    layer = torch.floor(layer.clamp(0.0, 1.0) * 255.0) / 255.0
    wt, off = _snow_filter(radius, sigma, snow_angles(b, seed, severity, index_offset))
    m = _blur.reference("motion_blur", layer.contiguous(), wt, off)
    if c == 3:
        gray = (x[:, 0:1] * 0.299 + x[:, 1:2] * 0.587) + x[:, 2:3] * 0.114
    else:
        gray = x
    ob = float(np.float32(1.0) - np.float32(blend))
    xp = x * blend + torch.maximum(x, gray * 1.5 + 0.5) * ob
    return ((xp + m) + torch.flip(m, dims=(2, 3))).clamp(0.0, 1.0).contiguous()


# ---- dispatch ----------------------------------------------------------------------------------------------------


def run_snowfrost(
    name: str,
    images: torch.Tensor,
    constants: dict[str, float],
    *,
    seed: int,
    severity: int,
    index_offset: int = 0,
    backend: str = "auto",
) -> torch.Tensor:
    """Apply snow or frost to a batch (called by :func:`pyrepair.corrupt._kernels.run`).

    Args:
        name: ``"snow"`` or ``"frost"``.
        images: float32 contiguous (B, C, H, W) in [0, 1], C in {1, 3}.
        constants: snow ``mean``, ``std``, ``zoom``, ``threshold``, ``blur_radius``, ``blur_sigma``, ``blend``;
            frost ``image_weight``, ``frost_weight``.
        seed: Philox key, in [0, 2^64).
        severity: 1..5 (RNG key only).
        index_offset: global index of ``images[0]`` (RNG key).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Returns:
        A new float32 tensor of the same shape on the same device, clipped to [0, 1].

    Raises:
        KeyError: unknown ``name`` or a missing constant.
        ValueError: ``seed`` or ``index_offset`` out of range, or a constant out of its domain.
    """
    fn = f"pyrepair.corrupt.{name}"
    if name not in IDS:
        raise KeyError(f"{fn}: no snow/frost kernel for {name!r}; known: {', '.join(IDS)}")
    keys = _KEYS[name]
    missing = [k for k in keys if k not in constants]
    if missing:
        raise KeyError(f"{fn}: missing constants {missing} (expected {list(keys)})")
    seed, index_offset = rng_args(fn, seed, index_offset)
    severity = int(severity)
    vals = tuple(float(constants[k]) for k in keys)
    if name == "snow":
        if not (vals[2] > 0 and vals[4] >= 0 and vals[5] >= 0):
            raise ArgumentError(f"{fn}: zoom must be > 0 and blur_radius, blur_sigma >= 0, got {vals[2]}, {vals[4]}, "
                             f"{vals[5]}")  # fmt: skip
        if vals[4] > 1000:
            raise ArgumentError(f"{fn}: blur_radius must be <= 1000, got {vals[4]}")
    x = images.detach().contiguous()
    b, _, h, w = x.shape
    impl = _dispatch.select(fn, x.device, backend)
    if impl == "reference":
        if name == "snow":
            return snow(x, vals, seed, severity, index_offset)  # type: ignore[arg-type]
        return frost(x, vals[0], vals[1], seed, image_streams(b, IDS["frost"], severity, index_offset))
    out = torch.empty_like(x)
    if x.numel() == 0:
        return out
    core = _backend.core(fn)
    if name == "frost":
        crops = frost_crops(h, w, seed, image_streams(b, IDS["frost"], severity, index_offset))
        if impl == "cuda":
            stream, device = _dispatch.cuda_launch(x)
            tex = _device_pack(_texture_scale(h, w), str(x.device))
            crops_d = torch.from_numpy(crops).to(x.device)
            core.corrupt_frost_cuda(
                x.data_ptr(), out.data_ptr(), tuple(x.shape), vals[0], vals[1], tex.data_ptr(), int(tex.numel()),
                crops_d.data_ptr(), stream, device,
            )  # fmt: skip
        else:
            tex = _texture_pack(_texture_scale(h, w))[0]
            core.corrupt_frost_cpu(
                _dispatch.cpu_array(x, "images"), _dispatch.cpu_array(out, "out"), vals[0], vals[1],
                _dispatch.cpu_array(tex, "texture"), crops,
            )  # fmt: skip
        return out
    wt, off = _snow_filter(vals[4], vals[5], snow_angles(b, seed, severity, index_offset))
    mu, sd, z, thr, _, _, blend = vals
    if impl == "cuda":
        stream, device = _dispatch.cuda_launch(x)
        wt_d = torch.from_numpy(np.ascontiguousarray(wt)).to(x.device)
        off_d = torch.from_numpy(np.ascontiguousarray(off).reshape(-1)).to(x.device)
        scratch = torch.empty((b, h, w), dtype=torch.float32, device=x.device)
        core.corrupt_snow_cuda(
            x.data_ptr(), out.data_ptr(), scratch.data_ptr(), tuple(x.shape), mu, sd, z, thr, blend,
            wt_d.data_ptr(), int(wt_d.numel()), off_d.data_ptr(), seed, index_offset, severity, stream, device,
        )  # fmt: skip
        return out
    core.corrupt_snow_cpu(
        _dispatch.cpu_array(x, "images"), _dispatch.cpu_array(out, "out"), mu, sd, z, thr, blend,
        np.ascontiguousarray(wt, dtype=np.float32), np.ascontiguousarray(off, dtype=np.int32).reshape(-1),
        seed, index_offset, severity,
    )  # fmt: skip
    return out
