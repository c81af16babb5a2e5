"""Severity constants of the 19 CIFAR-10-C / ImageNet-C corruptions (``spec/deeprepair.md`` §C.1), as frozen data.

Two tables, one per published data set, one row per severity (1..5), one named field per constant:

* :data:`CIFAR`: the 32 px constants of ``hendrycks/robustness`` ``ImageNet-C/create_c/make_cifar_c.py``.
* :data:`IMAGENET`: the 224 px constants of ``hendrycks/robustness`` ``ImageNet-C/create_c/make_imagenet_c.py``.

:func:`resolve` turns ``(name, severity, scale, image size)`` into the plain ``dict[str, float]`` the kernels receive
(STYLE rule 8: kernels never hold magic numbers). ``scale="auto"`` applies the size-preset rule of §C.1: images of at
most :data:`CIFAR_MAX_SIDE` px use the CIFAR row, images of at least :data:`IMAGENET_MIN_SIDE` px the ImageNet row,
and in between continuous constants are interpolated linearly in ``log(side)`` (``side = max(H, W)``) while the
discrete ones (:data:`DISCRETE`: glass-blur ``delta`` and ``iterations``, the zoom-blur factor list, JPEG quality,
the spatter mode) come from the nearer preset in ``log(side)``.

Example:
    >>> from pyrepair.corrupt import severity
    >>> severity.resolve("gaussian_noise", 3, "cifar")
    {'sigma': 0.08}
    >>> severity.resolve("contrast", 1, "auto", image_size=224)
    {'factor': 0.4}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from .._checks import check_in, check_int
from ..errors import ArgumentError, ArgumentTypeError, ShapeError, UnknownNameError

__all__ = [
    "ALL_CORRUPTIONS",
    "CIFAR",
    "CIFAR_MAX_SIDE",
    "COMMON",
    "DISCRETE",
    "EXTRA",
    "FIELDS",
    "IMAGENET",
    "IMAGENET_MIN_SIDE",
    "SCALES",
    "preset_for",
    "resolve",
    "table",
]

_FN = "pyrepair.corrupt.severity.resolve"

#: The 19 corruptions in spec §C.1 order (the CIFAR-10-C file order, then the four "extra" ones).
ALL_CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
    "speckle_noise", "gaussian_blur", "spatter", "saturate",
)  # fmt: skip
#: The 15 "common" corruptions (CIFAR-10-C / ImageNet-C test set).
COMMON: tuple[str, ...] = ALL_CORRUPTIONS[:15]
#: The 4 "extra" (validation) corruptions.
EXTRA: tuple[str, ...] = ALL_CORRUPTIONS[15:]

#: Accepted ``scale`` values ("cifar10" is an alias of "cifar").
SCALES: tuple[str, ...] = ("auto", "cifar", "cifar10", "imagenet")
#: Largest image side that ``scale="auto"`` treats as CIFAR-sized.
CIFAR_MAX_SIDE = 64
#: Smallest image side that ``scale="auto"`` treats as ImageNet-sized.
IMAGENET_MIN_SIDE = 160

#: Field names of each corruption's row (the keys :func:`resolve` returns).
FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "gaussian_noise": ("sigma",),
        "shot_noise": ("photons",),
        "impulse_noise": ("amount",),
        "defocus_blur": ("radius", "alias_sigma"),
        "glass_blur": ("sigma", "delta", "iterations"),
        "motion_blur": ("radius", "sigma"),
        # zoom factors are np.arange(start, stop + step/2, step): `count` values, float end point included
        "zoom_blur": ("start", "stop", "step", "count"),
        "snow": ("mean", "std", "zoom", "threshold", "blur_radius", "blur_sigma", "blend"),
        "frost": ("image_weight", "frost_weight"),
        "fog": ("strength", "wibbledecay"),
        "brightness": ("delta",),
        "contrast": ("factor",),
        "elastic_transform": ("alpha", "sigma", "affine"),
        "pixelate": ("scale",),
        "jpeg_compression": ("quality",),
        "speckle_noise": ("sigma",),
        "gaussian_blur": ("sigma",),
        "spatter": ("mean", "std", "blur_sigma", "threshold", "intensity", "mode"),
        "saturate": ("scale", "shift"),
    }
)

#: Fields that are never interpolated under ``scale="auto"`` (taken from the nearer preset instead).
DISCRETE: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "glass_blur": frozenset({"delta", "iterations"}),
        "zoom_blur": frozenset({"start", "stop", "step", "count"}),
        "jpeg_compression": frozenset({"quality"}),
        "spatter": frozenset({"mode"}),
    }
)

Row = tuple[float, ...]


def _freeze(rows: dict[str, Sequence[Sequence[float]]]) -> Mapping[str, tuple[Row, ...]]:
    out: dict[str, tuple[Row, ...]] = {}
    for name in ALL_CORRUPTIONS:  # every corruption, 5 rows, one value per field (checked at import)
        table_rows = tuple(tuple(float(v) for v in r) for r in rows[name])
        assert len(table_rows) == 5 and all(len(r) == len(FIELDS[name]) for r in table_rows), name
        out[name] = table_rows
    return MappingProxyType(out)


# Source: hendrycks/robustness ImageNet-C/create_c/make_cifar_c.py, the `c = [...][severity - 1]` line of each
# corruption function (gaussian_noise, shot_noise, ..., saturate); transcribed in spec/deeprepair.md §C.1.
# elastic_transform: the reference multiplies (alpha, sigma, affine) by the image side 32; the products are stored.
CIFAR: Mapping[str, tuple[Row, ...]] = _freeze(
    {
        "gaussian_noise": [[0.04], [0.06], [0.08], [0.09], [0.10]],
        "shot_noise": [[500], [250], [100], [75], [50]],
        "impulse_noise": [[0.01], [0.02], [0.03], [0.05], [0.07]],
        "defocus_blur": [[0.3, 0.4], [0.4, 0.5], [0.5, 0.6], [1, 0.2], [1.5, 0.1]],
        "glass_blur": [[0.05, 1, 1], [0.25, 1, 1], [0.4, 1, 1], [0.25, 1, 2], [0.4, 1, 2]],
        "motion_blur": [[6, 1], [6, 1.5], [6, 2], [8, 2], [9, 2.5]],
        "zoom_blur": [[1, 1.06, 0.01, 7], [1, 1.11, 0.01, 12], [1, 1.15, 0.01, 16], [1, 1.20, 0.01, 21],
                      [1, 1.25, 0.01, 26]],
        "snow": [[0.1, 0.2, 1, 0.6, 8, 3, 0.95], [0.1, 0.2, 1, 0.5, 10, 4, 0.9], [0.15, 0.3, 1.75, 0.55, 10, 4, 0.9],
                 [0.25, 0.3, 2.25, 0.6, 12, 6, 0.85], [0.3, 0.3, 1.25, 0.65, 14, 12, 0.8]],
        "frost": [[1, 0.2], [1, 0.3], [0.9, 0.4], [0.85, 0.4], [0.75, 0.45]],
        "fog": [[0.2, 3], [0.5, 3], [0.75, 2.5], [1, 2], [1.5, 1.75]],
        "brightness": [[0.05], [0.1], [0.15], [0.2], [0.3]],
        "contrast": [[0.75], [0.5], [0.4], [0.3], [0.15]],
        "elastic_transform": [[0, 0, 2.56], [1.6, 6.4, 2.24], [2.56, 1.92, 1.92], [3.2, 1.28, 1.6],
                              [3.2, 0.96, 0.96]],
        "pixelate": [[0.95], [0.9], [0.85], [0.75], [0.65]],
        "jpeg_compression": [[80], [65], [58], [50], [40]],
        "speckle_noise": [[0.06], [0.1], [0.12], [0.16], [0.2]],
        "gaussian_blur": [[0.4], [0.6], [0.7], [0.8], [1]],
        "spatter": [[0.62, 0.1, 0.7, 0.7, 0.5, 0], [0.65, 0.1, 0.8, 0.7, 0.5, 0], [0.65, 0.3, 1, 0.69, 0.5, 0],
                    [0.65, 0.1, 0.7, 0.69, 0.6, 1], [0.65, 0.1, 0.5, 0.68, 0.6, 1]],
        "saturate": [[0.3, 0], [0.1, 0], [1.5, 0], [2, 0.1], [2.5, 0.2]],
    }
)  # fmt: skip

# Source: hendrycks/robustness ImageNet-C/create_c/make_imagenet_c.py, the `c = [...][severity - 1]` line of each
# corruption function; transcribed in spec/deeprepair.md §C.1.
# elastic_transform: the reference multiplies by 244 (a typo for 224, kept on purpose by the authors); the products
# 244 x (2, .7, .1), (2, .08, .2), (.05, .01, .02), (.07, .01, .02), (.12, .01, .02) are stored.
IMAGENET: Mapping[str, tuple[Row, ...]] = _freeze(
    {
        "gaussian_noise": [[0.08], [0.12], [0.18], [0.26], [0.38]],
        "shot_noise": [[60], [25], [12], [5], [3]],
        "impulse_noise": [[0.03], [0.06], [0.09], [0.17], [0.27]],
        "defocus_blur": [[3, 0.1], [4, 0.5], [6, 0.5], [8, 0.5], [10, 0.5]],
        "glass_blur": [[0.7, 1, 2], [0.9, 2, 1], [1, 2, 3], [1.1, 3, 2], [1.5, 4, 2]],
        "motion_blur": [[10, 3], [15, 5], [15, 8], [15, 12], [20, 15]],
        "zoom_blur": [[1, 1.11, 0.01, 12], [1, 1.15, 0.01, 16], [1, 1.20, 0.02, 11], [1, 1.24, 0.02, 13],
                      [1, 1.30, 0.03, 11]],
        "snow": [[0.1, 0.3, 3, 0.5, 10, 4, 0.8], [0.2, 0.3, 2, 0.5, 12, 4, 0.7], [0.55, 0.3, 4, 0.9, 12, 8, 0.7],
                 [0.55, 0.3, 4.5, 0.85, 12, 8, 0.65], [0.55, 0.3, 2.5, 0.85, 12, 12, 0.55]],
        "frost": [[1, 0.4], [0.8, 0.6], [0.7, 0.7], [0.65, 0.7], [0.6, 0.75]],
        "fog": [[1.5, 2], [2, 2], [2.5, 1.7], [2.5, 1.5], [3, 1.4]],
        "brightness": [[0.1], [0.2], [0.3], [0.4], [0.5]],
        "contrast": [[0.4], [0.3], [0.2], [0.1], [0.05]],
        "elastic_transform": [[488, 170.8, 24.4], [488, 19.52, 48.8], [12.2, 2.44, 4.88], [17.08, 2.44, 4.88],
                              [29.28, 2.44, 4.88]],
        "pixelate": [[0.6], [0.5], [0.4], [0.3], [0.25]],
        "jpeg_compression": [[25], [18], [15], [10], [7]],
        "speckle_noise": [[0.15], [0.2], [0.35], [0.45], [0.6]],
        "gaussian_blur": [[1], [2], [3], [4], [6]],
        "spatter": [[0.65, 0.3, 4, 0.69, 0.6, 0], [0.65, 0.3, 3, 0.68, 0.6, 0], [0.65, 0.3, 2, 0.68, 0.5, 0],
                    [0.65, 0.3, 1, 0.65, 1.5, 1], [0.67, 0.4, 1, 0.65, 1.5, 1]],
        "saturate": [[0.3, 0], [0.1, 0], [2, 0], [5, 0.1], [20, 0.2]],
    }
)  # fmt: skip

_TABLES = {"cifar": CIFAR, "cifar10": CIFAR, "imagenet": IMAGENET}


def table(name: str, scale: str = "cifar") -> list[dict[str, float]]:
    """The five rows of one corruption's table as dicts (severity 1 first).

    Args:
        name: one of :data:`ALL_CORRUPTIONS`.
        scale: ``"cifar"`` (alias ``"cifar10"``) or ``"imagenet"``.

    Returns:
        A new list of 5 new dicts ``{field: value}``.

    Raises:
        UnknownNameError: unknown ``name`` or ``scale``.
    """
    fn = "pyrepair.corrupt.severity.table"
    check_in("corruption", name, ALL_CORRUPTIONS, fn)
    check_in("scale", scale, _TABLES, fn)
    return [dict(zip(FIELDS[name], row, strict=True)) for row in _TABLES[scale][name]]


def _side(image_size: Any, fn: str) -> int:
    if isinstance(image_size, bool):
        raise ArgumentTypeError(f"{fn}: image_size must be an int or an (H, W) pair, got {image_size!r}")
    if isinstance(image_size, int):
        sizes: tuple[int, ...] = (image_size,)
    elif isinstance(image_size, Sequence) and len(image_size) == 2:
        sizes = tuple(check_int(s, "image_size", fn, min_value=1) for s in image_size)
    else:
        raise ArgumentTypeError(f"{fn}: image_size must be an int or an (H, W) pair, got {image_size!r}")
    side = max(sizes)
    if side < 1:
        raise ShapeError(f"{fn}: image_size must be positive, got {image_size!r}", expected="H,W")
    return side


def preset_for(image_size: int | Sequence[int]) -> tuple[str, float]:
    """Where an image size falls between the presets under ``scale="auto"``.

    Args:
        image_size: the side ``S`` or ``(H, W)`` (``S = max(H, W)``).

    Returns:
        ``(nearer preset, t)`` with ``t = log(S / 64) / log(160 / 64)`` clipped to ``[0, 1]`` (0: CIFAR constants,
        1: ImageNet constants). The nearer preset is ``"cifar"`` for ``t <= 0.5``, else ``"imagenet"``.
    """
    side = _side(image_size, "pyrepair.corrupt.severity.preset_for")
    t = math.log(side / CIFAR_MAX_SIDE) / math.log(IMAGENET_MIN_SIDE / CIFAR_MAX_SIDE)
    t = min(1.0, max(0.0, t))
    return ("cifar" if t <= 0.5 else "imagenet"), t


def resolve(
    name: str, severity: int, scale: str = "auto", image_size: int | Sequence[int] | None = None
) -> dict[str, float]:
    """Resolve the constants of one corruption at one severity, for one image size.

    Args:
        name: one of :data:`ALL_CORRUPTIONS`.
        severity: 1..5.
        scale: ``"cifar"`` (alias ``"cifar10"``): the 32 px table; ``"imagenet"``: the 224 px table; ``"auto"``:
            chosen by ``image_size`` (<= 64 px CIFAR, >= 160 px ImageNet, in between continuous constants
            interpolated linearly in ``log(side)`` and discrete ones from the nearer preset, see :func:`preset_for`).
        image_size: side ``S`` or ``(H, W)``; required when ``scale="auto"``.

    Returns:
        A new dict ``{field: value}`` with the fields of :data:`FIELDS` (these are the keys the kernels expect,
        e.g. ``{"sigma": 0.08}`` for ``gaussian_noise``, ``{"scale": 1.5, "shift": 0.0}`` for ``saturate``).

    Raises:
        UnknownNameError: unknown ``name`` or ``scale``.
        TypeError: ``severity`` is not an int, or ``image_size`` is malformed.
        ValueError: ``severity`` not in 1..5, or ``scale="auto"`` without ``image_size``.
    """
    if name not in FIELDS:
        valid = list(ALL_CORRUPTIONS)
        raise UnknownNameError(f"{_FN}: unknown corruption {name!r}; valid: {', '.join(valid)}", name=name, valid=valid)
    severity = check_int(severity, "severity", _FN, min_value=1, max_value=5)
    check_in("scale", scale, SCALES, _FN)
    fields = FIELDS[name]
    if scale != "auto":
        return dict(zip(fields, _TABLES[scale][name][severity - 1], strict=True))
    if image_size is None:
        raise ArgumentError(f"{_FN}: scale='auto' needs image_size (the image side in px), got None")
    nearer, t = preset_for(image_size)
    lo, hi = CIFAR[name][severity - 1], IMAGENET[name][severity - 1]
    if t == 0.0:
        return dict(zip(fields, lo, strict=True))
    if t == 1.0:
        return dict(zip(fields, hi, strict=True))
    discrete = DISCRETE.get(name, frozenset())
    near = lo if nearer == "cifar" else hi
    out: dict[str, float] = {}
    for k, (a, b, n) in enumerate(zip(lo, hi, near, strict=True)):
        f = fields[k]
        out[f] = n if f in discrete else a + (b - a) * t
    return out
