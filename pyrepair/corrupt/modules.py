"""``nn.Module`` wrappers of :func:`pyrepair.corrupt.apply` (STYLE rule 6: functional first, module second).

* :class:`Corrupt`: one fixed corruption, severity and seed; deterministic.
* :class:`RandomCorruption`: samples (corruption, severity, seed, applied?) per image from an explicit
  ``torch.Generator`` and applies them deterministically; the sample is returned by :meth:`RandomCorruption.sample`
  and replayed by :meth:`RandomCorruption.apply` (STYLE rule 7: sampled parameters are replayable).

Example:
    >>> import torch
    >>> from pyrepair.corrupt import RandomCorruption
    >>> aug = RandomCorruption(["gaussian_noise", "contrast"], generator=torch.Generator().manual_seed(0))
    >>> x = torch.rand(4, 3, 8, 8)
    >>> choice = aug.sample(4)
    >>> torch.equal(aug.apply(x, choice), aug.apply(x, choice))
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from .._checks import check_images, check_int, check_range, format_shape, torch_seed
from .._dispatch import check_backend
from ..errors import ArgumentError, ArgumentTypeError, ShapeError
from . import MIN_SIZE, RANGE_TOLERANCE, _apply, _check_name, _check_seed, names
from . import severity as _sev

__all__ = ["Choice", "Corrupt", "RandomCorruption"]


class Corrupt(nn.Module):
    """A fixed corruption as a module: ``forward(x) = apply(x, name, severity, seed=seed, ...)``.

    Args:
        name: a corruption of :func:`pyrepair.corrupt.names`.
        severity: 1..5.
        seed: RNG key in ``[0, 2^64)``; every call with the same input gives the same output.
        scale: ``"auto"``, ``"cifar"`` or ``"imagenet"``.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Shape:
        - x: ``(B, C, H, W)`` or ``(C, H, W)`` float in [0, 1] (also what :func:`~pyrepair.corrupt.apply` accepts).
        - output: as ``x``.

    Raises:
        UnknownNameError, TypeError, ValueError: bad arguments, ``backend`` included (checked at construction).
    """

    def __init__(self, name: str, severity: int, *, seed: int = 0, scale: str = "auto", backend: str = "auto"):
        super().__init__()
        fn = "pyrepair.corrupt.Corrupt"
        _check_name(name, fn)
        self.name = name
        self.severity = check_int(severity, "severity", fn, min_value=1, max_value=5)
        self.seed = _check_seed(seed, "seed", fn)
        if scale not in _sev.SCALES:
            raise ArgumentError(f"{fn}: unknown scale {scale!r}; valid: {', '.join(_sev.SCALES)}")
        self.scale = scale
        self.backend = check_backend(backend, fn)  # at construction, not at the first forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Corrupt ``x`` (see the class docstring)."""
        return _apply(x, self.name, self.severity, seed=self.seed, scale=self.scale, backend=self.backend,
                      index_offset=0, quantize=None, fn="pyrepair.corrupt.Corrupt.forward")

    def extra_repr(self) -> str:
        return f"name={self.name!r}, severity={self.severity}, seed={self.seed}, scale={self.scale!r}"


class Choice(NamedTuple):
    """Per-image corruption choices of :class:`RandomCorruption` (all CPU tensors of length B).

    Attributes:
        names: the candidate names; ``name_index`` indexes into it.
        name_index: int64, which corruption each image gets.
        severity: int64, 1..5.
        seed: int64, the per-image RNG key (in ``[0, 2^31)``).
        applied: bool, whether the image is corrupted at all (probability ``p``).
    """

    names: tuple[str, ...]
    name_index: torch.Tensor
    severity: torch.Tensor
    seed: torch.Tensor
    applied: torch.Tensor


