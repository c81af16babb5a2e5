"""Back-end switch of the per-pixel corruption kernels (``csrc/corrupt``; torch oracle in :mod:`.reference`).

The public API (:mod:`pyrepair.corrupt`) validates images and resolves severity constants, then calls :func:`run`.

Randomness: Philox 4x32-10 keyed by ``seed`` (64 bit); image ``b`` of the call draws from the 64-bit stream
``((index_offset + b) * 32 + corruption_id) * 8 + severity`` (mod 2^64) and element ``i`` (NCHW-flat index within
the image) from fixed Philox blocks of that stream (see :mod:`pyrepair.corrupt.reference`), so results do not
depend on batch composition, thread count or device: ``run(..., images[k:], index_offset=k)`` equals
``run(..., images)[k:]``.

Exactness across back-ends (same seed): gaussian_noise, speckle_noise, impulse_noise, shot_noise, brightness and
saturate are bit-identical between the C++ kernels and the reference; contrast differs by the float64 summation
order of the mean (<= 1e-6). The noise kernels use no libm transcendental: Box-Muller takes the float32 ``fm_log``
/ ``fm_sincos_2pi`` and shot noise's PTRS acceptance test the float64 ``fm_log_d`` / ``fm_log_factorial``
(``csrc/common/fastmath.h``, a few ULP; torch twins in :mod:`.reference`), and only IEEE +, -, *, / and sqrt
besides. Shot noise is an exact Poisson sampler up to float64 rounding: 8-bit inputs (``x == float32(k) / 255``,
what ``uint8 / 255`` gives) with ``photons <= 4096`` invert a float64 CDF table of their rate (256 tables per
photons value, ``csrc/corrupt/poisson_table.h``; one uniform, the inversion's words); any other element uses
inversion by sequential search for ``lambda < 10`` and PTRS (Hoermann 1993) above. The choice depends on the
element's value and photons only, so the seed layout above and its independence properties hold; the outputs on
8-bit inputs with ``lambda >= 10`` (and, by rounding of the table sums, rarely below) differ from pyrepair builds
before the tables (same distribution).
spatter (:mod:`._spatter`) is bit-identical (series log / cos, same operation order).
jpeg_compression (:mod:`._jpeg`) draws nothing (seed and severity do not enter it; the quality does) and is
bit-identical across back-ends.
"""

from __future__ import annotations

import torch

from .. import _backend, _dispatch
from . import _blur, _elastic, _fogpixel, _jpeg, _snowfrost, _spatter, reference

__all__ = ["CORRUPTION_IDS", "IMPLEMENTED", "run"]

IMPLEMENTED: tuple[str, ...] = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "speckle_noise",
    "brightness",
    "contrast",
    "saturate",
    "gaussian_blur",
    "defocus_blur",
    "motion_blur",
    "zoom_blur",
    "glass_blur",
    "pixelate",
    "fog",
    "elastic_transform",
    "snow",
    "frost",
    "spatter",
    "jpeg_compression",
)

# Stable ids (spec §C.1 order, 1..19): part of the RNG key, never renumber.
CORRUPTION_IDS: dict[str, int] = {
    name: i + 1
    for i, name in enumerate(
        (
            "gaussian_noise",
            "shot_noise",
            "impulse_noise",
            "defocus_blur",
            "glass_blur",
            "motion_blur",
            "zoom_blur",
            "snow",
            "frost",
            "fog",
            "brightness",
            "contrast",
            "elastic_transform",
            "pixelate",
            "jpeg_compression",
            "speckle_noise",
            "gaussian_blur",
            "spatter",
            "saturate",
        )
    )
}

# name -> the constant keys, in the order the compiled kernel takes them (a, b)
_CONSTANTS: dict[str, tuple[str, ...]] = {
    "gaussian_noise": ("sigma",),
    "shot_noise": ("photons",),
    "impulse_noise": ("amount",),
    "speckle_noise": ("sigma",),
    "brightness": ("delta",),
    "contrast": ("factor",),
    "saturate": ("scale", "shift"),
}


def _reference(name: str, x: torch.Tensor, c: tuple[float, float], seed: int, streams: list[int]) -> torch.Tensor:
    if name == "gaussian_noise":
        return reference.gaussian_noise(x, c[0], seed, streams)
    if name == "shot_noise":
        return reference.shot_noise(x, c[0], seed, streams)
    if name == "impulse_noise":
        return reference.impulse_noise(x, c[0], seed, streams)
    if name == "speckle_noise":
        return reference.speckle_noise(x, c[0], seed, streams)
    if name == "brightness":
        return reference.brightness(x, c[0])
    if name == "contrast":
        return reference.contrast(x, c[0])
    return reference.saturate(x, c[0], c[1])


