"""WCT2 photorealistic style transfer (Yoo et al., ICCV 2019) in pure torch, batched.

The network is VGG-19 up to ``conv4_1`` with every max-pool replaced by fixed Haar wavelet pooling
(:class:`HaarPool2d`); the decoder mirrors it with Haar unpooling (:class:`HaarUnpool2d`) that receives the
encoder's high-frequency bands (spec §D.1, §D.2). Style transfer whitens and colours the content features
with the style statistics (WCT, §D.3) after every encoder level and before every decoder level (§D.4).

Differences from the published code (``clovaai/WCT2``), none of which changes the result beyond float rounding:

* the whole batch is processed at once: per-image covariances are batched matmuls and the eigendecompositions
  one batched ``torch.linalg.eigh`` call (the published code handles one image pair per call, with an SVD each);
* when a feature map has fewer positions ``n`` than channels ``C`` (``conv4_1`` at 32 px: 16 positions, 512
  channels) the identity-regularised whitening and colouring are computed from the ``n×n`` Gram matrix instead
  of the ``C×C`` covariance; this is exact, because ``Σ̂ + εI`` acts as ``ε·I`` outside the span of the features;
* style statistics can be computed once (:meth:`WCT2.style_stats`) and reused for any number of contents, with
  a ``style_index`` that picks a reference per content image from a style bank.

No weights are shipped and nothing is downloaded: train a model on your own images with :func:`train_wct2`, or
load the published checkpoints that you obtained yourself with :func:`load_published_wct2`.

Example:
    >>> import torch
    >>> from pyrepair.wavelet.stylizer import WCT2, wct2_transfer
    >>> model = WCT2().eval()
    >>> content, style = torch.rand(2, 3, 16, 16), torch.rand(1, 3, 16, 16)
    >>> wct2_transfer(content, style, model=model).shape
    torch.Size([2, 3, 16, 16])
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from .._checks import (
    check_images,
    check_in,
    check_int,
    check_positive,
    check_seed,
    format_shape,
    torch_seed,
)
from .._checks import (
    check_range as check_number,
)
from .._io import check_path, load_hashed, save_hashed
from .._loop import TrainLoop, batched_loader
from ..errors import ArgumentError, ArgumentTypeError, CheckpointError, DeviceError, ShapeError

__all__ = [
    "HAAR_KERNELS",
    "TRANSFER_AT",
    "HaarPool2d",
    "HaarUnpool2d",
    "WCT2",
    "WCT2Decoder",
    "WCT2Encoder",
    "WCT2StyleStats",
    "load_published_wct2",
    "load_wct2",
    "reconstruction_loss",
    "save_wct2",
    "train_wct2",
    "wct2_transfer",
]

Unpool = Literal["cat5", "sum"]
TRANSFER_AT: frozenset[str] = frozenset({"encoder", "skip", "decoder"})
_CKPT_FORMAT = "pyrepair.wct2/1"

# ---------------------------------------------------------------------------------------------------------------------
# Haar pooling / unpooling (§D.1)
# ---------------------------------------------------------------------------------------------------------------------

#: The four 2×2 Haar analysis kernels, in band order LL, LH, HL, HH, shape ``[4, 2, 2]`` (spec §D.1): outer products
#: of ``L = [1, 1]/√2`` and ``H = [-1, 1]/√2`` with the row (vertical) factor first.
HAAR_KERNELS: torch.Tensor = 0.5 * torch.tensor(
    [
        [[1.0, 1.0], [1.0, 1.0]],  # LL
        [[-1.0, 1.0], [-1.0, 1.0]],  # LH: right minus left (vertical edges)
        [[-1.0, -1.0], [1.0, 1.0]],  # HL: bottom minus top (horizontal edges)
        [[1.0, -1.0], [-1.0, 1.0]],  # HH
    ]
)
_BANDS = ("LL", "LH", "HL", "HH")


class HaarPool2d(nn.Module):
    """Fixed Haar wavelet pooling: a depthwise stride-2 2×2 analysis of every channel into four bands.

    ``forward(x)`` takes ``x`` of shape ``[B, C, H, W]`` (H, W even, any float dtype) and returns the tuple
    ``(LL, LH, HL, HH)``, each ``[B, C, H/2, W/2]``. For a block ``[[a, b], [c, d]]``: ``LL = (a+b+c+d)/2``,
    ``LH = (-a+b-c+d)/2``, ``HL = (-a-b+c+d)/2``, ``HH = (a-b-c+d)/2``. The transform is orthonormal; the kernels
    are a non-trainable, non-persistent buffer (they are constants, not weights).
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("kernels", HAAR_KERNELS.unsqueeze(1).clone(), persistent=False)  # [4, 1, 2, 2]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        b, c, h, w = x.shape
        if h % 2 or w % 2:
            raise ShapeError(f"HaarPool2d: input height and width must be even, got shape {format_shape(x.shape)}",
                             actual_shape=tuple(x.shape), expected="B,C,2h,2w")
        k = self.kernels.to(dtype=x.dtype)
        y = F.conv2d(x.reshape(b * c, 1, h, w), k, stride=2).reshape(b, c, 4, h // 2, w // 2)
        return y[:, :, 0], y[:, :, 1], y[:, :, 2], y[:, :, 3]


class HaarUnpool2d(nn.Module):
    """Fixed Haar wavelet unpooling (transposed stride-2 2×2 convolution with the :class:`HaarPool2d` kernels).

    Args:
        mode: ``"sum"`` adds the four upsampled bands, which is the exact inverse of :class:`HaarPool2d`
            (output ``[B, C, 2h, 2w]``); ``"cat5"`` concatenates ``LL↑, LH↑, HL↑, HH↑`` and the encoder's pre-pool
            map ``original`` along channels (output ``[B, 5C, 2h, 2w]``), as the WCT2 decoder does.

    ``forward(LL, LH, HL, HH, original=None)``: the four bands are ``[B, C, h, w]``; ``original`` is
    ``[B, C, 2h, 2w]`` and required for ``"cat5"`` (ignored for ``"sum"``).
    """

    def __init__(self, mode: Unpool = "sum") -> None:
        super().__init__()
        check_in("mode", mode, ("sum", "cat5"), "HaarUnpool2d")
        self.mode = mode
        self.register_buffer("kernels", HAAR_KERNELS.unsqueeze(1).clone(), persistent=False)  # [4, 1, 2, 2]

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"

    def forward(self, ll: torch.Tensor, lh: torch.Tensor, hl: torch.Tensor, hh: torch.Tensor,
                original: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = ll.shape
        for name, t in (("LH", lh), ("HL", hl), ("HH", hh)):
            if t.shape != ll.shape:
                raise ShapeError(f"HaarUnpool2d: band {name} must have the shape of LL {format_shape(ll.shape)}, "
                                 f"got {format_shape(t.shape)}", actual_shape=tuple(t.shape), expected="B,C,h,w")
        k = self.kernels.to(dtype=ll.dtype)
        bands = torch.stack((ll, lh, hl, hh), dim=2).reshape(b * c, 4, h, w)
        if self.mode == "sum":
            return F.conv_transpose2d(bands, k, stride=2).reshape(b, c, 2 * h, 2 * w)
        if original is None:
            raise ArgumentError("HaarUnpool2d: mode='cat5' needs the encoder's pre-pool feature map as `original`")
        if tuple(original.shape) != (b, c, 2 * h, 2 * w):
            raise ShapeError(f"HaarUnpool2d: original must have shape {format_shape((b, c, 2 * h, 2 * w))}, got "
                             f"{format_shape(original.shape)}", actual_shape=tuple(original.shape),
                             expected="B,C,2h,2w")
        up = F.conv_transpose2d(bands, k, stride=2, groups=4)  # [B*C, 4, 2h, 2w]
        up = up.reshape(b, c, 4, 2 * h, 2 * w).transpose(1, 2).reshape(b, 4 * c, 2 * h, 2 * w)
        return torch.cat((up, original), dim=1)


# ---------------------------------------------------------------------------------------------------------------------
# Encoder / decoder (§D.2)
# ---------------------------------------------------------------------------------------------------------------------

Skips = dict[str, Any]


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, 1, 0)


class WCT2Encoder(nn.Module):
    """VGG-19 to ``conv4_1`` with Haar pooling. Parameter names follow the published checkpoints
    (``conv0``, ``conv1_1`` … ``conv4_1``); the pooling filters are constants and hold no parameters.

    ``encode(x, skips, level)`` runs one level (1…4) and records the skips (``"conv1_2"``, ``"pool1"`` = [LH, HL,
    HH], …) in the dict ``skips``. For ``unpool="cat5"`` the level outputs are 64 @ H, 128 @ H/2, 256 @ H/4 and
    512 @ H/8 channels/size; for ``"sum"`` they are LL 64 @ H/2, LL 128 @ H/4, LL 256 @ H/8 and 512 @ H/8.
    """

    def __init__(self, unpool: Unpool = "cat5") -> None:
        super().__init__()
        check_in("unpool", unpool, ("cat5", "sum"), "WCT2Encoder")
        self.unpool = unpool
        self.conv0 = nn.Conv2d(3, 3, 1, 1, 0)
        self.conv1_1, self.conv1_2 = _conv(3, 64), _conv(64, 64)
        self.conv2_1, self.conv2_2 = _conv(64, 128), _conv(128, 128)
        self.conv3_1, self.conv3_2, self.conv3_3, self.conv3_4 = (_conv(128, 256), _conv(256, 256),
                                                                   _conv(256, 256), _conv(256, 256))
        self.conv4_1 = _conv(256, 512)
        self.pool = HaarPool2d()

    @staticmethod
    def _cr(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        return F.relu(conv(F.pad(x, (1, 1, 1, 1), mode="reflect")))

    def _pool(self, x: torch.Tensor, skips: Skips, name: str, idx: int) -> torch.Tensor:
        skips[name] = x
        ll, lh, hl, hh = self.pool(x)
        skips[f"pool{idx}"] = [lh, hl, hh]
        return ll

    def encode(self, x: torch.Tensor, skips: Skips, level: int) -> torch.Tensor:
        """Run encoder level ``level`` (1…4) on ``x``; see the class docstring for shapes."""
        cr = self._cr
        if self.unpool == "cat5":
            if level == 1:
                return cr(self.conv1_1, self.conv0(x))
            if level == 2:
                return cr(self.conv2_1, self._pool(cr(self.conv1_2, x), skips, "conv1_2", 1))
            if level == 3:
                return cr(self.conv3_1, self._pool(cr(self.conv2_2, x), skips, "conv2_2", 2))
            if level == 4:
                out = cr(self.conv3_4, cr(self.conv3_3, cr(self.conv3_2, x)))
                return cr(self.conv4_1, self._pool(out, skips, "conv3_4", 3))
        else:
            if level == 1:
                out = cr(self.conv1_2, cr(self.conv1_1, self.conv0(x)))
                return self._pool(out, skips, "conv1_2", 1)
            if level == 2:
                return self._pool(cr(self.conv2_2, cr(self.conv2_1, x)), skips, "conv2_2", 2)
            if level == 3:
                out = cr(self.conv3_4, cr(self.conv3_3, cr(self.conv3_2, cr(self.conv3_1, x))))
                return self._pool(out, skips, "conv3_4", 3)
            if level == 4:
                return cr(self.conv4_1, x)
        raise ArgumentError(f"WCT2Encoder.encode: level must be 1, 2, 3 or 4, got {level!r}")

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], Skips]:
        """Encode ``x`` ``[B, 3, H, W]``; returns the four level outputs and the skips dict."""
        skips: Skips = {}
        feats = []
        for level in (1, 2, 3, 4):
            x = self.encode(x, skips, level)
            feats.append(x)
        return feats, skips


