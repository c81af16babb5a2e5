"""NNrepair (Usman et al., CAV 2021): constraint-based repair of the output layer, one expert per class.

``shared/spec/nnrepair.md``. No training: for each class ``C`` with misclassified examples among the failures
(the defect set: Train, P-Train or Adv-Train with their true labels), a linear program finds the smallest change of
the ``top_k`` most suspicious weights into logit ``C`` that fixes ``n_fail`` failing examples of ``C`` while
``n_pass`` passing examples of ``C`` and ``n_extra`` clean passing examples (stratified over the classes, drawn from
``train``) stay correct (:func:`pyrepair.patch.class_experts`, OR-Tools). The experts are then combined
(:func:`pyrepair.patch.combine`): ``"merged"`` adds all changes to the weights; ``"naive"``, ``"confidence"`` and
``"votes"`` run the experts side by side in a replacement output layer and combine their decisions per input.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from pyrepair.methods import NNRepair
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))
    >>> x = torch.rand(60, 1, 4, 4)
    >>> y = model(x).argmax(1)
    >>> y[:6] = (y[:6] + 1) % 3                     # six examples the model gets wrong
    >>> method = NNRepair(combine="merged", bound=5.0, soft=True)
    >>> result = method.repair(model, (x[6:], y[6:]), (x[:6], y[:6]), progress=False)
    >>> result.metrics["failures"]["before"], result.metrics["failures"]["after"] > 0
    (0.0, True)
    >>> [(e["cls"], e["status"]) for e in result.info["experts"]]   # class 2's expert fixed only some
    [(2, 'soft')]
    >>> sorted(result.info)
    ['classes_kept', 'experts', 'lp_totals', 'solve_seconds']
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .._checks import check_in, check_int, check_positive
from .._images import ImageData
from .._loop import Callback
from ..errors import ArgumentError, ArgumentTypeError, PyrepairError, PyrepairWarning
from ..patch import (
    OBJECTIVES,
    SOLVERS,
    STRATEGIES,
    class_experts,
    combine,
    f1_filter,
    layer_kind,
    localize,
    repair_layer,
)
from ..train import History, predict
from .base import RepairMethod

__all__ = ["NNRepair"]

logger = logging.getLogger(__name__)


def _tensors(data: ImageData | Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """A validated data set as one ``(images, labels)`` pair on the CPU (a ``Dataset`` is read once)."""
    if isinstance(data, ImageData):
        return data.images.cpu(), data.labels.cpu().long()
    xs, ys = [], []
    for xb, yb in DataLoader(data, batch_size=512, shuffle=False):
        xs.append(torch.as_tensor(xb))
        ys.append(torch.as_tensor(yb).long().reshape(-1))
    return torch.cat(xs), torch.cat(ys)


class NNRepair(RepairMethod):
    """NNrepair (last-layer or intermediate-layer repair) as a :class:`~pyrepair.methods.RepairMethod`.

    ``repair(model, train, failures, val=...)``: ``failures`` is the defect set whose misclassified examples are to
    be fixed (with their true labels); ``train`` supplies passing examples (the top-up of each expert's ``Pass_C``
    when ``failures`` holds too few correct examples of class ``C``, the ``n_extra`` clean extras, the ``Pass`` mean
    of the defect score, and the F1 filter set). The repaired model is a copy of the user's model with changed
    weights (``"merged"``); with a run-time strategy, the copy with its output layer replaced by the experts run side
    by side (output-layer experts), or a wrapper module that runs the prefix once and the suffix once per expert
    (intermediate-layer experts, §2.6 variant A). :meth:`RepairResult.save` and ``load`` keep either.

    Args:
        layer: the repaired ``nn.Linear``: ``"last"`` (the output layer), an index into the leaf modules or a module
            name. An intermediate layer uses the activation-pattern oracle (:func:`pyrepair.patch.class_experts`).
        experts: one expert per class (§2.6); ``False`` solves one joint LP over all failing classes instead (output
            layer only: an intermediate layer's oracle is a per-class activation pattern).
        combine: ``"votes"``, ``"confidence"``, ``"naive"`` or ``"merged"`` (experts only).
        f1_filter: keep only experts whose F1 for their class on ``train`` beats the original model's (§2.6 C).
        top_k: suspicious edges per faulty neuron (the class's logit for the output layer); >= 1; default
            (``None``): 5 for the output layer, 10 % of the fan-in for an intermediate one (§4).
        n_fail, n_pass: failing / passing examples per class; >= 1 / >= 0; default (``None``): 5 / 5 for the
            output layer, all / ``|Fail_C|`` + 100 for an intermediate one (§4).
        n_extra: clean passing examples from ``train`` added to every LP, ``n_extra // K`` per class; >= 0.
        bound: box bound on each weight change; > 0; default (``None``): 0.5 for the output layer, 1.0 for an
            intermediate one (§7-A2).
        objective: ``"l1"``, ``"linf"``, ``"l1+linf"`` or ``"none"``.
        solver: ``"glop"``, ``"pdlp"``, ``"scip"`` or ``"cp-sat"``.
        time_limit: seconds per solver call; > 0.
        soft: ``True``: the soft variant for every expert (max fixed failing examples, then min change, §2.5);
            ``"auto"``: only for experts whose hard LP is infeasible (§7-A4); ``False``: hard only.
        epsilon: decision margin in logit units; > 0.

    Raises:
        TypeError, ValueError, UnknownNameError: an invalid hyper-parameter (the message names it and its value).

    ``RepairResult.info`` holds each expert's :meth:`~pyrepair.patch.Patch.summary` (status, objective, solve and
    assembly seconds, LP rows/columns/non-zeros, the changed weights), the classes kept, and totals.
    """

    name = "nnrepair"

    def __init__(
        self,
        layer: int | str = "last",
        *,
        experts: bool = True,
        combine: Literal["naive", "confidence", "votes", "merged"] = "votes",
        f1_filter: bool = False,
        top_k: int | None = None,
        n_fail: int | None = None,
        n_pass: int | None = None,
        n_extra: int = 50,
        bound: float | None = None,
        objective: Literal["l1", "linf", "l1+linf", "none"] = "l1",
        solver: Literal["glop", "pdlp", "scip", "cp-sat"] = "glop",
        time_limit: float = 60.0,
        soft: bool | Literal["auto"] = False,
        epsilon: float = 1e-3,
    ) -> None:
        fn = "pyrepair.methods.NNRepair"
        if isinstance(layer, bool) or not isinstance(layer, (int, str)):
            raise ArgumentTypeError(f"{fn}: layer must be 'last', an int index or a module name, got {layer!r}")
        if not isinstance(layer, str):
            check_int(layer, "layer", fn, min_value=-(2**63))
        for name, value in (("experts", experts), ("f1_filter", f1_filter)):
            if not isinstance(value, bool):
                raise ArgumentTypeError(f"{fn}: {name} must be True or False, got {value!r}")
        if not isinstance(soft, bool) and soft != "auto":
            raise ArgumentTypeError(f"{fn}: soft must be True, False or 'auto', got {soft!r}")
        for name, value, valid in (("combine", combine, STRATEGIES), ("objective", objective, OBJECTIVES),
                                   ("solver", solver, SOLVERS)):
            if not isinstance(value, str):
                raise ArgumentTypeError(f"{fn}: {name} must be one of {', '.join(valid)}, got {value!r}")
            check_in(name, value, valid, fn)
        self.layer = layer
        self.experts, self.combine, self.f1_filter, self.soft = experts, combine, f1_filter, soft
        self.top_k = None if top_k is None else check_int(top_k, "top_k", fn, min_value=1)
        self.n_fail = None if n_fail is None else check_int(n_fail, "n_fail", fn, min_value=1)
        self.n_pass = None if n_pass is None else check_int(n_pass, "n_pass", fn, min_value=0)
        self.n_extra = check_int(n_extra, "n_extra", fn, min_value=0)
        self.bound = None if bound is None else check_positive(bound, "bound", fn)
        self.time_limit = check_positive(time_limit, "time_limit", fn)
        self.epsilon = check_positive(epsilon, "epsilon", fn)
        self.objective, self.solver = objective, solver
        self._set_config(layer=layer, experts=experts, combine=combine, f1_filter=f1_filter, top_k=self.top_k,
                         n_fail=self.n_fail, n_pass=self.n_pass, n_extra=self.n_extra, bound=self.bound,
                         objective=objective, solver=solver, time_limit=self.time_limit, soft=soft,
                         epsilon=self.epsilon)

    def _check_inputs(self, train: ImageData | Dataset, failures: ImageData | Dataset | None, fn: str) -> None:
        if failures is None:
            raise ArgumentError(f"{fn}: NNRepair needs failures (the defect set whose misclassified examples it "
                                "fixes, with their true labels); pass failures=(images, labels)")

    def _solver_kwargs(self) -> dict[str, Any]:
        return {"bound": self.bound, "objective": self.objective, "solver": self.solver,
                "time_limit": self.time_limit, "soft": self.soft, "epsilon": self.epsilon}

    def _fit(
        self,
        model: nn.Module,
        train: ImageData | Dataset,
        failures: ImageData | Dataset | None,
        *,
        val: ImageData | Dataset | None,
        device: torch.device,
        seed: int,
        progress: bool | None,
        callbacks: list[Callback],
    ) -> tuple[History, dict[str, Any]] | tuple[History, dict[str, Any], nn.Module]:
        try:
            return self._repair(model, train, failures, seed, progress)
        except PyrepairError as e:  # a building block's message names it; say which method the user called too
            if e.args and isinstance(e.args[0], str):
                e.args = (f"{self._fn()}: {e.args[0]}", *e.args[1:])
            raise

    def _repair(
        self,
        model: nn.Module,
        train: ImageData | Dataset,
        failures: ImageData | Dataset | None,
        seed: int,
        progress: bool | None = None,
    ) -> tuple[History, dict[str, Any]] | tuple[History, dict[str, Any], nn.Module]:
        assert failures is not None
        fn = self._fn()
        t0 = time.perf_counter()
        xt, yt = _tensors(train)
        xf, yf = _tensors(failures)
        rng = np.random.default_rng(seed)
        pt = predict(model, xt).argmax(1)
        pf = predict(model, xf).argmax(1)
        k = int(predict(model, xt[:1]).shape[1])
        ok_t = (pt == yt).numpy()
        ytn, yfn = yt.numpy(), yf.numpy()
        # top-up of Pass_C from train where failures hold fewer than n_pass correct examples of C (§2.3)
        ok_f = (pf == yf).numpy()
        top_up = []
        for c in range(k):
            short = (5 if self.n_pass is None else self.n_pass) - int(np.sum(ok_f & (yfn == c)))
            cand = np.nonzero(ok_t & (ytn == c))[0]
            if short > 0 and len(cand):
                top_up.append(rng.choice(cand, size=min(short, len(cand)), replace=False))
        per_class = self.n_extra // k
        extra = [rng.choice(c_idx, size=min(per_class, len(c_idx)), replace=False)
                 for c_idx in (np.nonzero(ok_t & (ytn == c))[0] for c in range(k)) if per_class and len(c_idx)]
        up = np.sort(np.concatenate(top_up)) if top_up else np.zeros(0, dtype=np.int64)
        ex = np.sort(np.concatenate(extra)) if extra else np.zeros(0, dtype=np.int64)
        ex = ex[~np.isin(ex, up)]
        data = (torch.cat([xf, xt[up]]), torch.cat([yf, yt[up]]))
        extra_pair = (xt[ex], yt[ex])
        pool_pass = np.nonzero(ok_t)[0]
        score = (xt[pool_pass], yt[pool_pass]) if len(pool_pass) else None
        kw = self._solver_kwargs()
        if self.experts:
            patches = class_experts(model, self.layer, data, extra=extra_pair, score_data=score, n_fail=self.n_fail,
                                    n_pass=self.n_pass, top_k=self.top_k, seed=seed, progress=progress, **kw)
            use = f1_filter(model, patches, (xt, yt)) if self.f1_filter and patches else [p for p in patches if p.ok]
            kept: list[Any] = [p.cls for p in use]
            # intermediate experts at run time: the model is wrapped (prefix once, the suffix once per expert)
            wrap = self.combine != "merged" and any(p.kind != "last" for p in use)
            repaired = combine(model, use, strategy=self.combine, inplace=not wrap)  # type: ignore[arg-type]
        else:
            p = self._joint(model, data, extra_pair, score, len(xf), k, rng, fn, kw)
            patches, kept = [p], ([None] if p.ok else [])
            repaired = combine(model, [p], strategy="merged", inplace=True) if p.ok else model
        if self.experts and not any(p.ok for p in patches):
            failing = sorted({int(c) for c in yf[(pf != yf)].tolist()})
            if not failing:
                why = "failures hold no example the model misclassifies"
            elif not patches:
                why = (f"no expert was built for the failing classes {failing}: on an intermediate layer a class "
                       "needs a pure correct-label activation pattern (pyrepair.patch.activation_patterns) that its "
                       "failing examples violate")
            else:
                why = ("no expert found a repair (class: status " + ", ".join(f"{p.cls}: {p.status}" for p in patches)
                       + "); try soft=True or a larger bound")
            warnings.warn(f"{fn}: the model is returned unchanged: {why}", PyrepairWarning, stacklevel=4)
        summaries = [p.summary() for p in patches]
        totals = {key: sum(p.lp.get(key, 0) for p in patches) for key in ("rows", "cols", "nnz", "binaries")}
        info = {"experts": summaries, "classes_kept": kept, "lp_totals": totals,
                "solve_seconds": sum(p.solve_seconds for p in patches)}
        statuses = ", ".join(f"{p.cls}:{p.status}" for p in patches)
        logger.info("NNRepair: %d expert(s) (%s), %d kept", len(patches), statuses, len(kept))
        record = {"epoch": 1, "seconds": time.perf_counter() - t0, "experts": len(patches), "kept": len(kept)}
        if repaired is not model:
            return History([record]), info, repaired
        return History([record]), info

    def _joint(self, model: nn.Module, data: tuple[torch.Tensor, torch.Tensor],
               extra: tuple[torch.Tensor, torch.Tensor], score: tuple[torch.Tensor, torch.Tensor] | None, n_def: int,
               k: int, rng: np.random.Generator, fn: str, kw: dict[str, Any]) -> Any:
        """``experts=False``: one LP over ``n_fail`` failing examples of every failing class of the defect set
        (the first ``n_def`` items of ``data``) and ``n_pass`` passing examples per class plus the extras."""
        y = data[1].numpy()
        ok = (predict(model, data[0]).argmax(1) == data[1]).numpy()
        is_def = np.arange(len(y)) < n_def

        def draw(mask: np.ndarray, n: int) -> np.ndarray:
            parts = [rng.choice(np.nonzero(mask & (y == c))[0], size=min(n, int(np.sum(mask & (y == c)))),
                                replace=False) for c in range(k) if np.any(mask & (y == c))]
            return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

        if layer_kind(model, self.layer, data[0]) != "last":
            raise ArgumentError("experts=False solves one LP on the decisions of the output layer; layer "
                                f"{self.layer!r} is an intermediate layer, whose oracle is a per-class activation "
                                "pattern: use experts=True")
        fi = draw(is_def & ~ok, 5 if self.n_fail is None else self.n_fail)
        pi = draw(ok, 5 if self.n_pass is None else self.n_pass)
        if not len(fi):
            raise ArgumentError("failures hold no example the model misclassifies; nothing to repair")
        failing = (data[0][fi], data[1][fi])
        passing = (torch.cat([data[0][pi], extra[0]]), torch.cat([data[1][pi], extra[1]]))
        loc = localize(model, self.layer, failing, score if score is not None else passing, top_k=self.top_k)
        return repair_layer(model, self.layer, failing, passing, edges=loc, **kw)
