"""Fog and pixelate: torch references and dispatch to the kernels (``csrc/corrupt/fogpixel*``).

Semantics (``spec/deeprepair.md`` §C.0, §C.2 items 10, 14; float32 (B, C, H, W) in [0, 1], outputs clipped):

* **pixelate** (``scale`` c): Pillow ``resize((int(W*c), int(H*c)), BOX)`` and back to (W, H) with BOX, on float
  values (no uint8 rounding in between). Pillow's BOX filter weighs the source pixels whose *centres* fall inside
  the footprint, ``(x + 0.5 - center) / scale`` in ``(-0.5, 0.5]``, all equally (``libImaging/Resample.c``,
  ``precompute_coeffs`` + ``box_filter``); it does not weigh fractional coverage (spec §C.2 #14 [PIL] check).
  Up-sampling BOX picks the single pixel ``floor((y + 0.5) * n / S)`` (== NEAREST). Each output value is the
  float64 mean of its source rectangle. Down sizes are clamped to >= 1 (Pillow rejects 0).
* **fog** (``strength`` s, ``wibbledecay`` d): ``p = plasma_fractal(N, d)[:H, :W]``, ``m = max(x)`` over the
  whole image, ``out = clip((x + s * p) * m / (m + s))``, in float64. ``N`` = the next power of two >= max(H, W)
  (at least 2): 32 for CIFAR (32 px) and 256 for ImageNet (224 px), as the references; the [ic] rule elsewhere.

Randomness: the plasma map of image ``b`` uses the Philox stream ``((index_offset + b) * 32 + 10) * 8 + severity``
(key ``seed``); cell ``(r, q)`` takes its single noise draw from block ``r * N + q``, words (0, 1) -> a float64
uniform (``unit53``), noise ``w * (-w + 2w * u)`` (numpy's ``uniform(-w, w)`` form). Results therefore do not depend
on batch composition, thread count or device.

Exactness: fog is bit-identical between the C++ kernels and :func:`fog` (same float64 operations in the same
order, no FMA). pixelate differs by at most one float32 ULP
(summation order of the float64 box sums).
"""

from __future__ import annotations

import torch

from .. import _backend, _dispatch
from ..random.reference import philox4x32_10
from .reference import _f32, _unit53, image_streams, rng_args

__all__ = [
    "IDS",
    "fog",
    "fog_mapsize",
    "pixelate",
    "pixelate_sizes",
    "plasma_fractal",
    "run_fogpixel",
]

#: Names handled here -> spec §C.1 id (the RNG key; equal to ``_kernels.CORRUPTION_IDS``).
IDS: dict[str, int] = {"fog": 10, "pixelate": 14}
_KEYS: dict[str, tuple[str, ...]] = {
    "fog": ("strength", "wibbledecay"),
    "pixelate": ("scale",),
}
_MASK32 = 0xFFFFFFFF


# ---- pixelate ----------------------------------------------------------------------------------------------------


def pixelate_sizes(h: int, w: int, scale: float) -> tuple[int, int]:
    """Down-sampled (height, width): ``(int(H * c), int(W * c))`` as Pillow's size arguments, clamped to [1, side]."""
    return min(h, max(1, int(h * scale))), min(w, max(1, int(w * scale)))


def _box_down_range(j: int, s: int, n: int) -> tuple[int, int]:
    """Source range [lo, hi) of BOX-down-sampled pixel ``j`` (S -> n), Pillow's ``precompute_coeffs``."""
    scale = s / n
    filterscale = max(scale, 1.0)
    support = 0.5 * filterscale
    center = (j + 0.5) * scale
    ss = 1.0 / filterscale
    xmin = max(int(center - support + 0.5), 0)
    xmax = min(int(center + support + 0.5), s)
    inside = [x for x in range(xmin, xmax) if -0.5 < (float(x) - center + 0.5) * ss <= 0.5]
    if not inside:
        lo = min(xmin, s - 1)
        return lo, lo + 1
    return inside[0], inside[-1] + 1


def _box_up_index(y: int, n: int, s: int) -> int:
    return min(int((y + 0.5) * (n / s)), n - 1)


