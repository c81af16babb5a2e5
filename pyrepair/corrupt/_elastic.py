"""elastic_transform: torch reference and dispatch to the kernels (``csrc/corrupt/elastic*``).

Semantics (``spec/deeprepair.md`` §C.2 item 13; float32 (B, C, H, W) in [0, 1], outputs clipped): the
CIFAR-10-C / ImageNet-C algorithm (``alpha``, ``sigma``, ``affine``: random affine with reflect-101 bilinear warp,
Gaussian-smoothed random displacement fields, bilinear map with half-sample symmetric borders), all in float64;
exact definition and RNG layout in ``csrc/corrupt/elastic.h``. cv2's 1/32 fixed-point warp grid is not reproduced.

Randomness: image ``b`` uses the Philox stream :func:`pyrepair.corrupt.reference.image_streams` of id 13.

Exactness: bit-identical between the C++ kernels and :func:`elastic_transform` (same float64 operations in the
same order, no FMA; CUDA's ``exp`` in the Gaussian weights is computed on the host, so CUDA matches too).
"""

from __future__ import annotations

import math

import torch

from .. import _backend, _dispatch
from ..random.reference import philox4x32_10
from .reference import _f32, _unit53, image_streams, rng_args

__all__ = ["ID", "KEYS", "elastic_transform", "run_elastic"]

#: spec §C.1 id of elastic_transform (the RNG key; equal to ``_kernels.CORRUPTION_IDS``).
ID = 13
#: constant keys, in the order the compiled kernel takes them.
KEYS: tuple[str, ...] = ("alpha", "sigma", "affine")
_MASK32 = 0xFFFFFFFF


_DX_BLOCK = 1 << 32
_DY_BLOCK = 1 << 33


def _fold_reflect(i: torch.Tensor, n: int) -> torch.Tensor:
    r = i.remainder(2 * n)
    return torch.where(r < n, r, 2 * n - 1 - r)


def _fold_reflect101(i: torch.Tensor, n: int) -> torch.Tensor:
    if n == 1:
        return torch.zeros_like(i)
    r = i.remainder(2 * n - 2)
    return torch.where(r < n, r, 2 * n - 2 - r)


def _words(blocks: list[int], seed: int, stream: int) -> list[tuple[int, int, int, int]]:
    c = torch.tensor(blocks, dtype=torch.int64)
    st = torch.full_like(c, stream & _MASK32), torch.full_like(c, stream >> 32)
    w = philox4x32_10((c & _MASK32, c >> 32, st[0], st[1]), (seed & _MASK32, seed >> 32))
    return [tuple(int(v[k]) for v in w) for k in range(len(blocks))]  # type: ignore[misc]


def _unit53_int(hi: int, lo: int) -> float:
    return (float(((hi >> 5) << 26) | (lo >> 6)) + 0.5) * 2.0**-53