class WCT2Decoder(nn.Module):
    """Mirror of :class:`WCT2Encoder` with Haar unpooling; parameter names follow the published checkpoints
    (``conv4_1``, ``conv3_4_2`` (cat5) or ``conv3_4`` (sum), ``conv3_3`` … ``conv1_1``).

    ``decode(x, skips, level)`` for level 4, 3, 2, 1 maps 512 @ H/8 → 256 @ H/4 → 128 @ H/2 → 64 @ H → 3 @ H
    (cat5; the last conv has no ReLU and the output is not clamped).
    """

    def __init__(self, unpool: Unpool = "cat5") -> None:
        super().__init__()
        check_in("unpool", unpool, ("cat5", "sum"), "WCT2Decoder")
        self.unpool = unpool
        m = 5 if unpool == "cat5" else 1
        sfx = "_2" if unpool == "cat5" else ""
        self.conv4_1 = _conv(512, 256)
        self.recon_block3 = HaarUnpool2d(unpool)
        setattr(self, f"conv3_4{sfx}", _conv(256 * m, 256))
        self.conv3_3, self.conv3_2, self.conv3_1 = _conv(256, 256), _conv(256, 256), _conv(256, 128)
        self.recon_block2 = HaarUnpool2d(unpool)
        setattr(self, f"conv2_2{sfx}", _conv(128 * m, 128))
        self.conv2_1 = _conv(128, 64)
        self.recon_block1 = HaarUnpool2d(unpool)
        setattr(self, f"conv1_2{sfx}", _conv(64 * m, 64))
        self.conv1_1 = _conv(64, 3)
        self._sfx = sfx

    def _merge(self, conv_name: str, block: HaarUnpool2d, x: torch.Tensor, skips: Skips, idx: int,
               orig: str) -> torch.Tensor:
        lh, hl, hh = skips[f"pool{idx}"]
        out = block(x, lh, hl, hh, skips.get(orig))
        return WCT2Encoder._cr(getattr(self, conv_name + self._sfx), out)

    def decode(self, x: torch.Tensor, skips: Skips, level: int) -> torch.Tensor:
        """Run decoder level ``level`` (4, 3, 2, 1) on ``x`` using the encoder's ``skips``."""
        cr = WCT2Encoder._cr
        if level == 4:
            out = self._merge("conv3_4", self.recon_block3, cr(self.conv4_1, x), skips, 3, "conv3_4")
            return cr(self.conv3_2, cr(self.conv3_3, out))
        if level == 3:
            return self._merge("conv2_2", self.recon_block2, cr(self.conv3_1, x), skips, 2, "conv2_2")
        if level == 2:
            return self._merge("conv1_2", self.recon_block1, cr(self.conv2_1, x), skips, 1, "conv1_2")
        if level == 1:
            return self.conv1_1(F.pad(x, (1, 1, 1, 1), mode="reflect"))
        raise ArgumentError(f"WCT2Decoder.decode: level must be 4, 3, 2 or 1, got {level!r}")

    def forward(self, x: torch.Tensor, skips: Skips) -> torch.Tensor:
        for level in (4, 3, 2, 1):
            x = self.decode(x, skips, level)
        return x


