"""Fast CPU paths of the blur / geometric / fog-pixelate / digital corruptions (csrc/corrupt/*_cpu.cpp): the
register-blocked widths (64, 32, 8 and a scalar tail), the input left untouched now that in-range inputs are
handed to the kernels without a clamp copy, and the single min/max validation pass."""

from __future__ import annotations

import pytest
import torch

from pyrepair import corrupt

NAMES = [
    n
    for n in (
        "zoom_blur", "elastic_transform", "defocus_blur", "pixelate", "gaussian_blur", "glass_blur", "motion_blur",
        "fog", "contrast", "brightness", "saturate",
    )
    if n in corrupt.names()
]  # fmt: skip
EXACT = ["gaussian_blur", "defocus_blur", "motion_blur", "glass_blur", "fog", "elastic_transform", "brightness",
         "saturate"]


def _images(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", [n for n in EXACT if n in NAMES])
@pytest.mark.parametrize("width", [109, 40, 13])  # 64 + 32 + 8 + 5, 32 + 8, 8 + 5
def test_cpu_equals_reference_all_block_widths(name: str, width: int):
    x = _images((2, 3, 11, width), seed=width)
    for severity in (1, 5):
        ours = corrupt.apply(x, name, severity, seed=3, scale="imagenet", backend="cpu")
        ref = corrupt.apply(x, name, severity, seed=3, scale="imagenet", backend="reference")
        assert torch.equal(ours, ref), f"{name} s{severity} w{width}: {float((ours - ref).abs().max())}"


@pytest.mark.parametrize("name", NAMES)
def test_in_range_input_untouched(name: str):
    x = _images((3, 3, 16, 16))
    x[0, 0, 0, 0] = 0.0
    x[0, 0, 0, 1] = 1.0
    before = x.clone()
    y = corrupt.apply(x, name, 3, seed=1, backend="cpu")
    assert torch.equal(x, before)
    assert y.data_ptr() != x.data_ptr()


def test_tolerance_values_are_clipped_not_rejected():
    x = _images((1, 3, 8, 8))
    x[0, 0, 0, 0] = -5e-7
    x[0, 1, 0, 0] = 1 + 5e-7
    y = corrupt.apply(x, "brightness", 1, backend="cpu")
    z = corrupt.apply(x.clamp(0, 1), "brightness", 1, backend="cpu")
    assert torch.equal(y, z)


@pytest.mark.parametrize(
    ("value", "match"),
    [(float("inf"), "finite"), (float("-inf"), "finite"), (float("nan"), "finite"), (1.5, r"\[0, 1\]"),
     (-0.5, r"\[0, 1\]")],
)
def test_invalid_values_rejected(value: float, match: str):
    x = _images((2, 3, 8, 8))
    x[1, 2, 3, 4] = value
    with pytest.raises(ValueError, match=match):
        corrupt.apply(x, "contrast", 1)
