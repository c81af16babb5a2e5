"""Repair methods, one shape: ``Method(**hparams).repair(model, train, failures, *, val=...) -> RepairResult``.

Hyper-parameters go to the constructor, data to ``repair`` (``DESIGN.md``, 'Repair API'). The user's model is
deep-copied unless ``inplace=True``. Data may be ``(images, labels)`` tensor pairs (images float ``[N, C, H, W]`` in
``[0, 1]``) or torch ``Dataset`` objects.

Registered methods (:func:`names`, :func:`create`):

* ``"deeprepair"``: :class:`DeepRepair`, style-guided repair (AugMix + style ops from clustered failures + JSD);
* ``"finetune"``: :class:`FineTune`, plain cross-entropy fine-tuning on ``D^t ∪ D^c``;
* ``"augmix"``: :class:`AugMixRepair`; ``"cutmix"``: :class:`CutMixRepair`; ``"cutout"``: :class:`CutoutRepair`;
  ``"mixup"``: :class:`MixUpRepair`, DeepRepair's baselines (``shared/spec/deeprepair.md`` §A.8);
* ``"nnrepair"``: :class:`NNRepair`, constraint-based repair of the output layer (OR-Tools; no training).

Building blocks for new methods: :class:`RepairMethod` (the ABC with ``repair`` implemented once),
:class:`FineTuningMethod` (the shared fine-tuning hyper-parameters; override ``_step``) and :func:`finetune` (the
loop).

Example:
    >>> import torch
    >>> from torch import nn
    >>> from pyrepair import methods
    >>> methods.names()
    ['augmix', 'cutmix', 'cutout', 'deeprepair', 'finetune', 'mixup', 'nnrepair']
    >>> x, y = torch.rand(32, 1, 8, 8), torch.arange(32) % 2
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    >>> result = methods.create("mixup", epochs=1).repair(model, (x, y), (x[:4], y[:4]), val=(x, y), progress=False)
    >>> sorted(result.metrics["val"])
    ['after', 'before']
"""

from __future__ import annotations

import inspect
from typing import Any

from .._checks import check_in
from ..errors import ArgumentTypeError, PyrepairError
from .base import FineTuningMethod, RepairMethod, RepairResult, finetune
from .baselines import AugMixRepair, CutMixRepair, CutoutRepair, FineTune, MixUpRepair
from .deeprepair import DeepRepair
from .nnrepair import NNRepair

__all__ = [
    "AugMixRepair",
    "CutMixRepair",
    "CutoutRepair",
    "DeepRepair",
    "FineTune",
    "FineTuningMethod",
    "MixUpRepair",
    "NNRepair",
    "RepairMethod",
    "RepairResult",
    "create",
    "finetune",
    "names",
]

_REGISTRY: dict[str, type[RepairMethod]] = {
    cls.name: cls
    for cls in (DeepRepair, FineTune, AugMixRepair, CutMixRepair, CutoutRepair, MixUpRepair, NNRepair)
}


def names() -> list[str]:
    """The registered method names, sorted.

    Returns:
        ``["augmix", "cutmix", "cutout", "deeprepair", "finetune", "mixup", "nnrepair"]`` (more as methods land).
    """
    return sorted(_REGISTRY)


def create(name: str, **hparams: Any) -> RepairMethod:
    """Build a repair method by its registry name.

    Args:
        name: one of :func:`names`.
        **hparams: the method's hyper-parameters (see its class), e.g. ``epochs=2`` or ``severity=3``.

    Returns:
        The method instance.

    Raises:
        UnknownNameError: unknown ``name``; the message lists the valid names.
        TypeError: a hyper-parameter the method does not have (the message lists the valid ones) or of a wrong type.
        ValueError: an invalid hyper-parameter value (the message names the argument and the value).

    Example:
        >>> from pyrepair.methods import create
        >>> create("cutmix", prob=1.0, epochs=3)  # doctest: +ELLIPSIS
        CutMixRepair(alpha=1.0, prob=1.0, epochs=3, batch_size=128, lr=0.01, ...)
    """
    fn = "pyrepair.methods.create"
    if not isinstance(name, str):
        raise ArgumentTypeError(f"{fn}: name must be a str, one of {', '.join(names())}; got {type(name).__name__}")
    key = name.strip().lower()
    check_in("method name", key, _REGISTRY, fn)
    cls = _REGISTRY[key]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(hparams) - set(valid))
    if unknown:
        raise ArgumentTypeError(
            f"{fn}: unknown hyper-parameter(s) {', '.join(repr(u) for u in unknown)} for method {key!r}; "
            f"valid: {', '.join(valid)}"
        )
    try:
        return cls(**hparams)
    except PyrepairError as e:  # the method's message names its class; say which function the user called too
        if e.args and isinstance(e.args[0], str):
            e.args = (f"{fn}({key!r}): {e.args[0]}", *e.args[1:])
        raise