def run(
    name: str,
    images: torch.Tensor,
    constants: dict[str, float],
    *,
    seed: int,
    severity: int,
    index_offset: int = 0,
    backend: str = "auto",
) -> torch.Tensor:
    """Apply one implemented corruption to a batch.

    Args:
        name: one of :data:`IMPLEMENTED`.
        images: float32 contiguous (B, C, H, W) in [0, 1], C in {1, 3} (validated by the caller).
        constants: the resolved constants of ``name`` (gaussian/speckle ``sigma``, shot ``photons``, impulse
            ``amount``, brightness ``delta``, contrast ``factor``, saturate ``scale`` and ``shift``); they are
            rounded to float32.
        seed: Philox key, in [0, 2^64).
        severity: 1..5 (part of the RNG key only; the constants carry the strength).
        index_offset: global index of ``images[0]`` (part of the RNG key).
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"`` (see :func:`pyrepair._dispatch.select`).

    Returns:
        a new float32 tensor of the same shape on the same device, clipped to [0, 1].

    Raises:
        KeyError: ``name`` is not implemented or a constant is missing.
        ValueError: ``seed`` or ``index_offset`` out of range.
        UnknownNameError, DeviceError, BackendUnavailableError: see :func:`pyrepair._dispatch.select`.
    """
    fn = f"pyrepair.corrupt.{name}"
    if name == "jpeg_compression":  # deterministic (no RNG): pyrepair/corrupt/_jpeg.py, csrc/corrupt/jpeg.h
        if "quality" not in constants:
            raise KeyError(f"{fn}: missing constants ['quality'] (expected ['quality'])")
        return _jpeg.run_jpeg(images, round(float(constants["quality"])), backend=backend, fn=fn)
    if name in _fogpixel.IDS and name in IMPLEMENTED:  # fog, pixelate: pyrepair/corrupt/_fogpixel.py, fogpixel.h
        return _fogpixel.run_fogpixel(
            name, images, constants, seed=seed, severity=severity, index_offset=index_offset, backend=backend
        )
    if name == "elastic_transform":  # pyrepair/corrupt/_elastic.py, csrc/corrupt/elastic.h
        return _elastic.run_elastic(
            images, constants, seed=seed, severity=severity, index_offset=index_offset, backend=backend
        )
    if name in _snowfrost.IDS and name in IMPLEMENTED:  # snow, frost: pyrepair/corrupt/_snowfrost.py, snowfrost.h
        return _snowfrost.run_snowfrost(
            name, images, constants, seed=seed, severity=severity, index_offset=index_offset, backend=backend
        )
    if name in _blur.BLUR_OPS and name in IMPLEMENTED:  # filters: pyrepair/corrupt/_blur.py, csrc/corrupt/blur.h
        seed, index_offset = reference.rng_args(fn, seed, index_offset)
        return _blur.run_blur(
            name, images, constants, seed=int(seed), severity=int(severity), index_offset=int(index_offset),
            backend=backend,
        )  # fmt: skip
    if name == "spatter":  # pyrepair/corrupt/_spatter.py, csrc/corrupt/spatter.h
        return _spatter.run_spatter(
            images, constants, seed=seed, severity=severity, index_offset=index_offset, backend=backend
        )
    if name not in _CONSTANTS:
        raise KeyError(f"{fn}: no compiled kernel for {name!r}; implemented: {', '.join(IMPLEMENTED)}")
    keys = _CONSTANTS[name]
    missing = [k for k in keys if k not in constants]
    if missing:
        raise KeyError(f"{fn}: missing constants {missing} (expected {list(keys)})")
    c = (float(constants[keys[0]]), float(constants[keys[1]]) if len(keys) > 1 else 0.0)
    seed, index_offset = reference.rng_args(fn, seed, index_offset)
    severity = int(severity)
    cid = CORRUPTION_IDS[name]
    x = images.detach().contiguous()
    impl = _dispatch.select(fn, x.device, backend)
    if impl == "reference":
        streams = reference.image_streams(x.shape[0], cid, severity, index_offset)
        return _reference(name, x, c, seed, streams)
    out = torch.empty_like(x)
    if x.numel() == 0:
        return out
    core = _backend.core(fn)
    if impl == "cuda":
        stream, device = _dispatch.cuda_launch(x)
        core.corrupt_cuda(
            x.data_ptr(), out.data_ptr(), tuple(x.shape), cid, c[0], c[1], seed, index_offset, severity, stream, device
        )
    else:
        core.corrupt_cpu(
            _dispatch.cpu_array(x, "images"),
            _dispatch.cpu_array(out, "out"),
            cid,
            c[0],
            c[1],
            seed,
            index_offset,
            severity,
        )
    return out
