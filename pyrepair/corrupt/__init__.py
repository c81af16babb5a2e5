"""The CIFAR-10-C / ImageNet-C corruptions (``spec/deeprepair.md`` §C), batched, seeded and device-agnostic.

Functional API (STYLE rule 6): :func:`apply` and one function per corruption
(:func:`gaussian_noise`, :func:`shot_noise`, :func:`impulse_noise`, :func:`speckle_noise`, :func:`brightness`,
:func:`contrast`, :func:`saturate`, :func:`snow`, :func:`frost`, :func:`spatter`, :func:`jpeg_compression`,
the blur family, fog, pixelate, elastic_transform; :func:`jpeg_roundtrip` at any quality); modules in
:mod:`pyrepair.corrupt.modules` (:class:`Corrupt`, :class:`RandomCorruption`); dataset export in
:mod:`pyrepair.corrupt.dataset` (:func:`make_dataset`); the published severity constants in
:mod:`pyrepair.corrupt.severity`.

Conventions:

* torch input: a float tensor ``(B, C, H, W)`` (or one image ``(C, H, W)``) with values in ``[0, 1]``, ``C`` in
  ``{1, 3}``, ``H, W >= 8``, any float dtype and device. The work is done in float32; the result is a new tensor of
  the input's dtype, shape and device. Inputs are never modified.
* numpy ``uint8`` input: ``(N, H, W, C)``, ``(N, H, W)`` (grey) or one grey image ``(H, W)``, values ``k / 255``.
  The result is ``uint8`` of the same shape, quantised as the reference data sets store it: ``np.uint8(x * 255)``,
  i.e. **truncation** (``quantize="truncate"``, the default for integer output; ``"round"`` rounds to nearest).
* other arrays (float numpy ``(B, C, H, W)``, DLPack producers) are treated like torch input and returned as the
  kind given.
* ``seed`` and ``index_offset`` key a counter-based RNG (Philox): image ``b`` of a call draws from a stream of
  ``(seed, index_offset + b, corruption, severity)``, so ``apply(x[k:], ..., index_offset=k) == apply(x, ...)[k:]``
  and CPU == CUDA.
* ``scale`` picks the severity constants: ``"cifar"`` (32 px table), ``"imagenet"`` (224 px table) or ``"auto"``
  (by image size, see :func:`pyrepair.corrupt.severity.resolve`).

All 19 are implemented with a torch reference, a C++ kernel and a CUDA kernel (``backend="reference"`` / ``"cpu"``
/ ``"cuda"``; ``"auto"`` follows the images' device).

Example:
    >>> import torch
    >>> from pyrepair import corrupt
    >>> x = torch.full((2, 3, 8, 8), 0.5)
    >>> y = corrupt.apply(x, "gaussian_noise", 3, seed=0)
    >>> y.shape, y.dtype, bool(y.min() >= 0)
    (torch.Size([2, 3, 8, 8]), torch.float32, True)
    >>> torch.equal(y, corrupt.gaussian_noise(x, 3, seed=0))
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .. import _dispatch
from .._checks import check_images, check_in, check_int, check_seed, format_shape
from .._images import Quantize, nchw_to_uint8, uint8_to_nchw
from ..errors import ArgumentError, ShapeError, UnknownNameError
from . import _jpeg, _kernels, severity
from . import severity as _sev
from .severity import ALL_CORRUPTIONS, COMMON, EXTRA

__all__ = [
    "ALL_CORRUPTIONS",
    "COMMON",
    "EXTRA",
    "MIN_SIZE",
    "Corrupt",
    "RandomCorruption",
    "apply",
    "brightness",
    "contrast",
    "defocus_blur",
    "elastic_transform",
    "fog",
    "frost",
    "gaussian_blur",
    "gaussian_noise",
    "glass_blur",
    "impulse_noise",
    "jpeg_compression",
    "jpeg_roundtrip",
    "make_dataset",
    "motion_blur",
    "names",
    "pixelate",
    "saturate",
    "severity",
    "shot_noise",
    "snow",
    "spatter",
    "speckle_noise",
    "zoom_blur",
]

#: Smallest image side the corruptions accept.
MIN_SIZE = 8
#: Values this far outside ``[0, 1]`` are tolerated (and clipped); larger excursions are an error.
RANGE_TOLERANCE = 1e-6

_FN = "pyrepair.corrupt.apply"
#: Image indices (``index_offset + b``) must stay below this: the RNG stream of an image is
#: ``((index + b) * 32 + corruption) * 8 + severity`` modulo 2^64 (``csrc/corrupt/stream.h``), so larger indices
#: would silently reuse the streams of small ones.
_INDEX_LIMIT = 2**56


def names() -> list[str]:
    """Names of the 19 corruptions, in spec §C.1 order (the 15 CIFAR-10-C ones, then the 4 ImageNet-C extras).

    Returns:
        A new list of names.
    """
    return list(ALL_CORRUPTIONS)


def _check_name(name: Any, fn: str) -> None:
    if not isinstance(name, str) or name not in ALL_CORRUPTIONS:
        valid = list(ALL_CORRUPTIONS)
        raise UnknownNameError(f"{fn}: unknown corruption {name!r}; valid: {', '.join(valid)}", name=name, valid=valid)


def _check_seed(value: Any, name: str, fn: str) -> int:
    return check_seed(value, fn, name)


def _check_quantize(quantize: Any, fn: str) -> None:
    if quantize not in (None, "truncate", "round"):
        raise UnknownNameError(
            f"{fn}: unknown quantize {quantize!r}; valid: None, 'truncate', 'round'",
            name=quantize,
            valid=("round", "truncate"),
        )


def _uint8_batch(images: np.ndarray, fn: str) -> torch.Tensor:
    """Validate a uint8 numpy batch in its storage layout (messages show the shape the user passed) and convert it
    to float32 ``(N, C, H, W)``."""
    x = uint8_to_nchw(images, fn)  # raises for a rank other than 2, 3, 4
    shape = images.shape
    layout = {4: "[N, H, W, C]", 3: "[N, H, W] (grey)", 2: "[H, W] (one grey image)"}[images.ndim]
    if images.ndim == 4 and shape[3] not in (1, 3):
        raise ShapeError(
            f"{fn}: images as a uint8 numpy array {layout} must have 1 or 3 channels in C, got shape "
            f"{format_shape(shape)}",
            actual_shape=shape,
            expected="N,H,W,C",
        )
    h, w = int(x.shape[2]), int(x.shape[3])
    if min(h, w) < MIN_SIZE:
        hint = ""
        if images.ndim == 3 and shape[2] in (1, 3) and shape[0] >= MIN_SIZE:
            hint = f" (one channels-last image? pass images[None], shape {format_shape((1, *shape))})"
        raise ShapeError(
            f"{fn}: images as a uint8 numpy array {layout} must be at least {MIN_SIZE} px in H and W, got shape "
            f"{format_shape(shape)}{hint}",
            actual_shape=shape,
            expected="N,H,W,C",
        )
    return x


def _float_batch(images: Any, fn: str) -> tuple[_dispatch.Converted, torch.Tensor, bool, bool]:
    """Validate float images (torch, float numpy, DLPack): ``(conversion, (B, C, H, W) view, single, in_range)``.

    ``single``: one ``(C, H, W)`` image was given; ``in_range``: every value already in ``[0, 1]`` (no clip needed).
    Messages show the shape the user passed, not the batched view.
    """
    conv = _dispatch.to_torch(images, "images", fn)
    t = conv.tensor
    if t.ndim not in (3, 4):
        raise ShapeError(
            f"{fn}: images must have shape [B, C, H, W] or [C, H, W], got {format_shape(t.shape)}",
            actual_shape=tuple(t.shape),
            expected="B,C,H,W",
        )
    single = t.ndim == 3
    x = t.unsqueeze(0) if single else t
    found = check_images(
        x, fn, spec="B,C,H,W", min_size=MIN_SIZE, tol=RANGE_TOLERANCE, given_shape=tuple(t.shape)
    )
    return conv, x, single, found.in_range


def _run(
    x: torch.Tensor,
    name: str,
    severity_: int,
    seed: int,
    scale: str,
    backend: str,
    index_offset: int,
    in_range: bool = False,
    fn: str = _FN,
) -> torch.Tensor:
    """Corrupt a validated float (B, C, H, W) tensor; returns float32 on x's device.

    ``in_range``: the values are known to lie in [0, 1], so the clamp (a copy) is skipped; the kernels never write
    into their input, so ``x`` itself may be handed over. ``fn``: the public function called; the back-end is
    matched to the data's device here, so that a mismatch names it rather than an inner kernel.
    """
    _dispatch.select(fn, x.device, backend)
    if index_offset + int(x.shape[0]) > _INDEX_LIMIT:
        raise ArgumentError(
            f"{fn}: index_offset + batch size must be at most 2^56 (one RNG stream per image index), got "
            f"{index_offset} + {int(x.shape[0])}"
        )
    x32 = x.detach().to(torch.float32)
    if not in_range:  # clamp: tolerance excursions only
        x32 = x32.clamp(0.0, 1.0)
    x32 = x32.contiguous()
    if x32.shape[0] == 0:
        return x32.clone()
    constants = severity.resolve(name, severity_, scale, image_size=(int(x32.shape[2]), int(x32.shape[3])))
    return _kernels.run(name, x32, constants, seed=seed, severity=severity_, index_offset=index_offset, backend=backend)


def apply(
    images: Any,
    name: str,
    severity: int,
    *,
    seed: int = 0,
    scale: str = "auto",
    backend: str = "auto",
    index_offset: int = 0,
    quantize: Quantize | None = None,
) -> Any:
    """Apply one corruption at one severity to a batch (or a single image).

    Args:
        images: float ``torch.Tensor`` (or float numpy / DLPack array) ``(B, C, H, W)`` or ``(C, H, W)`` in
            ``[0, 1]`` (values up to 1e-6 outside are clipped); or a ``uint8`` numpy array ``(N, H, W, C)``,
            ``(N, H, W)`` or ``(H, W)``.
        name: a corruption of :func:`names` (spec §C.1 spelling, e.g. ``"gaussian_noise"``).
        severity: 1..5.
        seed: RNG key in ``[0, 2^64)``; the same seed gives the same output on every device and batch split.
        scale: ``"auto"`` (by image size), ``"cifar"`` or ``"imagenet"``: which severity constants (see
            :func:`pyrepair.corrupt.severity.resolve`).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"`` (the torch code).
        index_offset: global index of the first image (RNG stream of image ``b`` is ``index_offset + b``), so a
            data set corrupted in chunks equals one corrupted at once; ``index_offset + B`` is at most 2^56.
        quantize: ``None`` (default): float output is not quantised and uint8 output is truncated like the
            reference data sets (``np.uint8(x * 255)``); ``"truncate"`` / ``"round"``: quantise to multiples of
            1/255 by flooring / rounding (float output stays float, on the 1/255 grid).

    Returns:
        The corrupted images, same kind, shape and dtype as given (uint8 in, uint8 out; float tensors in the input
        dtype, on the input device), values in ``[0, 1]`` (float) or ``0..255``.

    Shape:
        - images: ``(B, C, H, W)`` / ``(C, H, W)``; uint8 numpy ``(N, H, W, C)`` / ``(N, H, W)`` / ``(H, W)``.
        - output: as ``images``.

    Raises:
        UnknownNameError: unknown ``name`` (lists the valid names), ``scale``, ``backend`` or ``quantize``.
        TypeError: ``severity``, ``seed`` or ``index_offset`` is not an int.
        ValueError: ``severity`` not in 1..5, ``seed`` outside [0, 2^64), ``index_offset`` negative or with
            ``index_offset + B`` above 2^56, NaN/inf or out-of-range values.
        DTypeError: integer tensors, or arrays that are neither float nor uint8.
        ShapeError: wrong rank, ``C`` not 1 or 3, or ``H``/``W`` below 8.

    Example:
        >>> import numpy as np
        >>> u8 = np.full((4, 32, 32, 3), 128, dtype=np.uint8)
        >>> out = apply(u8, "brightness", 2, scale="cifar")
        >>> out.dtype, out.shape
        (dtype('uint8'), (4, 32, 32, 3))
    """
    return _apply(images, name, severity, seed=seed, scale=scale, backend=backend, index_offset=index_offset,
                  quantize=quantize, fn=_FN)


def _apply(
    images: Any, name: str, severity: int, *, seed: int, scale: str, backend: str, index_offset: int,
    quantize: Quantize | None, fn: str,
) -> Any:  # fmt: skip
    """:func:`apply`, with ``fn`` (the public function called: ``apply`` or one corruption's own function) named in
    every argument error."""
    _check_name(name, fn)
    check_in("backend", backend, _dispatch.BACKENDS, fn)
    severity = check_int(severity, "severity", fn, min_value=1, max_value=5)
    seed = _check_seed(seed, "seed", fn)
    index_offset = check_int(index_offset, "index_offset", fn, min_value=0, max_value=_INDEX_LIMIT - 1)
    _check_quantize(quantize, fn)
    if scale not in _sev.SCALES:
        raise UnknownNameError(
            f"{fn}: unknown scale {scale!r}; valid: {', '.join(_sev.SCALES)}",
            name=scale,
            valid=_sev.SCALES,
        )

    if isinstance(images, np.ndarray) and images.dtype == np.uint8:
        x = _uint8_batch(images, fn)
        y = _run(x, name, severity, seed, scale, backend, index_offset, in_range=True, fn=fn)  # k/255 in [0, 1]
        return nchw_to_uint8(y, images, quantize or "truncate")

    conv, x, single, in_range = _float_batch(images, fn)
    t = conv.tensor
    y = _run(x, name, severity, seed, scale, backend, index_offset, in_range, fn=fn)
    if quantize == "truncate":
        y = torch.floor(y * 255.0) / 255.0
    elif quantize == "round":
        y = torch.round(y * 255.0) / 255.0
    y = y.to(t.dtype)
    if single:
        y = y.squeeze(0)
    return _dispatch.restore(y, conv)



def _corruption_function(name: str, what: str) -> Callable[..., Any]:
    def corruption(
        images: Any, severity: int, *, seed: int = 0, scale: str = "auto", backend: str = "auto",
        index_offset: int = 0, quantize: Quantize | None = None,
    ) -> Any:  # fmt: skip
        return _apply(
            images, name, severity, seed=seed, scale=scale, backend=backend, index_offset=index_offset,
            quantize=quantize, fn=f"pyrepair.corrupt.{name}",
        )  # fmt: skip

    cifar = ", ".join(f"{r[0]:g}" if len(r) == 1 else str(tuple(float(v) for v in r)) for r in severity.CIFAR[name])
    imnet = ", ".join(f"{r[0]:g}" if len(r) == 1 else str(tuple(float(v) for v in r)) for r in severity.IMAGENET[name])
    fields = ", ".join(severity.FIELDS[name])
    corruption.__name__ = corruption.__qualname__ = name
    corruption.__module__ = __name__
    corruption.__doc__ = f"""{what} (spec §C.2), the ``{name}`` corruption of CIFAR-10-C / ImageNet-C.

    Same as ``apply(images, "{name}", severity, ...)``; see :func:`apply` for the accepted inputs and outputs.

    Constants ({fields}) for severity 1..5: CIFAR {cifar}; ImageNet {imnet}.

    Args:
        images: float ``(B, C, H, W)`` / ``(C, H, W)`` in [0, 1], or uint8 numpy ``(N, H, W, C)`` / ``(N, H, W)``.
        severity: 1..5.
        seed: RNG key in [0, 2^64).
        scale: ``"auto"``, ``"cifar"`` or ``"imagenet"``.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.
        index_offset: global index of the first image.
        quantize: ``None``, ``"truncate"`` or ``"round"`` (see :func:`apply`).

    Returns:
        The corrupted images, same kind, shape and dtype as given.

    Raises:
        TypeError, ValueError, DTypeError, ShapeError, UnknownNameError: as :func:`apply`.
    """
    return corruption


gaussian_noise = _corruption_function("gaussian_noise", "Additive Gaussian noise ``clip(x + N(0, sigma^2))``")
shot_noise = _corruption_function("shot_noise", "Poisson (shot) noise ``clip(Poisson(x * photons) / photons)``")
impulse_noise = _corruption_function("impulse_noise", "Salt-and-pepper noise replacing a fraction ``amount``")
speckle_noise = _corruption_function("speckle_noise", "Multiplicative noise ``clip(x + x * N(0, sigma^2))``")
brightness = _corruption_function("brightness", "Brightness: ``V += delta`` in HSV space")
contrast = _corruption_function("contrast", "Contrast: ``(x - mean) * factor + mean`` per image")
saturate = _corruption_function("saturate", "Saturation: ``S = S * scale + shift`` in HSV space")
defocus_blur = _corruption_function(
    "defocus_blur", "Defocus blur: convolution with an anti-aliased disk of radius ``r``"
)
glass_blur = _corruption_function(
    "glass_blur", "Glass blur: Gaussian blur, ``iterations`` rounds of local pixel swaps within ``delta``, blur again"
)
motion_blur = _corruption_function(
    "motion_blur", "Motion blur: ImageMagick-style one-sided Gaussian line kernel at a random angle"
)
zoom_blur = _corruption_function("zoom_blur", "Zoom blur: the mean of the image and its centre zooms by each factor")
gaussian_blur = _corruption_function("gaussian_blur", "Gaussian blur with standard deviation ``sigma``")
fog = _corruption_function("fog", "Fog: ``(x + t * plasma) * max / (max + t)`` with a diamond-square plasma fractal")
pixelate = _corruption_function("pixelate", "Pixelate: box-downscale by ``factor`` and nearest-upscale back")
elastic_transform = _corruption_function(
    "elastic_transform", "Elastic transform: random affine jitter, then a smoothed random displacement field"
)
snow = _corruption_function(
    "snow", "Snow: a thresholded, zoomed normal layer streaked by a motion blur and added twice (once rotated by "
    "180 degrees) to a greyish brightened image (details in :mod:`pyrepair.corrupt._snowfrost`)"
)
frost = _corruption_function(
    "frost", "Frost: ``clip(image_weight * x + frost_weight * T)`` with ``T`` a random crop of a procedural, seeded "
    "frost texture (no image files; :func:`pyrepair.corrupt._snowfrost.frost_textures`)"
)
spatter = _corruption_function("spatter", "Spatter: water drops (mode 0) or mud (mode 1) over the image")
jpeg_compression = _corruption_function(
    "jpeg_compression", "JPEG round trip at the severity's quality (:func:`jpeg_roundtrip`; ``seed`` is unused)"
)


def jpeg_roundtrip(images: Any, quality: int, *, backend: str = "auto") -> Any:
    """Encode and decode images as baseline JPEG at ``quality``, like Pillow's ``save(format="JPEG", quality=q)``.

    Our own batched round trip (``spec/deeprepair.md`` §C.3; definition in :mod:`pyrepair.corrupt._jpeg` and
    ``csrc/corrupt/jpeg.h``): samples ``round(x * 255)``, YCbCr with 4:2:0 chroma subsampling (grey images: one
    component), IJG tables scaled by ``quality``, libjpeg's integer colour / resampling steps, exact float64 8x8 DCT.
    It matches Pillow (libjpeg-turbo) except where a coefficient sits within the ISLOW DCT's error of a quantisation
    boundary (PSNR within 0.01 dB on CIFAR-10). :func:`jpeg_compression` is this at the severity's quality.

    Args:
        images: float ``torch.Tensor`` (or float numpy / DLPack array) ``(B, C, H, W)`` or ``(C, H, W)`` in
            ``[0, 1]``, ``C`` in ``{1, 3}``, ``H, W >= 8``; or a ``uint8`` numpy array ``(N, H, W, C)``,
            ``(N, H, W)`` or ``(H, W)``.
        quality: int in 1..100 (Pillow's ``quality``).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Returns:
        Same kind, shape and dtype as ``images``: float values are multiples of 1/255 in ``[0, 1]``; uint8 in, uint8
        out (exact levels).

    Raises:
        TypeError: ``quality`` is not an int (bools and floats are rejected).
        ValueError: ``quality`` not in 1..100; NaN/inf or values outside ``[0, 1]``.
        DTypeError, ShapeError, UnknownNameError: as :func:`apply`.

    Example:
        >>> import torch
        >>> x = torch.linspace(0, 1, 3 * 16 * 16).reshape(1, 3, 16, 16)
        >>> y = jpeg_roundtrip(x, 90)
        >>> y.shape, bool((y - x).abs().max() < 0.1), bool(torch.equal(y, torch.round(y * 255) / 255))
        (torch.Size([1, 3, 16, 16]), True, True)
    """
    fn = "pyrepair.corrupt.jpeg_roundtrip"
    quality = _jpeg.check_quality(quality, fn)
    if isinstance(images, np.ndarray) and images.dtype == np.uint8:
        x = _uint8_batch(images, fn)
        return nchw_to_uint8(_jpeg.run_jpeg(x, quality, backend=backend, fn=fn), images, "round")
    conv, x, single, _ = _float_batch(images, fn)
    t = conv.tensor
    x32 = x.detach().to(torch.float32).clamp(0.0, 1.0).contiguous()
    y = _jpeg.run_jpeg(x32, quality, backend=backend, fn=fn).to(t.dtype)
    if single:
        y = y.squeeze(0)
    return _dispatch.restore(y, conv)

from .dataset import make_dataset  # noqa: E402  (the submodules use apply)
from .modules import Corrupt, RandomCorruption  # noqa: E402
