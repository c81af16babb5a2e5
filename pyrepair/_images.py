"""Image-array conversions shared by every layer: the one home of pyrepair's boundary formats.

Inside the library images are float NCHW tensors in ``[0, 1]`` (``DESIGN.md``, "Image conventions"); at the boundary
we also accept uint8 numpy arrays in the layouts data sets store them in (``(N, H, W, C)``, ``(N, H, W)`` grey, one
``(H, W)`` grey image) and return the kind we were given. This module holds those conversions and the validated
``(images, labels)`` pair, :class:`ImageData`:

* :func:`uint8_to_nchw`: uint8 ``(N, H, W, C)`` / ``(N, H, W)`` [/ ``(H, W)``] -> float32 ``(N, C, H, W)``, ``k / 255``;
* :func:`nchw_to_uint8`: the inverse, quantised as the reference data sets are (``np.uint8(x * 255)``: truncation)
  or rounded, in the layout of a given array;
* :func:`numpy_to_nchw`: a uint8 or float numpy batch -> float32 NCHW tensor;
* :func:`as_image_data`: validate an ``(images, labels)`` pair into :class:`ImageData`.

It imports only :mod:`pyrepair._checks` and :mod:`pyrepair.errors`, so kernel packages (``corrupt``) and support
modules (``data``, ``scenarios``, ``methods``) can all use it. ``pyrepair.data`` re-exports :class:`ImageData` and
:func:`as_image_data`.

Example:
    >>> import numpy as np
    >>> x = np.full((2, 4, 4, 3), 255, dtype=np.uint8)
    >>> t = uint8_to_nchw(x, "example")
    >>> t.shape, float(t.max())
    (torch.Size([2, 3, 4, 4]), 1.0)
    >>> nchw_to_uint8(t, x).shape
    (2, 4, 4, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

from ._checks import check_image, check_same_device, format_shape
from .errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError

__all__ = ["ImageData", "Quantize", "as_image_data", "nchw_to_uint8", "numpy_to_nchw", "uint8_to_nchw"]

Quantize = Literal["truncate", "round"]
"""How float values become uint8: ``"truncate"`` (``np.uint8(x * 255)``, the reference data sets) or ``"round"``."""


class ImageData(NamedTuple):
    """An image-classification data set held in memory.

    Attributes:
        images: ``float32`` tensor of shape ``(N, C, H, W)`` with values in ``[0, 1]``.
        labels: ``int64`` tensor of shape ``(N,)`` with class ids.
    """

    images: torch.Tensor
    labels: torch.Tensor


def uint8_to_nchw(x: np.ndarray, fn: str, *, name: str = "images", single: bool = True) -> torch.Tensor:
    """uint8 images in a storage layout -> float32 ``(N, C, H, W)`` tensor with values ``k / 255``.

    Args:
        x: uint8 array ``(N, H, W, C)`` (channels last), ``(N, H, W)`` (grey) or, when ``single``, ``(H, W)`` (one
            grey image).
        fn: the calling public function, for messages.
        name: the caller's argument name, for messages.
        single: accept one ``(H, W)`` image (returned as ``(1, 1, H, W)``).

    Returns:
        A new contiguous float32 CPU tensor ``(N, C, H, W)`` in ``[0, 1]``.

    Raises:
        ShapeError: ``x`` has another rank.
    """
    if x.ndim == 4:
        nchw = x.transpose(0, 3, 1, 2)
    elif x.ndim == 3:
        nchw = x[:, None]
    elif x.ndim == 2 and single:
        nchw = x[None, None]
    else:
        shapes = "[N, H, W, C], [N, H, W] or [H, W]" if single else "[N, H, W, C] or [N, H, W]"
        raise ShapeError(
            f"{fn}: {name} as a uint8 numpy array must have shape {shapes}, got {format_shape(x.shape)}",
            actual_shape=x.shape,
            expected="N,H,W,C",
        )
    out = np.empty(nchw.shape, dtype=np.float32)
    np.divide(nchw, np.float32(255.0), out=out, dtype=np.float32)
    return torch.from_numpy(out)


def nchw_to_uint8(y: torch.Tensor, like: np.ndarray, quantize: Quantize | None = "truncate") -> np.ndarray:
    """float ``(N, C, H, W)`` in ``[0, 1]`` -> uint8 in the layout of ``like`` (the inverse of :func:`uint8_to_nchw`).

    Args:
        y: float tensor ``(N, C, H, W)`` (any device); values outside ``[0, 1]`` are clipped.
        like: the uint8 array ``y`` was made from: its rank picks ``(N, H, W, C)``, ``(N, H, W)`` or ``(H, W)``.
        quantize: ``"truncate"`` (``np.uint8(x * 255)``, as the reference data sets store images; also ``None``) or
            ``"round"`` (to nearest).

    Returns:
        A new contiguous uint8 numpy array.
    """
    v = y.detach().cpu().numpy() * np.float32(255.0)  # a new array: the ops below work in place
    # the reference data sets store np.uint8(x * 255): truncation (floor, values are >= 0 after clipping)
    if quantize == "round":
        np.rint(v, out=v)
    else:
        np.floor(v, out=v)
    q = np.clip(v, 0, 255, out=v).astype(np.uint8)
    if like.ndim == 4:
        return np.ascontiguousarray(q.transpose(0, 2, 3, 1))
    if like.ndim == 3:
        return np.ascontiguousarray(q[:, 0])
    return np.ascontiguousarray(q[0, 0])


def numpy_to_nchw(x: np.ndarray, fn: str, *, name: str = "images") -> torch.Tensor:
    """A numpy image batch -> float32 ``(N, C, H, W)`` tensor.

    Args:
        x: uint8 ``(N, H, W, C)`` / ``(N, H, W)`` (converted with :func:`uint8_to_nchw`) or floating
            ``(N, C, H, W)`` (copied to contiguous float32).
        fn: the calling public function, for messages.
        name: the caller's argument name, for messages.

    Returns:
        A new float32 CPU tensor.

    Raises:
        ShapeError: a uint8 array of another rank.
        DTypeError: neither uint8 nor floating.
    """
    if x.dtype == np.uint8:
        return uint8_to_nchw(x, fn, name=name, single=False)
    if np.issubdtype(x.dtype, np.floating):
        return torch.from_numpy(np.array(x, dtype=np.float32, order="C", copy=True))
    raise DTypeError(f"{fn}: {name} must be a float array of shape [N, C, H, W] or uint8 [N, H, W, C], got {x.dtype}")


def as_image_data(data: Any, fn: str, *, name: str = "data") -> ImageData:
    """Validate an ``(images, labels)`` pair and return it as :class:`ImageData`.

    Meant for functions that accept data in tensor form (a torch ``Dataset`` is handled elsewhere). Accepted:

    * a tuple, list or :class:`ImageData` of two elements;
    * images: a floating ``torch.Tensor`` ``(N, C, H, W)`` (returned as is, no copy), a floating numpy array
      ``(N, C, H, W)`` (copied to float32), or a uint8 numpy array ``(N, H, W, C)`` / ``(N, H, W)`` (converted to
      float32 NCHW in ``[0, 1]`` by dividing by 255);
    * labels: an integer ``torch.Tensor``, numpy array or sequence of ints ``(N,)``, non-negative (returned as int64).

    Args:
        data: the ``(images, labels)`` pair.
        fn: the calling public function, e.g. ``"pyrepair.train.fit"``, used in error messages.
        name: the caller's argument name, used in error messages (``"data"``, ``"train_data"``, ...).

    Returns:
        ``ImageData(images, labels)``.

    Shape:
        - images: ``(N, C, H, W)`` floating, ``C`` in ``{1, 3}``.
        - labels: ``(N,)`` int64.

    Raises:
        TypeError: ``data`` is not a pair.
        DTypeError: images not floating (or uint8 numpy), labels not integer, or not tensors/arrays.
        ShapeError: wrong ranks, channel count, or different numbers of images and labels.
        ValueError: no images, or negative labels.
        DeviceError: images and labels on different devices.
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        what = type(data).__name__
        if isinstance(data, (tuple, list)):
            what = f"a {what} of length {len(data)}"
        raise ArgumentTypeError(f"{fn}: {name} must be an (images, labels) pair of tensors or numpy arrays, got {what}")
    images, labels = data
    iname, lname = f"{name} images", f"{name} labels"

    if isinstance(images, np.ndarray):
        images = numpy_to_nchw(images, fn, name=iname)
    elif isinstance(images, torch.Tensor) and images.dtype == torch.uint8:
        raise DTypeError(
            f"{fn}: {iname} must be a floating-point tensor in [0, 1], got torch.uint8 "
            "(convert with images.float() / 255)"
        )
    sizes = check_image(images, iname, fn, spec="N,C,H,W")
    if sizes["N"] == 0:
        raise ArgumentError(f"{fn}: {iname} must hold at least one image, got shape {format_shape(images.shape)}")

    if not isinstance(labels, torch.Tensor):
        if isinstance(labels, (np.ndarray, Sequence)) and not isinstance(labels, (str, bytes)):
            arr = np.asarray(labels)
            if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
                raise DTypeError(f"{fn}: {lname} must be integer class ids, got dtype {arr.dtype}")
            labels = torch.from_numpy(np.array(arr, dtype=np.int64, copy=True))
        else:
            raise DTypeError(f"{fn}: {lname} must be a torch.Tensor or numpy array, got {type(labels).__name__}")
    if labels.ndim != 1:
        raise ShapeError(
            f"{fn}: {lname} must have shape [N], got {format_shape(labels.shape)}",
            actual_shape=tuple(labels.shape),
            expected="N",
        )
    if labels.dtype.is_floating_point or labels.dtype == torch.bool or labels.is_complex():
        raise DTypeError(f"{fn}: {lname} must be an integer tensor (int64 preferred), got {labels.dtype}")
    if labels.shape[0] != sizes["N"]:
        raise ShapeError(
            f"{fn}: {name} has {sizes['N']} images but {labels.shape[0]} labels",
            actual_shape=tuple(labels.shape),
            expected=str(sizes["N"]),
        )
    check_same_device(fn, images=images, labels=labels)
    labels = labels.long()
    if int(labels.min()) < 0:
        raise ArgumentError(f"{fn}: {lname} must be non-negative class ids, got minimum {int(labels.min())}")
    return ImageData(images, labels)
