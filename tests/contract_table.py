"""The table behind ``tests/test_contract.py`` (issue 13 item 8): one entry per public callable of pyrepair.

Each :class:`Entry` says how to make a small, fast VALID call (``build`` returns a fresh callable and a fresh dict of
keyword arguments each time, so nothing leaks between cases) and the ROLE of each argument that the suite attacks.
``tests/test_contract.py`` turns every role into bad-input kinds (``ROLE_KINDS``) and checks the contract
(STYLE rules 4, 5, 11): a valid result or a ``PyrepairError`` naming the callable, and inputs left unchanged.

Keys are ``"<module>.<name>"`` as exported by ``__all__`` (``"pyrepair.augment.AugMix"`` is the constructor) and
``"<module>.<Class>.<method>"`` for the methods that take data (``DATA_METHODS``). A public name that is neither in
``TABLE`` nor in ``EXEMPT`` fails ``test_every_public_callable_has_an_entry``.

Accepting a bad kind on purpose is declared per entry in ``accepts`` (``"kind"`` or ``"arg:kind"`` -> reason);
the default policy is in ``test_contract.DEFAULT_ACCEPTS``.
"""

from __future__ import annotations

import atexit
import importlib
import inspect
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

import pyrepair

# ----------------------------------------------------------------------------------------------------------------
# discovery

#: the packages the suite walks: pyrepair itself and every lazily loaded submodule it names (not hard-coded)
MODULES: tuple[str, ...] = ("pyrepair", *(f"pyrepair.{m}" for m in pyrepair._SUBMODULES))

#: methods of public classes that take data; each one found on a class needs its own entry
DATA_METHODS: tuple[str, ...] = ("__call__", "forward", "repair", "apply", "sample")


def _own_method(cls: type, meth: str) -> bool:
    """True when ``cls.meth`` resolves to a function defined by a pyrepair class (not nn.Module / object)."""
    for base in cls.__mro__:
        if meth in vars(base):
            return base.__module__.startswith("pyrepair") and callable(vars(base)[meth])
    return False


def public_callables(modules: dict[str, Any]) -> dict[str, Any]:
    """``{qualified name: object}`` for every function/class in each module's ``__all__`` and its data methods."""
    found: dict[str, Any] = {}
    for modname, mod in modules.items():
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue  # submodules are walked on their own; constants are not callables
            q = f"{modname}.{name}"
            found[q] = obj
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                for meth in DATA_METHODS:
                    if _own_method(obj, meth):
                        found[f"{q}.{meth}"] = getattr(obj, meth)
    return found


def load_modules() -> dict[str, Any]:
    return {m: importlib.import_module(m) for m in MODULES}


def uncovered(found: dict[str, Any], table: dict[str, Entry], exempt: dict[str, str]) -> list[str]:
    """Public callables with neither a table entry nor an exemption (the check that covers new functions)."""
    return sorted(q for q in found if q not in table and q not in exempt)


# ----------------------------------------------------------------------------------------------------------------
# entries


@dataclass
class Entry:
    build: Callable[[], tuple[Callable[..., Any], dict[str, Any]]]  # fresh (callable, kwargs) for a valid call
    roles: dict[str, str] = field(default_factory=dict)  # kwarg name -> role (see test_contract.ROLE_KINDS)
    accepts: dict[str, str] = field(default_factory=dict)  # "kind" or "arg:kind" -> why a valid result is fine
    skip: dict[str, str] = field(default_factory=dict)  # "kind" or "arg:kind" -> why it is not generated
    ok_exceptions: tuple[type[BaseException], ...] = ()  # non-pyrepair outcomes that are the documented contract
    names: tuple[str, ...] = ()  # the message must contain one of these (default: the last part of the key)
    cleanup: Callable[[], None] | None = None  # restores global state after every call
    mutates: tuple[str, ...] = ()  # arguments the call changes on purpose (fit trains the model it is given)
    max_examples: int | None = None  # cap per case in the default budget (slow entries); the deep run ignores it


_TMP = Path(tempfile.mkdtemp(prefix="pyrepair-contract-"))
atexit.register(shutil.rmtree, _TMP, True)
_counter = [0]


def tmpdir() -> Path:
    _counter[0] += 1
    d = _TMP / f"c{_counter[0]}"
    d.mkdir()
    return d


def images(b: int = 2, c: int = 3, s: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, s, s, generator=g)


def labels(b: int = 2, k: int = 10, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, k, (b,), generator=g)


def logits(b: int = 2, k: int = 10, seed: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, k, generator=g)


def tiny_model(c: int = 3, s: int = 16, k: int = 10) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(c * s * s, k))


