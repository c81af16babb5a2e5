"""Generated bad-input suite (issue 13 item 8; STYLE rules 4, 5, 11).

Every public callable of pyrepair (``contract_table.public_callables``: each package's ``__all__`` plus the
data-taking methods of its classes) needs an entry in ``contract_table.TABLE`` or a reason in ``EXEMPT``;
``test_every_public_callable_has_an_entry`` fails otherwise, so a function added later is attacked the day it lands.

From the ROLE of each argument (``ROLE_KINDS``) the suite generates bad inputs with hypothesis, one test per
(callable, argument, kind), and checks the contract on every example:

* the call returns a valid result, or raises a ``pyrepair.errors.PyrepairError`` whose message names the callable;
  a bad input accepted without error is a finding unless the kind is accepted on purpose (``DEFAULT_ACCEPTS``, the
  entry's ``accepts``, or ``WARNED_ACCEPTS`` when the call warns); an accepted non-contiguous / float64 / float16 /
  bfloat16 input must give the result of the equivalent contiguous float32 input;
* the inputs are unchanged (tensor values, dtype, shape, strides; a model's state_dict, requires_grad and
  training modes).

Today's failures are listed in ``KNOWN_GAPS`` (``tests/contract_gaps.py``) and run as ``xfail(strict=True)``: a fix
turns the case into an XPASS, which fails, so the entry must be removed.

Budget: ``PYREPAIR_CONTRACT_EXAMPLES`` (default 3 examples per case, derandomised); ``-m slow`` runs
``test_contract_deep`` (``PYREPAIR_CONTRACT_DEEP_EXAMPLES``, default 20) and checks that the failing set is exactly
``KNOWN_GAPS``. Report: ``PYREPAIR_CONTRACT_REPORT=path pytest tests/test_contract.py`` writes JSON + a summary, or
``python tests/test_contract.py --report [path]``; ``--summary path`` prints that report as markdown (calls per module,
what they raised, the inputs accepted on purpose with their reasons, and KNOWN_GAPS).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contract_table as ct  # noqa: E402

from pyrepair.errors import PyrepairError  # noqa: E402

EXAMPLES = int(os.environ.get("PYREPAIR_CONTRACT_EXAMPLES", "3"))
DEEP_EXAMPLES = int(os.environ.get("PYREPAIR_CONTRACT_DEEP_EXAMPLES", "20"))
CUDA = torch.cuda.is_available()


@dataclass
class Bad:
    value: Any  # the bad input
    label: str  # short description for messages and the report
    canonical: Any = None  # an equivalent valid input whose result an accepted call must reproduce
    tol: float = 0.0  # comparison tolerance against the canonical result


def _with(mk: Callable[[Any], Bad]) -> Callable[[Any], Bad]:
    return mk


# ----------------------------------------------------------------------------------------------------------------
# bad-input kinds: each is a hypothesis strategy of ``valid value -> Bad``


def _put(x: torch.Tensor, v: float) -> torch.Tensor:
    y = x.clone()
    y.view(-1)[0] = v
    return y


def _nhwc(x: torch.Tensor, c: int) -> torch.Tensor:
    b, _, h, w = x.shape
    return torch.rand(b, h, w, c)


def _nc_stack(x: torch.Tensor) -> torch.Tensor:
    return torch.stack([x, x], dim=-1)[..., 0]  # same values, last-dim stride 2


def _nc_transposed(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(-1, -2).contiguous().transpose(-1, -2)  # same values, transposed strides


def _s(*makers: Callable[[Any], Bad]) -> st.SearchStrategy[Callable[[Any], Bad]]:
    return st.sampled_from(makers)


_IMAGE_DTYPES_INT = (torch.uint8, torch.int64, torch.bool)
_FLOAT_TOL = {torch.float64: 1e-4, torch.float16: 2e-2, torch.bfloat16: 5e-2}
_SENTINELS = ("nope", "", "Fog ", "__init__")

TENSOR_KINDS: dict[str, st.SearchStrategy[Callable[[Any], Bad]]] = {
    "rank_minus1": _s(lambda x: Bad(x[0], f"rank {x.dim() - 1} (first item)")),
    "rank": _s(lambda x: Bad(x[None], f"rank {x.dim() + 1}"), lambda x: Bad(x.reshape(-1), "rank 1"),
               lambda x: Bad(torch.tensor(0.5), "rank 0")),
    "dtype_int": st.sampled_from(_IMAGE_DTYPES_INT).map(
        lambda d: lambda x: Bad((x * 255).to(d) if d == torch.uint8 else (x > 0.5).to(d), f"dtype {d}")),
    "dtype_float": st.sampled_from(tuple(_FLOAT_TOL)).map(
        lambda d: lambda x: Bad(x.to(d), f"dtype {d}", canonical=x.to(d).float(), tol=_FLOAT_TOL[d])),
    "complex": _s(lambda x: Bad(x.to(torch.complex64), "complex64")),
    "nonfinite": st.sampled_from((math.nan, math.inf, -math.inf)).map(lambda v: lambda x: Bad(_put(x, v), f"{v}")),
    "noncontiguous": _s(lambda x: Bad(_nc_stack(x), "strided view", canonical=x, tol=1e-5),
                        lambda x: Bad(_nc_transposed(x), "transposed view", canonical=x, tol=1e-5)),
    "meta": _s(lambda x: Bad(torch.empty_like(x, device="meta"), "meta tensor")),
    "wrong_type": _s(lambda x: Bad(x.tolist(), "nested list"), lambda x: Bad("x", "str"),
                     lambda x: Bad(None, "None")),
}
if CUDA:
    TENSOR_KINDS["cuda"] = _s(lambda x: Bad(x.cuda(), "cuda tensor", canonical=x, tol=1e-4))

IMAGE_KINDS = {
    **TENSOR_KINDS,
    "channels_last": st.sampled_from((1, 3)).map(lambda c: lambda x: Bad(_nhwc(x, c), f"NHWC with C={c}")),
    "empty_batch": _s(lambda x: Bad(x[:0], "batch of 0")),
    "tiny": _s(lambda x: Bad(torch.rand(x.shape[0], x.shape[1], 1, 1), "1x1 images")),
    "huge": st.sampled_from(((1, 3, 2**20, 2**20), (2**31, 3, 16, 16))).map(
        lambda s: lambda x: Bad(torch.empty(s, device="meta"), f"meta {list(s)}")),
    "out_of_range": st.floats(1.5, 1e6).map(lambda k: lambda x: Bad(x * k - 0.25 * k, f"values in ±{k:.3g}")),
}

LABEL_KINDS = {
    "labels_shape": _s(lambda y: Bad(y[:, None], "shape [B, 1]"), lambda y: Bad(y[:-1], "length B-1"),
                       lambda y: Bad(torch.cat([y, y]), "length 2B")),
    "labels_dtype": _s(lambda y: Bad(y.float(), "float32"), lambda y: Bad(y.to(torch.complex64), "complex64")),
    "labels_range": st.sampled_from((-1, -(10**6))).map(lambda v: lambda y: Bad(_put(y, v), f"label {v}")),
    "meta": _s(lambda y: Bad(torch.empty_like(y, device="meta"), "meta tensor")),
    "wrong_type": _s(lambda y: Bad("y", "str"), lambda y: Bad(1.5, "float")),
}

_NONINT = (1.5, math.nan, math.inf, "3", True, 2 + 0j)
INT_KINDS = {
    "count_negative": st.integers(-(2**70), -1).map(lambda v: lambda _: Bad(v, f"{v}")),
    "count_zero": _s(lambda _: Bad(0, "0")),
    "count_huge": st.integers(2**63, 2**100).map(lambda v: lambda _: Bad(v, f"{v}")),
    "count_type": st.sampled_from(_NONINT).map(lambda v: lambda _: Bad(v, repr(v))),
}
INDEX_KINDS = {k: INT_KINDS[k] for k in ("count_negative", "count_huge", "count_type")}
SEVERITY_KINDS = {
    "severity_range": st.sampled_from((0, 6, -1, 100)).map(lambda v: lambda s: Bad([v] if isinstance(s, list) else v,
                                                                                    f"{v}")),
    "count_type": st.sampled_from(_NONINT).map(lambda v: lambda s: Bad([v] if isinstance(s, list) else v, repr(v))),
}
_NONREAL = ("1.0", 1 + 1j, "nan")  # None is left out: it is the documented default of optional numbers
REAL_KINDS = {
    "nonfinite": st.sampled_from((math.nan, math.inf, -math.inf)).map(lambda v: lambda x: Bad(_numlike(x, v), f"{v}")),
    "num_type": st.sampled_from(_NONREAL).map(lambda v: lambda _: Bad(v, repr(v))),
}
NONNEG_KINDS = {
    **REAL_KINDS,
    "num_negative": st.floats(-1e6, -1e-3).map(lambda v: lambda x: Bad(_numlike(x, v), f"{v:.3g}")),
}
POSITIVE_KINDS = {**NONNEG_KINDS, "num_zero": _s(lambda x: Bad(_numlike(x, 0.0), "0.0"))}
UNIT_KINDS = {
    **REAL_KINDS,
    "num_out_of_unit": st.one_of(st.floats(-1e6, -1e-3), st.floats(1.001, 1e6)).map(
        lambda v: lambda x: Bad(v, f"{v:.3g}")),
}


def _numlike(valid: Any, v: float) -> Any:
    """A bad number shaped like the valid value (a list of numbers stays a list)."""
    if isinstance(valid, (list, tuple)):
        return [v] * len(valid)
    return v


SEED_KINDS = {
    "seed": st.one_of(st.sampled_from((-1, 2**64, 1.5, "0", True, math.nan)), st.integers(-(2**80), -1),
                      st.integers(2**64, 2**80)).map(lambda v: lambda _: Bad(v, repr(v))),
}
NAME_KINDS = {
    "unknown_name": st.one_of(st.sampled_from(_SENTINELS), st.text(min_size=1, max_size=8).map(lambda s: "zz" + s)).map(
        lambda v: lambda valid: Bad([v] if isinstance(valid, list) else v, repr(v))),
    "name_type": st.sampled_from((3, 1.5, b"fog")).map(
        lambda v: lambda valid: Bad([v] if isinstance(valid, list) else v, repr(v))),
}
DEVICE_KINDS = {  # small finite sets, each fully drawn by the default budget of 3 examples
    "device_name": st.sampled_from(("nope", "tpu") + (() if CUDA else ("cuda:0",))).map(
        lambda v: lambda _: Bad(v, repr(v))),
    "device_type": st.sampled_from((-2, 3.5, True)).map(lambda v: lambda _: Bad(v, repr(v))),
}
BACKEND_KINDS = {
    "backend": st.sampled_from(("nope", "CPU ", 3, None) + (() if CUDA else ("cuda",))).map(
        lambda v: lambda _: Bad(v, repr(v))),
}


def _identity_model() -> nn.Module:
    return nn.Identity()


MODEL_KINDS = {
    "model_type": st.sampled_from(("model", 3, (lambda x: x))).map(lambda v: lambda _: Bad(v, repr(v))),
    "model_output": _s(lambda _: Bad(nn.Identity(), "nn.Identity (4-D output, no parameters)")),
}
DATASET_KINDS = {
    "dataset_type": st.sampled_from((3, object(), "zz-no-such-dataset")).map(lambda v: lambda _: Bad(v, repr(v))),
    "dataset_length": _s(lambda d: Bad((d[0], d[1][:-1]), "labels one shorter than images")),
    "dataset_images": _s(lambda d: Bad((d[0].permute(0, 2, 3, 1).contiguous(), d[1]), "NHWC images"),
                         lambda d: Bad(((d[0] * 255).to(torch.uint8), d[1]), "uint8 images")),
    "dataset_labels": _s(lambda d: Bad((d[0], d[1].float()), "float labels"),
                         lambda d: Bad((d[0], torch.full_like(d[1], 10**6)), "labels out of range")),
}
PATH_KINDS = {
    "path_missing": _s(lambda _: Bad(ct.tmpdir() / "no" / "such" / "dir" / "f.pt", "missing parent folder")),
    "path_dir": _s(lambda _: Bad(ct.tmpdir(), "an existing directory")),
    "path_type": st.sampled_from((3, 1.5, b"\x00")).map(lambda v: lambda _: Bad(v, repr(v))),
}
CALLBACK_KINDS = {"callbacks": st.sampled_from((3, "cb", [3])).map(lambda v: lambda _: Bad(v, repr(v)))}
GENERATOR_KINDS = {
    "generator_int": st.sampled_from((0, 7)).map(lambda v: lambda _: Bad(v, repr(v))),
    "generator_type": st.sampled_from(("gen", 1.5, "np")).map(
        lambda v: lambda _: Bad(np.random.default_rng(0) if v == "np" else v, repr(v))),
}
DTYPE_KINDS = {"dtype_bad": st.sampled_from((torch.int64, torch.complex64, torch.bool, "float32", np.float32)).map(
    lambda v: lambda _: Bad(v, repr(v)))}
SHAPE_KINDS = {
    "shape_negative": st.sampled_from((-1, (2, -3), (-(2**40),))).map(lambda v: lambda _: Bad(v, repr(v))),
    "shape_huge": st.sampled_from(((2**40, 2**40), 2**100, (2**62, 4))).map(lambda v: lambda _: Bad(v, repr(v))),
    "shape_type": st.sampled_from((1.5, "3", (2.5,), None, True)).map(lambda v: lambda _: Bad(v, repr(v))),
}
MAPPING_KINDS = {
    "mapping_type": st.sampled_from((3, "cfg", [("a", 1)])).map(lambda v: lambda _: Bad(v, repr(v))),
    "mapping_content": _s(lambda m: Bad({}, "{}"), lambda m: Bad({**(m or {}), "name": "zz-nope"}, "unknown name"),
                          lambda m: Bad({**(m or {}), "zz_unknown_key": 1}, "unknown key")),
}
ARGV_KINDS = {
    "argv_unknown": st.sampled_from((["zz-nope"], ["--zz-nope"], ["evaluate", "--zz"])).map(
        lambda v: lambda _: Bad(v, repr(v))),
    "argv_type": st.sampled_from((3, "info", [3])).map(lambda v: lambda _: Bad(v, repr(v))),
}
INDEX_TENSOR_KINDS = {
    "rank": TENSOR_KINDS["rank"],
    "rank_minus1": TENSOR_KINDS["rank_minus1"],
    "index_dtype": _s(lambda t: Bad(t.float() + 0.5, "float"), lambda t: Bad(t.to(torch.complex64), "complex64")),
    "index_range": st.sampled_from((-(10**6), 10**6)).map(lambda v: lambda t: Bad(_put(t, v), f"{v}")),
    "meta": TENSOR_KINDS["meta"],
    "wrong_type": _s(lambda t: Bad("t", "str")),
}
OPAQUE_KINDS = {"wrong_type": st.sampled_from((3, "x", None)).map(lambda v: lambda _: Bad(v, repr(v)))}

ROLE_KINDS: dict[str, dict[str, st.SearchStrategy[Callable[[Any], Bad]]]] = {
    "images": IMAGE_KINDS, "tensor": TENSOR_KINDS, "labels": LABEL_KINDS, "index_tensor": INDEX_TENSOR_KINDS,
    "count": INT_KINDS, "index": INDEX_KINDS, "severity": SEVERITY_KINDS, "real": REAL_KINDS, "nonneg": NONNEG_KINDS,
    "positive": POSITIVE_KINDS, "unit": UNIT_KINDS, "seed": SEED_KINDS, "name": NAME_KINDS, "device": DEVICE_KINDS,
    "backend": BACKEND_KINDS, "model": MODEL_KINDS, "dataset": DATASET_KINDS, "path": PATH_KINDS,
    "callbacks": CALLBACK_KINDS, "generator": GENERATOR_KINDS, "dtype": DTYPE_KINDS, "shape": SHAPE_KINDS,
    "mapping": MAPPING_KINDS, "argv": ARGV_KINDS, "opaque": OPAQUE_KINDS,
}

#: kinds whose acceptance is a valid outcome everywhere (with the canonical comparison where Bad has one)
DEFAULT_ACCEPTS: dict[str, str] = {
    "noncontiguous": "a strided/transposed view is a valid tensor: the result must equal the contiguous one",
    "dtype_float": "floating dtypes may be converted: the result must equal the float32 one within tolerance",
    "cuda": "a CUDA tensor runs on the device: the result must equal the CPU one",
    "empty_batch": "a batch of 0 images is a valid batch (empty result)",
    "out_of_range": "values outside [0, 1] are not scanned for on every call (DESIGN: inputs are in [0, 1])",
    "tiny": "a 1x1 image is an image; functions with a minimum size must raise, the others may compute",
    "generator_int": "only where documented (entry-level accept); listed here as never harmful when it works",
}
DEFAULT_ACCEPTS.pop("generator_int")

#: kinds whose acceptance is valid when the call emits a PyrepairWarning (kind -> warning class name, reason)
WARNED_ACCEPTS: dict[str, tuple[str, str]] = {
    "channels_last": ("PyrepairWarning", "issue 13 item 1: where any number of channels is allowed (transform ops, "
                      "mixing ops), an [N, H, W, C] tensor with C in {1, 3} and H > 4 is a valid NCHW tensor too; "
                      "it is computed as NCHW with a PyrepairWarning that it looks channels-last"),
}


# ----------------------------------------------------------------------------------------------------------------
# cases


def all_cases() -> list[tuple[str, str, str]]:
    out = []
    for q, e in sorted(ct.TABLE.items()):
        out.append((q, "-", "valid"))
        for arg, role in e.roles.items():
            for kind in ROLE_KINDS[role]:
                if kind in e.skip or f"{arg}:{kind}" in e.skip:
                    continue
                out.append((q, arg, kind))
    return out


def accepted(e: ct.Entry, arg: str, kind: str) -> bool:
    return kind in DEFAULT_ACCEPTS or kind in e.accepts or f"{arg}:{kind}" in e.accepts


# ----------------------------------------------------------------------------------------------------------------
# snapshots (inputs must be unchanged)


def _snap(v: Any, depth: int = 0) -> Any:
    if depth > 4:
        return None
    if isinstance(v, torch.Tensor):
        meta = (v.dtype, tuple(v.shape), tuple(v.stride()), v.device.type)
        if v.device.type == "meta":
            return ("meta", meta)
        return ("t", meta, v.detach().clone())
    if isinstance(v, nn.Module):
        return ("m", {k: t.detach().clone() for k, t in v.state_dict().items()},
                [m.training for m in v.modules()], [p.requires_grad for p in v.parameters()])
    if isinstance(v, np.ndarray):
        return ("a", v.copy())
    if isinstance(v, (list, tuple)):
        return ("l", type(v), [_snap(x, depth + 1) for x in v])
    if isinstance(v, dict):
        return ("d", {k: _snap(x, depth + 1) for k, x in v.items()})
    if is_dataclass(v) and not isinstance(v, type):
        return ("dc", {f.name: _snap(getattr(v, f.name), depth + 1) for f in fields(v)})
    return ("o", id(v))


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.is_floating_point() or a.is_complex():
            return bool(torch.equal(torch.nan_to_num(a), torch.nan_to_num(b))
                        and torch.equal(torch.isnan(a), torch.isnan(b)))
        return bool(torch.equal(a, b))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


# ----------------------------------------------------------------------------------------------------------------
# result comparison (accepted bad input vs its canonical twin)


def _tensors(r: Any, depth: int = 0) -> list[torch.Tensor] | None:
    """Tensors of a result made only of tensors/tuples/lists/tensor dataclasses; None when it holds anything else."""
    if isinstance(r, torch.Tensor):
        return [r]
    if depth < 3 and isinstance(r, (list, tuple)) and not hasattr(r, "_fields"):
        parts = [_tensors(x, depth + 1) for x in r]
        return None if any(p is None for p in parts) else [t for p in parts for t in p]  # type: ignore[union-attr]
    if depth < 3 and (hasattr(r, "_fields") or (is_dataclass(r) and not isinstance(r, type))):
        vals = [getattr(r, f) for f in (r._fields if hasattr(r, "_fields") else [f.name for f in fields(r)])]
        return _tensors(list(vals), depth + 1)
    return None


def _compare(got: Any, want: Any, tol: float) -> str | None:
    tg, tw = _tensors(got), _tensors(want)
    if tg is None or tw is None:
        return None  # not a tensor result (models, histories): acceptance is judged by "no error" only
    if len(tg) != len(tw):
        return f"returned {len(tg)} tensors, the equivalent valid input gives {len(tw)}"
    for a, b in zip(tg, tw, strict=True):
        if a.shape != b.shape:
            return f"result shape {list(a.shape)} != {list(b.shape)} of the equivalent valid input"
        a, b = a.detach().cpu(), b.detach().cpu()
        if a.is_floating_point() or b.is_floating_point():
            a, b = a.double(), b.double()
            bad = ~torch.isclose(a, b, rtol=tol, atol=tol, equal_nan=True)
            if bad.any():
                worst = float((a - b).abs().nan_to_num().max())
                return f"result differs from the equivalent valid input by {worst:.3g}"
        elif not torch.equal(a, b):
            return "integer result differs from the equivalent valid input"
    return None


# ----------------------------------------------------------------------------------------------------------------
# one call under the contract

RECORDS: list[dict[str, Any]] = []


CALL_TIMEOUT_S = 20.0
HUGE_KINDS = ("huge", "count_huge", "shape_huge", "shape_negative", "count_negative")
_HEADROOM = 3 * 2**30  # bytes of address space a call on a "huge" input may add (never GBs of real memory)


class CallTimeout(Exception):
    """Raised into a call that ran past CALL_TIMEOUT_S (a hang is a contract violation)."""


@contextlib.contextmanager
def guard(kind: str) -> Any:
    """Bound a call: SIGALRM after CALL_TIMEOUT_S, and for huge sizes an address-space cap (Linux) so that an
    allocation before validation fails fast instead of swapping the CI machine."""
    import resource
    import signal
    import threading

    main = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM")
    old_lim = None
    if kind in HUGE_KINDS and Path("/proc/self/status").exists():
        vm = next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines()
                  if line.startswith("VmSize:"))
        old_lim = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (vm + _HEADROOM, old_lim[1]))
    if main:
        def _alarm(*_: Any) -> None:
            raise CallTimeout(f"call ran past {CALL_TIMEOUT_S} s")

        old_handler = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, CALL_TIMEOUT_S)
    try:
        yield
    finally:
        if main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
        if old_lim is not None:
            resource.setrlimit(resource.RLIMIT_AS, old_lim)


def _invoke(e: ct.Entry, fn: Callable[..., Any], kwargs: dict[str, Any], kind: str = "valid"
            ) -> tuple[str, Any, list[str]]:
    """Run a call with stdout/stderr captured and warnings recorded; ('ok', result) or ('raised', exception)."""
    with warnings.catch_warnings(record=True) as w, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()), guard(kind):
        warnings.simplefilter("always")
        try:
            out = ("ok", fn(**kwargs))
        except BaseException as exc:  # noqa: BLE001 - judged below; KeyboardInterrupt is re-raised
            if isinstance(exc, KeyboardInterrupt):
                raise
            out = ("raised", exc)
        finally:
            if e.cleanup is not None:
                e.cleanup()
    return out[0], out[1], [type(x.message).__name__ for x in w]


def check_call(q: str, arg: str, kind: str, mk: Callable[[Any], Bad] | None,
               table: dict[str, ct.Entry] | None = None) -> str | None:
    """Apply one bad input to entry ``q``; return a violation message or None. Records the outcome."""
    e = (table or ct.TABLE)[q]
    fn, kwargs = e.build()
    bad = None
    if mk is not None:
        bad = mk(kwargs.get(arg))
        kwargs[arg] = bad.value
    before = _snap({k: v for k, v in kwargs.items() if k not in e.mutates})
    status, res, warns = _invoke(e, fn, kwargs, kind)
    label = bad.label if bad else "valid call"
    rec = {"callable": q, "module": _module_of(q), "arg": arg, "kind": kind, "input": label, "warnings": warns}
    problems: list[str] = []
    cats: list[str] = []  # one short category per problem (for KNOWN_GAPS reasons and the report)
    names = e.names or (q.rsplit(".", 1)[1],)
    if status == "raised":
        rec["outcome"] = type(res).__name__
        rec["message"] = str(res)[:300]
        rec["pyrepair"] = isinstance(res, PyrepairError)
        if isinstance(res, PyrepairError):
            if not any(n in str(res) for n in names):
                problems.append(f"{type(res).__name__} message does not name {names[0]!r}: {str(res)[:200]!r}")
                cats.append(f"{type(res).__name__} names {str(res).split(':', 1)[0][:40]!s}")
        elif isinstance(res, e.ok_exceptions):
            if isinstance(res, SystemExit) and res.code in (0, None) and mk is not None:
                problems.append("exited with status 0 on a bad input")
                cats.append("exit status 0")
        elif isinstance(res, CallTimeout):
            problems.append(f"hang: {res}")
            cats.append("hang")
        else:
            problems.append(f"non-pyrepair {type(res).__name__}: {str(res)[:200]!r}")
            cats.append(f"{type(res).__name__} escapes")
    else:
        rec["outcome"] = "accepted" if mk is not None else "ok"
        rec["pyrepair"] = None
        if isinstance(res, BaseException):
            problems.append(f"returned (not raised) {type(res).__name__}")
            cats.append("returned an exception")
        elif mk is not None:
            warned = kind in WARNED_ACCEPTS and WARNED_ACCEPTS[kind][0] in warns
            if not accepted(e, arg, kind) and not warned:
                problems.append(f"accepted silently (returned {type(res).__name__})")
                cats.append("accepted silently")
            elif bad is not None and bad.canonical is not None:
                fn2, kw2 = e.build()
                kw2[arg] = bad.canonical
                st2, want, _ = _invoke(e, fn2, kw2, kind)
                if st2 == "ok":
                    diff = _compare(res, want, bad.tol)
                    if diff:
                        problems.append(diff)
                        cats.append("result differs from the equivalent valid input")
        if q == "pyrepair.cli.main" and mk is not None and res == 0:
            problems.append("returned exit status 0 on a bad input")
            cats.append("exit status 0")
    after = _snap({k: v for k, v in kwargs.items() if k not in e.mutates})
    if not _same(before, after):
        problems.append("an input was modified by the call")
        cats.append("input modified")
    rec["violation"] = "; ".join(problems) or None
    rec["categories"] = cats
    RECORDS.append(rec)
    return f"{q}({arg}={label}): {rec['violation']}" if problems else None


def _module_of(q: str) -> str:
    for m in sorted(ct.MODULES, key=len, reverse=True):
        if q.startswith(m + "."):
            return m
    return q


def run_case(q: str, arg: str, kind: str, examples: int, table: dict[str, ct.Entry] | None = None) -> list[str]:
    """All violations of one (callable, arg, kind) case over ``examples`` generated inputs (no shrinking)."""
    violations: list[str] = []
    if kind == "valid":
        v = check_call(q, arg, kind, None, table)
        return [v] if v else []
    role = (table or ct.TABLE)[q].roles[arg]

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mk=ROLE_KINDS[role][kind])
    def inner(mk: Callable[[Any], Bad]) -> None:
        v = check_call(q, arg, kind, mk, table)
        if v and v not in violations:
            violations.append(v)

    inner()
    return violations


# ----------------------------------------------------------------------------------------------------------------
# known gaps: (callable, "arg:kind") -> why it fails today. Remove an entry when its fix lands (the XPASS fails).

from contract_gaps import KNOWN_GAPS  # noqa: E402  (the list is long; it lives beside this file)


def _params() -> list[Any]:
    out = []
    for q, arg, kind in all_cases():
        key = (q, f"{arg}:{kind}")
        marks = [pytest.mark.xfail(strict=True, raises=pytest.fail.Exception, reason=KNOWN_GAPS[key])] \
            if key in KNOWN_GAPS else []
        out.append(pytest.param(q, arg, kind, id=f"{q.removeprefix('pyrepair.')}|{arg}|{kind}", marks=marks))
    return out


@pytest.mark.parametrize(("q", "arg", "kind"), _params())
def test_contract(q: str, arg: str, kind: str) -> None:
    cap = ct.TABLE[q].max_examples
    violations = run_case(q, arg, kind, min(EXAMPLES, cap) if cap else EXAMPLES)
    if violations:  # pytrace=False: the findings are the message; no traceback (cheap, and xfail-able by type)
        pytest.fail("\n".join(violations), pytrace=False)


def test_known_gaps_refer_to_cases() -> None:
    cases = {(q, f"{a}:{k}") for q, a, k in all_cases()}
    stale = sorted(set(KNOWN_GAPS) - cases)
    assert not stale, f"KNOWN_GAPS entries with no generated case: {stale}"


@pytest.mark.slow
def test_contract_deep() -> None:
    """Every case with a bigger budget: the failing set must be exactly KNOWN_GAPS."""
    failing = set()
    for q, arg, kind in all_cases():
        if run_case(q, arg, kind, DEEP_EXAMPLES):
            failing.add((q, f"{arg}:{kind}"))
    assert failing == set(KNOWN_GAPS), (f"new failures: {sorted(failing - set(KNOWN_GAPS))}; "
                                        f"fixed (remove): {sorted(set(KNOWN_GAPS) - failing)}")


# ----------------------------------------------------------------------------------------------------------------
# coverage of new functions


def test_every_public_callable_has_an_entry() -> None:
    found = ct.public_callables(ct.load_modules())
    missing = ct.uncovered(found, ct.TABLE, ct.EXEMPT)
    assert not missing, f"public callables with no contract entry (add one to tests/contract_table.py): {missing}"
    stale = sorted((set(ct.TABLE) | set(ct.EXEMPT)) - set(found))
    assert not stale, f"contract entries for names that are no longer public: {stale}"


def test_table_roles_are_known() -> None:
    for q, e in ct.TABLE.items():
        unknown = {r for r in e.roles.values() if r not in ROLE_KINDS}
        assert not unknown, f"{q}: unknown roles {unknown}"


def _fake_module() -> Any:
    import types

    mod = types.ModuleType("pyrepair.fake")

    def brand_new(images: torch.Tensor) -> torch.Tensor:
        return images

    class NewAug(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    brand_new.__module__ = NewAug.__module__ = "pyrepair.fake"
    mod.brand_new, mod.NewAug, mod.CONST = brand_new, NewAug, 3
    mod.__all__ = ["brand_new", "NewAug", "CONST"]
    return mod


def test_new_public_function_is_reported_uncovered() -> None:
    found = ct.public_callables({"pyrepair.fake": _fake_module()})
    assert ct.uncovered(found, ct.TABLE, ct.EXEMPT) == ["pyrepair.fake.NewAug", "pyrepair.fake.NewAug.forward",
                                                         "pyrepair.fake.brand_new"]
    assert ct.uncovered(found, {**ct.TABLE, "pyrepair.fake.brand_new": ct.Entry(ct.call("x"))},
                        {"pyrepair.fake.NewAug": "r", "pyrepair.fake.NewAug.forward": "r"}) == []


class _Fake:
    """Callables that each break one clause of the contract, to test the checker itself."""

    @staticmethod
    def good(images: torch.Tensor) -> torch.Tensor:
        from pyrepair._checks import check_image

        check_image(images, "images", "pyrepair.fake.good")
        return images * 2

    @staticmethod
    def raw_error(images: torch.Tensor) -> torch.Tensor:
        return images.view(-1, 3, 7)  # RuntimeError from torch on most bad shapes

    @staticmethod
    def silent(images: torch.Tensor) -> torch.Tensor:
        return torch.zeros(1)

    @staticmethod
    def strides_ignored(images: torch.Tensor) -> torch.Tensor:
        return torch.as_strided(images, (images.numel(),), (1,))  # reads storage as if contiguous (a C++ bug class)

    @staticmethod
    def unnamed(images: torch.Tensor) -> torch.Tensor:
        from pyrepair.errors import ShapeError

        raise ShapeError("bad input")

    @staticmethod
    def mutates(images: torch.Tensor) -> torch.Tensor:
        from pyrepair._checks import check_image

        if isinstance(images, torch.Tensor) and images.device.type == "cpu" and images.numel():
            images.mul_(0.5)
        check_image(images, "images", "pyrepair.fake.mutates")
        return images

    @staticmethod
    def mutates_model(model: nn.Module) -> None:
        model.train(not model.training)


def _fake_table() -> dict[str, ct.Entry]:
    return {f"pyrepair.fake.{n}": ct.Entry(lambda n=n: (getattr(_Fake, n), {"images": ct.images()}),
                                           roles={"images": "images"})
            for n in ("good", "raw_error", "silent", "strides_ignored", "unnamed", "mutates")} | {
        "pyrepair.fake.mutates_model": ct.Entry(lambda: (_Fake.mutates_model, {"model": ct.tiny_model()}),
                                                roles={"model": "model"})}


def test_checker_flags_each_broken_clause() -> None:
    table = _fake_table()
    n = len(RECORDS)
    try:
        assert run_case("pyrepair.fake.good", "images", "rank", 3, table) == []
        assert run_case("pyrepair.fake.good", "images", "noncontiguous", 3, table) == []
        assert "non-pyrepair RuntimeError" in run_case("pyrepair.fake.raw_error", "images", "rank", 3, table)[0]
        assert "accepted silently" in run_case("pyrepair.fake.silent", "images", "complex", 1, table)[0]
        assert "differs" in run_case("pyrepair.fake.strides_ignored", "images", "noncontiguous", 1, table)[0]
        assert "does not name" in run_case("pyrepair.fake.unnamed", "images", "rank", 1, table)[0]
        assert "modified" in run_case("pyrepair.fake.mutates", "images", "channels_last", 1, table)[0]
        assert "modified" in check_call("pyrepair.fake.mutates_model", "-", "valid", None, table)
    finally:
        del RECORDS[n:]  # the fakes stay out of the report


# ----------------------------------------------------------------------------------------------------------------
# counting report


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    per_module: dict[str, Counter[str]] = defaultdict(Counter)
    findings: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        c = per_module[r["module"]]
        c["calls"] += 1
        c[f"outcome:{r['outcome']}"] += 1
        if r["violation"] and "non-pyrepair" in r["violation"]:
            c["non_pyrepair_exceptions"] += 1
        if r["violation"] and r["violation"].startswith("accepted silently"):
            c["silently_accepted"] += 1
        if r["violation"]:
            c["violations"] += 1
            msg = f"{r['arg']}={r['input']}: {r['violation']}"
            key = f"{r['arg']}:{r['kind']}"
            if msg not in findings[r["callable"]][key]:
                findings[r["callable"]][key].append(msg)
    return {"per_module": {m: dict(c) for m, c in sorted(per_module.items())},
            "findings": {q: dict(v) for q, v in sorted(findings.items())}}


@pytest.fixture(scope="module", autouse=True)
def _report() -> Any:
    yield
    path = os.environ.get("PYREPAIR_CONTRACT_REPORT")
    if path:
        data = summarize(RECORDS)
        data["records"] = RECORDS
        Path(path).write_text(json.dumps(data, indent=1, default=str))


def print_report(path: str) -> None:
    data = json.loads(Path(path).read_text())
    total: Counter[str] = Counter()
    for m, c in data["per_module"].items():
        total.update(c)
        outcomes = ", ".join(f"{k[8:]} {v}" for k, v in sorted(c.items()) if k.startswith("outcome:"))
        print(f"{m}: {c['calls']} calls; non-pyrepair exceptions {c.get('non_pyrepair_exceptions', 0)}; "
              f"silently accepted {c.get('silently_accepted', 0)}; violations {c.get('violations', 0)}\n    {outcomes}")
    print(f"TOTAL: {total['calls']} calls, {total['non_pyrepair_exceptions']} non-pyrepair exceptions, "
          f"{total['silently_accepted']} silently accepted, {total['violations']} violations")


def print_summary(path: str) -> None:
    """Markdown for an issue's closing note: per module, the calls of a report and what each returned or raised,
    then every input accepted on purpose (with its reason) and what is left in KNOWN_GAPS."""
    data = json.loads(Path(path).read_text())
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    raised: dict[str, Counter[str]] = defaultdict(Counter)
    for r in data["records"]:
        c = rows[r["module"]]
        c["calls"] += 1
        if r["outcome"] == "ok":
            c["valid input, valid result"] += 1
        elif r["outcome"] == "accepted":
            warned = r["kind"] in WARNED_ACCEPTS and WARNED_ACCEPTS[r["kind"]][0] in r["warnings"]
            c["bad input accepted silently" if r["violation"] else
              "bad input accepted with a warning" if warned else "bad input accepted on purpose"] += 1
        elif r["pyrepair"]:
            raised[r["module"]][r["outcome"]] += 1
            c["raised a PyrepairError"] += 1
        elif r["violation"]:
            c["non-pyrepair exception"] += 1
        else:
            c["documented builtin outcome"] += 1  # AssertionError of assert_close, SystemExit of argparse
        if r["violation"]:
            c["violations"] += 1
    cols = ["calls", "valid input, valid result", "bad input accepted on purpose", "bad input accepted with a warning",
            "raised a PyrepairError",
            "documented builtin outcome", "non-pyrepair exception", "bad input accepted silently", "violations"]
    total: Counter[str] = Counter()
    print("| module | " + " | ".join(cols) + " | PyrepairError subclasses raised |")
    print("|---" * (len(cols) + 2) + "|")
    for m in sorted(rows):
        total.update(rows[m])
        subs = ", ".join(f"{k} {v}" for k, v in raised[m].most_common())
        print(f"| {m} | " + " | ".join(str(rows[m][k]) for k in cols) + f" | {subs} |")
    all_raised: Counter[str] = Counter()
    for c in raised.values():
        all_raised.update(c)
    subs = ", ".join(f"{k} {v}" for k, v in all_raised.most_common())
    print("| **total** | " + " | ".join(f"**{total[k]}**" for k in cols) + f" | {subs} |")
    print("\n### Accepted on purpose\n")
    for kind, why in DEFAULT_ACCEPTS.items():
        print(f"- every callable, `{kind}`: {why}")
    for kind, (warning, why) in WARNED_ACCEPTS.items():
        print(f"- every callable, `{kind}` (with a {warning}): {why}")
    for q, e in sorted(ct.TABLE.items()):
        for key, why in e.accepts.items():
            print(f"- `{q}` `{key}`: {why}")
    print(f"\n### KNOWN_GAPS left: {len(KNOWN_GAPS)}\n")
    for (q, key), why in sorted(KNOWN_GAPS.items()):
        print(f"- `{q}` `{key}`: {why}")


def print_gaps(path: str) -> None:
    """The KNOWN_GAPS literal for the failing cases of a report (review every line before pasting it)."""
    data = json.loads(Path(path).read_text())
    why: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    for r in data["records"]:
        for c in r.get("categories") or ():
            why[(r["callable"], f"{r['arg']}:{r['kind']}")][c] = None
    for key in sorted(why):
        print(f"    {key!r}: {', '.join(why[key])!r},")


if __name__ == "__main__":
    if "--gaps" in sys.argv:
        print_gaps(sys.argv[sys.argv.index("--gaps") + 1])
    elif "--summary" in sys.argv:  # markdown of an existing report (write one with --report first)
        print_summary(sys.argv[sys.argv.index("--summary") + 1])
    elif "--report" in sys.argv:
        i = sys.argv.index("--report")
        out = sys.argv[i + 1] if len(sys.argv) > i + 1 else "contract-report.json"
        out = str(Path(out).resolve())
        # a fresh `pytest` process (not pytest.main here: hypothesis is already imported, so assertion rewriting
        # would warn, and `python -m pytest` would import the source tree instead of the installed package)
        import shutil
        import subprocess

        exe = shutil.which("pytest", path=str(Path(sys.executable).parent)) or "pytest"
        subprocess.run([exe, str(Path(__file__).resolve()), "-q", "-p", "no:cacheprovider", "-m", "not slow", "-rN"],
                       cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "PYREPAIR_CONTRACT_REPORT": out},
                       stdout=subprocess.DEVNULL, check=False)
        print_report(out)
    else:
        print(__doc__)
