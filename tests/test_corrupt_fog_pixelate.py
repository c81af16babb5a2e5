"""fog and pixelate kernels (csrc/corrupt/fogpixel*) against the torch reference (pyrepair/corrupt/_fogpixel.py).

Exactness on CPU: fog is compared bit for bit (same float64 operations in the same order); pixelate up to 1e-6
(float64 summation order of the box sums, at most one float32 ULP). Pixelate is also checked against Pillow's BOX
resize on uint8 images (within one grey level: Pillow rounds to uint8 after each pass).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyrepair import corrupt
from pyrepair.corrupt import _fogpixel as W
from pyrepair.corrupt import _kernels as K
from pyrepair.testing import num_threads

CONSTANTS = {
    "fog": {"strength": 1.5, "wibbledecay": 1.75},
    "pixelate": {"scale": 0.65},
}
ATOL = {"fog": 0.0, "pixelate": 1e-6}
NAMES = ("fog", "pixelate")
SHAPES = [(1, 3, 32, 32), (2, 3, 9, 7), (3, 1, 5, 11), (2, 1, 16, 17), (0, 3, 8, 8), (2, 1, 1, 1)]


def _images(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def _run(name: str, x: torch.Tensor, backend: str = "cpu", seed: int = 5, severity: int = 3, index_offset: int = 0,
         **const: float) -> torch.Tensor:  # fmt: skip
    c = dict(CONSTANTS[name], **const)
    return K.run(name, x, c, seed=seed, severity=severity, index_offset=index_offset, backend=backend)


def _close(a: torch.Tensor, b: torch.Tensor, name: str) -> None:
    if ATOL[name] == 0.0:
        assert torch.equal(a, b), f"{name}: {(a != b).sum().item()} elements differ"
    else:
        torch.testing.assert_close(a, b, atol=ATOL[name], rtol=0.0)


def test_registered():
    assert {"fog", "pixelate"} <= set(K.IMPLEMENTED)
    assert W.IDS == {n: K.CORRUPTION_IDS[n] for n in W.IDS}


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", NAMES)
def test_cpu_matches_reference(name: str, shape: tuple[int, ...]):
    x = _images(shape)
    out = _run(name, x)
    ref = _run(name, x, backend="reference")
    assert out.shape == x.shape and out.dtype == torch.float32
    _close(out, ref, name)
    assert torch.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()


@pytest.mark.parametrize("scale", [0.95, 0.9, 0.85, 0.75, 0.65, 0.6, 0.5, 0.4, 0.3, 0.25])
@pytest.mark.parametrize("name", NAMES)
def test_all_severity_constants_match_reference(name: str, scale: float):
    x = _images((2, 3, 32, 29), seed=1)
    const = {
        "pixelate": {"scale": scale},
        "fog": {"strength": 3 * scale, "wibbledecay": 1.4 + 2 * scale},
    }[name]
    _close(_run(name, x, **const), _run(name, x, backend="reference", **const), name)


@pytest.mark.parametrize("hw", [(32, 32), (31, 29), (64, 48), (224, 224)])
def test_pixelate_matches_pillow(hw: tuple[int, int]):
    image = pytest.importorskip("PIL.Image")
    h, w = hw
    g = torch.Generator().manual_seed(h * w)
    x8 = torch.randint(0, 256, (2, 3, h, w), dtype=torch.uint8, generator=g)
    for c in (0.95, 0.9, 0.85, 0.75, 0.65, 0.6, 0.5, 0.4, 0.3, 0.25):
        ours = _run("pixelate", x8.float() / 255.0, scale=c).mul(255.0).permute(0, 2, 3, 1).numpy()
        for b in range(2):
            im = image.fromarray(x8[b].permute(1, 2, 0).numpy())
            pil = np.asarray(im.resize((int(w * c), int(h * c)), image.BOX).resize((w, h), image.BOX))
            assert np.abs(pil.astype(np.float64) - ours[b]).max() <= 1.0 + 1e-4, (hw, c)
            if h != w:
                continue
            # BOX up-sampling == NEAREST at the square reference sizes (spec §C.2 #14; not for every odd size)
            small = im.resize((int(w * c), int(h * c)), image.BOX)
            assert np.array_equal(np.asarray(small.resize((w, h), image.BOX)), np.asarray(small.resize((w, h), 0)))


def test_pixelate_constant_and_blocks():
    x = torch.full((1, 3, 32, 32), 0.3)
    assert torch.equal(_run("pixelate", x), x)
    y = _run("pixelate", _images((1, 1, 32, 32)), scale=0.5)  # 16 x 16 blocks of 2 x 2
    assert torch.equal(y[..., 0::2, 0::2], y[..., 1::2, 1::2])
    assert W.pixelate_sizes(32, 32, 0.95) == (30, 30) and W.pixelate_sizes(224, 224, 0.6) == (134, 134)
    assert W.pixelate_sizes(1, 3, 0.25) == (1, 1)


@pytest.mark.parametrize("n", [2, 8, 32, 256])
def test_plasma_fractal_range_and_tiling(n: int):
    p = W.plasma_fractal(n, 2.0, 7, [3, 4, 5])
    assert p.shape == (3, n, n) and p.dtype == torch.float64
    assert (p.amin(dim=(1, 2)) == 0).all() and (p.amax(dim=(1, 2)) == 1).all()
    assert not torch.equal(p[0], p[1])
    if n >= 32:  # toroidal: the wrap-around seam is as smooth as any interior row / column boundary
        seam = (p[:, 0] - p[:, -1]).abs().mean()
        inner = (p[:, 1:] - p[:, :-1]).abs().mean()
        assert seam < 3 * inner
        seam_c = (p[:, :, 0] - p[:, :, -1]).abs().mean()
        assert seam_c < 3 * inner


def test_fog_mapsize():
    assert W.fog_mapsize(32, 32) == 32 and W.fog_mapsize(224, 224) == 256 and W.fog_mapsize(1, 1) == 2
    assert W.fog_mapsize(33, 5) == 64


@pytest.mark.parametrize("name", NAMES)
def test_determinism_seeds_and_input_untouched(name: str):
    x = _images((3, 3, 16, 16))
    keep = x.clone()
    a = _run(name, x, seed=11)
    assert torch.equal(a, _run(name, x, seed=11)) and torch.equal(x, keep)
    if name != "pixelate":
        assert not torch.equal(a, _run(name, x, seed=12))
        assert not torch.equal(a, _run(name, x, seed=11, severity=4))


@pytest.mark.parametrize("backend", ["cpu", "reference"])
@pytest.mark.parametrize("name", ["fog"])
def test_index_offset_slice_consistency(name: str, backend: str):
    x = _images((5, 3, 12, 10))
    full = _run(name, x, backend=backend)
    assert torch.equal(_run(name, x[2:4].contiguous(), backend=backend, index_offset=2), full[2:4])
    assert not torch.equal(_run(name, x[2:4].contiguous(), backend=backend), full[2:4])


@pytest.mark.parametrize("name", NAMES)
def test_thread_count_independence(name: str):
    x = _images((4, 3, 33, 31))
    with num_threads(1):
        one = _run(name, x)
    with num_threads(2):
        two = _run(name, x)
    assert torch.equal(one, two)


@pytest.mark.parametrize("name", NAMES)
def test_distortion_grows_with_severity(name: str):
    x = _images((4, 3, 32, 32), seed=3)
    err = [float((corrupt.apply(x, name, s, seed=0) - x).pow(2).mean()) for s in range(1, 6)]
    assert all(a < b for a, b in zip(err, err[1:], strict=False)), err


def test_bad_constants_and_seed():
    x = _images((1, 3, 8, 8))
    with pytest.raises(KeyError, match="missing constants"):
        K.run("fog", x, {"strength": 1.0}, seed=0, severity=1)
    with pytest.raises(ValueError, match="seed"):
        K.run("pixelate", x, {"scale": 0.5}, seed=-1, severity=1)


@pytest.mark.cuda
@pytest.mark.parametrize("name", NAMES)
def test_cuda_matches_cpu_and_reference(name: str):
    x = _images((3, 3, 33, 17), seed=4)
    cpu = _run(name, x)
    gpu = _run(name, x.cuda(), backend="cuda").cpu()
    assert torch.equal(gpu, cpu)
    _close(_run(name, x.cuda(), backend="reference").cpu(), cpu, name)
    big = _images((2, 3, 224, 224), seed=5)
    assert torch.equal(_run(name, big.cuda(), backend="cuda").cpu(), _run(name, big))