def dataset(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    return images(n), labels(n)


def _fn(path: str) -> Callable[..., Any]:
    mod, _, name = path.rpartition(".")
    return getattr(importlib.import_module(mod), name)


def call(target: str, /, **kwargs: Any) -> Callable[[], tuple[Callable[..., Any], dict[str, Any]]]:
    """A ``build`` for a plain function: the kwargs are factories (called fresh) or plain values."""

    def build() -> tuple[Callable[..., Any], dict[str, Any]]:
        return _fn(target), {k: (v() if callable(v) and not isinstance(v, type) else v) for k, v in kwargs.items()}

    return build


def method(ctor: Callable[[], Any], meth: str, /,
           **kwargs: Any) -> Callable[[], tuple[Callable[..., Any], dict[str, Any]]]:
    def build() -> tuple[Callable[..., Any], dict[str, Any]]:
        return getattr(ctor(), meth), {k: (v() if callable(v) and not isinstance(v, type) else v)
                                       for k, v in kwargs.items()}

    return build


def _num_threads(n: int) -> None:
    from pyrepair.testing import num_threads

    with num_threads(n):
        pass


def _restore_threads(n: int = torch.get_num_threads()) -> None:
    torch.set_num_threads(n)


def _checkpoint_file() -> Path:
    from pyrepair.train import save_checkpoint

    p = tmpdir() / "m.pt"
    save_checkpoint(p, tiny_model())
    return p


def _augmix_params() -> Any:
    from pyrepair.augment import AugMix

    return AugMix(severity=1, width=2, depth=1).sample(2, 16, generator=torch.Generator().manual_seed(0))


def _wct2() -> Any:
    from pyrepair.wavelet.stylizer import WCT2

    torch.manual_seed(0)
    return WCT2().eval()


def _mixed_targets() -> Any:
    from pyrepair.augment import MixedTargets

    return MixedTargets(labels(), labels(seed=3), torch.full((2,), 0.5))


def _report(acc: float = 0.5) -> Any:
    from pyrepair.metrics import CorruptionReport

    return CorruptionReport({"clean": {"clean_accuracy": acc, "n": 8}}, severities=(1,))


def _patch_data(n_fail: int = 2, n_pass: int = 3) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """Failing / passing pairs for ``tiny_model()``: passing labels are its predictions, failing ones are not."""
    x = images(n_fail + n_pass, seed=5)
    with torch.no_grad():
        y = tiny_model()(x).argmax(1)
    y[:n_fail] = (y[:n_fail] + 1) % 10
    return (x[:n_fail], y[:n_fail]), (x[n_fail:], y[n_fail:])


def _patch_failing() -> tuple[torch.Tensor, torch.Tensor]:
    return _patch_data()[0]


def _patch_passing() -> tuple[torch.Tensor, torch.Tensor]:
    return _patch_data()[1]


def _a_patch() -> Any:
    from pyrepair.patch import repair_layer

    return repair_layer(tiny_model(), -1, _patch_failing(), _patch_passing(), top_k=2, bound=1.0)


def _experts() -> list[Any]:
    from pyrepair.patch import class_experts

    return class_experts(tiny_model(), -1, dataset(8), top_k=2, bound=1.0, n_fail=1, n_pass=1)


def _runtime_combination() -> Any:
    from pyrepair.patch import combine

    return combine(tiny_model(), _experts(), strategy="votes")


def _a_record() -> Any:
    from pyrepair.patch import combination_record

    return combination_record(_runtime_combination())[1]


_PATCH_SOLVE = {"bound": "positive", "top_k": "count", "objective": "name", "solver": "name", "time_limit": "positive",
                "epsilon": "positive"}
_NEG_LAYER = {"layer:count_negative": "documented: a negative layer index counts from the end of the leaf modules "
                                      "(-1 is the output layer, as in Python sequences)"}
_PATCH_NHWC = "the user's model defines the input layout (any [N, ...] float inputs); a Flatten model accepts NHWC"


IMAGES = "images"
_TRAIN_HP = {"epochs": "count", "batch_size": "count", "lr": "positive", "momentum": "unit", "weight_decay": "nonneg",
             "optimizer": "name", "scheduler": "name"}
_FAST = {"epochs": 1, "batch_size": 4}


def _repair(cls: str, **hp: Any) -> Entry:
    return Entry(
        method(lambda: _fn(f"pyrepair.methods.{cls}")(**{**_FAST, **hp}), "repair", model=tiny_model, train=dataset,
               failures=lambda: dataset(4), seed=0, progress=False, device="cpu", callbacks=()),
        roles={"model": "model", "train": "dataset", "failures": "dataset", "seed": "seed", "device": "device",
               "callbacks": "callbacks"},
        names=(cls, "repair"),
    )


def _method_ctor(cls: str, **roles: str) -> Entry:
    return Entry(call(f"pyrepair.methods.{cls}", **_FAST), roles={**_TRAIN_HP, **roles})


_CORRUPT_ROLES = {"images": IMAGES, "severity": "severity", "seed": "seed", "scale": "name", "backend": "backend",
                  "index_offset": "index"}


def _corrupt(name: str) -> Entry:
    return Entry(call(f"pyrepair.corrupt.{name}", images=images, severity=3, seed=0), roles=dict(_CORRUPT_ROLES),
                 accepts=dict(_CHW))


_ALPHA0 = {"alpha:num_zero": "documented: alpha=0 disables mixing (lambda = 1), as the reference mixup_data / "
                              "CutMix code does"}
_DATA_MOVEMENT = "pure data movement (paste/blend/erase): NaN/Inf propagate like torch"
_PERM_1D = {"perm:rank": "perm is 1-D, so the 'rank 1' variant (perm.reshape(-1)) is the valid perm itself"}
_NO_HOLES = {"size:count_zero": "a hole of size 0 is the identity", "n_holes:count_zero": "no holes is the identity"}
_CHW = {"images:rank_minus1": "a single [C, H, W] image is documented input of pyrepair.corrupt"}


_PER_IMAGE = {"brightness": "factor", "color": "factor", "contrast": "factor", "posterize": "bits", "rotate": "degrees",
              "sharpness": "factor", "shear_x": "factor", "shear_y": "factor", "solarize": "threshold",
              "translate_x": "pixels", "translate_y": "pixels"}
_PER_IMAGE_VALUE = {"posterize": 4, "rotate": 10.0, "solarize": 0.5, "translate_x": 2.0, "translate_y": 2.0}


def _transform(name: str) -> Entry:
    arg = _PER_IMAGE[name]
    return Entry(call(f"pyrepair.transform.{name}", images=images, **{arg: _PER_IMAGE_VALUE.get(name, 0.5)}),
                 roles={"images": IMAGES, arg: "count" if name == "posterize" else "real", "backend": "backend"},
                 accepts={"bits:count_zero": "documented: bits=0 gives black, as Pillow's ImageOps.posterize"}
                 if name == "posterize" else {})


CORRUPTIONS = ("brightness", "contrast", "defocus_blur", "elastic_transform", "fog", "frost", "gaussian_blur",
               "gaussian_noise", "glass_blur", "impulse_noise", "jpeg_compression", "motion_blur", "pixelate",
               "saturate", "shot_noise", "snow", "spatter", "speckle_noise", "zoom_blur")

TABLE: dict[str, Entry] = {
    # --- pyrepair ---------------------------------------------------------------------------------------------
    "pyrepair.build_info": Entry(call("pyrepair.build_info")),
    "pyrepair.cuda_available": Entry(call("pyrepair.cuda_available")),
    "pyrepair.get_num_threads": Entry(call("pyrepair.get_num_threads")),
    "pyrepair.set_num_threads": Entry(call("pyrepair.set_num_threads", n=1), roles={"n": "count"},
                                      cleanup=_restore_threads),
    # --- pyrepair.random --------------------------------------------------------------------------------------
    **{f"pyrepair.random.{f}": Entry(call(f"pyrepair.random.{f}", shape=(2, 3), seed=0),
                                     roles={"shape": "shape", "seed": "seed", "stream": "index", "offset": "index",
                                            "device": "device", "backend": "backend",
                                            **({} if f == "bits" else {"dtype": "dtype"}),
                                            **({"mean": "real", "std": "nonneg"} if f == "normal" else {}),
                                            **({"low": "real", "high": "real"} if f == "uniform" else {})},
                                     accepts={k: "documented: stream and offset are 64-bit Philox counters in "
                                              "[0, 2^64), so 2^63 is valid (2^64 and above are rejected)"
                                              for k in ("stream:count_huge", "offset:count_huge")})
       for f in ("bits", "normal", "uniform")},
    # --- pyrepair.transform -----------------------------------------------------------------------------------
    "pyrepair.transform.affine_photometric": Entry(
        call("pyrepair.transform.affine_photometric", images=images,
             params=lambda: _fn("pyrepair.transform.identity_params")(2)),
        roles={"images": IMAGES, "params": "tensor", "contrast_pivot": "real", "backend": "backend"},
        accepts={"params:dtype_int": "parameter rows hold real numbers; integer rows (a rotation of 10 degrees) "
                                     "are exact in float64, to which they are converted"}),
    "pyrepair.transform.population": Entry(
        call("pyrepair.transform.population", images=images,
             params=lambda: _fn("pyrepair.transform.identity_params")(3)),
        roles={"images": IMAGES, "params": "tensor", "contrast_pivot": "real", "backend": "backend"}),
    "pyrepair.transform.identity_params": Entry(call("pyrepair.transform.identity_params", n=2),
                                                roles={"n": "count", "device": "device", "dtype": "dtype"},
                                                accepts={"n:count_zero": "zero genomes is an empty population"}),
    "pyrepair.transform.autocontrast": Entry(call("pyrepair.transform.autocontrast", images=images),
                                             roles={"images": IMAGES, "backend": "backend"}),
    "pyrepair.transform.equalize": Entry(call("pyrepair.transform.equalize", images=images),
                                         roles={"images": IMAGES, "backend": "backend"}),
    **{f"pyrepair.transform.{f}": _transform(f) for f in _PER_IMAGE},
    # --- pyrepair.corrupt -------------------------------------------------------------------------------------
    "pyrepair.corrupt.apply": Entry(call("pyrepair.corrupt.apply", images=images, name="fog", severity=3, seed=0),
                                    roles={**_CORRUPT_ROLES, "name": "name"}, accepts=dict(_CHW)),
    "pyrepair.corrupt.jpeg_roundtrip": Entry(call("pyrepair.corrupt.jpeg_roundtrip", images=images, quality=50),
                                             roles={"images": IMAGES, "quality": "count", "backend": "backend"},
                                             accepts=dict(_CHW)),
    **{f"pyrepair.corrupt.{c}": _corrupt(c) for c in CORRUPTIONS},
    "pyrepair.corrupt.names": Entry(call("pyrepair.corrupt.names")),
    "pyrepair.corrupt.make_dataset": Entry(
        call("pyrepair.corrupt.make_dataset", images=images, labels=labels, path=lambda: tmpdir() / "c",
             names=["fog"], severities=[1], seed=0, chunk_size=2, progress=False),
        roles={"images": IMAGES, "labels": "labels", "path": "path", "names": "name", "seed": "seed",
               "chunk_size": "count", "severities": "severity"}),
    "pyrepair.corrupt.Corrupt": Entry(call("pyrepair.corrupt.Corrupt", name="fog", severity=3, seed=0),
                                      roles={"name": "name", "severity": "severity", "seed": "seed",
                                             "scale": "name", "backend": "backend"}),
    "pyrepair.corrupt.Corrupt.forward": Entry(method(lambda: _fn("pyrepair.corrupt.Corrupt")("fog", 3), "forward",
                                                     x=images), roles={"x": IMAGES}, names=("Corrupt", "fog"),
                                      accepts={"x:rank_minus1": "a single [C, H, W] image (as pyrepair.corrupt)"}),
    "pyrepair.corrupt.RandomCorruption": Entry(
        call("pyrepair.corrupt.RandomCorruption", names=["fog", "snow"], severities=[1, 2], p=1.0, generator=0),
        roles={"names": "name", "severities": "severity", "p": "unit", "generator": "generator", "scale": "name",
               "backend": "backend"},
        accepts={"generator:generator_int": "generator may be an int seed (documented: Generator | int | None)"}),
    "pyrepair.corrupt.RandomCorruption.forward": Entry(
        method(lambda: _fn("pyrepair.corrupt.RandomCorruption")(["fog"], [1], generator=0), "forward", x=images),
        roles={"x": IMAGES}, names=("RandomCorruption", "fog")),
    "pyrepair.corrupt.RandomCorruption.sample": Entry(
        method(lambda: _fn("pyrepair.corrupt.RandomCorruption")(["fog"], [1], generator=0), "sample", batch_size=2),
        roles={"batch_size": "count"}, names=("RandomCorruption", "sample"),
        accepts={"batch_size:count_zero": "an empty batch samples nothing"}),
    "pyrepair.corrupt.RandomCorruption.apply": Entry(
        method(lambda: _fn("pyrepair.corrupt.RandomCorruption")(["fog"], [1], generator=0), "apply", x=images,
               choice=lambda: _fn("pyrepair.corrupt.RandomCorruption")(["fog"], [1], generator=0).sample(2)),
        roles={"x": IMAGES, "choice": "opaque"}, names=("RandomCorruption", "apply")),
    # --- pyrepair.wavelet -------------------------------------------------------------------------------------
    "pyrepair.wavelet.auto_levels": Entry(call("pyrepair.wavelet.auto_levels", h=16, w=16),
                                          roles={"h": "count", "w": "count"}),
    "pyrepair.wavelet.max_levels": Entry(call("pyrepair.wavelet.max_levels", h=16, w=16),
                                         roles={"h": "count", "w": "count"}),
    "pyrepair.wavelet.haar_dwt2d": Entry(call("pyrepair.wavelet.haar_dwt2d", x=images, levels=1),
                                         roles={"x": IMAGES, "levels": "count", "backend": "backend"},
                                         accepts={"x:out_of_range": "a linear transform of any real signal",
                                                  "x:channels_last": "a transform of any feature map (WCT2 passes "
                                                  "[B, 64+, h, w] features whose w may be 1 or 3): no layout hint",
                                                  "x:nonfinite": "a linear transform propagates NaN/Inf like torch"}),
    "pyrepair.wavelet.haar_idwt2d": Entry(
        call("pyrepair.wavelet.haar_idwt2d", low=lambda: images(2, 3, 8),
             highs=lambda: [images(2, 9, 8, seed=7).reshape(2, 3, 3, 8, 8)]),
        roles={"low": "tensor", "highs": "opaque", "backend": "backend"},
        accepts={"low:nonfinite": "a linear transform propagates NaN/Inf like torch"}),
    "pyrepair.wavelet.style_transfer": Entry(
        call("pyrepair.wavelet.style_transfer", content=images, style=lambda: images(seed=5), seed=0),
        roles={"content": IMAGES, "style": IMAGES, "mode": "name", "levels": "count", "alpha": "unit",
               "seed": "seed", "backend": "backend", "bands": "name", "eps_rel": "nonneg", "noise": "name",
               "pooling": "name"}),
    "pyrepair.wavelet.wct": Entry(
        call("pyrepair.wavelet.wct", content_feats=lambda: logits(2, 8).reshape(2, 2, 4),
             style_feats=lambda: logits(2, 8, seed=4).reshape(2, 2, 4)),
        roles={"content_feats": "tensor", "style_feats": "tensor", "eps": "nonneg", "alpha": "unit",
               "rank_tol": "nonneg", "backend": "backend"}),
    "pyrepair.wavelet.wct2_transfer": Entry(
        call("pyrepair.wavelet.wct2_transfer", content=images, style=lambda: images(seed=5), model=_wct2, seed=0),
        roles={"content": IMAGES, "style": IMAGES, "alpha": "unit", "model": "model", "seed": "seed",
               "eps": "nonneg", "backend": "backend"}, max_examples=1),
    # --- pyrepair.augment -------------------------------------------------------------------------------------
    "pyrepair.augment.AugMix": Entry(call("pyrepair.augment.AugMix", severity=1, width=2, depth=1),
                                     roles={"severity": "count", "width": "count", "alpha": "positive",
                                            "ops": "name", "backend": "backend", "p_extra": "unit"}),
    "pyrepair.augment.AugMix.__call__": Entry(
        method(lambda: _fn("pyrepair.augment.AugMix")(severity=1, width=2, depth=1), "__call__", images=images,
               generator=lambda: torch.Generator().manual_seed(0)),
        roles={"images": IMAGES, "generator": "generator"}, names=("AugMix",)),
    "pyrepair.augment.AugMix.sample": Entry(
        method(lambda: _fn("pyrepair.augment.AugMix")(severity=1, width=2, depth=1), "sample", batch_size=2,
               image_size=16, generator=lambda: torch.Generator().manual_seed(0)),
        roles={"batch_size": "count", "image_size": "count", "generator": "generator", "device": "device"},
        names=("AugMix",), accepts={"batch_size:count_zero": "an empty batch samples nothing"}),
    "pyrepair.augment.AugMix.apply": Entry(
        method(lambda: _fn("pyrepair.augment.AugMix")(severity=1, width=2, depth=1), "apply", images=images,
               params=_augmix_params),
        roles={"images": IMAGES, "params": "opaque"}, names=("AugMix", "augmix_apply")),
    "pyrepair.augment.StyleAugMix": Entry(
        call("pyrepair.augment.StyleAugMix", failures=lambda: images(6), n_clusters=2, labels=lambda: labels(6),
             width=2),
        roles={"failures": IMAGES, "n_clusters": "count", "labels": "labels", "sampling": "name", "mode": "name",
               "p_style": "unit", "space": "name", "seed": "seed", "severity": "count", "width": "count",
               "alpha": "positive", "backend": "backend", "style_kwargs": "mapping"},
        accepts={"failures:channels_last": "references of any channel count are valid (PyrepairWarning on the "
                 "layout); the images passed later must match them",
                 "style_kwargs:mapping_content": "an empty dict means no extra style_transfer arguments"}),
    "pyrepair.augment.StyleAugMix.__call__": Entry(
        method(lambda: _fn("pyrepair.augment.StyleAugMix")(images(6), 2, width=2, p_style=1.0), "__call__",
               images=images, generator=lambda: torch.Generator().manual_seed(0)),
        roles={"images": IMAGES, "generator": "generator"}, names=("StyleAugMix",)),
    "pyrepair.augment.StyleAugMix.sample": Entry(
        method(lambda: _fn("pyrepair.augment.StyleAugMix")(images(6), 2, width=2), "sample", batch_size=2,
               image_size=16, generator=lambda: torch.Generator().manual_seed(0)),
        roles={"batch_size": "count", "image_size": "count", "generator": "generator", "device": "device"},
        names=("StyleAugMix", "AugMix"), accepts={"batch_size:count_zero": "an empty batch samples nothing"}),
    "pyrepair.augment.StyleAugMix.apply": Entry(
        method(lambda: _fn("pyrepair.augment.StyleAugMix")(images(6), 2, width=2, p_style=1.0), "apply",
               images=images,
               params=lambda: _fn("pyrepair.augment.StyleAugMix")(images(6), 2, width=2, p_style=1.0).sample(
                   2, 16, generator=torch.Generator().manual_seed(0))),
        roles={"images": IMAGES, "params": "opaque"}, names=("StyleAugMix",)),
    "pyrepair.augment.cluster_failures": Entry(
        call("pyrepair.augment.cluster_failures", failures=lambda: images(6), n_clusters=2, labels=lambda: labels(6),
             n_init=1),
        roles={"failures": IMAGES, "n_clusters": "count", "labels": "labels", "sampling": "name", "space": "name",
               "normalization": "name", "seed": "seed", "n_init": "count"},
        accepts={"failures:channels_last": "failures of any channel count can be clustered (PyrepairWarning on "
                 "the layout)"}),
    "pyrepair.augment.cluster_probabilities": Entry(
        call("pyrepair.augment.cluster_probabilities", distances=lambda: torch.tensor([0.5, 1.0, 2.0]),
             clusters=lambda: torch.tensor([0, 0, 1])),
        roles={"distances": "tensor", "clusters": "index_tensor", "n_clusters": "count", "normalization": "name"},
        skip={"distances:noncontiguous": "a 1-D tensor has no transposed view to build"},
        accepts={"distances:rank": "distances are 1-D: the rank-1 variant is the valid input",
                 "distances:dtype_int": "integer distances are distances",
                 "distances:wrong_type": "a sequence of numbers is documented input",
                 "clusters:rank": "cluster ids are 1-D: the rank-1 variant is the valid input"}),
    "pyrepair.augment.augmix_apply": Entry(call("pyrepair.augment.augmix_apply", images=images, params=_augmix_params),
                                           roles={"images": IMAGES, "params": "opaque", "backend": "backend"}),
    "pyrepair.augment.augmix_views": Entry(
        call("pyrepair.augment.augmix_views", images=images,
             augmix=lambda: _fn("pyrepair.augment.AugMix")(severity=1, width=2, depth=1),
             generator=lambda: torch.Generator().manual_seed(0)),
        roles={"images": IMAGES, "augmix": "opaque", "generator": "generator"}),
    "pyrepair.augment.augmix_loss": Entry(
        call("pyrepair.augment.augmix_loss", logits_clean=logits, logits_aug1=lambda: logits(seed=3),
             logits_aug2=lambda: logits(seed=4), labels=labels),
        roles={"logits_clean": "tensor", "logits_aug1": "tensor", "logits_aug2": "tensor", "labels": "labels",
               "lam": "nonneg"}),
    "pyrepair.augment.jsd_loss": Entry(
        call("pyrepair.augment.jsd_loss", logits_clean=logits, logits_aug1=lambda: logits(seed=3),
             logits_aug2=lambda: logits(seed=4)),
        roles={"logits_clean": "tensor", "logits_aug1": "tensor", "logits_aug2": "tensor"}),
    "pyrepair.augment.mixed_cross_entropy": Entry(
        call("pyrepair.augment.mixed_cross_entropy", logits=logits, targets=labels),
        roles={"logits": "tensor", "targets": "labels"}),
    "pyrepair.augment.cutmix": Entry(
        call("pyrepair.augment.cutmix", images=images, labels=labels,
             boxes=lambda: torch.tensor([[0, 0, 8, 8], [4, 4, 12, 12]]), perm=lambda: torch.tensor([1, 0])),
        roles={"images": IMAGES, "labels": "labels", "boxes": "index_tensor", "perm": "index_tensor"},
        accepts={"images:nonfinite": "pure data movement (paste/blend/erase): NaN/Inf propagate like torch",
                 "boxes:rank_minus1": "documented: one (4,) box applies to the whole batch",
                 "boxes:index_range": "documented: boxes are clipped to the image, any integer coordinates are valid",
                 **_PERM_1D}),
    "pyrepair.augment.cutout": Entry(
        call("pyrepair.augment.cutout", images=images, centers=lambda: torch.tensor([[4, 4], [8, 8]]), size=4),
        roles={"images": IMAGES, "centers": "index_tensor", "size": "count"},
        accepts={"images:nonfinite": _DATA_MOVEMENT, "size:count_zero": "a hole of size 0 is the identity",
                 "centers:index_range": "documented: holes are clipped to the image (a centre outside gives a "
                                        "clipped or empty hole)"}),
    "pyrepair.augment.mixup": Entry(
        call("pyrepair.augment.mixup", images=images, labels=labels, lam=0.3, perm=lambda: torch.tensor([1, 0])),
        roles={"images": IMAGES, "labels": "labels", "lam": "unit", "perm": "index_tensor"},
        accepts={"images:nonfinite": _DATA_MOVEMENT, **_PERM_1D}),
    "pyrepair.augment.CutMix": Entry(call("pyrepair.augment.CutMix", alpha=1.0, prob=0.5),
                                     roles={"alpha": "positive", "prob": "unit"}, accepts=dict(_ALPHA0)),
    "pyrepair.augment.CutMix.__call__": Entry(
        method(lambda: _fn("pyrepair.augment.CutMix")(prob=1.0), "__call__", images=images, labels=labels,
               generator=lambda: torch.Generator().manual_seed(0)),
        roles={"images": IMAGES, "labels": "labels", "generator": "generator"}, names=("CutMix", "cutmix"),
        accepts={"images:nonfinite": "pure data movement (paste/blend/erase): NaN/Inf propagate like torch"}),
    "pyrepair.augment.CutMix.sample": Entry(
        method(lambda: _fn("pyrepair.augment.CutMix")(prob=1.0), "sample", batch_size=2, image_size=16,
               generator=lambda: torch.Generator().manual_seed(0)),
        roles={"batch_size": "count", "image_size": "count", "generator": "generator", "device": "device"},
        names=("CutMix",), accepts={"batch_size:count_zero": "an empty batch samples nothing"}),
    "pyrepair.augment.Cutout": Entry(call("pyrepair.augment.Cutout", size=4, n_holes=1),
                                     roles={"size": "count", "n_holes": "count"}, accepts=dict(_NO_HOLES)),
    "pyrepair.augment.Cutout.__call__": Entry(
        method(lambda: _fn("pyrepair.augment.Cutout")(size=4), "__call__", images=images,
               generator=lambda: torch.Generator().manual_seed(0)),
        roles={"images": IMAGES, "generator": "generator"}, names=("Cutout", "cutout"),
        accepts={"images:nonfinite": _DATA_MOVEMENT}),
    "pyrepair.augment.Cutout.sample": Entry(
        method(lambda: _fn("pyrepair.augment.Cutout")(size=4), "sample", batch_size=2, image_size=16,
               generator=lambda: torch.Generator().manual_seed(0)),
        roles={"batch_size": "count", "image_size": "count", "generator": "generator", "device": "device"},
        names=("Cutout",), accepts={"batch_size:count_zero": "an empty batch samples nothing"}),
    "pyrepair.augment.MixUp": Entry(call("pyrepair.augment.MixUp", alpha=1.0), roles={"alpha": "positive"},
                                    accepts=dict(_ALPHA0)),
    "pyrepair.augment.MixUp.__call__": Entry(
        method(lambda: _fn("pyrepair.augment.MixUp")(), "__call__", images=images, labels=labels,
               generator=lambda: torch.Generator().manual_seed(0)),
        roles={"images": IMAGES, "labels": "labels", "generator": "generator"}, names=("MixUp", "mixup"),
        accepts={"images:nonfinite": "pure data movement (paste/blend/erase): NaN/Inf propagate like torch"}),
    "pyrepair.augment.MixUp.sample": Entry(
        method(lambda: _fn("pyrepair.augment.MixUp")(), "sample", batch_size=2,
               generator=lambda: torch.Generator().manual_seed(0)),
        roles={"batch_size": "count", "generator": "generator", "device": "device"},
        names=("MixUp",), accepts={"batch_size:count_zero": "an empty batch samples nothing"}),
    # --- pyrepair.data ----------------------------------------------------------------------------------------
    "pyrepair.data.as_image_data": Entry(call("pyrepair.data.as_image_data", data=dataset, fn="caller"),
                                         roles={"data": "dataset"}, names=("caller", "as_image_data"),
                                         accepts={"data:dataset_labels": "labels too large for the (unknown) number "
                                                  "of classes: the functions that take a model check them against "
                                                  "its outputs (fit, evaluate, repair, corruption_failures)"}),
    "pyrepair.data.clear_cache": Entry(call("pyrepair.data.clear_cache")),
    "pyrepair.data.names": Entry(call("pyrepair.data.names")),
    "pyrepair.data.info": Entry(call("pyrepair.data.info", name="digits"), roles={"name": "name"}),
    "pyrepair.data.load": Entry(call("pyrepair.data.load", name="digits", split="test", limit=8),
                                roles={"name": "name", "split": "name", "root": "path", "size": "count",
                                       "variant": "name", "limit": "count"},
                                accepts={"root:path_missing": "digits ships with scikit-learn: no root needed",
                                         "root:path_dir": "digits ships with scikit-learn: no root needed"}),
    "pyrepair.data.search_paths": Entry(call("pyrepair.data.search_paths", name="digits"),
                                        roles={"root": "path", "name": "name"},
                                        accepts={"root:path_missing": "lists candidate folders, none need exist",
                                                 "root:path_dir": "lists candidate folders, none need exist"}),
    "pyrepair.data.failure_split": Entry(
        call("pyrepair.data.failure_split", model=tiny_model, images=lambda: images(8), labels=lambda: labels(8),
             corruption="fog", severities=[1], n_collect=2, seed=0, batch_size=4),
        roles={"model": "model", "images": IMAGES, "labels": "labels", "corruption": "name", "seed": "seed",
               "n_collect": "count", "batch_size": "count"},
        names=("failure_split", "corruption_failures")),
    # --- pyrepair.scenarios -----------------------------------------------------------------------------------
    "pyrepair.scenarios.corruption_failures": Entry(
        call("pyrepair.scenarios.corruption_failures", model=tiny_model, images=lambda: images(8),
             labels=lambda: labels(8), corruption="fog", severities=[1], n_collect=2, seed=0, batch_size=4),
        roles={"model": "model", "images": IMAGES, "labels": "labels", "corruption": "name", "seed": "seed",
               "n_collect": "count", "batch_size": "count", "severities": "severity", "device": "device",
               "scale": "name"}),
    "pyrepair.scenarios.poison": Entry(
        call("pyrepair.scenarios.poison", data=dataset, target=7, fraction=0.5, trigger=3, seed=0),
        roles={"data": "dataset", "target": "index", "fraction": "unit", "trigger": "count", "seed": "seed"},
        accepts={"data:dataset_labels": "poison knows no model, so no number of classes: any class id >= 0 is a "
                                        "label (float labels still raise); the model trained on it checks the range"}),
    "pyrepair.scenarios.fgsm": Entry(
        call("pyrepair.scenarios.fgsm", model=tiny_model, images=images, labels=labels, eps=0.05, batch_size=2),
        roles={"model": "model", "images": IMAGES, "labels": "labels", "eps": "nonneg", "batch_size": "count",
               "device": "device"}),
    # --- pyrepair.metrics -------------------------------------------------------------------------------------
    "pyrepair.metrics.corruption_report": Entry(
        call("pyrepair.metrics.corruption_report", model=tiny_model, test=dataset, corruptions=["fog"],
             failure_sets=lambda: {"fog": dataset(4)}, severities=[1], seed=0, batch_size=4, device="cpu",
             progress=False),
        roles={"model": "model", "test": "dataset", "corruptions": "name", "failure_sets": "mapping",
               "severities": "severity", "seed": "seed", "scale": "name", "batch_size": "count", "device": "device"}),
    "pyrepair.metrics.compare_reports": Entry(
        call("pyrepair.metrics.compare_reports", before=_report, after=lambda: _report(0.75)),
        roles={"before": "opaque", "after": "opaque"}),
    # --- pyrepair.models --------------------------------------------------------------------------------------
    "pyrepair.models.Normalize": Entry(call("pyrepair.models.Normalize", mean=[0.5, 0.5, 0.5], std=[0.2, 0.2, 0.2]),
                                       roles={"mean": "real", "std": "positive"}),
    "pyrepair.models.Normalize.forward": Entry(
        method(lambda: _fn("pyrepair.models.Normalize")([0.5] * 3, [0.2] * 3), "forward", x=images),
        roles={"x": IMAGES}, names=("Normalize",),
        accepts={"x:out_of_range": "normalisation is affine: any real input is meaningful",
                 "x:nonfinite": "normalisation is affine and propagates NaN/Inf like torch"}),
    "pyrepair.models.create": Entry(call("pyrepair.models.create", name="mlp", num_classes=10, in_channels=3,
                                         input_size=16, seed=0),
                                    roles={"name": "name", "num_classes": "count", "in_channels": "count",
                                           "input_size": "count", "seed": "seed"}),
    "pyrepair.models.default_config": Entry(call("pyrepair.models.default_config", name="mlp"),
                                            roles={"name": "name"}),
    "pyrepair.models.from_config": Entry(
        call("pyrepair.models.from_config", cfg=lambda: _fn("pyrepair.models.default_config")("mlp")),
        roles={"cfg": "mapping"}),
    "pyrepair.models.names": Entry(call("pyrepair.models.names")),
    # --- pyrepair.train ---------------------------------------------------------------------------------------
    "pyrepair.train.fit": Entry(
        call("pyrepair.train.fit", model=tiny_model, data=dataset, epochs=1, batch_size=4, progress=False,
             device="cpu"),
        roles={"model": "model", "data": "dataset", "epochs": "count", "batch_size": "count", "lr": "positive",
               "optimizer": "name", "weight_decay": "nonneg", "scheduler": "name", "seed": "seed",
               "device": "device", "checkpoint": "path", "resume": "path", "callbacks": "callbacks",
               "max_grad_norm": "positive"},
        skip={"epochs:count_huge": "a loop of 2**63 epochs never ends if accepted: covered by count_type"},
        accepts={"checkpoint:path_missing": "fit creates the checkpoint's parent folder",
                 "data:dataset_images": "the user's model defines the image layout; fit cannot know it"},
        mutates=("model",)),  # fit trains the model it is given (documented)
    "pyrepair.train.evaluate": Entry(
        call("pyrepair.train.evaluate", model=tiny_model, data=dataset, batch_size=4, device="cpu"),
        roles={"model": "model", "data": "dataset", "batch_size": "count", "device": "device"},
        accepts={"data:dataset_images": "the user's model defines the image layout; fit cannot know it"}),
    "pyrepair.train.predict": Entry(
        call("pyrepair.train.predict", model=tiny_model, images=images, batch_size=4, device="cpu"),
        roles={"model": "model", "images": IMAGES, "batch_size": "count", "device": "device"},
        accepts={"images:out_of_range": "predict feeds the model whatever it was trained on",
                 "images:channels_last": "the user's model defines the image layout; predict cannot know it",
                 "images:nonfinite": "predict feeds the model; NaN logits are the model's answer"}),
    "pyrepair.train.resolve_device": Entry(call("pyrepair.train.resolve_device", device="cpu"),
                                           roles={"device": "device"}),
    "pyrepair.train.save_checkpoint": Entry(
        call("pyrepair.train.save_checkpoint", path=lambda: tmpdir() / "m.pt", model=tiny_model, epoch=1),
        roles={"path": "path", "model": "model", "epoch": "index", "metadata": "mapping"},
        accepts={"path:path_missing": "the parent folder is created (atomic write)",
                 "model:model_output": "any nn.Module can be checkpointed",
                 "metadata:mapping_content": "metadata is a free-form mapping"}),
    "pyrepair.train.load_checkpoint": Entry(
        call("pyrepair.train.load_checkpoint", path=_checkpoint_file, model=tiny_model),
        roles={"path": "path", "model": "model", "map_location": "device"},
        mutates=("model",)),  # loads the state into the model it is given (documented)
    # --- pyrepair.patch ---------------------------------------------------------------------------------------
    "pyrepair.patch.localize": Entry(
        call("pyrepair.patch.localize", model=tiny_model, layer=-1, failing=_patch_failing, passing=_patch_passing,
             top_k=2),
        roles={"model": "model", "layer": "index", "failing": "dataset", "passing": "dataset", "top_k": "count"},
        accepts={**_NEG_LAYER, "failing:dataset_images": _PATCH_NHWC, "passing:dataset_images": _PATCH_NHWC}),
    "pyrepair.patch.repair_layer": Entry(
        call("pyrepair.patch.repair_layer", model=tiny_model, layer=-1, failing=_patch_failing,
             passing=_patch_passing, top_k=2, bound=1.0, objective="l1", solver="glop", time_limit=10.0,
             epsilon=1e-3),
        roles={"model": "model", "layer": "index", "failing": "dataset", "passing": "dataset", **_PATCH_SOLVE},
        accepts={**_NEG_LAYER, "failing:dataset_images": _PATCH_NHWC, "passing:dataset_images": _PATCH_NHWC}),
    "pyrepair.patch.class_experts": Entry(
        call("pyrepair.patch.class_experts", model=tiny_model, layer=-1, data=dataset, extra=lambda: dataset(4),
             score_data=lambda: dataset(6), n_fail=1, n_pass=1, top_k=2, bound=1.0, objective="l1", solver="glop",
             time_limit=10.0, epsilon=1e-3, seed=0),
        roles={"model": "model", "layer": "index", "data": "dataset", "extra": "dataset", "score_data": "dataset",
               "n_fail": "count",
               "n_pass": "count", "seed": "seed", **_PATCH_SOLVE},
        accepts={**_NEG_LAYER, "data:dataset_images": _PATCH_NHWC, "extra:dataset_images": _PATCH_NHWC,
                 "score_data:dataset_images": _PATCH_NHWC,
                 "n_pass:count_zero": "experts built from failing examples only are valid (n_pass >= 0)"},
        max_examples=2),
    "pyrepair.patch.activation_patterns": Entry(
        call("pyrepair.patch.activation_patterns", model=tiny_model, layer=-1, data=dataset, seed=0),
        roles={"model": "model", "layer": "index", "data": "dataset", "seed": "seed"},
        accepts={**_NEG_LAYER, "data:dataset_images": _PATCH_NHWC}),
    "pyrepair.patch.layer_kind": Entry(
        call("pyrepair.patch.layer_kind", model=tiny_model, layer=-1, inputs=images),
        roles={"model": "model", "layer": "index", "inputs": IMAGES},
        accepts={**_NEG_LAYER, "inputs:out_of_range": "the user's model defines the input range",
                 "inputs:channels_last": "the user's model defines the image layout",
                 "inputs:nonfinite": "one forward pass to see where the layer's output goes; NaN does not change it"}),
    "pyrepair.patch.merge": Entry(call("pyrepair.patch.merge", patches=lambda: [_a_patch()]),
                                  roles={"patches": "opaque"}),
    "pyrepair.patch.f1_filter": Entry(
        call("pyrepair.patch.f1_filter", model=tiny_model, patches=_experts, data=dataset),
        roles={"model": "model", "patches": "opaque", "data": "dataset"},
        accepts={"data:dataset_images": _PATCH_NHWC}),
    "pyrepair.patch.combine": Entry(
        call("pyrepair.patch.combine", model=tiny_model, patches=_experts, strategy="votes", filter_data=dataset),
        roles={"model": "model", "patches": "opaque", "strategy": "name", "filter_data": "dataset"},
        accepts={"filter_data:dataset_images": _PATCH_NHWC}),
    "pyrepair.patch.combination_record": Entry(
        call("pyrepair.patch.combination_record", model=_runtime_combination), roles={"model": "model"},
        accepts={"model:model_output": "any module: one without a run-time expert combination gives (model, None)"}),
    "pyrepair.patch.install_combination": Entry(
        call("pyrepair.patch.install_combination", model=tiny_model, record=_a_record),
        roles={"model": "model", "record": "mapping"}),
    "pyrepair.patch.Patch.apply": Entry(method(_a_patch, "apply", model=tiny_model), roles={"model": "model"},
                                        names=("Patch.apply",)),
    # --- pyrepair.methods -------------------------------------------------------------------------------------
    "pyrepair.methods.names": Entry(call("pyrepair.methods.names")),
    "pyrepair.methods.create": Entry(call("pyrepair.methods.create", name="finetune", epochs=1),
                                     roles={"name": "name", "epochs": "count"}),
    "pyrepair.methods.finetune": Entry(
        call("pyrepair.methods.finetune", model=tiny_model, data=dataset, epochs=1, batch_size=4, progress=False,
             device="cpu"),
        roles={"model": "model", "data": "dataset", **_TRAIN_HP, "seed": "seed", "device": "device",
               "callbacks": "callbacks", "max_grad_norm": "positive"},
        skip={"epochs:count_huge": "a loop of 2**63 epochs never ends if accepted: covered by count_type"},
        accepts={"data:dataset_images": "the user's model defines the image layout; fit cannot know it"},
        mutates=("model",)),  # finetune trains the model it is given (documented)
    "pyrepair.methods.FineTune": _method_ctor("FineTune"),
    "pyrepair.methods.FineTuningMethod": _method_ctor("FineTuningMethod"),
    "pyrepair.methods.AugMixRepair": _method_ctor("AugMixRepair", severity="count", width="count", alpha="positive",
                                                  lam="nonneg"),
    "pyrepair.methods.CutMixRepair": Entry(call("pyrepair.methods.CutMixRepair", **_FAST),
                                           roles={**_TRAIN_HP, "alpha": "positive", "prob": "unit"},
                                           accepts=dict(_ALPHA0)),
    "pyrepair.methods.CutoutRepair": Entry(call("pyrepair.methods.CutoutRepair", **_FAST),
                                           roles={**_TRAIN_HP, "size": "count", "n_holes": "count"},
                                           accepts=dict(_NO_HOLES)),
    "pyrepair.methods.MixUpRepair": Entry(call("pyrepair.methods.MixUpRepair", **_FAST),
                                          roles={**_TRAIN_HP, "alpha": "positive"}, accepts=dict(_ALPHA0)),
    "pyrepair.methods.DeepRepair": Entry(
        call("pyrepair.methods.DeepRepair", n_clusters=2, **_FAST),
        roles={**_TRAIN_HP, "n_clusters": "count", "style": "name", "sampling": "name", "lam": "nonneg",
               "p_style": "unit", "space": "name", "severity": "count", "width": "count", "alpha": "positive",
               "wct2_model": "model", "style_kwargs": "mapping", "n_members": "count"},
        accepts={"n_members:count_zero": "recording no cluster members is valid",
                 "style_kwargs:mapping_content": "an empty dict means no extra style_transfer arguments"}),
    "pyrepair.methods.DeepRepair.repair": _repair("DeepRepair", n_clusters=2, width=1),
    "pyrepair.methods.NNRepair": Entry(
        call("pyrepair.methods.NNRepair", layer="last", combine="merged", top_k=2, n_fail=1, n_pass=1, n_extra=0,
             bound=1.0, objective="l1", solver="glop", time_limit=10.0, epsilon=1e-3),
        roles={"layer": "index", "combine": "name", "n_fail": "count", "n_pass": "count", "n_extra": "count",
               **_PATCH_SOLVE},
        accepts={"layer:count_negative": "documented: a negative layer index counts from the end of the leaf "
                                         "modules; repair checks it against the model",
                 "layer:count_type": "documented: a str names a module ('3' is a name); repair checks it against "
                                     "the model",
                 "n_pass:count_zero": "experts built from failing examples only are valid (n_pass >= 0)",
                 "n_extra:count_zero": "no clean extras (the paper's 0-test setting)"}),
    "pyrepair.methods.NNRepair.repair": Entry(
        method(lambda: _fn("pyrepair.methods.NNRepair")(top_k=2, n_fail=1, n_pass=1, n_extra=4), "repair",
               model=tiny_model, train=dataset, failures=lambda: dataset(4), seed=0, progress=False, device="cpu",
               callbacks=()),
        roles={"model": "model", "train": "dataset", "failures": "dataset", "seed": "seed", "device": "device",
               "callbacks": "callbacks"},
        names=("NNRepair", "repair")),
    "pyrepair.methods.FineTune.repair": _repair("FineTune"),
    "pyrepair.methods.FineTuningMethod.repair": _repair("FineTuningMethod"),
    "pyrepair.methods.AugMixRepair.repair": _repair("AugMixRepair", severity=1, width=1),
    "pyrepair.methods.CutMixRepair.repair": _repair("CutMixRepair"),
    "pyrepair.methods.CutoutRepair.repair": _repair("CutoutRepair", size=4),
    "pyrepair.methods.MixUpRepair.repair": _repair("MixUpRepair"),
    # --- pyrepair.testing -------------------------------------------------------------------------------------
    "pyrepair.testing.assert_close": Entry(
        call("pyrepair.testing.assert_close", actual=images, expected=images),
        roles={"actual": "tensor", "expected": "tensor", "rtol": "nonneg", "atol": "nonneg"},
        ok_exceptions=(AssertionError,)),  # an assertion helper reports a mismatch as AssertionError
    "pyrepair.testing.available_devices": Entry(call("pyrepair.testing.available_devices")),
    "pyrepair.testing.make_images": Entry(call("pyrepair.testing.make_images", b=2, c=3, h=8, w=8, seed=0),
                                          roles={"b": "count", "c": "count", "h": "count", "w": "count",
                                                 "seed": "seed", "device": "device", "dtype": "dtype"},
                                          accepts={"b:count_zero": "an empty batch is a valid batch"}),
    "pyrepair.testing.num_threads": Entry(lambda: (_num_threads, {"n": 1}), roles={"n": "count"},
                                          names=("num_threads",), cleanup=_restore_threads),
    "pyrepair.testing.tolerance": Entry(call("pyrepair.testing.tolerance", dtype=torch.float32),
                                        roles={"dtype": "dtype"},
                                        accepts={"dtype:dtype_bad": "integer dtypes have a (zero) tolerance too"}),
    # --- pyrepair.cli -----------------------------------------------------------------------------------------
    "pyrepair.cli.main": Entry(call("pyrepair.cli.main", argv=lambda: ["info"]), roles={"argv": "argv"},
                               names=("pyrepair",),
                               accepts={k: "documented (issue 13 item 5): main never raises; a usage mistake is one "
                                        "line on stderr and exit status 2 (the suite fails a status of 0)"
                                        for k in ("argv:argv_unknown", "argv:argv_type")},
                               ok_exceptions=(SystemExit,)),  # argparse usage errors exit with status 2
}

#: public names that are not data-taking callables, one line of reason each
EXEMPT: dict[str, str] = {
    **{f"pyrepair.{e}": "exception class (constructed by the library, not a data entry point)"
       for e in ("ArgumentError", "ArgumentTypeError", "BackendUnavailableError", "CheckpointError", "DTypeError",
                 "DataFormatError", "DataNotFoundError", "DeviceError", "PathIsDirectoryError",
                 "PathNotFoundError", "PyrepairError", "ShapeError", "SolverError",
                 "UnknownNameError", "ValueRangeError")},
    "pyrepair.PyrepairWarning": "warning class",
    "pyrepair.data.DataFormatError": "re-export of the exception class pyrepair.DataFormatError",
    "pyrepair.train.CheckpointError": "re-export of the exception class pyrepair.CheckpointError",
    "pyrepair.data.FailureSplit": "pure data class (result of corruption_failures)",
    "pyrepair.scenarios.FailureSplit": "pure data class (result of corruption_failures)",
    "pyrepair.scenarios.PoisonedSet": "pure data class (result of poison)",
    "pyrepair.data.ImageData": "pure data class (NamedTuple of images, labels); validated where it is consumed",
    "pyrepair.augment.AugMixParams": "pure data class (sampled AugMix parameters)",
    "pyrepair.augment.CutMixParams": "pure data class (sampled CutMix parameters)",
    "pyrepair.augment.MixUpParams": "pure data class (sampled MixUp parameters)",
    "pyrepair.augment.MixedTargets": "pure data class (labels_a, labels_b, lam); validated by mixed_cross_entropy",
    "pyrepair.augment.ExtraOp": "type alias (Callable signature of an extra AugMix op)",
    "pyrepair.augment.StyleAugMixParams": "pure data class (sampled StyleAugMix parameters)",
    "pyrepair.augment.StyleBank": "pure data class (result of cluster_failures); its methods take cluster ids only",
    "pyrepair.train.Callback": "type alias (Callable[[dict], Any])",
    "pyrepair.train.Checkpoint": "pure data class (result of load_checkpoint)",
    "pyrepair.train.History": "pure data class (per-epoch records)",
    "pyrepair.methods.RepairResult": "pure data class (result of repair)",
    "pyrepair.patch.Patch": "pure data class (result of repair_layer); its apply takes a model and has an entry",
    "pyrepair.patch.Localization": "pure data class (result of localize)",
    "pyrepair.patch.Pattern": "pure data class (an activation pattern; holds() takes pre-activations)",
    "pyrepair.patch.Patterns": "pure data class (result of activation_patterns)",
    "pyrepair.methods.RepairMethod": "abstract base class (cannot be instantiated); its subclasses are covered",
    "pyrepair.methods.RepairMethod.repair": "abstract template; covered through every concrete method's .repair",
    "pyrepair.transform.OpInfo": "pure data class (row of the OPS table)",
    "pyrepair.metrics.CorruptionReport": "pure data class (result of corruption_report); its writers take no data",
}
