"""Differentiable multi-level Haar transforms: ``torch.autograd.Function`` wrappers of the one-level kernels.

The gradient of each level is its adjoint: analysis = (orthonormal Haar) o (replicate padding P), so its backward
is synthesis onto the padded grid followed by P^T (the padded row / column is added back onto the last one);
synthesis = crop o (Haar)^T, so its backward is zero padding followed by analysis. Both backward passes are built
from the other Function, so double backward works too.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import _dispatch
from .._checks import check_finite, check_images, check_int, format_shape
from ..errors import DTypeError, ShapeError
from . import _kernels

__all__ = ["haar_dwt2d", "haar_idwt2d", "level_sizes", "max_levels"]


class _Dwt(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, backend: str) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        ctx.size = (int(x.shape[-2]), int(x.shape[-1]))
        ctx.backend = backend
        return _kernels.dwt(x, backend)

    @staticmethod
    def backward(ctx: Any, g_low: torch.Tensor | None, g_high: torch.Tensor | None) -> Any:  # type: ignore[override]
        h, w = ctx.size
        ref = g_low if g_low is not None else g_high
        assert ref is not None
        b, c = ref.shape[:2]
        hh, hw = (h + 1) // 2, (w + 1) // 2
        if g_low is None:
            g_low = ref.new_zeros((b, c, hh, hw))
        if g_high is None:
            g_high = ref.new_zeros((b, c, 3, hh, hw))
        y = _Idwt.apply(g_low, g_high, (2 * hh, 2 * hw), ctx.backend)
        if h % 2:  # P^T: the replicated row came from row h - 1
            y = torch.cat([y[..., : h - 1, :], y[..., h - 1 : h, :] + y[..., h : h + 1, :]], dim=-2)
        if w % 2:
            y = torch.cat([y[..., :, : w - 1], y[..., :, w - 1 : w] + y[..., :, w : w + 1]], dim=-1)
        return y, None


class _Idwt(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, low: torch.Tensor, high: torch.Tensor, size: tuple[int, int],  # type: ignore[override]
                backend: str) -> torch.Tensor:
        ctx.backend = backend
        ctx.pad = (2 * int(low.shape[-2]) - int(size[0]), 2 * int(low.shape[-1]) - int(size[1]))
        return _kernels.idwt(low, high, size, backend)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> Any:  # type: ignore[override]
        ph, pw = ctx.pad
        if ph or pw:  # adjoint of the crop: zero padding
            g = torch.nn.functional.pad(g, (0, pw, 0, ph))
        g_low, g_high = _Dwt.apply(g, ctx.backend)
        return g_low, g_high, None, None


def max_levels(h: int, w: int) -> int:
    """Levels until the low band is 1 x 1: ``ceil(log2(max(H, W)))`` (0 for a 1 x 1 image).

    Raises:
        ArgumentTypeError, ArgumentError: ``h`` or ``w`` is not an int >= 1.
    """
    fn = "pyrepair.wavelet.max_levels"
    h, w = check_int(h, "h", fn, min_value=1), check_int(w, "w", fn, min_value=1)
    n = 0
    while h > 1 or w > 1:
        h, w = (h + 1) // 2, (w + 1) // 2
        n += 1
    return n


def level_sizes(h: int, w: int, levels: int) -> list[tuple[int, int]]:
    """Image size before each level: ``[(H, W), (ceil(H/2), ceil(W/2)), ...]``, ``levels + 1`` entries."""
    sizes = [(h, w)]
    for _ in range(levels):
        h, w = (h + 1) // 2, (w + 1) // 2
        sizes.append((h, w))
    return sizes


def haar_dwt2d(x: torch.Tensor, levels: int = 1, *, backend: str = "auto") -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Multi-level 2-D orthonormal Haar analysis (``spec/deeprepair.md`` §D.1), differentiable.

    Each level splits the current low band into LL and the details (LH, HL, HH) of 2 x 2 blocks
    ``[[a, b], [c, d]]``: ``LL = (a+b+c+d)/2``, ``LH = (-a+b-c+d)/2`` (vertical edges), ``HL = (-a-b+c+d)/2``
    (horizontal edges), ``HH = (a-b-c+d)/2``. Odd sizes are padded by repeating the last row / column, which
    :func:`haar_idwt2d` removes again (pass it ``size``). The transform of an even-sized image is orthonormal
    (energy preserving); a constant image has zero detail bands and ``LL = 2^levels * value``.

    Args:
        x: float tensor (B, C, H, W), any values, H, W >= 1, on any device. float32 runs on the compiled kernels;
            other floating dtypes on the torch reference in their own dtype.
        levels: number of levels, 1 <= levels <= ``max_levels(H, W)`` (until LL is 1 x 1).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Returns:
        ``(low, highs)``: ``low`` (B, C, h_L, w_L) and ``highs[l]`` (B, C, 3, h_{l+1}, w_{l+1}) for level
        ``l = 0`` (finest) .. ``levels - 1`` (coarsest), with ``h_{l+1} = ceil(h_l / 2)``.

    Raises:
        ShapeError: ``x`` is not 4-D or has a zero-sized H / W.
        DTypeError: ``x`` is not a floating-point tensor.
        ValueError: ``levels`` out of range or ``x`` holds NaN/inf.

    Example:
        >>> import torch
        >>> from pyrepair.wavelet import haar_dwt2d, haar_idwt2d
        >>> x = torch.rand(2, 3, 9, 16)
        >>> low, highs = haar_dwt2d(x, levels=2)
        >>> low.shape, [tuple(h.shape) for h in highs]
        (torch.Size([2, 3, 3, 4]), [(2, 3, 3, 5, 8), (2, 3, 3, 3, 4)])
        >>> torch.allclose(haar_idwt2d(low, highs, size=(9, 16)), x, atol=1e-6)
        True
    """
    fn = "pyrepair.wavelet.haar_dwt2d"
    sizes = check_images(x, fn, "x", channels=None, check_range=False, layout_hint=False).sizes  # features
    check_finite(x, "x", fn)
    top = max_levels(sizes["H"], sizes["W"])
    levels = check_int(levels, "levels", fn, min_value=1, max_value=max(top, 1))
    resolved = _dispatch.select(fn, x.device, backend)
    highs: list[torch.Tensor] = []
    low = x
    for _ in range(levels):
        low, high = _Dwt.apply(low, resolved)
        highs.append(high)
    return low, highs


