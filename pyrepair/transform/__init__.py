"""Batched geometric and photometric image transforms: SENSEI's variants and the AugMix operations.

Two families share one compiled affine-warp kernel (one inverse 2x3 matrix, one source index and optional
photometric parameters per output image):

* :func:`affine_photometric` and :func:`population`: SENSEI's transform (``spec/sensei.md`` §2.2): rotation,
  translation, shear and zoom about the image centre, bilinear with zero padding per tap, then brightness and
  contrast, then an optional per-channel normalisation; :func:`population` makes P variants of every image in one
  pass (the genetic search's evaluation batch).
* the AugMix operations (``spec/deeprepair.md`` §B) with Pillow's semantics on 8-bit levels ``k = round(255 v)``:
  the level ops (:func:`autocontrast`, :func:`equalize`, :func:`posterize`, :func:`solarize`; quantised output),
  the geometric ops (:func:`rotate`, :func:`shear_x`, :func:`shear_y`, :func:`translate_x`, :func:`translate_y`;
  Pillow's bilinear filter, float output) and the ``ImageEnhance`` ops (:func:`color`, :func:`contrast`,
  :func:`brightness`, :func:`sharpness`; float output clipped to [0, 1]). :data:`OPS` lists them.

Common conventions: images are float tensors (B, C, H, W) with values in [0, 1], any C >= 1 (:func:`color` and
:func:`contrast` need 1 or 3), H, W >= 1, on any device; the work is done in float32 and the result is returned in
the input's dtype, on its device. Inputs are never modified. Per-image parameters are python numbers (the same for
every image) or 1-D tensors of length B (any real dtype, any device). ``backend`` picks ``"auto"`` (the compiled
kernel of the images' device), ``"cpu"``, ``"cuda"`` or ``"reference"`` (the torch code in
:mod:`pyrepair.transform.reference`). The transforms are not differentiable.

Example:
    >>> import torch
    >>> from pyrepair import transform
    >>> x = torch.rand(2, 3, 8, 8)
    >>> torch.equal(transform.affine_photometric(x, transform.identity_params(2)), x)
    True
    >>> transform.posterize(x, 4).mul(255).round().remainder(16).abs().max().item()
    0.0
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

from .. import _backend, _dispatch
from .._checks import check_device, check_finite, check_images, check_int, format_shape
from .._checks import check_range as _check_number_range
from ..errors import ArgumentError, ArgumentTypeError, BackendUnavailableError, DeviceError, DTypeError, ShapeError
from . import reference

__all__ = [
    "OPS",
    "PARAMS",
    "OpInfo",
    "affine_photometric",
    "autocontrast",
    "brightness",
    "color",
    "contrast",
    "equalize",
    "identity_params",
    "population",
    "posterize",
    "reference",
    "rotate",
    "sharpness",
    "shear_x",
    "shear_y",
    "solarize",
    "translate_x",
    "translate_y",
]

PARAMS: tuple[str, ...] = ("rotation", "tx", "ty", "shear", "zoom", "brightness", "contrast")
"""Column names of a SENSEI parameter row (the gene order of ``spec/sensei.md`` §2.1)."""

_IDENTITY_ROW = (0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0)
_SAMPLER = {"zeros": 0, "pil": 1}  # must match enum class Sampler in csrc/transform/transform.h
_POINT = {"autocontrast": 0, "equalize": 1, "posterize": 2, "solarize": 3}  # enum class PointOp
_ENHANCE = {"color": 0, "contrast": 1, "brightness": 2, "sharpness": 3}  # enum class EnhanceOp
_NS = "pyrepair.transform."

Tensor = torch.Tensor
Scalar = float | int
PerImage = Tensor | np.ndarray | Scalar


# ----------------------------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------------------------


# Set by callers inside pyrepair that validated finiteness once at their own public boundary (AugMix runs up to
# depth x #ops transform calls per batch; STYLE rule 5: validate once). Shapes and dtypes are still checked.
_TRUSTED_FINITE: contextvars.ContextVar[bool] = contextvars.ContextVar("pyrepair_transform_trusted", default=False)


@contextlib.contextmanager
def _trusted_finite() -> Iterator[None]:
    """Inside this context the ops skip the NaN/inf scan of images and per-image parameters (internal use)."""
    token = _TRUSTED_FINITE.set(True)
    try:
        yield
    finally:
        _TRUSTED_FINITE.reset(token)


def _images(images: Any, fn: str, check_range: bool = True) -> tuple[Tensor, torch.dtype]:
    """Checked float32 contiguous copy-or-view of ``images`` and the dtype to return results in.

    The one validator (:func:`pyrepair._checks.check_images`): shape, dtype, device, channels-last hint and, unless
    ``check_range=False`` or inside :func:`_trusted_finite`, one fused pass for NaN/inf and the [0, 1] range.
    """
    check_images(images, fn, channels=None, min_size=1, check_range=check_range and not _TRUSTED_FINITE.get())
    return images.detach().to(torch.float32).contiguous(), images.dtype


def _real_tensor(value: Any, name: str, fn: str) -> Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.array(value))  # private copy: read-only arrays are fine
    if not isinstance(value, torch.Tensor):
        raise DTypeError(f"{fn}: {name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dtype == torch.bool or value.is_complex():
        raise DTypeError(f"{fn}: {name} must hold real numbers, got {value.dtype}")
    if value.device.type == "meta":
        raise DeviceError(f"{fn}: {name} is on the meta device (no data); move it to 'cpu' or 'cuda'")
    return value.detach()


def _per_image(value: Any, b: int, name: str, fn: str, device: torch.device) -> Tensor:
    """A per-image parameter as a float64 (B,) tensor on ``device``: a python number is broadcast, a 0-d tensor too;
    a 1-D tensor must have length B."""
    if isinstance(value, bool):
        raise DTypeError(f"{fn}: {name} must be a number or a 1-D tensor of length B={b}, got bool {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        t = torch.full((b,), float(value), dtype=torch.float64, device=device)
    else:
        t = _real_tensor(value, name, fn)
        if t.dim() == 0:
            t = t.reshape(1).expand(b)
        elif t.dim() != 1 or t.shape[0] != b:
            raise ShapeError(
                f"{fn}: {name} must be a number or a 1-D tensor of length B={b}, got shape {format_shape(t.shape)}",
                actual_shape=tuple(t.shape),
                expected="B",
            )
        t = t.to(device=device, dtype=torch.float64)
    if not _TRUSTED_FINITE.get():
        check_finite(t, name, fn)
    return t


def _params(params: Any, spec: str, fn: str, device: torch.device, **fixed: int) -> Tensor:
    """SENSEI parameter rows (``spec`` ends in ``K`` = 7) as float64 on ``device``."""
    p = _real_tensor(params, "params", fn)
    dims = spec.split(",")
    shape = tuple(int(s) for s in p.shape)
    want = ", ".join(f"{d}={fixed[d]}" if d in fixed else d for d in dims[:-1])
    if len(shape) != len(dims) or shape[-1] != len(PARAMS) or any(
        shape[i] != fixed[d] for i, d in enumerate(dims[:-1]) if d in fixed
    ):
        raise ShapeError(
            f"{fn}: params must have shape [{want}, 7] (columns {', '.join(PARAMS)}), got {format_shape(shape)}",
            actual_shape=shape,
            expected=spec,
        )
    p = p.to(device=device, dtype=torch.float64)
    check_finite(p, "params", fn)
    zoom = p[..., 4]
    if p.numel() and bool((zoom <= 0).any()):
        bad = float(zoom[zoom <= 0].flatten()[0])
        raise ArgumentError(f"{fn}: params zoom (column 4) must be > 0, got {bad!r}")
    return p


def _index(index: Any, m: int, b: int, fn: str, device: torch.device) -> Tensor:
    if index is None:
        if m != b:
            raise ShapeError(
                f"{fn}: params has {m} rows but images has B={b}; pass index (M,) to choose the source images",
                actual_shape=(m,),
                expected="B",
            )
        return torch.arange(b, dtype=torch.int64, device=device)
    idx = _real_tensor(index, "index", fn)
    if idx.dtype.is_floating_point:
        raise DTypeError(f"{fn}: index must be an integer tensor (int64 preferred), got {idx.dtype}")
    if idx.dim() != 1 or idx.shape[0] != m:
        raise ShapeError(
            f"{fn}: index must have shape [M] with M={m} (the rows of params), got {format_shape(idx.shape)}",
            actual_shape=tuple(idx.shape),
            expected="M",
        )
    idx = idx.to(device=device, dtype=torch.int64)
    if m:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= b:
            raise ArgumentError(f"{fn}: index must lie in [0, {b}) (images has B={b}), got values in [{lo}, {hi}]")
    return idx


def _channel_vector(value: Any, c: int, name: str, fn: str, device: torch.device) -> Tensor:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        t = _real_tensor(value, name, fn)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        t = torch.tensor([float(v) for v in value], dtype=torch.float64)
    else:
        raise DTypeError(f"{fn}: {name} must be a sequence or tensor of length C={c}, got {type(value).__name__}")
    if t.dim() != 1 or t.shape[0] != c:
        raise ShapeError(
            f"{fn}: {name} must have length C={c} (one value per channel), got shape {format_shape(t.shape)}",
            actual_shape=tuple(t.shape),
            expected="C",
        )
    t = t.to(device=device, dtype=torch.float64)
    check_finite(t, name, fn)
    return t


def _normalisation(mean: Any, std: Any, c: int, fn: str, device: torch.device) -> tuple[Tensor | None, Tensor | None]:
    if mean is None and std is None:
        return None, None
    if mean is None or std is None:
        raise ArgumentError(f"{fn}: mean and std must be given together, got mean={mean!r}, std={std!r}")
    m = _channel_vector(mean, c, "mean", fn, device)
    s = _channel_vector(std, c, "std", fn, device)
    if bool((s <= 0).any()):
        raise ArgumentError(f"{fn}: std must be > 0 in every channel, got {s.tolist()}")
    return m, s


# ----------------------------------------------------------------------------------------------------------------
# Inverse matrices (output pixel index -> source pixel index), built in float64
# ----------------------------------------------------------------------------------------------------------------


def _sensei_matrices(p: Tensor, h: int, w: int) -> Tensor:
    """(..., 6) inverse affine maps of SENSEI rows (..., 7): ``p = A (x, y, 1)`` with ``A`` row-major.

    Expands ``p = c + R^T (Sh^-1 (q - c) / z - t)`` (spec §2.2) into ``A``; the identity row gives exactly
    ``[1, 0, 0, 0, 1, 0]`` and multiples of 90 degrees give exact pixel permutations.
    """
    theta, tx, ty, s, z = (p[..., i] for i in range(5))
    cos, sin = reference.unit_cos_sin(theta)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    a00, a01 = cos / z, -(cos * s + sin) / z
    a10, a11 = sin / z, (cos - sin * s) / z
    a02 = cx - a00 * cx - a01 * cy - cos * tx + sin * ty
    a12 = cy - a10 * cx - a11 * cy - sin * tx - cos * ty
    return torch.stack((a00, a01, a02, a10, a11, a12), dim=-1)


def _pil_matrices(coeffs: Tensor) -> Tensor:
    """Pillow affine coefficients (B, 6) (pixel-centre convention: input ``= A (x + 1/2, y + 1/2) - 1/2``) as
    inverse maps on pixel indices (B, 6)."""
    a, b, c, d, e, f = coeffs.unbind(-1)
    return torch.stack((a, b, c + (a + b - 1.0) / 2.0, d, e, f + (d + e - 1.0) / 2.0), dim=-1)


# ----------------------------------------------------------------------------------------------------------------
# Kernel launches
# ----------------------------------------------------------------------------------------------------------------


def _core_fn(name: str, fn: str) -> Callable[..., None]:
    core = _backend.core(fn)
    kernel = getattr(core, name, None)
    if kernel is None:  # a stale build of the extension
        raise BackendUnavailableError(
            f"{fn}: the compiled core has no {name}; it predates the transform kernels, rebuild it with `pip install .`"
        )
    return kernel


def _ptr(t: Tensor | None) -> int:
    return 0 if t is None else int(t.data_ptr())


def _warp(
    impl: str,
    x: Tensor,
    index: Tensor,
    matrices: Tensor,
    photometric: Tensor | None,
    mean: Tensor | None,
    std: Tensor | None,
    pivot: float,
    sampler: str,
    fn: str,
) -> Tensor:
    """Compiled warp: ``out[p, n] = photometric(sample(x[index[n]], matrices[p, n]))``; matrices (P, N, 6) float64,
    photometric (P, N, 2) ``[brightness, contrast]`` or None. Returns (P, N, C, H, W) float32."""
    n_var, n = matrices.shape[:2]
    _, c, h, w = x.shape
    dev = x.device
    out = torch.empty((n_var, n, c, h, w), dtype=torch.float32, device=dev)
    if out.numel() == 0:
        return out
    f32 = {"device": dev, "dtype": torch.float32}
    mats = matrices.to(**f32).contiguous()
    photo = None if photometric is None else photometric.to(**f32).contiguous()
    mean32 = None if mean is None else mean.to(**f32).contiguous()
    std32 = None if std is None else std.to(**f32).contiguous()
    idx = index.to(device=dev, dtype=torch.int64).contiguous()
    if impl == "cuda":
        stream, device = _dispatch.cuda_launch(x)
        _core_fn("transform_warp_cuda", fn)(
            x.data_ptr(), idx.data_ptr(), mats.data_ptr(), _ptr(photo), _ptr(mean32), _ptr(std32), out.data_ptr(),
            (n_var, n, x.shape[0], c, h, w), float(pivot), _SAMPLER[sampler], stream, device,
        )
    else:
        def arr(t: Tensor | None, name: str) -> np.ndarray | None:
            return None if t is None else _dispatch.cpu_array(t, name)

        _core_fn("transform_warp_cpu", fn)(
            arr(x, "images"), arr(idx, "index"), arr(mats, "matrices"), arr(photo, "photometric"),
            arr(mean32, "mean"), arr(std32, "std"), arr(out, "out"), float(pivot), _SAMPLER[sampler],
        )
    return out


def _point(impl: str, x: Tensor, op: str, param: Tensor | None, fn: str) -> Tensor:
    """Compiled 8-bit level op; ``param`` (B,) int32 (posterize bits, solarize threshold level) or None."""
    out = torch.empty_like(x)
    if out.numel() == 0:
        return out
    b = x.shape[0]
    prm = (param if param is not None else torch.zeros(b)).to(device=x.device, dtype=torch.int32).contiguous()
    if impl == "cuda":
        stream, device = _dispatch.cuda_launch(x)
        _core_fn("transform_point_cuda", fn)(
            x.data_ptr(), prm.data_ptr(), out.data_ptr(), tuple(x.shape), _POINT[op], stream, device
        )
    else:
        _core_fn("transform_point_cpu", fn)(
            _dispatch.cpu_array(x, "images"), _dispatch.cpu_array(prm, "param"), _dispatch.cpu_array(out, "out"),
            _POINT[op],
        )
    return out


def _enhance(impl: str, x: Tensor, op: str, factor: Tensor, fn: str) -> Tensor:
    """Compiled ImageEnhance op with per-image ``factor`` (B,)."""
    out = torch.empty_like(x)
    if out.numel() == 0:
        return out
    f = factor.to(device=x.device, dtype=torch.float32).contiguous()
    if impl == "cuda":
        stream, device = _dispatch.cuda_launch(x)
        _core_fn("transform_enhance_cuda", fn)(
            x.data_ptr(), f.data_ptr(), out.data_ptr(), tuple(x.shape), _ENHANCE[op], stream, device
        )
    else:
        _core_fn("transform_enhance_cpu", fn)(
            _dispatch.cpu_array(x, "images"), _dispatch.cpu_array(f, "factor"), _dispatch.cpu_array(out, "out"),
            _ENHANCE[op],
        )
    return out


# ----------------------------------------------------------------------------------------------------------------
# SENSEI
# ----------------------------------------------------------------------------------------------------------------


def identity_params(n: int, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """``n`` neutral SENSEI parameter rows ``[0, 0, 0, 0, 1, 0, 1]`` (see :data:`PARAMS`).

    Args:
        n: number of rows, >= 0.
        device: where to allocate (default CPU).
        dtype: floating dtype of the result.

    Returns:
        (n, 7) tensor; :func:`affine_photometric` returns its input exactly for these rows.

    Raises:
        ArgumentTypeError: ``n`` is not an int, ``dtype`` not a floating-point ``torch.dtype``.
        ValueError: ``n`` is negative or above 2^63 - 1.

    Example:
        >>> identity_params(1)
        tensor([[0., 0., 0., 0., 1., 0., 1.]])
    """
    fn = f"{_NS}identity_params"
    n = check_int(n, "n", fn, min_value=0)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ArgumentTypeError(f"{fn}: dtype must be a floating-point torch.dtype, got {dtype!r}")
    row = torch.tensor(_IDENTITY_ROW, dtype=dtype, device=check_device(device, fn))
    return row.repeat(n, 1)


def _pivot(contrast_pivot: Any, fn: str) -> float:
    return _check_number_range(contrast_pivot, "contrast_pivot", fn, 0.0, 1.0)


def affine_photometric(
    images: Tensor,
    params: Tensor,
    *,
    index: Tensor | None = None,
    mean: Sequence[float] | Tensor | None = None,
    std: Sequence[float] | Tensor | None = None,
    contrast_pivot: float = 127 / 255,
    backend: str = "auto",
    check_range: bool = True,
) -> Tensor:
    """SENSEI's affine + photometric transform (``spec/sensei.md`` §2.2), one parameter row per output image.

    Row ``m`` of ``params`` transforms source image ``index[m]``. Geometry (about the centre
    ``c = ((W-1)/2, (H-1)/2)``, pixel centres at integer coordinates, y down): rotation by ``rotation`` degrees
    (counter-clockwise on screen for positive values), then translation by ``(tx, ty)`` pixels (positive moves
    content right / down), then horizontal shear ``x' = x + shear * y``, then zoom (``zoom > 1`` zooms in). Each
    output pixel ``q`` samples the source at ``p = c + R^T (v - t)`` with ``u = (q - c) / zoom``,
    ``v = (u_x - shear * u_y, u_y)``, bilinearly, each tap outside the image counting as 0. Then per channel
    ``v1 = clip(v + brightness, 0, 1)`` (brightness in image units: SENSEI's beta / 255),
    ``v2 = clip(pivot + contrast * (v1 - pivot), 0, 1)``, and, when given, ``(v2 - mean[c]) / std[c]``.
    Brightness 0 and contrast 1 are skipped, so :func:`identity_params` rows return the input exactly.

    Args:
        images: (B, C, H, W) float in [0, 1].
        params: (M, 7) rows ``[rotation, tx, ty, shear, zoom, brightness, contrast]`` (:data:`PARAMS`), any real
            dtype and device; zoom > 0.
        index: (M,) integer tensor: the source image of each row, in [0, B). Default ``arange(B)`` (needs M == B).
        mean: per-channel normalisation mean, length C (sequence or tensor), given together with ``std``.
        std: per-channel normalisation std, length C, > 0.
        contrast_pivot: the contrast pivot in [0, 1] (SENSEI: 127 / 255; 0 gives the paper's literal ``x * d``).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (M, C, H, W) tensor in the images' dtype and device (values in [0, 1] unless normalised).

    Raises:
        ShapeError: images not 4-D; params not (M, 7); index not (M,); M != B without index; mean/std not length C.
        DTypeError: images not floating point; index not an integer tensor.
        ValueError: NaN/inf in images or params; zoom <= 0; index out of range; std <= 0; pivot outside [0, 1].
        UnknownNameError, DeviceError, BackendUnavailableError: bad or unavailable ``backend``.

    Shape:
        images (B, C, H, W), params (M, 7), index (M,) -> (M, C, H, W).

    Example:
        >>> x = torch.zeros(1, 1, 3, 3); x[0, 0, 0, 2] = 1.0  # top-right pixel
        >>> p = identity_params(1); p[0, 0] = 90.0  # rotate 90 degrees counter-clockwise
        >>> affine_photometric(x, p)[0, 0]
        tensor([[1., 0., 0.],
                [0., 0., 0.],
                [0., 0., 0.]])
    """
    fn = _NS + "affine_photometric"
    x, dtype = _images(images, fn, check_range)
    b, c, h, w = x.shape
    dev = x.device
    p = _params(params, "M,K", fn, dev)
    m = p.shape[0]
    idx = _index(index, m, b, fn, dev)
    mean_t, std_t = _normalisation(mean, std, c, fn, dev)
    pivot = _pivot(contrast_pivot, fn)
    impl = _dispatch.select(fn, dev, backend)
    if m == 0 or x.numel() == 0:
        return torch.empty((m, c, h, w), dtype=dtype, device=dev)
    if impl == "reference":
        out = reference.affine_photometric(x, p, idx, mean_t, std_t, pivot)
    else:
        mats = _sensei_matrices(p, h, w)[None]
        out = _warp(impl, x, idx, mats, p[None, :, 5:7], mean_t, std_t, pivot, "zeros", fn)[0]
    return out.to(dtype)


def population(
    images: Tensor,
    params: Tensor,
    *,
    mean: Sequence[float] | Tensor | None = None,
    std: Sequence[float] | Tensor | None = None,
    contrast_pivot: float = 127 / 255,
    backend: str = "auto",
    check_range: bool = True,
) -> Tensor:
    """P SENSEI variants of every image in one pass (the GA's evaluation batch).

    ``out[p, b] == affine_photometric(images, params[p], ...)[b]``; the compiled kernels read each source image
    once for all its P variants.

    Args:
        images: (B, C, H, W) float in [0, 1].
        params: (P, B, 7) rows as in :func:`affine_photometric`.
        mean, std, contrast_pivot, backend, check_range: as in :func:`affine_photometric`.

    Returns:
        (P, B, C, H, W) tensor in the images' dtype and device.

    Raises:
        ShapeError: params not (P, B, 7); others as in :func:`affine_photometric`.

    Shape:
        images (B, C, H, W), params (P, B, 7) -> (P, B, C, H, W).

    Example:
        >>> x = torch.rand(4, 3, 8, 8)
        >>> params = identity_params(4).repeat(10, 1, 1); params[..., 0] = 15.0
        >>> population(x, params).shape
        torch.Size([10, 4, 3, 8, 8])
    """
    fn = _NS + "population"
    x, dtype = _images(images, fn, check_range)
    b, c, h, w = x.shape
    dev = x.device
    p = _params(params, "P,B,K", fn, dev, B=b)
    n_var = p.shape[0]
    mean_t, std_t = _normalisation(mean, std, c, fn, dev)
    pivot = _pivot(contrast_pivot, fn)
    impl = _dispatch.select(fn, dev, backend)
    if n_var == 0 or x.numel() == 0:
        return torch.empty((n_var, b, c, h, w), dtype=dtype, device=dev)
    if impl == "reference":
        out = reference.population(x, p, mean_t, std_t, pivot)
    else:
        idx = torch.arange(b, dtype=torch.int64, device=dev)
        out = _warp(impl, x, idx, _sensei_matrices(p, h, w), p[..., 5:7], mean_t, std_t, pivot, "zeros", fn)
    return out.to(dtype)


# ----------------------------------------------------------------------------------------------------------------
# AugMix level ops
# ----------------------------------------------------------------------------------------------------------------


def _level_op(images: Tensor, op: str, param: Any, backend: str, check_range: bool = True) -> Tensor:
    fn = _NS + op
    x, dtype = _images(images, fn, check_range)
    b = x.shape[0]
    levels: Tensor | None = None
    if op == "posterize":
        bits = _per_image(param, b, "bits", fn, x.device)
        bad = (bits != bits.round()) | (bits < 0) | (bits > 8)
        if bool(bad.any()):
            raise ArgumentError(f"{fn}: bits must be integers in [0, 8], got {bits[bad][0].item()!r}")
        levels = bits
    elif op == "solarize":
        thr = _per_image(param, b, "threshold", fn, x.device)
        levels = torch.round(thr * 255.0)  # t = round(255 * threshold), half to even
        bad = (levels < 0) | (levels > 256)
        if bool(bad.any()):
            raise ArgumentError(f"{fn}: threshold must be in [0, 256/255], got {thr[bad][0].item()!r}")
    impl = _dispatch.select(fn, x.device, backend)
    if x.numel() == 0:
        return torch.empty_like(x, dtype=dtype)
    if impl == "reference":
        if op == "posterize":
            out = reference.posterize(x, levels)
        elif op == "solarize":
            out = reference.solarize(x, levels / 255.0)
        else:
            out = getattr(reference, op)(x)
    else:
        out = _point(impl, x, op, levels, fn)
    return out.to(dtype)


def autocontrast(images: Tensor, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's ``ImageOps.autocontrast`` per image and channel, on 8-bit levels.

    With ``k = round(255 v)`` and ``lo``/``hi`` the lowest/highest level present in the channel: if ``hi <= lo`` the
    levels are kept, else ``k -> clamp(int(k * 255 / (hi - lo) - lo * 255 / (hi - lo)), 0, 255)`` (float64,
    truncation, as Pillow). The output is quantised: ``level / 255``.

    Args:
        images: (B, C, H, W) float in [0, 1].
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype, values ``k / 255``.

    Raises:
        ShapeError, DTypeError, ValueError: bad images (see :func:`affine_photometric`).

    Example:
        >>> x = torch.tensor([[[[0.25, 0.5], [0.5, 0.75]]]])
        >>> autocontrast(x)
        tensor([[[[0.0000, 0.5020],
                  [0.5020, 1.0000]]]])
    """
    return _level_op(images, "autocontrast", None, backend, check_range)


def equalize(images: Tensor, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's ``ImageOps.equalize`` per image and channel, on 8-bit levels.

    With the 256-bin histogram ``h`` of ``k = round(255 v)``, ``n`` pixels and ``step = (n - h[last level
    present]) // 255``: ``step == 0`` keeps the levels, otherwise ``k -> min(255, (step // 2 + sum(h[:k])) // step)``.
    The output is quantised: ``level / 255``.

    Args:
        images: (B, C, H, W) float in [0, 1].
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype, values ``k / 255``.

    Raises:
        ShapeError, DTypeError, ValueError: bad images.
    """
    return _level_op(images, "equalize", None, backend, check_range)


def posterize(images: Tensor, bits: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Keep the top ``bits`` bits of every 8-bit level: ``k -> k & ~(2^(8 - bits) - 1)`` (Pillow's
    ``ImageOps.posterize``; ``bits = 0`` gives black, 8 the quantised input).

    Args:
        images: (B, C, H, W) float in [0, 1].
        bits: integer in [0, 8], or a (B,) tensor of them (integer-valued floats accepted).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype, values ``k / 255``.

    Raises:
        ValueError: bits not integers in [0, 8]. ShapeError: bits not a number or (B,).
    """
    return _level_op(images, "posterize", bits, backend, check_range)


def solarize(images: Tensor, threshold: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Invert the bright levels (Pillow's ``ImageOps.solarize``).

    A pixel with level ``k = round(255 v)`` becomes ``255 - k`` iff ``k >= t`` with ``t = round(255 * threshold)``
    (round half to even), else stays ``k``. ``threshold = 0`` inverts everything, ``256/255`` nothing; AugMix's
    threshold level ``t`` is ``threshold = t / 255``.

    Args:
        images: (B, C, H, W) float in [0, 1].
        threshold: number in [0, 256/255], or a (B,) tensor of them.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype, values ``k / 255``.

    Raises:
        ValueError: threshold outside [0, 256/255] (after rounding to a level). ShapeError: not a number or (B,).
    """
    return _level_op(images, "solarize", threshold, backend, check_range)


# ----------------------------------------------------------------------------------------------------------------
# AugMix geometric ops (Pillow conventions)
# ----------------------------------------------------------------------------------------------------------------


def _geometric(images: Tensor, op: str, value: Any, name: str, backend: str, check_range: bool = True) -> Tensor:
    fn = _NS + op
    x, dtype = _images(images, fn, check_range)
    b = x.shape[0]
    v = _per_image(value, b, name, fn, x.device)
    impl = _dispatch.select(fn, x.device, backend)
    if x.numel() == 0:
        return torch.empty_like(x, dtype=dtype)
    if impl == "reference":
        return getattr(reference, op)(x, v).to(dtype)
    one, zero = torch.ones_like(v), torch.zeros_like(v)
    if op == "rotate":
        h, w = x.shape[-2:]
        cos, sin = reference.unit_cos_sin(v)
        cx, cy = w / 2.0, h / 2.0
        coeffs = (cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy)
    elif op == "shear_x":
        coeffs = (one, v, zero, zero, one, zero)
    elif op == "shear_y":
        coeffs = (one, zero, zero, v, one, zero)
    elif op == "translate_x":
        coeffs = (one, zero, v, zero, one, zero)
    else:
        coeffs = (one, zero, zero, zero, one, v)
    mats = _pil_matrices(torch.stack(coeffs, dim=-1))[None]
    idx = torch.arange(b, dtype=torch.int64, device=x.device)
    return _warp(impl, x, idx, mats, None, None, None, 0.0, "pil", fn)[0].to(dtype)


def rotate(images: Tensor, degrees: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's ``Image.rotate(degrees, BILINEAR)``: same size, counter-clockwise for positive degrees, fill 0.

    Output pixel ``(x, y)`` samples the input at ``c + R (q - c)`` with ``q = (x + 1/2, y + 1/2)``, ``c = (W/2, H/2)``
    in Pillow's corner coordinates and ``R = [[cos, -sin], [sin, cos]]`` (y down). Pillow's bilinear filter: a sample
    point outside the image's pixel squares is 0, a point inside uses edge-clamped taps. Float output (not
    quantised).

    Args:
        images: (B, C, H, W) float in [0, 1].
        degrees: angle in degrees, or a (B,) tensor of them.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype.

    Raises:
        ShapeError: degrees not a number or (B,). ValueError: NaN/inf.

    Example:
        >>> x = torch.rand(2, 3, 8, 8)
        >>> torch.equal(rotate(x, 0.0), x)
        True
    """
    return _geometric(images, "rotate", degrees, "degrees", backend, check_range)


def shear_x(images: Tensor, factor: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's affine ``(1, s, 0, 0, 1, 0)``: ``out(x, y) = in(x + s (y + 1/2), y)`` in pixel indices (Pillow's
    pixel-centre convention ``A (x + 1/2, y + 1/2) - 1/2``), bilinear as :func:`rotate`, fill 0, float output.

    Args:
        images: (B, C, H, W) float in [0, 1].
        factor: shear factor ``s``, or a (B,) tensor.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype.
    """
    return _geometric(images, "shear_x", factor, "factor", backend, check_range)


def shear_y(images: Tensor, factor: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's affine ``(1, 0, 0, s, 1, 0)``: ``out(x, y) = in(x, y + s (x + 1/2))``; see :func:`shear_x`.

    Args:
        images: (B, C, H, W) float in [0, 1].
        factor: shear factor ``s``, or a (B,) tensor.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype.
    """
    return _geometric(images, "shear_y", factor, "factor", backend, check_range)


def translate_x(images: Tensor, pixels: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's affine ``(1, 0, t, 0, 1, 0)``: ``out(x, y) = in(x + t, y)`` (content moves left for ``t > 0``),
    fill 0; an integer ``t`` is an exact shift.

    Args:
        images: (B, C, H, W) float in [0, 1].
        pixels: shift ``t`` in pixels, or a (B,) tensor.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype.

    Example:
        >>> x = torch.arange(4.0).view(1, 1, 1, 4) / 4
        >>> translate_x(x, 1)
        tensor([[[[0.2500, 0.5000, 0.7500, 0.0000]]]])
    """
    return _geometric(images, "translate_x", pixels, "pixels", backend, check_range)


def translate_y(images: Tensor, pixels: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's affine ``(1, 0, 0, 0, 1, t)``: ``out(x, y) = in(x, y + t)`` (content moves up for ``t > 0``).

    Args:
        images: (B, C, H, W) float in [0, 1].
        pixels: shift ``t`` in pixels, or a (B,) tensor.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype.
    """
    return _geometric(images, "translate_y", pixels, "pixels", backend, check_range)


# ----------------------------------------------------------------------------------------------------------------
# ImageEnhance ops
# ----------------------------------------------------------------------------------------------------------------


def _enhance_op(images: Tensor, op: str, factor: Any, backend: str, check_range: bool = True) -> Tensor:
    fn = _NS + op
    x, dtype = _images(images, fn, check_range)
    b, c = x.shape[:2]
    if op in ("color", "contrast") and c not in (1, 3):
        raise ShapeError(
            f"{fn}: images must have 1 or 3 channels (luminance is defined for grey and RGB), "
            f"got shape {format_shape(x.shape)}",
            actual_shape=tuple(x.shape),
            expected="B,C,H,W",
        )
    f = _per_image(factor, b, "factor", fn, x.device)
    impl = _dispatch.select(fn, x.device, backend)
    if x.numel() == 0:
        return torch.empty_like(x, dtype=dtype)
    if impl == "reference":
        out = getattr(reference, op)(x, f)
    else:
        out = _enhance(impl, x, op, f, fn)
    return out.to(dtype)


def color(images: Tensor, factor: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's ``ImageEnhance.Color``: ``clip(L + f (x - L), 0, 1)`` with the luminance
    ``L = 0.299 R + 0.587 G + 0.114 B`` on every channel (1 channel: ``L = x``, the op is the identity).
    ``f = 0`` gives grey, 1 the input (exactly). Float output.

    Args:
        images: (B, C, H, W) float in [0, 1] with C = 1 or 3.
        factor: enhancement factor ``f``, or a (B,) tensor.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype.

    Raises:
        ShapeError: C not 1 or 3; factor not a number or (B,).
    """
    return _enhance_op(images, "color", factor, backend, check_range)


def contrast(images: Tensor, factor: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's ``ImageEnhance.Contrast``: ``clip(m + f (x - m), 0, 1)`` with ``m`` the image's mean luminance (a
    float, where Pillow rounds it to a level). Float output.

    Args:
        images: (B, C, H, W) float in [0, 1] with C = 1 or 3.
        factor: enhancement factor ``f``, or a (B,) tensor.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype.

    Raises:
        ShapeError: C not 1 or 3; factor not a number or (B,).
    """
    return _enhance_op(images, "contrast", factor, backend, check_range)


def brightness(images: Tensor, factor: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's ``ImageEnhance.Brightness``: blend with black, ``clip(f x, 0, 1)``. Float output.

    Args:
        images: (B, C, H, W) float in [0, 1].
        factor: enhancement factor ``f``, or a (B,) tensor.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype.
    """
    return _enhance_op(images, "brightness", factor, backend, check_range)


def sharpness(images: Tensor, factor: PerImage, *, backend: str = "auto", check_range: bool = True) -> Tensor:
    """Pillow's ``ImageEnhance.Sharpness``: ``clip(s + f (x - s), 0, 1)`` with ``s`` the image filtered by Pillow's
    ``SMOOTH`` kernel ``[[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13`` on interior pixels and equal to ``x`` on the
    one-pixel border (so the border is unchanged). ``f = 0`` blurs, ``f = 2`` sharpens. Float output.

    Args:
        images: (B, C, H, W) float in [0, 1].
        factor: enhancement factor ``f``, or a (B,) tensor.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        check_range: check that the images are finite and in [0, 1] (one fused min/max pass); ``False`` skips it.

    Returns:
        (B, C, H, W) in the images' dtype.
    """
    return _enhance_op(images, "sharpness", factor, backend, check_range)


# ----------------------------------------------------------------------------------------------------------------
# The AugMix operation table
# ----------------------------------------------------------------------------------------------------------------


class OpInfo(NamedTuple):
    """One AugMix operation.

    Attributes:
        fn: the transform, ``fn(images)`` for ``param_kind == "none"``, else ``fn(images, magnitude)``.
        param_kind: how AugMix derives the magnitude from a level (``spec/deeprepair.md`` §B): ``"int"``
            (``int_param``: posterize bits, rotate degrees, solarize threshold level ``t`` (pass ``t / 255``),
            translate pixels), ``"float"`` (``float_param``: shear factors, enhance factors) or ``"none"``.
        overlaps_imagenet_c: True for the ops AugMix excludes because they overlap ImageNet-C corruptions
            (color, contrast, brightness, sharpness).
    """

    fn: Callable[..., Tensor]
    param_kind: Literal["none", "int", "float"]
    overlaps_imagenet_c: bool


OPS: dict[str, OpInfo] = {
    "autocontrast": OpInfo(autocontrast, "none", False),
    "equalize": OpInfo(equalize, "none", False),
    "posterize": OpInfo(posterize, "int", False),
    "rotate": OpInfo(rotate, "int", False),
    "solarize": OpInfo(solarize, "int", False),
    "shear_x": OpInfo(shear_x, "float", False),
    "shear_y": OpInfo(shear_y, "float", False),
    "translate_x": OpInfo(translate_x, "int", False),
    "translate_y": OpInfo(translate_y, "int", False),
    "color": OpInfo(color, "float", True),
    "contrast": OpInfo(contrast, "float", True),
    "brightness": OpInfo(brightness, "float", True),
    "sharpness": OpInfo(sharpness, "float", True),
}
"""The nine AugMix operations followed by the four that overlap ImageNet-C (``augmentations_all``)."""