class RandomCorruption(nn.Module):
    """Corrupt each image with a randomly drawn corruption, severity and seed.

    Every draw comes from ``generator`` (never the global RNG); :meth:`sample` draws, :meth:`apply` is
    deterministic given the draw, and ``forward(x)`` is ``apply(x, sample(len(x)))`` with the draw kept in
    :attr:`last_choice` for replay.

    Args:
        names: candidate corruptions (default: all implemented ones, :func:`pyrepair.corrupt.names`).
        severities: candidate severities, drawn uniformly.
        p: probability that an image is corrupted at all.
        generator: a ``torch.Generator`` or an int seed; ``None`` uses ``torch.Generator().manual_seed(0)`` (so an
            unseeded module is still reproducible).
        scale: ``"auto"``, ``"cifar"`` or ``"imagenet"``.
        backend: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"reference"``.

    Shape:
        - x: ``(B, C, H, W)`` float in [0, 1].
        - output: as ``x``.

    Raises:
        UnknownNameError: a name or ``backend`` is unknown (checked at construction).
        ValueError: empty ``names``/``severities``, a severity outside 1..5, ``p`` outside [0, 1].
    """

    def __init__(
        self,
        names: Sequence[str] | None = None,
        severities: Sequence[int] = (1, 2, 3, 4, 5),
        p: float = 1.0,
        *,
        generator: torch.Generator | int | None = None,
        scale: str = "auto",
        backend: str = "auto",
    ):
        super().__init__()
        fn = "pyrepair.corrupt.RandomCorruption"
        chosen = tuple(_names_default() if names is None else names)
        if not chosen:
            raise ArgumentError(f"{fn}: names must not be empty")
        for n in chosen:
            _check_name(n, fn)
        sev = tuple(check_int(s, "severities", fn, min_value=1, max_value=5) for s in severities)
        if not sev:
            raise ArgumentError(f"{fn}: severities must not be empty")
        if scale not in _sev.SCALES:
            raise ArgumentError(f"{fn}: unknown scale {scale!r}; valid: {', '.join(_sev.SCALES)}")
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        elif not isinstance(generator, torch.Generator):
            generator = torch.Generator().manual_seed(torch_seed(_check_seed(generator, "generator", fn)))
        self.names = chosen
        self.severities = sev
        self.p = check_range(p, "p", fn, 0.0, 1.0)
        self.generator = generator
        self.scale = scale
        self.backend = check_backend(backend, fn)  # at construction, not at the first forward
        self.last_choice: Choice | None = None

    def sample(self, batch_size: int) -> Choice:
        """Draw the choices for ``batch_size`` images from :attr:`generator`."""
        b = check_int(batch_size, "batch_size", "pyrepair.corrupt.RandomCorruption.sample", min_value=0)
        g = self.generator
        name_index = torch.randint(len(self.names), (b,), generator=g)
        sev = torch.tensor(self.severities, dtype=torch.int64)[torch.randint(len(self.severities), (b,), generator=g)]
        seed = torch.randint(0, 2**31 - 1, (b,), generator=g, dtype=torch.int64)
        applied = torch.rand(b, generator=g) < self.p
        return Choice(self.names, name_index, sev, seed, applied)

    def apply(self, x: torch.Tensor, choice: Choice) -> torch.Tensor:
        """Apply drawn choices to a batch (deterministic; replays :meth:`sample`'s output).

        Raises:
            ArgumentTypeError: ``choice`` is not a :class:`Choice`.
            ShapeError: ``x`` is not ``(B, C, H, W)`` or its batch size differs from the choice's.
            DTypeError, DeviceError, ValueRangeError: see :func:`pyrepair.corrupt.apply`.
        """
        return self._apply(x, choice, "pyrepair.corrupt.RandomCorruption.apply")

    def _apply(self, x: torch.Tensor, choice: Choice, fn: str) -> torch.Tensor:
        if not isinstance(choice, Choice):
            raise ArgumentTypeError(
                f"{fn}: choice must be a Choice (from RandomCorruption.sample), got {type(choice).__name__}"
            )
        check_images(x, fn, "x", min_size=MIN_SIZE, tol=RANGE_TOLERANCE)  # once, with the whole batch's shape
        if x.shape[0] != len(choice.seed):
            raise ShapeError(
                f"{fn}: x must have B={len(choice.seed)} images (the choice's size), got shape {format_shape(x.shape)}",
                actual_shape=tuple(x.shape),
                expected="B,C,H,W",
            )
        out = x.clone()
        for i in torch.nonzero(choice.applied).flatten().tolist():
            out[i : i + 1] = _apply(
                x[i : i + 1],
                choice.names[int(choice.name_index[i])],
                int(choice.severity[i]),
                seed=int(choice.seed[i]),
                scale=self.scale,
                backend=self.backend,
                index_offset=0,
                quantize=None,
                fn=fn,
            )
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Sample choices for ``x`` (kept in :attr:`last_choice`) and apply them."""
        fn = "pyrepair.corrupt.RandomCorruption.forward"
        check_images(x, fn, "x", min_size=MIN_SIZE, check_range=False)  # before sampling len(x) choices
        choice = self.sample(x.shape[0])
        self.last_choice = choice
        return self._apply(x, choice, fn)

    def extra_repr(self) -> str:
        return f"names={list(self.names)}, severities={list(self.severities)}, p={self.p}, scale={self.scale!r}"


def _names_default() -> list[str]:
    """The implemented corruptions (default candidates of :class:`RandomCorruption`)."""
    return names()