def _group_matrix(s: int, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """0/1 (S, n) matrix whose column j marks the sources of down pixel j, and the per-output-pixel index (S,)."""
    g = torch.zeros(n, s, dtype=torch.float64)
    for j in range(n):
        lo, hi = _box_down_range(j, s, n)
        g[j, lo:hi] = 1.0
    up = torch.tensor([_box_up_index(y, n, s) for y in range(s)], dtype=torch.int64)
    return g.to(device), up.to(device)


def pixelate(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Reference pixelate (module docstring): group sums ``G_h X G_wᵀ`` / counts, then the nearest gather.

    Args:
        x: float32 (B, C, H, W) in [0, 1].
        scale: the size factor c (e.g. 0.95 for CIFAR severity 1).

    Returns:
        A new float32 tensor of the shape of ``x``.
    """
    b, c, h, w = x.shape
    if x.numel() == 0:
        return torch.empty_like(x)
    nh, nw = pixelate_sizes(h, w, scale)
    gh, uh = _group_matrix(h, nh, x.device)
    gw, uw = _group_matrix(w, nw, x.device)
    sums = gh @ x.double() @ gw.T
    counts = gh.sum(1)[:, None] * gw.sum(1)[None, :]
    down = sums / counts
    out = down.index_select(2, uh).index_select(3, uw)
    return out.to(torch.float32).clamp(0.0, 1.0).contiguous()


# ---- fog ---------------------------------------------------------------------------------------------------------


def fog_mapsize(h: int, w: int) -> int:
    """Plasma map size N: the next power of two >= max(H, W), at least 2 (32 for CIFAR, 256 for 224 px)."""
    n = 2
    while n < max(h, w):
        n *= 2
    return n


def _cell_uniforms(n: int, seed: int, streams: list[int], device: torch.device) -> torch.Tensor:
    """(B, N, N) float64 uniforms: cell (r, q) of image b from block r * N + q of stream b, words (0, 1)."""
    b = len(streams)
    cells = torch.arange(n * n, dtype=torch.int64, device=device).repeat(b)
    image = torch.arange(b, dtype=torch.int64, device=device).repeat_interleave(n * n)
    lo = torch.tensor([st & _MASK32 for st in streams], dtype=torch.int64, device=device)
    hi = torch.tensor([st >> 32 for st in streams], dtype=torch.int64, device=device)
    w0, w1, _, _ = philox4x32_10((cells & _MASK32, cells >> 32, lo[image], hi[image]), (seed & _MASK32, seed >> 32))
    return _unit53(w0, w1).reshape(b, n, n)


def plasma_fractal(
    n: int, wibbledecay: float, seed: int, streams: list[int], device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Batched diamond-square plasma fractal with wrap-around (spec §C.0), normalised to exactly [0, 1].

    Args:
        n: map size N (a power of two >= 2).
        wibbledecay: d; the noise amplitude ``w`` starts at 100 and is divided by d after every octave.
        seed: Philox key.
        streams: one Philox stream per map (see :func:`pyrepair.corrupt.reference.image_streams`).
        device: where to compute.

    Returns:
        float64 (B, N, N) maps with min 0 and max 1 each (all zeros for a constant map).
    """
    dev = torch.device(device)
    b = len(streams)
    u = _cell_uniforms(n, seed, streams, dev)
    m = torch.zeros(b, n, n, dtype=torch.float64, device=dev)
    wib = 100.0
    step = n
    decay = float(wibbledecay)

    def noise(uu: torch.Tensor, wv: float) -> torch.Tensor:
        lo = -wv
        return wv * (lo + (wv - lo) * uu)

    while step >= 2:
        h = step // 2
        corner = m[:, 0::step, 0::step]
        acc = corner + corner.roll(-1, 1)
        acc = acc + acc.roll(-1, 2)
        m[:, h::step, h::step] = acc / 4.0 + noise(u[:, h::step, h::step], wib)
        dr = m[:, h::step, h::step]
        ul = m[:, 0::step, 0::step]
        lt = (dr + dr.roll(1, 1)) + (ul + ul.roll(-1, 2))
        tt = (dr + dr.roll(1, 2)) + (ul + ul.roll(-1, 1))
        m[:, 0::step, h::step] = lt / 4.0 + noise(u[:, 0::step, h::step], wib)
        m[:, h::step, 0::step] = tt / 4.0 + noise(u[:, h::step, 0::step], wib)
        step //= 2
        wib = wib / decay
    lo = m.amin(dim=(1, 2), keepdim=True)
    rng = m.amax(dim=(1, 2), keepdim=True) - lo
    return torch.where(rng > 0, (m - lo) / torch.where(rng > 0, rng, 1.0), torch.zeros_like(m))


def fog(x: torch.Tensor, strength: float, wibbledecay: float, seed: int, streams: list[int]) -> torch.Tensor:
    """Reference fog (module docstring); constants are rounded to float32 as the kernels receive them.

    Args:
        x: float32 (B, C, H, W) in [0, 1].
        strength: s.
        wibbledecay: d.
        seed: Philox key.
        streams: one Philox stream per image.

    Returns:
        A new float32 tensor of the shape of ``x``.
    """
    b, _, h, w = x.shape
    if x.numel() == 0:
        return torch.empty_like(x)
    n = fog_mapsize(h, w)
    p = plasma_fractal(n, _f32(wibbledecay), seed, streams, x.device)[:, None, :h, :w]
    s = _f32(strength)
    xd = x.double()
    mx = x.reshape(b, -1).amax(dim=1).double().reshape(b, 1, 1, 1)
    out = (xd + s * p) * mx / (mx + s)
    return out.to(torch.float32).clamp(0.0, 1.0).contiguous()


# ---- dispatch ----------------------------------------------------------------------------------------------------


def run_fogpixel(
    name: str,
    images: torch.Tensor,
    constants: dict[str, float],
    *,
    seed: int,
    severity: int,
    index_offset: int = 0,
    backend: str = "auto",
) -> torch.Tensor:
    """Apply fog or pixelate to a batch (called by :func:`pyrepair.corrupt._kernels.run`).

    Args:
        name: ``"fog"`` or ``"pixelate"``.
        images: float32 contiguous (B, C, H, W) in [0, 1], C in {1, 3}.
        constants: fog ``strength`` and ``wibbledecay``; pixelate ``scale``.
        seed: Philox key, in [0, 2^64).
        severity: 1..5 (RNG key only).
        index_offset: global index of ``images[0]`` (RNG key).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Returns:
        A new float32 tensor of the same shape on the same device, clipped to [0, 1].

    Raises:
        KeyError: unknown ``name`` or a missing constant.
        ValueError: ``seed`` or ``index_offset`` out of range.
    """
    fn = f"pyrepair.corrupt.{name}"
    if name not in IDS:
        raise KeyError(f"{fn}: no spatial kernel for {name!r}; known: {', '.join(IDS)}")
    keys = _KEYS[name]
    missing = [k for k in keys if k not in constants]
    if missing:
        raise KeyError(f"{fn}: missing constants {missing} (expected {list(keys)})")
    seed, index_offset = rng_args(fn, seed, index_offset)
    severity = int(severity)
    cid = IDS[name]
    x = images.detach().contiguous()
    _, _, h, w = x.shape
    impl = _dispatch.select(fn, x.device, backend)
    if name == "fog":
        a, b = float(constants["strength"]), float(constants["wibbledecay"])
        n1, n2 = fog_mapsize(h, w), 0
    else:
        a, b = float(constants["scale"]), 0.0
        n1, n2 = pixelate_sizes(h, w, a)
    if impl == "reference":
        if name == "pixelate":
            return pixelate(x, a)
        return fog(x, a, b, seed, image_streams(x.shape[0], cid, severity, index_offset))
    out = torch.empty_like(x)
    if x.numel() == 0:
        return out
    core = _backend.core(fn)
    if impl == "cuda":
        stream, device = _dispatch.cuda_launch(x)
        core.corrupt_fogpixel_cuda(
            x.data_ptr(), out.data_ptr(), tuple(x.shape), cid, a, b, n1, n2, seed, index_offset, severity, stream,
            device,
        )  # fmt: skip
    else:
        core.corrupt_fogpixel_cpu(
            _dispatch.cpu_array(x, "images"), _dispatch.cpu_array(out, "out"), cid, a, b, n1, n2, seed, index_offset,
            severity,
        )  # fmt: skip
    return out