def haar_idwt2d(
    low: torch.Tensor, highs: list[torch.Tensor] | tuple[torch.Tensor, ...], *, size: tuple[int, int] | None = None,
    backend: str = "auto",
) -> torch.Tensor:
    """Inverse of :func:`haar_dwt2d` (exact up to float round-off), differentiable (its gradient is the adjoint).

    Args:
        low: (B, C, h_L, w_L) float tensor.
        highs: list of detail tensors, finest first, ``highs[l]`` (B, C, 3, h_{l+1}, w_{l+1}) as returned by
            :func:`haar_dwt2d`.
        size: ``(H, W)`` of the original image; needed when a level had an odd size (the padding is dropped).
            ``None`` assumes every level was even: ``H = 2^L h_L``.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Returns:
        (B, C, H, W) tensor in the dtype of ``low``.

    Raises:
        ShapeError: band shapes are inconsistent with each other or with ``size``; ``highs`` is empty.
        DTypeError: non-floating inputs.
    """
    fn = "pyrepair.wavelet.haar_idwt2d"
    check_images(low, fn, "low", channels=None, check_range=False, layout_hint=False)
    if not isinstance(highs, (list, tuple)) or len(highs) == 0:
        raise ShapeError(f"{fn}: highs must be a non-empty list of (B, C, 3, h, w) tensors, got {highs!r:.80}")
    b, c, hl, wl = (int(s) for s in low.shape)
    for i, hi in enumerate(highs):
        if not isinstance(hi, torch.Tensor) or not hi.dtype.is_floating_point:
            raise DTypeError(f"{fn}: highs[{i}] must be a floating-point torch.Tensor, got {type(hi).__name__}")
    if size is None:
        size = (int(highs[0].shape[-2]) * 2, int(highs[0].shape[-1]) * 2) if highs[0].dim() == 5 else (0, 0)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in size)):
        raise ShapeError(f"{fn}: size must be a pair of ints >= 1 (H, W), got {size!r}")
    sizes = level_sizes(int(size[0]), int(size[1]), len(highs))
    if (hl, wl) != sizes[-1]:
        raise ShapeError(
            f"{fn}: low must have spatial size {sizes[-1]} for size={tuple(size)} and {len(highs)} levels, got "
            f"{format_shape(low.shape)}", actual_shape=tuple(low.shape), expected="B,C,h,w",
        )  # fmt: skip
    for i, hi in enumerate(highs):
        want = (b, c, 3, *sizes[i + 1])
        if tuple(hi.shape) != want:
            raise ShapeError(
                f"{fn}: highs[{i}] must have shape {format_shape(want)} (size={tuple(size)}), got "
                f"{format_shape(hi.shape)}", actual_shape=tuple(hi.shape), expected="B,C,3,h,w",
            )  # fmt: skip
        if hi.device != low.device:
            raise ShapeError(f"{fn}: highs[{i}] is on {hi.device} but low is on {low.device}")
    resolved = _dispatch.select(fn, low.device, backend)
    out = low
    for i in range(len(highs) - 1, -1, -1):
        hi = highs[i]
        if hi.dtype != out.dtype:
            hi = hi.to(out.dtype)
        out = _Idwt.apply(out, hi, sizes[i], resolved)
    return out