def _inverse_affine(h: int, w: int, affine: float, seed: int, stream: int) -> list[float]:
    """Inverse (dst -> src) affine map of one image, as ``elastic_inverse_affine`` in ``csrc/corrupt/elastic.h``."""
    q0, q1 = float(h // 2), float(w // 2)
    s = float(min(h, w) // 3)
    src = [[q0 + s, q1 + s], [q0 + s, q1 - s], [q0 - s, q1 - s]]
    words = _words([0, 1, 2], seed, stream)
    dst = [[0.0, 0.0] for _ in range(3)]
    lo = -affine
    for k in range(6):
        wd = words[k // 2]
        u = _unit53_int(wd[0], wd[1]) if k % 2 == 0 else _unit53_int(wd[2], wd[3])
        dst[k // 2][k % 2] = src[k // 2][k % 2] + (lo + (affine - lo) * u)
    (x1, y1), (x2, y2), (x3, y3) = src
    det = x1 * (y2 - y3) - y1 * (x2 - x3) + (x2 * y3 - x3 * y2)
    if det == 0.0:  # min(H, W) < 3: the three points coincide; no affine
        return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    f = [0.0] * 6
    for r in range(2):
        u1, u2, u3 = dst[0][r], dst[1][r], dst[2][r]
        f[3 * r + 0] = (u1 * (y2 - y3) - y1 * (u2 - u3) + (u2 * y3 - u3 * y2)) / det
        f[3 * r + 1] = (x1 * (u2 - u3) - u1 * (x2 - x3) + (x2 * u3 - x3 * u2)) / det
        f[3 * r + 2] = (x1 * (y2 * u3 - y3 * u2) - y1 * (x2 * u3 - x3 * u2) + u1 * (x2 * y3 - x3 * y2)) / det
    d = f[0] * f[4] - f[1] * f[3]
    if d == 0.0:
        return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    i00, i01, i10, i11 = f[4] / d, -f[1] / d, -f[3] / d, f[0] / d
    return [i00, i01, -(i00 * f[2] + i01 * f[5]), i10, i11, -(i10 * f[2] + i11 * f[5])]


def _gaussian_weights(sigma: float) -> list[float]:
    if sigma < 1e-15:
        return [1.0]
    radius = int(3.0 * sigma + 0.5)
    s2 = sigma * sigma
    wts = [math.exp(-0.5 / s2 * float(k * k)) for k in range(-radius, radius + 1)]
    total = 0.0
    for v in wts:
        total += v
    return [v / total for v in wts]


def _fields(h: int, w: int, alpha: float, sigma: float, seed: int, stream: int, device: torch.device) -> torch.Tensor:
    """(2, H, W) float64 displacement fields (dx, dy) of one image."""
    n = h * w
    cells = torch.arange(n, dtype=torch.int64)
    out = []
    for base in (_DX_BLOCK, _DY_BLOCK):
        c = cells + base
        st = torch.full_like(c, stream & _MASK32), torch.full_like(c, stream >> 32)
        w0, w1, _, _ = philox4x32_10((c & _MASK32, c >> 32, st[0], st[1]), (seed & _MASK32, seed >> 32))
        out.append(-1.0 + 2.0 * _unit53(w0, w1).reshape(h, w))
    f = torch.stack(out).to(device)
    wts = _gaussian_weights(sigma)
    r = (len(wts) - 1) // 2
    ks = torch.arange(-r, r + 1, dtype=torch.int64, device=device)
    rows = _fold_reflect(torch.arange(h, device=device)[:, None] + ks[None, :], h)
    cols = _fold_reflect(torch.arange(w, device=device)[:, None] + ks[None, :], w)
    tmp = torch.zeros_like(f)
    for k, wk in enumerate(wts):
        tmp = tmp + wk * f[:, rows[:, k], :]
    acc = torch.zeros_like(f)
    for k, wk in enumerate(wts):
        acc = acc + wk * tmp[:, :, cols[:, k]]
    return alpha * acc


def elastic_transform(
    x: torch.Tensor, alpha: float, sigma: float, affine: float, seed: int, streams: list[int]
) -> torch.Tensor:
    """Reference elastic_transform (``csrc/corrupt/elastic.h`` header comment); constants rounded to float32.

    Args:
        x: float32 (B, C, H, W) in [0, 1].
        alpha: displacement scale.
        sigma: Gaussian sigma of the displacement fields.
        affine: half-width A of the affine point jitter.
        seed: Philox key.
        streams: one Philox stream per image.

    Returns:
        A new float32 tensor of the shape of ``x``.
    """
    b, c, h, w = x.shape
    if x.numel() == 0:
        return torch.empty_like(x)
    alpha, sigma, affine = _f32(alpha), _f32(sigma), _f32(affine)
    dev = x.device
    ii = torch.arange(h, dtype=torch.int64, device=dev)[:, None].expand(h, w)
    jj = torch.arange(w, dtype=torch.int64, device=dev)[None, :].expand(h, w)
    outs = []
    for bi in range(b):
        m = _inverse_affine(h, w, affine, seed, streams[bi])
        dx, dy = _fields(h, w, alpha, sigma, seed, streams[bi], dev)
        planes = x[bi].double().reshape(c, h * w)

        def warped(i: torch.Tensor, j: torch.Tensor, m: list[float] = m, planes: torch.Tensor = planes) -> torch.Tensor:
            xd, yd = j.double(), i.double()
            sx = m[0] * xd + m[1] * yd + m[2]
            sy = m[3] * xd + m[4] * yd + m[5]
            fx, fy = torch.floor(sx), torch.floor(sy)
            tx, ty = sx - fx, sy - fy
            x0, y0 = fx.long(), fy.long()
            xa, xb = _fold_reflect101(x0, w), _fold_reflect101(x0 + 1, w)
            ya, yb = _fold_reflect101(y0, h), _fold_reflect101(y0 + 1, h)

            def at(ri: torch.Tensor, ci: torch.Tensor) -> torch.Tensor:
                return planes[:, (ri * w + ci).reshape(-1)].reshape(c, *ri.shape)

            top = (1.0 - tx) * at(ya, xa) + tx * at(ya, xb)
            bot = (1.0 - tx) * at(yb, xa) + tx * at(yb, xb)
            return (1.0 - ty) * top + ty * bot

        yy = ii.double() + dy
        xx = jj.double() + dx
        fy, fx = torch.floor(yy), torch.floor(xx)
        ty, tx = yy - fy, xx - fx
        y0, x0 = fy.long(), fx.long()
        ya, yb = _fold_reflect(y0, h), _fold_reflect(y0 + 1, h)
        xa, xb = _fold_reflect(x0, w), _fold_reflect(x0 + 1, w)
        top = (1.0 - tx) * warped(ya, xa) + tx * warped(ya, xb)
        bot = (1.0 - tx) * warped(yb, xa) + tx * warped(yb, xb)
        outs.append(((1.0 - ty) * top + ty * bot).to(torch.float32).clamp(0.0, 1.0))
    return torch.stack(outs).contiguous()


def run_elastic(
    images: torch.Tensor,
    constants: dict[str, float],
    *,
    seed: int,
    severity: int,
    index_offset: int = 0,
    backend: str = "auto",
) -> torch.Tensor:
    """Apply elastic_transform to a batch (called by :func:`pyrepair.corrupt._kernels.run`).

    Args:
        images: float32 contiguous (B, C, H, W) in [0, 1], C in {1, 3}.
        constants: ``alpha``, ``sigma``, ``affine``.
        seed: Philox key, in [0, 2^64).
        severity: 1..5 (RNG key only).
        index_offset: global index of ``images[0]`` (RNG key).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Returns:
        A new float32 tensor of the same shape on the same device, clipped to [0, 1].

    Raises:
        KeyError: a missing constant.
        ValueError: ``seed`` or ``index_offset`` out of range.
    """
    fn = "pyrepair.corrupt.elastic_transform"
    missing = [k for k in KEYS if k not in constants]
    if missing:
        raise KeyError(f"{fn}: missing constants {missing} (expected {list(KEYS)})")
    seed, index_offset = rng_args(fn, seed, index_offset)
    severity = int(severity)
    x = images.detach().contiguous()
    impl = _dispatch.select(fn, x.device, backend)
    alpha, sigma, affine = (float(constants[k]) for k in KEYS)
    if impl == "reference":
        return elastic_transform(x, alpha, sigma, affine, seed, image_streams(x.shape[0], ID, severity, index_offset))
    out = torch.empty_like(x)
    if x.numel() == 0:
        return out
    core = _backend.core(fn)
    if impl == "cuda":
        stream, device = _dispatch.cuda_launch(x)
        core.corrupt_elastic_cuda(
            x.data_ptr(), out.data_ptr(), tuple(x.shape), alpha, sigma, affine, seed, index_offset, severity, stream,
            device,
        )  # fmt: skip
    else:
        core.corrupt_elastic_cpu(
            _dispatch.cpu_array(x, "images"), _dispatch.cpu_array(out, "out"), alpha, sigma, affine, seed,
            index_offset, severity,
        )  # fmt: skip
    return out