# ---------------------------------------------------------------------------------------------------------------------
# Batched WCT (§D.3, §D.5)
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class _Colour:
    """Style statistics of one feature: mean ``mu`` [S, C, 1] and a factor ``a`` [S, C, r] such that the
    colouring matrix is ``K = (Σ̂_s + εI)^{1/2} = √ε·I + a·aᵀ``."""

    mu: torch.Tensor
    a: torch.Tensor
    eps: float

    def select(self, index: torch.Tensor | None) -> _Colour:
        if index is None:
            return self
        return _Colour(self.mu.index_select(0, index), self.a.index_select(0, index), self.eps)

    def to(self, device: torch.device) -> _Colour:
        return _Colour(self.mu.to(device), self.a.to(device), self.eps)


def _centre(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``f`` [B, C, n] -> (centred, mean [B, C, 1], divisor max(n - 1, 1))."""
    mu = f.mean(dim=2, keepdim=True)
    return f - mu, mu, max(f.shape[2] - 1, 1)


def _use_gram(c: int, n: int, method: str) -> bool:
    return method == "gram" or (method == "auto" and n < c)


def _colour_stats(fs: torch.Tensor, eps: float, method: str = "auto") -> _Colour:
    """Colouring statistics of style features ``fs`` [S, C, H, W] (batched; one eigh call)."""
    s, c = fs.shape[:2]
    x, mu, m = _centre(fs.reshape(s, c, -1))
    n = x.shape[2]
    se = math.sqrt(eps)
    if _use_gram(c, n, method):
        # Σ̂ = X Xᵀ/m. With X = U S Vᵀ: (Σ̂ + εI)^{1/2} = √ε I + U diag(√(ε + λ/m) - √ε) Uᵀ, λ = eig(XᵀX), and
        # U = X V diag(λ^{-1/2}), so a = X V diag(f), f² = (√(ε + λ/m) - √ε)/λ = 1/(m (√(ε + λ/m) + √ε)).
        lam, v = torch.linalg.eigh(x.transpose(1, 2) @ x)
        lam = lam.clamp_min(0)
        f = torch.rsqrt(m * (torch.sqrt(eps + lam / m) + se))
        a = (x @ v) * f.unsqueeze(1)
    else:
        cov = x @ x.transpose(1, 2) / m
        e, v = torch.linalg.eigh(cov + eps * torch.eye(c, dtype=cov.dtype, device=cov.device))
        a = v * torch.sqrt((torch.sqrt(e.clamp_min(eps)) - se).clamp_min(0)).unsqueeze(1)
    return _Colour(mu, a, eps)


def _wct_features(fc: torch.Tensor, style: _Colour, alpha: float, method: str = "auto") -> torch.Tensor:
    """Batched WCT of content features ``fc`` [B, C, H, W] against per-image style statistics (B entries).

    Per image: ``F_t = K·W·(F_c − μ_c) + μ_s`` with ZCA whitening ``W = (Σ̂_c + εI)^{-1/2}``, colouring
    ``K = (Σ̂_s + εI)^{1/2}``, clamped to the content's global ``[min, max]``, then blended
    ``α·F_t + (1 − α)·F_c`` (spec §D.3 with ε = 1 as in WCT2). One batched eigh, no per-image loop.
    """
    b, c, h, w = fc.shape
    flat = fc.reshape(b, c, h * w)
    lo = flat.amin(dim=(1, 2), keepdim=True)
    hi = flat.amax(dim=(1, 2), keepdim=True)
    x, _, m = _centre(flat)
    n, eps = x.shape[2], style.eps
    if _use_gram(c, n, method):
        # W X = X V diag((ε + λ/m)^{-1/2}) Vᵀ with λ, V = eig(XᵀX): the n×n problem instead of the C×C one.
        lam, v = torch.linalg.eigh(x.transpose(1, 2) @ x)
        g = torch.rsqrt(eps + lam.clamp_min(0) / m)
        white = (x @ v) @ (v * g.unsqueeze(1)).transpose(1, 2)
    else:
        cov = x @ x.transpose(1, 2) / m
        e, v = torch.linalg.eigh(cov + eps * torch.eye(c, dtype=cov.dtype, device=cov.device))
        white = (v * torch.rsqrt(e.clamp_min(eps)).unsqueeze(1)) @ (v.transpose(1, 2) @ x)
    a = style.a.to(dtype=fc.dtype)
    out = math.sqrt(eps) * white + a @ (a.transpose(1, 2) @ white) + style.mu.to(dtype=fc.dtype)
    out = torch.maximum(torch.minimum(out, hi), lo)
    if alpha != 1.0:
        out = alpha * out + (1.0 - alpha) * flat
    return out.reshape(b, c, h, w)


# ---------------------------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class WCT2StyleStats:
    """Cached style statistics for :meth:`WCT2.transfer`, computed by :meth:`WCT2.style_stats`.

    Holds, for every feature that ``transfer_at`` transfers, the per-style mean and colouring factor (batch
    dimension = number of styles ``S``). Reuse it for any number of content batches; pass ``style_index`` to
    :meth:`WCT2.transfer` to pick one style per content image.
    """

    transfer_at: frozenset[str]
    unpool: str
    num_styles: int
    stats: dict[str, _Colour] = field(default_factory=dict)

    def to(self, device: str | torch.device) -> WCT2StyleStats:
        """A copy on ``device``."""
        dev = torch.device(device)
        return WCT2StyleStats(self.transfer_at, self.unpool, self.num_styles,
                              {k: v.to(dev) for k, v in self.stats.items()})


def _check_transfer_at(transfer_at: Collection[str], fn: str) -> frozenset[str]:
    if isinstance(transfer_at, str):
        transfer_at = {transfer_at}
    ta = frozenset(transfer_at)
    for t in ta:
        check_in("transfer_at entry", t, TRANSFER_AT, fn)
    if not ta:
        raise ArgumentError(f"{fn}: transfer_at must name at least one of encoder, skip, decoder, got an empty set")
    return ta


class WCT2(nn.Module):
    """The WCT2 auto-encoder (:class:`WCT2Encoder` + :class:`WCT2Decoder`) with batched style transfer.

    Args:
        unpool: ``"cat5"`` (the published default, used by DeepRepair) or ``"sum"``.

    ``forward(x)`` reconstructs ``x`` ``[B, 3, H, W]`` (H, W multiples of 8) without transfer (unclamped).
    State-dict keys are ``encoder.<published encoder key>`` and ``decoder.<published decoder key>``.
    """

    def __init__(self, unpool: Unpool = "cat5") -> None:
        super().__init__()
        check_in("unpool", unpool, ("cat5", "sum"), "WCT2")
        self.unpool = unpool
        self.encoder = WCT2Encoder(unpool)
        self.decoder = WCT2Decoder(unpool)

    def extra_repr(self) -> str:
        return f"unpool={self.unpool!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats, skips = self.encoder(x)
        return self.decoder(feats[-1], skips)

    # -- style side -------------------------------------------------------------------------------------------------

    @torch.no_grad()
    def style_stats(self, style: torch.Tensor, *, transfer_at: Collection[str] = ("encoder", "decoder"),
                    eps: float = 1.0) -> WCT2StyleStats:
        """Run the styles ``[S, 3, H, W]`` (in [0, 1], H and W multiples of 8) through the whole network without
        transfer and keep the mean and colouring factor of every feature ``transfer_at`` needs (spec §D.4 step 1).
        """
        fn = "pyrepair.wavelet.stylizer.WCT2.style_stats"
        ta = _check_transfer_at(transfer_at, fn)
        eps = check_positive(eps, "eps", fn)
        _check_images(style, "style", fn)
        stats: dict[str, _Colour] = {}
        skips: Skips = {}
        x = style
        for level in (1, 2, 3, 4):
            x = self.encoder.encode(x, skips, level)
            if "encoder" in ta:
                stats[f"encoder{level}"] = _colour_stats(x, eps)
        if "encoder" not in ta and "decoder" in ta:
            stats["decoder4"] = _colour_stats(x, eps)
        if "skip" in ta:
            for p in (1, 2, 3):
                for band, f in zip(("LH", "HL", "HH"), skips[f"pool{p}"], strict=True):
                    stats[f"pool{p}.{band}"] = _colour_stats(f, eps)
        if "decoder" in ta:
            for level in (4, 3, 2):
                x = self.decoder.decode(x, skips, level)
                stats[f"decoder{level - 1}"] = _colour_stats(x, eps)
        return WCT2StyleStats(ta, self.unpool, int(style.shape[0]), stats)

    # -- transfer ---------------------------------------------------------------------------------------------------

    @torch.no_grad()
    def transfer(
        self,
        content: torch.Tensor,
        style: torch.Tensor | WCT2StyleStats,
        *,
        alpha: float = 1.0,
        transfer_at: Collection[str] = ("encoder", "decoder"),
        style_index: torch.Tensor | None = None,
        eps: float = 1.0,
    ) -> torch.Tensor:
        """Stylise ``content`` ``[B, 3, H, W]`` with ``style`` (images ``[S, 3, H', W']`` or cached
        :class:`WCT2StyleStats`); returns ``[B, 3, H, W]`` clamped to [0, 1].

        Args:
            content: images in [0, 1]; H and W multiples of 8.
            style: ``S = B`` (one style per content), ``S = 1`` (broadcast), or any ``S`` with ``style_index``.
            alpha: blend in [0, 1] applied at every WCT; 0 gives the plain reconstruction.
            transfer_at: where to transfer (spec §D.4): any non-empty subset of ``{"encoder", "skip", "decoder"}``;
                ignored (taken from the cache) when ``style`` is a :class:`WCT2StyleStats`.
            style_index: int64 ``[B]`` picking the style of each content image from the ``S`` styles.
            eps: covariance regulariser added to both sides (1 in WCT2; absolute, in feature units); with cached
                statistics the cache's own ``eps`` is used.
        """
        fn = "pyrepair.wavelet.stylizer.WCT2.transfer"
        alpha = check_number(alpha, "alpha", fn, 0.0, 1.0)
        _check_images(content, "content", fn)
        b = int(content.shape[0])
        if isinstance(style, WCT2StyleStats):
            if style.unpool != self.unpool:
                raise ArgumentError(f"{fn}: the style statistics were computed by a WCT2 with unpool={style.unpool!r}, "
                                 f"this model has unpool={self.unpool!r}")
            cache = style
        elif isinstance(style, torch.Tensor):
            cache = self.style_stats(style, transfer_at=transfer_at, eps=eps)
        else:
            raise ArgumentTypeError(f"{fn}: style must be a torch.Tensor or WCT2StyleStats, got {type(style).__name__}")
        index = _style_index(style_index, cache.num_styles, b, content.device, fn)
        first = next(iter(cache.stats.values()))
        if first.mu.device != content.device:
            raise DeviceError(f"{fn}: content is on {content.device} but the style statistics are on "
                              f"{first.mu.device} (use stats.to(device))")
        ta = cache.transfer_at

        def wct(f: torch.Tensor, key: str) -> torch.Tensor:
            return _wct_features(f, cache.stats[key].select(index), alpha)

        skips: Skips = {}
        x = content
        for level in (1, 2, 3, 4):
            x = self.encoder.encode(x, skips, level)
            if "encoder" in ta:
                x = wct(x, f"encoder{level}")
        if "skip" in ta:
            for p in (1, 2, 3):
                skips[f"pool{p}"] = [wct(f, f"pool{p}.{band}")
                                     for band, f in zip(("LH", "HL", "HH"), skips[f"pool{p}"], strict=True)]
        for level in (4, 3, 2, 1):
            if f"decoder{level}" in cache.stats:
                x = wct(x, f"decoder{level}")
            x = self.decoder.decode(x, skips, level)
        return x.clamp(0.0, 1.0)


def _style_index(style_index: torch.Tensor | None, s: int, b: int, device: torch.device,
                 fn: str) -> torch.Tensor | None:
    if style_index is None:
        if s == b:
            return None
        if s == 1:
            return torch.zeros(b, dtype=torch.long, device=device)
        raise ShapeError(f"{fn}: style must hold 1 image or one per content image ({b}), got {s} styles; pass "
                         f"style_index to pick styles from a bank", actual_shape=(s,), expected="S in {1, B}")
    if not isinstance(style_index, torch.Tensor) or style_index.dtype not in (torch.int64, torch.int32):
        raise ArgumentTypeError(f"{fn}: style_index must be an int64 torch.Tensor of shape [{b}], got {style_index!r}")
    if tuple(style_index.shape) != (b,):
        raise ShapeError(f"{fn}: style_index must have shape [{b}], got {format_shape(style_index.shape)}",
                         actual_shape=tuple(style_index.shape), expected="B")
    if b and (int(style_index.min()) < 0 or int(style_index.max()) >= s):
        raise ArgumentError(f"{fn}: style_index values must lie in [0, {s}), got [{int(style_index.min())}, "
                         f"{int(style_index.max())}]")
    return style_index.to(device=device, dtype=torch.long)


def _num_styles(style: Any) -> int:
    return style.num_styles if isinstance(style, WCT2StyleStats) else int(style.shape[0])


def _draw_styles(s: int, n: int, probs: Any, seed: int, fn: str) -> torch.Tensor:
    """Seeded draw of ``n`` reference indices from ``s`` styles (uniform, or by ``probs``)."""
    seed = check_seed(seed, fn)
    if probs is None:
        p = torch.full((s,), 1.0 / s, dtype=torch.float64)
    else:
        p = torch.as_tensor(probs, dtype=torch.float64).detach().cpu()
        if p.shape != (s,):
            raise ShapeError(f"{fn}: style_probs must have shape [{s}] (one per style), got {format_shape(p.shape)}",
                             actual_shape=tuple(p.shape), expected="S")
        if not bool(torch.isfinite(p).all()) or bool((p < 0).any()) or abs(float(p.sum()) - 1.0) > 1e-6:
            raise ArgumentError(
                f"{fn}: style_probs must be finite, non-negative "
                f"and sum to 1, got sum {float(p.sum())!r}"
            )
    gen = torch.Generator().manual_seed(torch_seed(seed))
    return torch.multinomial(p, n, replacement=True, generator=gen)


def _check_images(x: Any, name: str, fn: str, *, multiple: int = 8, check_range: bool = True) -> None:
    # 16 px minimum: conv4_1 runs at H/8 with reflection padding 1, which needs at least 2 pixels.
    sizes = check_images(x, fn, name, channels=(3,), min_size=2 * multiple, check_range=check_range).sizes
    if sizes["B"] == 0:
        raise ShapeError(f"{fn}: {name} must hold at least one image, got shape {format_shape(x.shape)}",
                         actual_shape=tuple(x.shape), expected="B,3,H,W")
    if sizes["H"] % multiple or sizes["W"] % multiple:
        raise ShapeError(f"{fn}: {name} height and width must be multiples of {multiple} (three Haar levels), got "
                         f"shape {format_shape(x.shape)}; crop or resize first", actual_shape=tuple(x.shape),
                         expected="B,3,8h,8w")


_NO_MODEL = (
    "{fn}: model is None. WCT2 needs trained weights and pyrepair ships none and downloads nothing. Either train one "
    "on your own images with pyrepair.wavelet.stylizer.train_wct2(images, epochs=...) and keep it with save_wct2/"
    "load_wct2, or load the published checkpoints you obtained yourself with load_published_wct2(encoder_path, "
    "decoder_path) (files wave_encoder_cat5_l4.pth / wave_decoder_cat5_l4.pth of clovaai/WCT2). For a training-free "
    "alternative use the pixel-wavelet style transfer (pyrepair.wavelet.style_transfer with its default mode)."
)


def wct2_transfer(
    content: torch.Tensor,
    style: torch.Tensor | WCT2StyleStats,
    *,
    alpha: float = 1.0,
    model: WCT2 | None = None,
    transfer_at: Collection[str] = ("encoder", "decoder"),
    style_index: torch.Tensor | None = None,
    style_probs: Any = None,
    seed: int = 0,
    eps: float = 1.0,
    backend: str = "auto",
    check_range: bool = True,
) -> torch.Tensor:
    """Batched WCT2 photorealistic style transfer (DeepRepair's configuration by default).

    Args:
        content: ``[N, 3, H, W]`` float in [0, 1]; H and W multiples of 8, at least 16 (DeepRepair: 32×32).
        style: ``[N, 3, H', W']`` (one per content), ``[1, 3, H', W']`` (broadcast), ``[S, 3, H', W']`` with
            ``style_index``, or statistics cached by :meth:`WCT2.style_stats`.
        alpha: feature blend in [0, 1]; 0 returns the model's reconstruction of ``content``.
        model: a trained :class:`WCT2` on the content's device (see :func:`train_wct2`, :func:`load_wct2`,
            :func:`load_published_wct2`). Required: there is no default model.
        transfer_at: subset of ``{"encoder", "skip", "decoder"}`` (DeepRepair: encoder + decoder).
        style_index: int64 ``[N]`` selecting a style per content image.
        style_probs: with ``S`` styles and no ``style_index``: ``None`` (paired when S == N, one style broadcast
            when S == 1, else uniform over the bank) or S non-negative probabilities summing to 1; the draw is
            seeded by ``seed`` (a ``torch.Generator``), so it is reproducible.
        seed: seed of the reference draw, an int in [0, 2^64).
        eps: covariance regulariser (1, as WCT2).
        backend: ``"auto"``, ``"reference"``, ``"cpu"`` or ``"cuda"``; the network is pure torch, so this only
            checks that ``"cpu"``/``"cuda"`` match the content's device.
        check_range: check that ``content`` and ``style`` are finite and in [0, 1]; ``False`` skips the value pass.

    Returns:
        ``[N, 3, H, W]`` stylised images in [0, 1], dtype of ``content``.

    Raises:
        ValueError: model is None (the message explains how to train or load one), bad shapes, NaN/inf or values
            outside [0, 1], seed outside [0, 2^64).
        TypeError: model is not a WCT2, or content/style are not float tensors.
    """
    fn = "pyrepair.wavelet.wct2_transfer"
    if model is None:
        raise ArgumentError(_NO_MODEL.format(fn=fn))
    if not isinstance(model, WCT2):
        raise ArgumentTypeError(f"{fn}: model must be a pyrepair.wavelet.stylizer.WCT2 (see train_wct2, load_wct2, "
                        f"load_published_wct2), got {type(model).__name__}")
    seed = check_seed(seed, fn)
    alpha = check_number(alpha, "alpha", fn, 0.0, 1.0)  # here too, so that the messages name this function
    eps = check_positive(eps, "eps", fn)
    _check_images(content, "content", fn, check_range=check_range)
    if isinstance(style, torch.Tensor):
        _check_images(style, "style", fn, check_range=check_range)
        if style.device != content.device:
            raise DeviceError(f"{fn}: content is on {content.device} but style is on {style.device}")
    elif not isinstance(style, WCT2StyleStats):
        raise ArgumentTypeError(
            f"{fn}: style must be a torch.Tensor or the WCT2StyleStats of WCT2.style_stats, got {type(style).__name__}"
        )
    check_in("backend", backend, ("auto", "reference", "cpu", "cuda"), fn)
    if backend in ("cpu", "cuda") and content.device.type != backend:
        raise DeviceError(f"{fn}: backend={backend!r} but content is on {content.device}")
    if style_index is None and (style_probs is not None or _num_styles(style) not in (1, int(content.shape[0]))):
        style_index = _draw_styles(_num_styles(style), int(content.shape[0]), style_probs, seed, fn).to(
            content.device)
    dev = next(model.parameters()).device
    if dev != content.device:
        raise DeviceError(f"{fn}: the model is on {dev} but content is on {content.device}; move one of them")
    mdtype = next(model.parameters()).dtype
    out = model.transfer(content.to(mdtype), style.to(mdtype) if isinstance(style, torch.Tensor) else style,
                         alpha=alpha, transfer_at=transfer_at, style_index=style_index, eps=eps)
    return out.to(content.dtype)


# ---------------------------------------------------------------------------------------------------------------------
# Training and checkpoints
# ---------------------------------------------------------------------------------------------------------------------


def _ae_loss(model: WCT2, x: torch.Tensor, feature_weight: float) -> torch.Tensor:
    """Pixel MSE + feature_weight · Σ_levels relative feature MSE (normalised by the target's mean square, so the
    encoder cannot lower it by shrinking its features when it is trained too)."""
    feats, skips = model.encoder(x)
    recon = model.decoder(feats[-1], skips)
    loss = F.mse_loss(recon, x)
    if feature_weight > 0:
        rfeats, _ = model.encoder(recon)
        for f, t in zip(rfeats, feats, strict=True):
            t = t.detach()
            loss = loss + feature_weight * F.mse_loss(f, t) / (t.square().mean() + 1e-8)
    return loss


def train_wct2(
    images: torch.Tensor,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 1e-4,
    seed: int = 0,
    feature_weight: float = 1.0,
    model: WCT2 | None = None,
    unpool: Unpool = "cat5",
    train_encoder: bool | None = None,
    device: str | torch.device | None = None,
    progress: bool | Callable[[int, float], None] = False,
) -> WCT2:
    """Train a WCT2 auto-encoder on your own images (reconstruction + feature loss, as the WCT2 paper).

    Loss per batch: ``‖D(E(x)) − x‖² + feature_weight · Σ_levels ‖E_l(D(E(x))) − E_l(x)‖² / ‖E_l(x)‖²`` (means),
    with the feature targets ``E_l(x)`` detached; the per-level normalisation keeps a jointly trained encoder from
    lowering the loss by shrinking its features. The WCT2 paper trains only the decoder behind a frozen ImageNet VGG-19;
    with no pretrained encoder at hand the default trains both (``train_encoder=None`` means: True for a new
    model, False when you pass ``model``, e.g. one with published encoder weights).

    Args:
        images: ``[N, 3, H, W]`` float in [0, 1], H and W multiples of 8.
        epochs, batch_size, lr: Adam training schedule.
        seed: seeds the initial weights (new model) and the shuffling (reseeded every epoch from ``(seed, epoch)``,
            as in :func:`pyrepair.train.fit`); the global RNG is left untouched.
        feature_weight: weight of the feature loss (>= 0).
        model: continue training this model instead of a new one (trained in place and returned).
        unpool: ``"cat5"`` or ``"sum"`` for a new model.
        device: where to train (default: the model's device, else the images' device).
        progress: True shows a tqdm bar over the batches of each epoch (per-epoch losses are logged at INFO level
            on the ``pyrepair._loop`` logger); a callable gets ``(epoch, mean_loss)`` after every epoch (0-based
            epoch).

    Returns:
        The trained model, in eval mode, on ``device``.
    """
    fn = "pyrepair.wavelet.stylizer.train_wct2"
    _check_images(images, "images", fn)
    epochs = check_int(epochs, "epochs", fn, min_value=1)
    batch_size = check_int(batch_size, "batch_size", fn, min_value=1)
    lr = check_positive(lr, "lr", fn)
    seed = check_seed(seed, fn)
    feature_weight = check_positive(feature_weight, "feature_weight", fn, allow_zero=True)
    if model is not None and not isinstance(model, WCT2):
        raise ArgumentTypeError(f"{fn}: model must be a WCT2 or None, got {type(model).__name__}")
    if not (isinstance(progress, bool) or callable(progress)):
        raise ArgumentTypeError(f"{fn}: progress must be a bool or a callable(epoch, loss), got {progress!r}")
    if train_encoder is None:
        train_encoder = model is None
    if model is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed(seed))
            model = WCT2(unpool)
        dev = torch.device(device) if device is not None else images.device
    else:
        dev = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.to(dev)
    model.encoder.requires_grad_(train_encoder)
    try:
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
        gen = torch.Generator()
        loader = batched_loader(TensorDataset(images), batch_size, True, gen, pin_memory=False)
        callbacks = []
        if callable(progress) and not isinstance(progress, bool):
            report = progress
            callbacks.append(lambda epoch, record, m: report(epoch - 1, record["train_loss"]))

        def step(m: nn.Module, x: torch.Tensor, labels: Any, g: torch.Generator) -> torch.Tensor:
            return _ae_loss(m, x, feature_weight)  # type: ignore[arg-type]

        TrainLoop(
            model, loader, step, opt, epochs=epochs, seed=seed, device=dev, fn=fn, callbacks=callbacks,
            prepare=lambda batch: (batch[0].to(dev, torch.float32), None), shuffle_generator=gen,
            progress=progress is True,
        ).run()  # fmt: skip
    finally:
        model.encoder.requires_grad_(True)
    return model.eval()


def reconstruction_loss(model: WCT2, images: torch.Tensor, *, feature_weight: float = 1.0) -> float:
    """The :func:`train_wct2` loss of ``model`` on ``images`` (no gradient), for monitoring."""
    with torch.no_grad():
        return float(_ae_loss(model, images, feature_weight))


def save_wct2(model: WCT2, path: str | os.PathLike[str]) -> Path:
    """Save ``model`` (weights + ``unpool``) to ``path`` atomically; read it back with :func:`load_wct2`.

    The file is a ``torch.save`` dict ``{"format", "unpool", "state_dict", "sha256"}``; ``"sha256"`` is the content
    hash of the other entries (:func:`pyrepair._io.content_digest`), verified by :func:`load_wct2`.

    Raises:
        TypeError: ``model`` is not a :class:`WCT2`, or ``path`` is not a path.
    """
    fn = "pyrepair.wavelet.stylizer.save_wct2"
    if not isinstance(model, WCT2):
        raise ArgumentTypeError(f"{fn}: model must be a WCT2, got {type(model).__name__}")
    dest = check_path(path, "path", fn)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return save_hashed({"format": _CKPT_FORMAT, "unpool": model.unpool, "state_dict": state}, dest)


def load_wct2(path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu") -> WCT2:
    """Load a model written by :func:`save_wct2` (eval mode, on ``map_location``).

    The content is checked against the sha256 stored in the file. Files written before hashes existed (no
    ``"sha256"`` entry) load with a :class:`~pyrepair.errors.PyrepairWarning`.

    Raises:
        FileNotFoundError, IsADirectoryError: ``path`` is not a file.
        DeviceError: ``map_location`` names a CUDA device and CUDA is not available.
        CheckpointError: the file is not a pyrepair WCT2 checkpoint, is damaged (content hash mismatch), or its
            weights do not match the WCT2 layout.
    """
    fn = "pyrepair.wavelet.stylizer.load_wct2"
    p = check_path(path, "path", fn)
    obj = load_hashed(p, fn, format=_CKPT_FORMAT, what="pyrepair WCT2 checkpoint",
                      map_location=map_location)
    model = WCT2(obj["unpool"])
    _load_strict(model, obj["state_dict"], fn, str(p))
    return model.to(map_location).eval()


def _load_strict(model: nn.Module, state: Mapping[str, torch.Tensor], fn: str, what: str) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointError(f"{fn}: {what} does not match the WCT2 layout: missing keys {missing[:8]}"
                              f"{' …' if len(missing) > 8 else ''}, unexpected keys {unexpected[:8]}"
                              f"{' …' if len(unexpected) > 8 else ''}")
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise CheckpointError(f"{fn}: {what}: {k} has shape {format_shape(v.shape)}, expected "
                                  f"{format_shape(own[k].shape)}")
    model.load_state_dict(state)


def _published_part(state: Any, part: str, haar: tuple[str, ...], fn: str, what: str) -> dict[str, torch.Tensor]:
    """Strip a ``module.`` prefix, check and drop the fixed Haar filters, and return the conv weights."""
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{fn}: {what} must hold a state dict, got {type(state).__name__}")
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        k = key[len("module."):] if key.startswith("module.") else key
        head = k.split(".")[0]
        if head in haar:
            band = k.split(".")[1] if k.count(".") == 2 else ""
            if band not in _BANDS or not k.endswith(".weight"):
                raise CheckpointError(f"{fn}: {what}: unexpected Haar key {key!r}")
            ref = HAAR_KERNELS[_BANDS.index(band)]
            if value.dim() != 4 or tuple(value.shape[1:]) != (1, 2, 2) or not torch.allclose(
                    value.float().cpu(), ref.expand_as(value), atol=1e-6):
                raise CheckpointError(f"{fn}: {what}: {key} is not the fixed Haar {band} filter of shape [C, 1, 2, 2]")
            continue
        out[f"{part}.{k}"] = value
    return out


def load_published_wct2(
    encoder_path: str | os.PathLike[str] | Mapping[str, torch.Tensor],
    decoder_path: str | os.PathLike[str] | Mapping[str, torch.Tensor],
    *,
    unpool: Unpool | None = None,
    map_location: str | torch.device = "cpu",
) -> WCT2:
    """Build a :class:`WCT2` from the published clovaai/WCT2 checkpoints, which you must obtain yourself
    (``wave_encoder_cat5_l4.pth`` and ``wave_decoder_cat5_l4.pth``, or the ``sum`` pair); nothing is downloaded.

    The published keys map 1:1: encoder ``conv0``, ``conv1_1`` … ``conv4_1`` → ``encoder.*``; decoder ``conv4_1``,
    ``conv3_4_2`` (cat5) / ``conv3_4`` (sum), … ``conv1_1`` → ``decoder.*``. The Haar filters ``pool{1,2,3}.*`` and
    ``recon_block{1,2,3}.*`` are constants: they are checked against :data:`HAAR_KERNELS` and dropped. A
    ``module.`` prefix (DataParallel) is stripped.

    Args:
        encoder_path, decoder_path: file paths, or already-loaded state dicts.
        unpool: ``"cat5"`` / ``"sum"``; None infers it from the decoder keys (``conv3_4_2`` means cat5).
        map_location: device of the returned model.

    Raises:
        CheckpointError: missing or unexpected keys, wrong shapes, or Haar filters that are not the Haar filters.
    """
    fn = "pyrepair.wavelet.stylizer.load_published_wct2"

    def read(src: Any, name: str) -> tuple[Any, str]:
        if isinstance(src, Mapping):
            return src, name
        p = Path(src)
        if not p.is_file():
            raise FileNotFoundError(f"{fn}: {name} {p} does not exist")
        try:
            return torch.load(p, map_location="cpu", weights_only=True), f"{name} {p}"
        except Exception as e:  # noqa: BLE001
            raise CheckpointError(f"{fn}: {name} {p} is not a readable torch state dict ({e})") from e

    enc, enc_what = read(encoder_path, "encoder_path")
    dec, dec_what = read(decoder_path, "decoder_path")
    enc_sd = _published_part(enc, "encoder", ("pool1", "pool2", "pool3"), fn, enc_what)
    dec_sd = _published_part(dec, "decoder", ("recon_block1", "recon_block2", "recon_block3"), fn, dec_what)
    if unpool is None:
        unpool = "cat5" if "decoder.conv3_4_2.weight" in dec_sd else "sum"
    check_in("unpool", unpool, ("cat5", "sum"), fn)
    model = WCT2(unpool)
    own = model.state_dict()
    for part, sd, what in (("encoder", enc_sd, enc_what), ("decoder", dec_sd, dec_what)):
        own_part = {k for k in own if k.startswith(part + ".")}
        missing = sorted(k[len(part) + 1:] for k in own_part - set(sd))
        unexpected = sorted(k[len(part) + 1:] for k in set(sd) - own_part)
        if missing or unexpected:
            raise CheckpointError(f"{fn}: {what} does not match the published WCT2 {part} (unpool={unpool!r}): "
                                  f"missing keys {missing}, unexpected keys {unexpected}")
    _load_strict(model, {**enc_sd, **dec_sd}, fn, f"{enc_what} + {dec_what}")
    return model.to(map_location).eval()
