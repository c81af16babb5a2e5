"""AugMix as a batched tensor transform: per-image random op chains, applied op by op over the whole batch.

AugMix (Hendrycks et al., ICLR 2020; `google-research/augmix` ``augment_and_mix.py``, ``augmentations.py``) mixes
``width`` chains of 1-3 random ops with Dirichlet weights, then blends the mixture with the input using a Beta
weight. DeepRepair's StyleAug (``shared/spec/deeprepair.md`` §A.4) is the same procedure with style ops allowed as
the first op of a chain; :class:`AugMix` takes them through the ``extra_ops`` hook.

Batched form (§A.4, "Batched form"): the random choices for every image are drawn up front by
:meth:`AugMix.sample` into an :class:`AugMixParams` of tensors; :meth:`AugMix.apply` replays them
deterministically. The ``B × width`` chains are stacked into one batch and, at each chain step, the rows are grouped
by op id and each op is called **once** on its group with a per-image parameter vector, so a call costs at most
``depth × #ops`` op calls whatever the batch size.

Mixing happens in [0, 1] space; AugMix mixes after ``Normalize(0.5, 0.5)``, which commutes with the convex
combination (§A.4), so the results agree after normalisation.

Example:
    >>> import torch
    >>> from pyrepair.augment import AugMix
    >>> x = torch.rand(4, 3, 32, 32)
    >>> aug = AugMix(severity=3, width=3)
    >>> out = aug(x, generator=torch.Generator().manual_seed(0))
    >>> out.shape, out.dtype, bool(((out >= 0) & (out <= 1)).all())
    (torch.Size([4, 3, 32, 32]), torch.float32, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .._checks import check_device, check_images, check_in, check_int, check_positive, check_shape
from .._checks import check_range as check_number
from .._dispatch import BACKENDS, Backend, check_backend, select
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from .mixing import image_hw, resolve_generator, sample_beta, sample_dirichlet

__all__ = ["ALL_OPS", "BASE_OPS", "OVERLAP_OPS", "AugMix", "AugMixParams", "ExtraOp", "augmix_apply", "augmix_views"]

# The nine AugMix base ops, in the order of `augmentations.augmentations` ([augmix]; spec §B).
BASE_OPS: tuple[str, ...] = (
    "autocontrast", "equalize", "posterize", "rotate", "solarize", "shear_x", "shear_y", "translate_x", "translate_y",
)
# The four ops AugMix keeps out by default because they overlap ImageNet-C (`augmentations_all`, `--all-ops`; §B).
OVERLAP_OPS: tuple[str, ...] = ("color", "contrast", "brightness", "sharpness")
ALL_OPS: tuple[str, ...] = BASE_OPS + OVERLAP_OPS

# An extra op (the hook for DeepRepair's style ops): called as ``op(images_subset, indices)`` where ``indices`` (int64,
# on the images' device) are the positions of the subset's images in the batch given to ``apply``; it returns a
# tensor of the subset's shape.
ExtraOp = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_GEOMETRIC = frozenset({"rotate", "shear_x", "shear_y", "translate_x", "translate_y"})
_FN = "pyrepair.augment.AugMix"


def _op_value(name: str, level: torch.Tensor, image_width: int) -> torch.Tensor:
    """§B level -> parameter map (before the random sign of geometric ops), float64 ``level`` in ``[0.1, severity)``.

    ``int_param(level, max) = int(level * max / 10)`` (truncation; level > 0 so floor), ``float_param = level * max /
    10``. The values are what the ``pyrepair.transform`` op takes.
    """
    if name in ("autocontrast", "equalize"):
        return torch.zeros_like(level)
    if name == "posterize":  # bits kept
        return 4.0 - torch.floor(level * 4.0 / 10.0)
    if name == "rotate":  # degrees
        return torch.floor(level * 30.0 / 10.0)
    if name == "solarize":  # uint8 threshold t = 256 - int_param(level, 256), passed in [0, 1] units: t / 255
        return (256.0 - torch.floor(level * 256.0 / 10.0)) / 255.0
    if name in ("shear_x", "shear_y"):
        return level * 0.3 / 10.0
    if name in ("translate_x", "translate_y"):  # pixels; IMAGE_SIZE / 3 with the image width
        return torch.floor(level * (image_width / 3.0) / 10.0)
    if name in OVERLAP_OPS:  # ImageEnhance factor
        return level * 1.8 / 10.0 + 0.1
    raise AssertionError(f"no level mapping for op {name!r}")  # unreachable: names are checked in __init__


@dataclass(frozen=True, eq=False)
class AugMixParams:
    """Every random choice of one :class:`AugMix` call, for a batch of B images (replay with :meth:`AugMix.apply`).

    ``D`` is the maximum chain depth: 3 with random depth, else the fixed depth.

    Attributes:
        op_ids: ``(B, width, D)`` int64; index into ``op_names`` of the op at each step, ``-1`` for unused steps
            (a chain of depth d uses steps ``0 .. d-1``).
        values: ``(B, width, D)`` float32; the parameter passed to the op (bits, degrees, threshold in [0, 1],
            shear factor, pixels, enhance factor; sign included), 0 for parameter-free, extra or unused steps.
        weights: ``(B, width)`` float32; Dirichlet mixing weights of the chains, rows sum to 1.
        w0: ``(B,)`` float32 in ``[0, 1]``; the weight of the mixture against the original image.
        op_names: names of the op ids: the AugMix ops in use, then the extra ops.
    """

    op_ids: torch.Tensor
    values: torch.Tensor
    weights: torch.Tensor
    w0: torch.Tensor
    op_names: tuple[str, ...]

    @property
    def batch_size(self) -> int:
        return int(self.op_ids.shape[0])

    @property
    def width(self) -> int:
        return int(self.op_ids.shape[1])

    def to(self, device: torch.device | str) -> AugMixParams:
        """A copy with every tensor on ``device``."""
        return AugMixParams(self.op_ids.to(device), self.values.to(device), self.weights.to(device),
                            self.w0.to(device), self.op_names)


def _resolve_ops(ops: Sequence[str] | None, all_ops: bool) -> tuple[str, ...]:
    if ops is None:
        return ALL_OPS if all_ops else BASE_OPS
    if all_ops:
        raise ArgumentError(f"{_FN}: pass either ops=[...] or all_ops=True, not both")
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise ArgumentTypeError(f"{_FN}: ops must be a sequence of op names, got {type(ops).__name__} {ops!r}")
    if len(ops) == 0:
        raise ArgumentError(f"{_FN}: ops must name at least one op; valid: {', '.join(sorted(ALL_OPS))}")
    for name in ops:
        check_in("op", name, ALL_OPS, _FN)
    if len(set(ops)) != len(ops):
        raise ArgumentError(f"{_FN}: ops must not repeat a name, got {list(ops)!r}")
    return tuple(ops)


def _lookup_transform_ops(names: Sequence[str], fn: str) -> dict[str, tuple[Callable[..., torch.Tensor], str]]:
    """``name -> (fn, param_kind)`` from ``pyrepair.transform.OPS`` (imported on first use)."""
    from .. import transform

    table: dict[str, tuple[Callable[..., torch.Tensor], str]] = {}
    for name in names:
        info = transform.OPS.get(name)
        if info is None:
            raise ArgumentError(f"{fn}: op {name!r} is neither in pyrepair.transform.OPS nor in extra_ops (available: "
                             f"{', '.join(sorted(transform.OPS))})")
        table[name] = (info.fn, str(info.param_kind))
    return table


def augmix_apply(
    images: torch.Tensor,
    params: AugMixParams,
    *,
    extra_ops: Mapping[str, ExtraOp] | None = None,
    backend: Backend = "auto",
    check_range: bool = True,
) -> torch.Tensor:
    """Replay AugMix choices on a batch: run every chain, mix with ``weights``, blend with ``w0`` (functional form).

    ``out[i] = w0[i] * sum_m weights[i, m] * chain_m(images[i]) + (1 - w0[i]) * images[i]``, clamped to [0, 1].
    Ops are resolved by name (``params.op_names``) in ``pyrepair.transform.OPS``, or in ``extra_ops``.

    Shape:
        - images: ``(B, C, H, W)`` floating, values in ``[0, 1]``, C in {1, 3}.
        - params: tensors with leading dimension B (any device; moved to the images' device).
        - output: the input's shape, dtype and device.

    Args:
        images: the batch (not modified).
        params: the choices, usually from :meth:`AugMix.sample`.
        extra_ops: callables for the op names in ``params.op_names`` that are not AugMix ops.
        backend: back-end of the transform ops ("auto", "cpu", "cuda", "reference").
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        the augmented batch.

    Raises:
        DTypeError: images not floating, or params not an :class:`AugMixParams`.
        ShapeError: images not ``(B, C, H, W)``, params of another batch size or inconsistent shapes, or an extra op
            returned a tensor of another shape.
        ValueError: op ids outside ``[-1, len(op_names))``, an op name with no implementation, mixing weights that
            are negative or do not sum to 1 (per image, within 1e-4), ``w0`` outside [0, 1], NaN/inf or
            out-of-range images.
        UnknownNameError: unknown ``backend``.
    """
    fn = "pyrepair.augment.augmix_apply"
    check_in("backend", backend, BACKENDS, fn)
    extra = dict(extra_ops or {})
    names = params.op_names if isinstance(params, AugMixParams) else ()
    table = _lookup_transform_ops([n for n in names if n not in extra], fn)
    return _apply(images, params, table, extra, backend, fn, check_range)


def _check_params(params: Any, b: int, n_ops: int, fn: str) -> None:
    if not isinstance(params, AugMixParams):
        raise DTypeError(f"{fn}: params must be an AugMixParams (from AugMix.sample), got {type(params).__name__}")
    s = check_shape(params.op_ids, "B,W,D", "params.op_ids", fn, B=b)
    check_shape(params.values, "B,W,D", "params.values", fn, B=b, W=s["W"], D=s["D"])
    check_shape(params.weights, "B,W", "params.weights", fn, B=b, W=s["W"])
    check_shape(params.w0, "B", "params.w0", fn, B=b)
    if params.op_ids.dtype.is_floating_point or params.op_ids.dtype == torch.bool:
        raise DTypeError(f"{fn}: params.op_ids must be an integer tensor, got {params.op_ids.dtype}")
    if params.op_ids.numel():
        lo, hi = int(params.op_ids.min()), int(params.op_ids.max())
        if lo < -1 or hi >= n_ops:
            raise ArgumentError(f"{fn}: params.op_ids must lie in [-1, {n_ops}) for {n_ops} op names, got [{lo}, {hi}]")
    if params.weights.numel():
        wts = params.weights.detach().to(torch.float64)
        err = float((wts.sum(dim=1) - 1.0).abs().max())
        lo_w = float(wts.min())
        if not (err <= 1e-4 and lo_w >= 0.0):  # NaN fails too
            raise ArgumentError(
                f"{fn}: params.weights must be non-negative and sum to 1 per image (within 1e-4), got minimum "
                f"{lo_w:.6g} and largest |sum - 1| = {err:.3g}"
            )
    if params.w0.numel():
        lo0, hi0 = (float(v) for v in torch.aminmax(params.w0.detach().to(torch.float64)))
        if not (0.0 <= lo0 and hi0 <= 1.0):
            raise ArgumentError(f"{fn}: params.w0 must lie in [0, 1], got values in [{lo0:.6g}, {hi0:.6g}]")


def _apply(
    images: torch.Tensor,
    params: AugMixParams,
    table: Mapping[str, tuple[Callable[..., torch.Tensor], str]],
    extra: Mapping[str, ExtraOp],
    backend: Backend,
    fn: str,
    check_range: bool = True,
) -> torch.Tensor:
    # once here; the op calls below skip their own value pass (_trusted_finite)
    s = check_images(images, fn, check_range=check_range).sizes
    b, c, h, w = s["B"], s["C"], s["H"], s["W"]
    _check_params(params, b, len(params.op_names) if isinstance(params, AugMixParams) else 0, fn)
    select(fn, images.device, backend)  # a backend that cannot take this device fails naming fn, not an inner op
    width, depth = params.width, int(params.op_ids.shape[2])
    dev = images.device
    n = b * width
    # Chain inputs: row r = i * width + m holds chain m of image i.
    x = images.unsqueeze(1).expand(b, width, c, h, w).reshape(n, c, h, w).clone()
    ids = params.op_ids.reshape(n, depth).cpu()  # grouping happens on the host: one transfer, no per-op syncs
    values = params.values.reshape(n, depth).to(dev)
    source = torch.arange(b, device=dev).repeat_interleave(width)  # image index of each row, for extra ops
    from .. import transform  # imported lazily, as in _lookup_transform_ops

    with transform._trusted_finite():
        for step in range(depth):
            col = ids[:, step]
            for k in torch.unique(col).tolist():
                if k < 0:
                    continue
                rows_cpu = (col == k).nonzero().squeeze(1)
                whole = rows_cpu.numel() == n
                rows = rows_cpu.to(dev)
                sub = x if whole else x.index_select(0, rows)
                name = params.op_names[k]
                if name in extra:
                    out = extra[name](sub, source if whole else source.index_select(0, rows))
                    if not isinstance(out, torch.Tensor) or out.shape != sub.shape:
                        got = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                        raise ShapeError(f"{fn}: extra op {name!r} must return a tensor of its input's shape "
                                         f"{list(sub.shape)}, got {got}", expected="B,C,H,W")
                    out = out.to(x.dtype)
                else:
                    op, kind = table[name]
                    if kind == "none":
                        out = op(sub, backend=backend).to(x.dtype)
                    else:
                        # Magnitudes go as float: integer-valued for int_param ops, solarize's threshold is t / 255.
                        v = values[:, step] if whole else values.index_select(0, rows)[:, step]
                        out = op(sub, v, backend=backend).to(x.dtype)
                # Copy into the private buffer x even for the whole batch: an extra op may return a tensor it
                # still owns.
                if whole:
                    x.copy_(out)
                else:
                    x.index_copy_(0, rows, out)
    # Convex mixing: weights rows sum to 1 and w0 in [0, 1], so the output stays in [0, 1] up to rounding.
    weights = params.weights.to(device=dev, dtype=images.dtype).view(b, width, 1, 1, 1)
    mix = (weights * x.view(b, width, c, h, w)).sum(dim=1)
    w0 = params.w0.to(device=dev, dtype=images.dtype).view(b, 1, 1, 1)
    return (w0 * mix + (1.0 - w0) * images).clamp_(0.0, 1.0)


class AugMix:
    """AugMix (Hendrycks et al. 2020) on image batches, with every image's random chains drawn independently.

    For each image: ``width`` chains; each chain has depth uniform in {1, 2, 3} (or ``depth``), each step an op drawn
    uniformly from the op list with ``level ~ U(0.1, severity)`` mapped to its parameter as in AugMix (spec §B; a
    random sign for rotate/shear/translate; translate up to ``image_width / 3`` at level 10). Chain outputs are mixed
    with Dirichlet(α) weights, then ``w0 * mix + (1 - w0) * x`` with ``w0 ~ Beta(α, α)``.

    All randomness comes from the ``generator`` passed to :meth:`__call__` / :meth:`sample` (never torch's global
    RNG); ``generator=None`` uses a fresh generator seeded from OS entropy, which is not reproducible.
    ``__call__(x, generator=g)`` equals ``apply(x, sample(B, (H, W), generator=g))``.

    Shape:
        - images: ``(B, C, H, W)`` floating in ``[0, 1]``, C in {1, 3}, any device.
        - output: same shape, dtype and device, values in ``[0, 1]``.

    Args:
        severity: AugMix severity n in 1..10 (3 for CIFAR, 1 for ImageNet in AugMix).
        width: number of chains, ``>= 1``.
        depth: chain length; ``-1`` draws it uniformly from {1, 2, 3} per chain and image, else fixed ``>= 1``.
        alpha: Dirichlet and Beta concentration, ``> 0``.
        ops: op names to draw from (a subset of :data:`ALL_OPS`); default the nine base ops (:data:`BASE_OPS`).
        all_ops: also draw the four ops that overlap ImageNet-C (:data:`OVERLAP_OPS`), AugMix's ``--all-ops``.
        backend: back-end of the ``pyrepair.transform`` ops.
        extra_ops: additional ops ``name -> callable(images_subset, indices) -> images``, drawn **only as the
            first op of a chain**, with probability ``p_extra``. This is the hook for DeepRepair's style ops
            (StyleAug, spec §A.4): ``indices`` are the batch positions of the images in the subset. The callable
            must not modify its input; its own randomness, if any, is not recorded in :class:`AugMixParams`.
        p_extra: probability that a chain's first op is drawn (uniformly) from ``extra_ops`` instead of the base
            ops; ``0`` (the default) never draws them and draws exactly what AugMix without extras draws.

    Raises:
        TypeError / ValueError: a hyper-parameter of the wrong type or out of range (the message names it).
        UnknownNameError: an op name not in :data:`ALL_OPS` (the message lists the valid names), or an unknown
            backend.

    Example:
        The three lines in your own training loop (``model``, ``x``, ``y``, ``g`` are yours):

        >>> import torch
        >>> from torch import nn
        >>> from pyrepair.augment import AugMix, augmix_loss, augmix_views
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        ...                       nn.Linear(4, 10))
        >>> x, y, g = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,)), torch.Generator().manual_seed(0)
        >>> aug = AugMix(); clean, a1, a2 = augmix_views(x, aug, generator=g)
        >>> logits = model(torch.cat([clean, a1, a2])).chunk(3)
        >>> loss = augmix_loss(*logits, y)
        >>> loss.backward()

        Sampling and replaying are separate steps, so the choices can be logged or reused:

        >>> params = aug.sample(8, (32, 32), generator=torch.Generator().manual_seed(1))
        >>> params.op_ids.shape, params.weights.shape
        (torch.Size([8, 3, 3]), torch.Size([8, 3]))
        >>> torch.equal(aug.apply(x, params), aug(x, generator=torch.Generator().manual_seed(1)))
        True
    """

    def __init__(
        self,
        severity: int = 3,
        width: int = 3,
        depth: int = -1,
        alpha: float = 1.0,
        ops: Sequence[str] | None = None,
        all_ops: bool = False,
        backend: Backend = "auto",
        *,
        extra_ops: Mapping[str, ExtraOp] | None = None,
        p_extra: float = 0.0,
    ) -> None:
        self.severity = check_int(severity, "severity", _FN, min_value=1, max_value=10)
        self.width = check_int(width, "width", _FN, min_value=1)
        self.depth = check_int(depth, "depth", _FN, min_value=-1)
        if self.depth == 0:
            raise ArgumentError(f"{_FN}: depth must be -1 (random in {{1, 2, 3}}) or >= 1, got 0")
        self.alpha = check_positive(alpha, "alpha", _FN)
        if not isinstance(all_ops, bool):
            raise ArgumentTypeError(f"{_FN}: all_ops must be a bool, got {type(all_ops).__name__}")
        self.backend: Backend = check_backend(backend, _FN)  # at construction, not at the first call
        self.ops: tuple[str, ...] = _resolve_ops(ops, all_ops)
        self.extra_ops: dict[str, ExtraOp] = {}
        for name, op in (extra_ops or {}).items():
            if not isinstance(name, str) or not name:
                raise ArgumentTypeError(f"{_FN}: extra_ops keys must be non-empty op names, got {name!r}")
            if name in ALL_OPS:
                raise ArgumentError(f"{_FN}: extra_ops name {name!r} clashes with an AugMix op; rename it")
            if not callable(op):
                raise ArgumentTypeError(f"{_FN}: extra_ops[{name!r}] must be callable (images, indices) -> images, "
                                f"got {type(op).__name__}")
            self.extra_ops[name] = op
        self.p_extra = check_number(p_extra, "p_extra", _FN, 0.0, 1.0)
        if self.p_extra > 0 and not self.extra_ops:
            raise ArgumentError(f"{_FN}: p_extra={p_extra!r} > 0 needs at least one op in extra_ops")
        self.op_names: tuple[str, ...] = self.ops + tuple(self.extra_ops)
        self._table = _lookup_transform_ops(self.ops, _FN)

    def __repr__(self) -> str:
        extra = f", extra_ops={list(self.extra_ops)}, p_extra={self.p_extra}" if self.extra_ops else ""
        return (f"AugMix(severity={self.severity}, width={self.width}, depth={self.depth}, alpha={self.alpha}, "
                f"ops={list(self.ops)}, backend={self.backend!r}{extra})")

    @property
    def max_depth(self) -> int:
        """Steps per chain in :class:`AugMixParams`: 3 with random depth, else ``depth``."""
        return 3 if self.depth == -1 else self.depth

    def sample(
        self,
        batch_size: int,
        image_size: int | tuple[int, int],
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> AugMixParams:
        """Draw every random choice for ``batch_size`` images of ``image_size`` (``H`` or ``(H, W)``).

        Draws on the generator's device, in a fixed order (depths, base op ids, extra-op coins and ids when
        ``p_extra > 0``, levels, signs, Dirichlet weights, w0), so a seed gives the same choices on every machine.
        The image width sets the translate range.

        Args:
            batch_size: B, ``>= 0``.
            image_size: the images' size; only the width matters (translate).
            generator: the source of randomness (see the class docstring for None).
            device: where the returned tensors live (default: CPU).

        Returns:
            an :class:`AugMixParams` of B rows.

        Raises:
            TypeError / ValueError: batch_size or image_size not positive ints, generator of another type.
        """
        fn = f"{_FN}.sample"
        b = check_int(batch_size, "batch_size", fn, min_value=0)
        _, img_w = image_hw(image_size, fn)
        g = resolve_generator(generator, fn)
        gd = g.device
        wd, d = self.width, self.max_depth
        n_base = len(self.ops)

        if self.depth == -1:
            depths = torch.randint(1, 4, (b, wd), generator=g, device=gd)
        else:
            depths = torch.full((b, wd), self.depth, dtype=torch.long, device=gd)
        op_ids = torch.randint(0, n_base, (b, wd, d), generator=g, device=gd)
        is_extra = torch.zeros((b, wd), dtype=torch.bool, device=gd)
        if self.p_extra > 0:
            is_extra = torch.rand((b, wd), generator=g, device=gd) < self.p_extra
            extra_id = n_base + torch.randint(0, len(self.extra_ops), (b, wd), generator=g, device=gd)
            op_ids[:, :, 0] = torch.where(is_extra, extra_id, op_ids[:, :, 0])
        level = 0.1 + (self.severity - 0.1) * torch.rand((b, wd, d), generator=g, dtype=torch.float64, device=gd)
        sign = torch.where(torch.rand((b, wd, d), generator=g, device=gd) < 0.5, -1.0, 1.0).to(torch.float64)
        weights = sample_dirichlet(b, wd, self.alpha, g)
        w0 = sample_beta(b, self.alpha, g)

        values = torch.zeros((b, wd, d), dtype=torch.float64, device=gd)
        for k, name in enumerate(self.ops):
            sel = op_ids == k
            if not bool(sel.any()):
                continue
            v = _op_value(name, level[sel], img_w)
            values[sel] = v * sign[sel] if name in _GEOMETRIC else v
        unused = torch.arange(d, device=gd).view(1, 1, d) >= depths.unsqueeze(-1)
        op_ids = op_ids.masked_fill(unused, -1)
        values = values.masked_fill(unused, 0.0)

        dev = check_device(device, fn) or torch.device("cpu")
        return AugMixParams(op_ids.to(dev), values.to(device=dev, dtype=torch.float32),
                            weights.to(device=dev, dtype=torch.float32), w0.to(device=dev, dtype=torch.float32),
                            self.op_names)

    def apply(self, images: torch.Tensor, params: AugMixParams, *, check_range: bool = True) -> torch.Tensor:
        """Deterministically replay ``params`` on ``images`` (see :func:`augmix_apply`).

        Raises:
            ValueError: ``params.op_names`` differ from this instance's ops (params of another AugMix), plus the
                errors of :func:`augmix_apply`.
        """
        fn = f"{_FN}.apply"
        if isinstance(params, AugMixParams) and params.op_names != self.op_names:
            raise ArgumentError(f"{fn}: params were sampled for ops {list(params.op_names)}, this AugMix uses "
                             f"{list(self.op_names)}")
        return _apply(images, params, self._table, self.extra_ops, self.backend, fn, check_range)

    def __call__(
        self, images: torch.Tensor, *, generator: torch.Generator | None = None, check_range: bool = True
    ) -> torch.Tensor:
        """Augment ``images`` (``(B, C, H, W)`` in [0, 1], not modified): ``apply(images, sample(...))``.

        ``check_range=False`` skips the finite / [0, 1] value pass (shapes and dtypes are still checked).
        """
        s = check_images(images, _FN, check_range=check_range).sizes
        params = self.sample(s["B"], (s["H"], s["W"]), generator=generator)
        return _apply(images, params, self._table, self.extra_ops, self.backend, f"{_FN}.apply", False)


def augmix_views(
    images: torch.Tensor, augmix: AugMix, *, generator: torch.Generator | None = None, check_range: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The three views of AugMix's JSD training: ``(images, augmix(images), augmix(images))``.

    The two augmented views are independent draws (consecutive draws from ``generator``). The clean view is
    ``images`` itself (not copied, never modified).

    Shape:
        - images: ``(B, C, H, W)`` floating in [0, 1].
        - output: three tensors of that shape; concatenate them for one forward pass of 3B images.

    Args:
        images: the batch.
        augmix: the :class:`AugMix` to draw with.
        generator: source of randomness.

    Returns:
        ``(clean, aug1, aug2)``.

    Raises:
        TypeError: augmix is not an :class:`AugMix`; others as :class:`AugMix`.
    """
    if not isinstance(augmix, AugMix):
        raise ArgumentTypeError(f"pyrepair.augment.augmix_views: augmix must be an AugMix, got {type(augmix).__name__}")
    check_images(images, "pyrepair.augment.augmix_views", check_range=check_range)
    g = resolve_generator(generator, "pyrepair.augment.augmix_views")
    return images, augmix(images, generator=g, check_range=False), augmix(images, generator=g, check_range=False)

