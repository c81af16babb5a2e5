"""NNrepair's building blocks: fault localisation and constraint-based weight repair of one linear layer.

Implements ``shared/spec/nnrepair.md`` (Usman et al., *NNrepair: Constraint-based Repair of Neural Network
Classifiers*, CAV 2021) for the output layer (last-layer repair, the oracle is the correct decision) and for an
intermediate layer (the oracle is a class's activation pattern, mined by :func:`activation_patterns`):

* :func:`localize` scores every edge ``i -> N`` of a linear layer with the defect score of eq. 4,
  ``Score = |w_{N,i}| * (mean_Fail |a_i| - mean_Pass |a_i|)`` (the exact factorisation of §2.4), and picks the
  top-``k`` incoming edges of each suspicious neuron.
* :func:`repair_layer` changes the weights of those edges so that the failing examples become correct and the
  passing examples stay correct. The "symbolic execution" of the paper is a forward cache (§2.1): one batched
  forward pass stores the layer's input ``a(X)`` and the logits ``y(X)``; a repaired logit is
  ``y_N(X) + sum_i delta_{N,i} a_i(X)``, linear in the changes. The decision rows (§2.5, §3.4) are assembled in bulk
  with numpy (vectorised over examples, classes and edges) into one sparse matrix and handed to OR-Tools in one call
  (``ModelBuilderHelper.fill_model_from_sparse_data``): GLOP or PDLP for the LP, SCIP or CP-SAT where binaries are
  needed (the soft variant), always with a time limit. Infeasible and timed-out solves are reported in
  :attr:`Patch.status`; nothing raises unless ``strict=True``. For an intermediate layer the rows are the
  pattern's on/off constraints on the pre-activations of the faulty neurons, one small LP per neuron (§3.5).
* :func:`class_experts` builds one expert per class (§2.3 example selection, §2.6); :func:`merge`,
  :func:`f1_filter` and :func:`combine` give the paper's combinations Merged, Naive, Confidence and Votes.

Predictions follow the spec's tie rule (§7-A19): among equal maximal logits the *largest* class index wins.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from pyrepair.patch import repair_layer
    >>> model = nn.Sequential(nn.Linear(2, 2, bias=False))
    >>> with torch.no_grad():
    ...     _ = model[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    >>> failing = (torch.tensor([[1.0, 2.0]]), torch.tensor([0]))   # predicted 1, label 0
    >>> passing = (torch.tensor([[2.0, 1.0]]), torch.tensor([0]))
    >>> patch = repair_layer(model, 0, failing, passing, top_k=1, bound=2.0)
    >>> patch.status, round(patch.objective, 6), patch.fixed.tolist()
    ('optimal', 0.5005, [True])
    >>> [(n, i, round(d, 6)) for n, i, d in patch.changes()]             # w[0, 1] += 0.5005
    [(0, 1, 0.5005)]
    >>> repaired = patch.apply(model)                                       # a patched copy
    >>> repaired(failing[0]).argmax(1).tolist(), model[0].weight.tolist()   # the user's model is unchanged
    ([0], [[1.0, 0.0], [0.0, 1.0]])
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ._checks import check_in, check_int, check_positive, check_seed, format_shape
from ._loop import check_model, input_dtype, model_device, resolve_progress, restore_modes, save_modes
from .errors import ArgumentError, ArgumentTypeError, BackendUnavailableError, DTypeError, ShapeError, SolverError

__all__ = [
    "OBJECTIVES",
    "SOLVERS",
    "STATUSES",
    "STRATEGIES",
    "Localization",
    "Patch",
    "Pattern",
    "Patterns",
    "activation_patterns",
    "class_experts",
    "combination_record",
    "combine",
    "f1_filter",
    "install_combination",
    "layer_kind",
    "localize",
    "merge",
    "repair_layer",
]

logger = logging.getLogger(__name__)

SOLVERS: tuple[str, ...] = ("glop", "pdlp", "scip", "cp-sat")
"""OR-Tools back-ends: ``glop`` (exact simplex, the default), ``pdlp`` (first-order, for very large LPs), ``scip``
(MILP), ``cp-sat`` (MILP by scaling to integers; needs OR-Tools >= 9.15)."""

OBJECTIVES: tuple[str, ...] = ("l1", "linf", "l1+linf", "none")
"""Size of the weight change that is minimised (§2.5, §7-A1): ``l1`` (sum of ``|delta|``), ``linf`` (max
``|delta|``), ``l1+linf`` (their sum), or ``none`` (any change in the box: a feasibility problem, the paper's z3
query)."""

STATUSES: tuple[str, ...] = ("optimal", "feasible", "soft", "infeasible", "timeout", "numerically_unstable",
                             "error", "merged")
"""Values of :attr:`Patch.status`. ``optimal``: solved to optimality; ``feasible``: the time limit stopped the solver
with a valid but maybe not minimal change; ``soft``: the soft variant fixed only some failing examples;
``infeasible``: no change within the bound fixes every failing example; ``timeout``: the time limit stopped the
solver without a solution; ``numerically_unstable``: the solution did not survive the float re-check even with a
larger margin; ``error``: the solver failed otherwise; ``merged``: a sum of experts (:func:`merge`)."""

STRATEGIES: tuple[str, ...] = ("naive", "confidence", "votes", "merged")
"""Combinations of per-class experts (§2.6): run-time ``naive``, ``confidence``, ``votes``; or ``merged`` weights."""

_USABLE = ("optimal", "feasible", "soft", "merged")
_MODEL_SOLVER = {"glop": "glop", "pdlp": "pdlp", "scip": "scip", "cp-sat": "sat"}
_BATCH = 1024
_RECHECKS = 3  # re-solves with a 10x larger margin when the float re-check fails (§3.8)
_CP_SAT_MIN = (9, 15)  # the first OR-Tools whose CP-SAT solves our LPs with continuous variables (tested 9.8-9.15)


# --------------------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Localization:
    """Result of :func:`localize`.

    Attributes:
        layer: the name of the linear layer (as in ``model.named_modules()``).
        scores: float64 ``[n, n_in]`` defect score of every edge ``i -> N`` (eq. 4).
        neurons: the suspicious neurons (rows), ascending.
        edges: bool ``[n, n_in]``, the selected edges: the top-``k`` of each suspicious neuron's row.
    """

    layer: str
    scores: torch.Tensor
    neurons: list[int]
    edges: torch.Tensor


@dataclass
class Patch:
    """A weight change of one linear layer found by :func:`repair_layer` (or a sum of experts, :func:`merge`).

    Attributes:
        layer: the layer's name in ``model.named_modules()``.
        delta: float64 ``[n, n_in]`` weight change (zero outside :attr:`edges`, and everywhere when the solve
            found nothing).
        edges: bool ``[n, n_in]``, the edges the solver was allowed to change.
        status: one of :data:`STATUSES`.
        objective: the minimised size of the change (``l1`` or ``linf``), ``None`` without a solution.
        solver: the OR-Tools back-end used.
        solve_seconds: wall time of the solver call(s).
        assemble_seconds: wall time of building the constraint matrix.
        fixed: bool ``[n_failing]``: which failing examples the patched layer classifies correctly (float64).
        kept: bool ``[n_passing]``: which passing examples stay correct.
        lp: LP size: ``rows``, ``cols``, ``nnz``, ``binaries``.
        epsilon: the decision margin that was used (it grows 10x per failed float re-check).
        cls: the class of an expert (:func:`class_experts`), else ``None``.
        kind: ``"last"`` (the output layer, decision rows) or ``"intermediate"`` (pattern rows).
    """

    layer: str
    delta: torch.Tensor
    edges: torch.Tensor
    status: str
    objective: float | None
    solver: str
    solve_seconds: float
    assemble_seconds: float
    fixed: torch.Tensor
    kept: torch.Tensor
    lp: dict[str, int] = field(default_factory=dict)
    epsilon: float = 1e-3
    cls: int | None = None
    kind: str = "last"

    @property
    def ok(self) -> bool:
        """True when the patch holds a solution (status ``optimal``, ``feasible``, ``soft`` or ``merged``)."""
        return self.status in _USABLE

    def apply(self, model: nn.Module) -> nn.Module:
        """A deep copy of ``model`` with :attr:`delta` added to the weight of :attr:`layer`; ``model`` is unchanged.

        Args:
            model: the model the patch was computed for (same architecture).

        Returns:
            The patched copy (weights in the layer's dtype and device; modes as in ``model``).

        Raises:
            TypeError: ``model`` is not an ``nn.Module``.
            ValueError: ``model`` has no linear layer named :attr:`layer` with a weight of :attr:`delta`'s shape.
        """
        fn = "pyrepair.patch.Patch.apply"
        check_model(model, fn)
        _layer_by_name(model, self.layer, tuple(self.delta.shape), fn)
        out = copy.deepcopy(model)
        lin = dict(out.named_modules())[self.layer]
        with torch.no_grad():
            lin.weight.add_(self.delta.to(lin.weight.device, lin.weight.dtype))
        return out

    def changes(self) -> list[tuple[int, int, float]]:
        """The non-zero changes as ``(neuron, input, delta)`` triples, row-major (the spec's expert format)."""
        idx = torch.nonzero(self.delta).tolist()
        return [(int(n), int(i), float(self.delta[n, i])) for n, i in idx]

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary: status, objective, times, LP size, counts and the non-zero changes."""
        d = self.delta
        return {
            "layer": self.layer, "kind": self.kind, "cls": self.cls, "status": self.status, "objective": self.objective,
            "solver": self.solver, "solve_seconds": self.solve_seconds, "assemble_seconds": self.assemble_seconds,
            "lp": dict(self.lp), "epsilon": self.epsilon, "n_edges": int(self.edges.sum()),
            "fixed": int(self.fixed.sum()), "n_failing": int(self.fixed.numel()),
            "kept": int(self.kept.sum()), "n_passing": int(self.kept.numel()),
            "l1": float(d.abs().sum()), "linf": float(d.abs().max()) if d.numel() else 0.0,
            "changes": self.changes(),
        }


# --------------------------------------------------------------------------------------------------------------------
# Validation and the forward cache
# --------------------------------------------------------------------------------------------------------------------


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if not any(True for _ in m.children())]


def _linear_list(model: nn.Module) -> str:
    leaves = _leaves(model)
    found = [f"{i} ({n!r})" for i, (n, m) in enumerate(leaves) if isinstance(m, nn.Linear)]
    return ", ".join(found) if found else "none"


def _resolve_layer(model: nn.Module, layer: Any, fn: str) -> tuple[str, nn.Linear]:
    """``layer`` as an index into the leaf modules (negative from the end), a name, or ``"last"``."""
    leaves = _leaves(model)
    if isinstance(layer, str):
        if layer == "last":
            lins = [(n, m) for n, m in leaves if isinstance(m, nn.Linear)]
            if not lins:
                raise ArgumentError(f"{fn}: layer='last' needs an nn.Linear in the model, got none")
            return lins[-1]  # type: ignore[return-value]
        mods = dict(model.named_modules())
        if layer not in mods or not isinstance(mods[layer], nn.Linear):
            what = "no module" if layer not in mods else f"a {type(mods[layer]).__name__}"
            raise ArgumentError(f"{fn}: layer {layer!r} is {what}, not an nn.Linear; linear layers (index (name)): "
                                f"{_linear_list(model)}")
        return layer, mods[layer]  # type: ignore[return-value]
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise ArgumentTypeError(f"{fn}: layer must be an int index, a module name or 'last', got "
                                f"{type(layer).__name__} {layer!r}")
    i = int(layer)
    if not -len(leaves) <= i < len(leaves):
        raise ArgumentError(f"{fn}: layer index {i} is out of range for a model with {len(leaves)} leaf modules; "
                            f"linear layers (index (name)): {_linear_list(model)}")
    name, mod = leaves[i]
    if not isinstance(mod, nn.Linear):
        raise ArgumentError(f"{fn}: layer {i} ({name!r}) is a {type(mod).__name__}, not an nn.Linear; linear layers "
                            f"(index (name)): {_linear_list(model)}")
    return name, mod


def _layer_by_name(model: nn.Module, name: str, shape: tuple[int, ...], fn: str) -> nn.Linear:
    mod = dict(model.named_modules()).get(name)
    if not isinstance(mod, nn.Linear) or tuple(mod.weight.shape) != shape:
        raise ArgumentError(f"{fn}: model must have an nn.Linear named {name!r} with a weight of shape "
                            f"{format_shape(shape)} (the patched layer); linear layers: {_linear_list(model)}")
    return mod


def _check_inputs(x: torch.Tensor, what: str, fn: str) -> None:
    """Model inputs: a real (not meta) floating tensor ``[N, ...]`` of at least 2 dimensions."""
    if x.device.type == "meta":
        raise ArgumentTypeError(f"{fn}: {what} is a meta tensor (no data)")
    if not x.is_floating_point():
        raise DTypeError(f"{fn}: {what} must be a floating tensor, got {x.dtype}")
    if x.dim() < 2:
        raise ShapeError(f"{fn}: {what} must be a batch [N, ...] of at least 2 dimensions, got "
                         f"{format_shape(x.shape)}", actual_shape=tuple(x.shape), expected="N,...")


def _check_pair(data: Any, name: str, fn: str, *, allow_empty: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """An ``(inputs, labels)`` pair: float inputs ``[N, ...]`` (tensor or numpy), integer labels ``[N]``."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ArgumentTypeError(f"{fn}: {name} must be an (inputs, labels) pair, got {type(data).__name__}")
    x, y = (torch.from_numpy(v) if isinstance(v, np.ndarray) else v for v in data)
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ArgumentTypeError(f"{fn}: {name} must hold two tensors (inputs, labels), got "
                                f"({type(x).__name__}, {type(y).__name__})")
    if y.device.type == "meta":
        raise ArgumentTypeError(f"{fn}: {name} holds a meta tensor (no data)")
    _check_inputs(x, f"{name} inputs", fn)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise DTypeError(f"{fn}: {name} labels must be an integer tensor, got {y.dtype}")
    if y.dim() != 1 or x.shape[0] != y.shape[0]:
        raise ShapeError(f"{fn}: {name} must be inputs [N, ...] with labels [N], got inputs "
                         f"{format_shape(x.shape)} and labels {format_shape(y.shape)}",
                         actual_shape=tuple(x.shape), expected="N,...")
    if x.shape[0] == 0 and not allow_empty:
        raise ArgumentError(f"{fn}: {name} must hold at least one example, got an empty set")
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ArgumentError(f"{fn}: {name} inputs must be finite, got NaN or inf")
    if y.numel() and int(y.min()) < 0:
        raise ArgumentError(f"{fn}: {name} labels must be >= 0, got {int(y.min())}")
    return x, y.long().cpu()  # labels live on the CPU beside the float64 numpy cache


def _stack(first: torch.Tensor, second: torch.Tensor, names: tuple[str, str], fn: str) -> torch.Tensor:
    """``first`` and ``second`` inputs in one batch; a non-empty ``second`` must have ``first``'s example shape."""
    if not len(second):
        return first
    if tuple(second.shape[1:]) != tuple(first.shape[1:]):
        raise ShapeError(f"{fn}: {names[1]} inputs must have the example shape of {names[0]}, "
                         f"{format_shape(first.shape[1:])}, got {format_shape(second.shape[1:])}",
                         actual_shape=tuple(second.shape), expected="N," + ",".join(map(str, first.shape[1:])))
    return torch.cat([first, second.to(first.dtype)])


@dataclass
class _Cache:
    a: np.ndarray  # float64 [N, n_in], input of the layer
    z: np.ndarray  # float64 [N, n], output of the layer
    logits: np.ndarray  # float64 [N, K]
    a_t: torch.Tensor  # the layer input in the model's dtype (for the float re-check)
    is_output: bool  # the layer's output is the model's output


def _forward_cache(model: nn.Module, lin: nn.Linear, x: torch.Tensor, fn: str, name: str) -> _Cache:
    """One batched forward pass that records the layer's input and output and the logits (§2.1)."""
    dev, dtype = model_device(model), input_dtype(model)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def hook(_m: nn.Module, inp: tuple[Any, ...], out: Any) -> None:
        seen.append((inp[0].detach(), out.detach()))

    handle = lin.register_forward_hook(hook)
    modes = save_modes(model)
    a_parts, z_parts, y_parts, same = [], [], [], True
    try:
        model.eval()
        with torch.no_grad():
            for s in range(0, max(int(x.shape[0]), 1), _BATCH):
                xb = x[s:s + _BATCH].to(dev, dtype)
                seen.clear()
                try:
                    yb = model(xb)
                except RuntimeError as e:
                    first = (str(e).strip().splitlines() or [""])[0]
                    raise ShapeError(f"{fn}: the model does not accept {name} inputs of shape "
                                     f"{format_shape(x.shape)} ({first})", actual_shape=tuple(x.shape)) from e
                if len(seen) != 1:
                    raise ArgumentError(f"{fn}: the layer must run exactly once per forward pass, it ran "
                                        f"{len(seen)} times")
                a, z = seen[0]
                if not isinstance(yb, torch.Tensor) or yb.dim() != 2 or yb.shape[0] != xb.shape[0]:
                    raise ShapeError(f"{fn}: the model must return [N, K] logits, got "
                                     f"{format_shape(getattr(yb, 'shape', ()))}")
                if a.dim() != 2:
                    raise ShapeError(f"{fn}: the input of the layer must be [N, n_in], got {format_shape(a.shape)} "
                                     "(flatten before the linear layer)", actual_shape=tuple(a.shape))
                same = same and z.shape == yb.shape and bool(torch.equal(z, yb))
                a_parts.append(a)
                z_parts.append(z)
                y_parts.append(yb)
    finally:
        handle.remove()
        restore_modes(modes)
    a_t = torch.cat(a_parts)
    return _Cache(a=a_t.double().cpu().numpy(), z=torch.cat(z_parts).double().cpu().numpy(),
                  logits=torch.cat(y_parts).double().cpu().numpy(), a_t=a_t, is_output=same)


def _pred(logits: np.ndarray) -> np.ndarray:
    """Argmax with ties to the largest index (§7-A19)."""
    k = logits.shape[1]
    return (k - 1 - np.argmax(logits[:, ::-1], axis=1)).astype(np.int64)


def _pred_t(logits: torch.Tensor) -> torch.Tensor:
    k = logits.shape[-1]
    return k - 1 - torch.argmax(logits.flip(-1), dim=-1)


def _margin(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y_label - max_{k != label} y_k`` per row."""
    rows = np.arange(len(y))
    other = logits.copy()
    other[rows, y] = -np.inf
    return logits[rows, y] - other.max(axis=1)


def _check_labels(y: torch.Tensor, k: int, name: str, fn: str) -> None:
    if y.numel() and int(y.max()) >= k:
        raise ArgumentError(f"{fn}: {name} labels must lie in [0, {k}) (the model outputs {k} classes), got "
                            f"{int(y.max())}")


# --------------------------------------------------------------------------------------------------------------------
# Localisation
# --------------------------------------------------------------------------------------------------------------------


def _scores(weight: np.ndarray, a_fail: np.ndarray, a_pass: np.ndarray) -> np.ndarray:
    """Eq. 4, factorised: ``|W| * (colmean |a_Fail| - colmean |a_Pass|)``; an empty Pass set contributes 0."""
    mf = np.abs(a_fail).mean(axis=0)
    mp = np.abs(a_pass).mean(axis=0) if len(a_pass) else np.zeros_like(mf)
    return np.abs(weight) * (mf - mp)[None, :]


def _top_edges(scores: np.ndarray, neurons: Sequence[int], k: int) -> np.ndarray:
    """Bool mask of the top-``k`` edges of each neuron's row (ties: the lower input index first)."""
    mask = np.zeros(scores.shape, dtype=bool)
    if not len(neurons):
        return mask
    rows = np.asarray(neurons, dtype=np.int64)
    order = np.argsort(-scores[rows], axis=1, kind="stable")[:, :k]
    mask[rows[:, None], order] = True
    return mask


def _check_top_k(top_k: Any, fn: str) -> int | None:
    return None if top_k is None else check_int(top_k, "top_k", fn, min_value=1)


def _kind_defaults(k: int | None, cfg: dict[str, Any] | None, is_output: bool, n_in: int) -> int:
    """§4 defaults where the caller passed ``None``: ``top_k`` 5 edges of the output layer or 10 % of the fan-in
    per faulty neuron of an intermediate one; ``bound`` 0.5 (output) or 1.0 (intermediate), written into ``cfg``."""
    if cfg is not None and cfg["bound"] is None:
        cfg["bound"] = 0.5 if is_output else 1.0
    if k is not None:
        return k
    return 5 if is_output else max(1, math.ceil(0.1 * n_in))


def layer_kind(model: nn.Module, layer: int | str, inputs: torch.Tensor) -> Literal["last", "intermediate"]:
    """Which repair a linear layer gets: ``"last"`` when its output is the model's output (the decisions are the
    oracle, §2.5 eq. 6), else ``"intermediate"`` (a class's activation pattern is the oracle, §2.2).

    Args:
        model: the classifier, ``[N, ...]`` -> ``[N, K]`` logits; not modified (one forward pass in eval mode, the
            train/eval modes restored).
        layer: an ``nn.Linear``: an index into the leaf modules (negative from the end), a module name, or
            ``"last"``.
        inputs: at least one model input ``[N, ...]`` (only the first is used).

    Returns:
        ``"last"`` or ``"intermediate"``.

    Raises:
        TypeError: bad argument types. ValueError: ``layer`` is not an ``nn.Linear`` of the model, or ``inputs`` is
        empty. ShapeError: the model does not accept ``inputs``.
    """
    fn = "pyrepair.patch.layer_kind"
    check_model(model, fn)
    _, lin = _resolve_layer(model, layer, fn)
    if not isinstance(inputs, torch.Tensor):
        raise ArgumentTypeError(f"{fn}: inputs must be a torch.Tensor, got {type(inputs).__name__}")
    _check_inputs(inputs, "inputs", fn)
    if inputs.shape[0] == 0:
        raise ArgumentError(f"{fn}: inputs must hold at least one input [N, ...], got shape "
                            f"{format_shape(inputs.shape)}")
    return "last" if _forward_cache(model, lin, inputs[:1], fn, "inputs").is_output else "intermediate"


def localize(
    model: nn.Module,
    layer: int | str,
    failing: Any,
    passing: Any,
    *,
    neurons: Sequence[int] | None = None,
    pattern: Pattern | tuple[Sequence[int], Sequence[int]] | None = None,
    top_k: int | None = None,
) -> Localization:
    """Fault localisation (§2.4): the defect score of every edge of ``layer`` and the top-``k`` suspicious edges.

    ``Score(i -> N) = mean_Fail |a_i(X) w_{N,i}| - mean_Pass |a_i(X) w_{N,i}|`` (eq. 4), computed as
    ``|W| * (colmean|a_Fail| - colmean|a_Pass|)`` from one forward pass over each set (the activations ``a`` at the
    input of ``layer``, captured by a forward hook). The model is run in eval mode; its modes are restored.

    Args:
        model: a classifier returning ``[N, K]`` logits.
        layer: the ``nn.Linear`` to score: an index into the model's leaf modules (``list`` order of
            ``named_modules()`` without containers; ``model[i]`` for a flat ``nn.Sequential``; negative from the
            end), its name in ``named_modules()``, or ``"last"``.
        failing: ``(inputs, labels)`` the model gets wrong; inputs ``[N, ...]`` float, labels int ``[N]``.
        passing: ``(inputs, labels)`` it gets right (may be empty).
        neurons: the suspicious neurons (rows of the weight). Default: the neurons where a failing example violates
            ``pattern`` (eq. 3, union over the failing examples) when a pattern is given, else the true classes of
            ``failing``, the paper's choice for the output layer (only valid there).
        pattern: an activation pattern (:class:`Pattern` or ``(on, off)``) of the layer, for an intermediate layer.
        top_k: edges kept per suspicious neuron; >= 1 (capped at the fan-in); default (``None``): 5 for the output
            layer, 10 % of the fan-in for an intermediate one (§4).

    Returns:
        A :class:`Localization`.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, a malformed pair.
        ValueError: ``layer`` is not an ``nn.Linear`` (the message lists the linear layers), an empty ``failing``,
            labels outside ``[0, K)``, ``neurons`` out of range, or omitted for a layer that is not the output.
        ShapeError: inputs the model does not accept.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(2, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = model[0].weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 1.0]]))
        >>> loc = localize(model, 0, (torch.tensor([[1.0, 2.0]]), torch.tensor([0])),
        ...                (torch.tensor([[2.0, 0.0]]), torch.tensor([0])), top_k=1)
        >>> loc.scores.tolist(), loc.neurons, loc.edges.nonzero().tolist()
        ([[-1.0, 4.0], [-0.5, 2.0]], [0], [[0, 1]])
    """
    fn = "pyrepair.patch.localize"
    check_model(model, fn)
    name, lin = _resolve_layer(model, layer, fn)
    xf, yf = _check_pair(failing, "failing", fn, allow_empty=False)
    xp, yp = _check_pair(passing, "passing", fn, allow_empty=True)
    k = _check_top_k(top_k, fn)
    masks = None if pattern is None else _check_pattern(pattern, int(lin.weight.shape[0]), fn)
    cache = _forward_cache(model, lin, _stack(xf, xp, ("failing", "passing"), fn), fn, "failing/passing")
    k = _kind_defaults(k, None, cache.is_output, int(lin.weight.shape[1]))
    n_out = cache.logits.shape[1]
    _check_labels(yf, n_out, "failing", fn)
    _check_labels(yp, n_out, "passing", fn)
    nf = len(yf)
    w = lin.weight.detach().double().cpu().numpy()
    if neurons is None and masks is not None:
        on, off = masks
        zf = cache.z[:nf]
        rows = np.nonzero(((on[None] & (zf <= 0)) | (off[None] & (zf > 0))).any(axis=0))[0].tolist()
    elif neurons is None:
        if not cache.is_output:
            raise ArgumentError(f"{fn}: neurons or pattern must be given for layer {name!r}: its output is not the "
                                "model's output, so the failing labels do not name its suspicious neurons")
        rows = sorted({int(c) for c in yf.tolist()})
    else:
        if isinstance(neurons, (str, bytes)) or not isinstance(neurons, Sequence):
            raise ArgumentTypeError(f"{fn}: neurons must be a sequence of ints, got {type(neurons).__name__}")
        rows = sorted({check_int(v, "neurons", fn, min_value=0, max_value=w.shape[0] - 1) for v in neurons})
    scores = _scores(w, cache.a[:nf], cache.a[nf:])
    edges = _top_edges(scores, rows, min(k, w.shape[1]))
    return Localization(layer=name, scores=torch.from_numpy(scores), neurons=rows, edges=torch.from_numpy(edges))


# --------------------------------------------------------------------------------------------------------------------
# The last-layer LP (§2.5, §3.4, §3.6)
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class _Rows:
    """The decision rows ``A @ delta >= lo`` over the selected edges, with the example of each row. ``A`` is a dense
    ``block`` ``[R, E]`` when the edges feed one logit (a class expert: every row has the same ``E`` columns), else
    CSR arrays ``indptr``, ``indices``, ``data``."""

    block: np.ndarray | None  # float64 [R, E], or None
    indptr: np.ndarray | None  # int64 [R + 1]
    indices: np.ndarray | None  # int32 [nnz], edge (column) of each entry
    data: np.ndarray | None  # float64 [nnz]
    n_edges: int
    lo: np.ndarray  # float64 [R]
    example: np.ndarray  # int64 [R]
    dead: np.ndarray  # bool [M]: the example has a row with no selected edge that is violated (cannot be fixed)

    @property
    def A(self) -> np.ndarray:
        """The dense ``[R, E]`` coefficient matrix (for checks)."""
        sel = np.ones(len(self.lo), dtype=bool)
        return self.block if self.block is not None else self.take(sel).toarray()

    def take(self, sel: np.ndarray) -> Any:
        """The rows where ``sel`` (bool ``[R]``) holds: a dense ``[R', E]`` array or a scipy CSR matrix."""
        import scipy.sparse as sp

        if self.block is not None:
            return self.block[sel]
        assert self.indptr is not None and self.indices is not None and self.data is not None
        counts = np.diff(self.indptr)
        keep = np.repeat(sel, counts)
        indptr = np.zeros(int(sel.sum()) + 1, dtype=np.int64)
        np.cumsum(counts[sel], out=indptr[1:])
        return sp.csr_matrix((self.data[keep], self.indices[keep], indptr), shape=(len(indptr) - 1, self.n_edges))


def _decision_rows(a: np.ndarray, logits: np.ndarray, y: np.ndarray, margin: np.ndarray, rows_e: np.ndarray,
                   cols_e: np.ndarray) -> _Rows:
    """Vectorised assembly of eq. 6 for every example, every other class and every selected edge, straight into
    sparse rows (O(M K + nnz), no dense ``[M, K, E]`` block).

    Row (X, k), k != label D: ``(y_D - y_k) + sum_e delta_e a_{col_e}(X) ([row_e = D] - [row_e = k]) >= m_X``: only
    the edges into logit ``D`` (coefficient ``+a``) and into logit ``k`` (``-a``) appear. Rows whose coefficients are
    all zero are constants: they are dropped, and an example with a violated constant row is marked ``dead`` (no
    change of the selected edges can fix it). ``rows_e`` must be sorted (``np.nonzero`` order).
    """
    m, k = logits.shape
    e = len(rows_e)
    a_e = a[:, cols_e]  # [M, E]: the activation behind each selected edge
    cnt = np.bincount(rows_e, minlength=k)  # edges per logit
    start = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(cnt, out=start[1:])
    nz = a_e != 0.0
    groups = np.nonzero(cnt)[0]
    nz_k = np.zeros((m, k), dtype=np.int64)  # non-zero coefficients per example and logit
    if len(groups) and m:
        nz_k[:, groups] = np.add.reduceat(nz, start[groups], axis=1)
    ar = np.arange(m)
    const = logits[ar, y][:, None] - logits  # [M, K]
    other = np.ones((m, k), dtype=bool)
    other[ar, y] = False
    live = other & ((nz_k[ar, y][:, None] + nz_k) > 0)
    dead = np.any(other & ~live & (const < margin[:, None]), axis=1)
    ex, kk = np.nonzero(live)
    n_rows = len(ex)
    # each row holds the edges of logit y_ex (+a), then those of logit kk (-a): two contiguous column ranges of a_e.
    # Explicit zeros (inactive inputs) stay here; the split matrix drops them (_split_csr).
    lo = margin[ex] - const[ex, kk]
    if len(groups) == 1:  # one logit has edges (a class expert): every row is that block, +a or -a
        sign = np.where(y[ex] == groups[0], 1.0, -1.0)
        return _Rows(block=a_e[ex] * sign[:, None], indptr=None, indices=None, data=None, n_edges=e, lo=lo,
                     example=ex.astype(np.int64), dead=dead)
    # several logits (the joint LP): block by block
    ly, lk = cnt[y[ex]], cnt[kk]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(ly + lk, out=indptr[1:])
    data = np.empty(int(indptr[-1]), dtype=np.float64)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    for r in groups.tolist():
        s0, s1 = int(start[r]), int(start[r + 1])
        for rows_r, second in ((np.nonzero(y[ex] == r)[0], False), (np.nonzero(kk == r)[0], True)):
            base = indptr[rows_r] + ly[rows_r] if second else indptr[rows_r]
            pos = (base[:, None] + np.arange(s1 - s0)).ravel()
            block = a_e[ex[rows_r], s0:s1].ravel()
            data[pos] = -block if second else block
            indices[pos] = np.tile(np.arange(s0, s1, dtype=np.int32), len(rows_r))
    return _Rows(block=None, indptr=indptr, indices=indices, data=data, n_edges=e, lo=lo,
                 example=ex.astype(np.int64), dead=dead)


def _solve_sparse(A: Any, lo: np.ndarray, hi: np.ndarray, lb: np.ndarray, ub: np.ndarray, c: np.ndarray,
                  solver: str, time_limit: float, integer: np.ndarray | None = None,
                  maximize: bool = False) -> tuple[str, np.ndarray | None, float | None, float]:
    """Hand a CSR model to OR-Tools in one call; ``(status, x, objective, seconds)``."""
    from ortools.linear_solver.python import model_builder_helper as mbh  # lazy: OR-Tools is heavy to import

    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(lb, ub, c, lo, hi, A)
    if maximize:
        model.set_maximize(True)
    if integer is not None:
        for j in np.nonzero(integer)[0].tolist():  # one call per binary; the matrix itself went in above
            model.set_var_integrality(int(j), True)
    helper = mbh.ModelSolverHelper(_MODEL_SOLVER[solver])
    helper.set_time_limit_in_seconds(float(time_limit))
    t0 = time.perf_counter()
    helper.solve(model)
    seconds = time.perf_counter() - t0
    st = helper.status()
    S = mbh.SolveStatus
    if st == S.OPTIMAL or (st == S.FEASIBLE and helper.has_solution()):
        status = "optimal" if st == S.OPTIMAL else "feasible"
        return status, np.asarray(helper.variable_values(), dtype=np.float64), float(helper.objective_value()), seconds
    if st == S.INFEASIBLE:
        return "infeasible", None, None, seconds
    if st in (S.NOT_SOLVED, S.FEASIBLE, S.UNKNOWN_STATUS) and seconds >= 0.95 * time_limit:
        return "timeout", None, None, seconds
    logger.warning("OR-Tools %s returned %s (%s)", solver, st, helper.status_string())
    return "error", None, None, seconds


def _split_csr(A: Any, e: int, width: int) -> Any:
    """``[A, -A]`` (the split columns ``p``, ``q`` of §3.3) as a CSR matrix of ``width`` columns, built directly
    from the non-zeros of ``A`` (dense ndarray or sparse ``[R, e]``) with numpy: O(nnz), no Python loop."""
    import scipy.sparse as sp

    if not sp.issparse(A):  # dense [R, e]: [A, -A] row by row, zeros dropped by one mask (row-major order)
        both = np.concatenate([A, -A], axis=1)
        mask = both != 0.0
        indptr = np.zeros(A.shape[0] + 1, dtype=np.int64)
        np.cumsum(mask.sum(axis=1), out=indptr[1:])
        cols = np.broadcast_to(np.arange(2 * e, dtype=np.int32), both.shape)[mask]
        return sp.csr_matrix((both[mask], cols, indptr), shape=(A.shape[0], width))
    A = sp.csr_matrix(A)
    A.eliminate_zeros()
    r = A.shape[0]
    counts = np.diff(A.indptr)
    nzr, nzc, v = np.repeat(np.arange(r), counts), A.indices, A.data
    indptr = np.zeros(r + 1, dtype=np.int64)
    np.cumsum(2 * counts, out=indptr[1:])
    k = np.arange(len(nzr)) - (np.cumsum(counts) - counts)[nzr]  # rank of each non-zero within its row
    pos_p = indptr[nzr] + k  # each row: its p entries, then its q entries
    pos_q = pos_p + counts[nzr]
    indices = np.empty(2 * len(nzr), dtype=np.int32)
    data = np.empty(2 * len(nzr), dtype=np.float64)
    indices[pos_p], indices[pos_q] = nzc, nzc + e
    data[pos_p], data[pos_q] = v, -v
    return sp.csr_matrix((data, indices, indptr), shape=(r, width))


def _max_fixed(mat: Any, lo: np.ndarray, hi: np.ndarray, n_cols: int, n_bin: int, bound: float, solver: str,
               time_limit: float) -> tuple[str, np.ndarray | None, float]:
    """Stage 1 of the soft variant: the MILP that maximises the number of fixed failing examples (one binary per
    failing example after the ``n_cols`` change columns, each change within ``bound``); SCIP unless CP-SAT was
    asked for. Returns ``(status, solution or None, seconds)``."""
    lb = np.zeros(n_cols + n_bin)
    ub = np.concatenate([np.full(n_cols, bound), np.ones(n_bin)])
    c = np.concatenate([np.zeros(n_cols), np.ones(n_bin)])
    milp = "cp-sat" if solver == "cp-sat" else "scip"
    status, xs, _, sec = _solve_sparse(mat, lo, hi, lb, ub, c, milp, time_limit,
                                       integer=np.arange(n_cols + n_bin) >= n_cols, maximize=True)
    return status, xs, sec


def _lp_matrix(A: Any, lo: np.ndarray, n_edges: int, bound: float, objective: str,
               soft_rows: np.ndarray | None = None, soft_col: np.ndarray | None = None, n_bin: int = 0) -> tuple:
    """Rows ``A @ delta >= lo`` (``A`` dense or sparse ``[R, E]``) in the split formulation ``delta = p - q``
    (§3.3): columns ``[p, q, (t), (s)]``; rows ``[decision, (linf)]``."""
    import scipy.sparse as sp

    lo = np.asarray(lo, dtype=np.float64).copy()
    e, r = n_edges, A.shape[0]
    with_t = objective in ("linf", "l1+linf")
    n_cols = 2 * e + (1 if with_t else 0)
    mat = _split_csr(A, e, n_cols)
    if n_bin:
        assert soft_rows is not None and soft_col is not None
        # soft rows: A delta - M s >= lo - M with M = max(0, lo + B sum|A|) (§3.6), exact for the box
        abs_sum = np.asarray(abs(A).sum(axis=1)).ravel()
        big = np.maximum(0.0, lo + bound * abs_sum) * soft_rows
        sc = sp.csr_matrix((-big[soft_rows], (np.nonzero(soft_rows)[0], soft_col[soft_rows])), shape=(r, n_bin))
        mat = sp.hstack([mat, sc], format="csr")
        lo = lo - big
    hi = np.full(len(lo), np.inf)
    if with_t:  # p_e + q_e - t <= 0
        eye = sp.identity(e, format="csr")
        lin = sp.hstack([eye, eye, sp.csr_matrix(-np.ones((e, 1)))], format="csr")
        mat = sp.vstack([mat, lin], format="csr")
        lo = np.concatenate([lo, np.full(e, -np.inf)])
        hi = np.concatenate([hi, np.zeros(e)])
    return mat, lo, hi, n_cols


def _objective_vector(objective: str, e: int) -> np.ndarray:
    """Costs of the columns ``[p, q, (t)]`` of :func:`_lp_matrix`."""
    if objective == "l1":
        return np.ones(2 * e)
    if objective == "linf":
        return np.concatenate([np.zeros(2 * e), [1.0]])
    if objective == "l1+linf":
        return np.ones(2 * e + 1)
    return np.zeros(2 * e)  # "none": feasibility


@dataclass
class _Problem:
    """Everything :func:`_solve_problem` needs: the cached examples and the selected edges."""

    layer: str
    a: np.ndarray
    logits: np.ndarray
    a_t: torch.Tensor
    y: np.ndarray
    is_fail: np.ndarray  # bool [M]
    edges: np.ndarray  # bool [n, n_in]
    weight: torch.Tensor
    bias: torch.Tensor | None


def _solve_problem(p: _Problem, *, bound: float, objective: str, solver: str, time_limit: float, soft: bool,
                   epsilon: float, cls: int | None = None) -> Patch:
    rows_e, cols_e = np.nonzero(p.edges)
    e = len(rows_e)
    cur = _margin(p.logits, p.y)
    n, n_in = p.edges.shape
    total_solve, total_asm, eps = 0.0, 0.0, epsilon
    status, delta, obj, lp = "error", np.zeros((n, n_in)), None, {"rows": 0, "cols": 2 * e, "nnz": 0, "binaries": 0}
    for attempt in range(_RECHECKS + 1):
        t0 = time.perf_counter()
        margin = np.where(p.is_fail, eps, np.minimum(eps, np.maximum(cur, 0.0)))
        rows = _decision_rows(p.a, p.logits, p.y, margin, rows_e, cols_e)
        total_asm += time.perf_counter() - t0
        use = ~rows.dead  # examples that may be constrained
        if rows.dead[~p.is_fail].any():  # cannot happen: passing rows hold at delta = 0
            raise AssertionError("a passing example has a violated constant row")
        if not soft and rows.dead[p.is_fail].any():
            status, x = "infeasible", None
            break
        target = use.copy()
        n_bin, bin_status = 0, None
        if soft:
            fail_ids = np.nonzero(p.is_fail & use)[0]
            n_bin = len(fail_ids)
            col_of = np.full(len(p.y), -1, dtype=np.int64)
            col_of[fail_ids] = np.arange(n_bin)
            sel = use[rows.example]
            soft_rows = p.is_fail[rows.example][sel]
            soft_col = col_of[rows.example][sel]
            t0 = time.perf_counter()
            mat, lo, hi, n_cols = _lp_matrix(rows.take(sel), rows.lo[sel], e, bound, "l1", soft_rows, soft_col,
                                             n_bin)
            total_asm += time.perf_counter() - t0
            bin_status, xs, sec = _max_fixed(mat, lo, hi, n_cols, n_bin, bound, solver, time_limit)
            total_solve += sec
            lp["binaries"] = n_bin
            if xs is None:
                status, x = bin_status, None
                break
            chosen = xs[n_cols:] > 0.5
            target = ~p.is_fail.copy()
            target[fail_ids[chosen]] = True
        sel = target[rows.example]
        t0 = time.perf_counter()
        mat, lo, hi, n_cols = _lp_matrix(rows.take(sel), rows.lo[sel], e, bound, objective)
        total_asm += time.perf_counter() - t0
        lp.update(rows=int(mat.shape[0]), cols=int(n_cols), nnz=int(mat.nnz))
        c = _objective_vector(objective, e)
        ub = np.full(n_cols, bound)
        status, x, obj, sec = _solve_sparse(mat, lo, hi, np.zeros(n_cols), ub, c, solver, time_limit)
        total_solve += sec
        if x is None:
            break
        delta = np.zeros((n, n_in))
        delta[rows_e, cols_e] = x[:e] - x[e:2 * e]
        if soft and status == "optimal" and not bool(np.all(target | ~p.is_fail)):
            status = "soft"
        # float re-check (§3.8): float64 on the cache and the model's dtype through the patched layer
        new64 = p.logits + p.a @ delta.T
        w = p.weight + torch.from_numpy(delta).to(p.weight.device, p.weight.dtype)
        new_t = torch.nn.functional.linear(p.a_t, w.to(p.a_t.device), None if p.bias is None else p.bias)
        ok64 = _pred(new64) == p.y
        okt = _pred_t(new_t).cpu().numpy() == p.y
        if bool(np.all((ok64 & okt)[target])):
            break
        if attempt == _RECHECKS:
            status = "numerically_unstable"
            break
        eps *= 10.0
    if x is None:
        delta = np.zeros((n, n_in))
        obj = None
    new64 = p.logits + p.a @ delta.T
    correct = _pred(new64) == p.y
    return Patch(layer=p.layer, delta=torch.from_numpy(delta), edges=torch.from_numpy(p.edges.copy()),
                 status=status, objective=obj, solver=solver, solve_seconds=total_solve, assemble_seconds=total_asm,
                 fixed=torch.from_numpy(correct[p.is_fail]), kept=torch.from_numpy(correct[~p.is_fail]), lp=lp,
                 epsilon=eps, cls=cls)


def _check_solver_args(fn: str, bound: Any, objective: Any, solver: Any, time_limit: Any, soft: Any,
                       epsilon: Any) -> dict[str, Any]:
    out = {"bound": None if bound is None else check_positive(bound, "bound", fn),
           "epsilon": check_positive(epsilon, "epsilon", fn),
           "time_limit": check_positive(time_limit, "time_limit", fn)}
    for name, value, valid in (("objective", objective, OBJECTIVES), ("solver", solver, SOLVERS)):
        if not isinstance(value, str):
            raise ArgumentTypeError(f"{fn}: {name} must be one of {', '.join(valid)}, got {value!r}")
        check_in(name, value, valid, fn)
        out[name] = value
    if not isinstance(soft, bool) and soft != "auto":
        raise ArgumentTypeError(f"{fn}: soft must be True, False or 'auto', got {soft!r}")
    out["soft"] = soft
    if solver == "cp-sat" and _ortools_version() < _CP_SAT_MIN:
        # measured: before 9.15, CP-SAT through the model builder reports the worked example's LP (continuous
        # variables) infeasible
        raise BackendUnavailableError(
            f"{fn}: solver 'cp-sat' needs OR-Tools >= {'.'.join(map(str, _CP_SAT_MIN))} for continuous weight changes, "
            f"installed {'.'.join(map(str, _ortools_version()))}; use 'glop' (or 'scip' for the soft variant)")
    return out


def _ortools_version() -> tuple[int, ...]:
    """The installed OR-Tools version as a tuple (``(0,)`` when it cannot be read)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return tuple(int(v) for v in version("ortools").split(".")[:3] if v.isdigit())
    except PackageNotFoundError:
        return (0,)


def _solve_with_fallback(solve: Callable[..., Patch], cfg: dict[str, Any]) -> Patch:
    """``soft="auto"`` (§7-A4): the hard problem first, the soft variant only when it is infeasible."""
    if cfg["soft"] != "auto":
        return solve(**cfg)
    hard = solve(**{**cfg, "soft": False})
    if hard.status != "infeasible":
        return hard
    out = solve(**{**cfg, "soft": True})
    out.solve_seconds += hard.solve_seconds
    out.assemble_seconds += hard.assemble_seconds
    return out


def _check_edges(edges: Any, shape: tuple[int, int], fn: str) -> np.ndarray:
    if isinstance(edges, Localization):
        edges = edges.edges
    if isinstance(edges, np.ndarray):
        edges = torch.from_numpy(edges)
    if not isinstance(edges, torch.Tensor):
        raise ArgumentTypeError(f"{fn}: edges must be a bool tensor of the weight's shape {format_shape(shape)} or "
                                f"a Localization, got {type(edges).__name__}")
    if edges.dtype != torch.bool:
        raise DTypeError(f"{fn}: edges must be a bool tensor, got {edges.dtype}")
    if tuple(edges.shape) != shape:
        raise ShapeError(f"{fn}: edges must have the weight's shape {format_shape(shape)}, got "
                         f"{format_shape(edges.shape)}", actual_shape=tuple(edges.shape))
    if edges.device.type == "meta":
        raise ArgumentTypeError(f"{fn}: edges is a meta tensor (no data)")
    if not bool(edges.any()):
        raise ArgumentError(f"{fn}: edges must select at least one edge, got none")
    return edges.cpu().numpy().copy()


def repair_layer(
    model: nn.Module,
    layer: int | str,
    failing: Any,
    passing: Any,
    *,
    edges: Any = None,
    top_k: int | None = None,
    bound: float | None = None,
    objective: Literal["l1", "linf", "l1+linf", "none"] = "l1",
    solver: Literal["glop", "pdlp", "scip", "cp-sat"] = "glop",
    time_limit: float = 60.0,
    soft: bool | Literal["auto"] = False,
    epsilon: float = 1e-3,
    strict: bool = False,
    pattern: Pattern | tuple[Sequence[int], Sequence[int]] | None = None,
    split: bool = True,
) -> Patch:
    """Repair one linear layer (§2.5): the smallest change of selected weights that fixes ``failing``.

    **Output layer** (last-layer repair, §3.4).

    For every example ``X`` with label ``D`` and every other class ``k`` the repaired logits must satisfy
    ``y'_D(X) - y'_k(X) >= m_X``, where ``y'_N(X) = y_N(X) + sum_{i in S_N} delta_{N,i} a_i(X)`` (eq. 5 on the
    forward cache), ``m_X = epsilon`` for failing examples and ``min(epsilon, current margin)`` for passing ones (so
    ``delta = 0`` satisfies them), and ``|delta| <= bound``. The objective is ``sum |delta|`` (``l1``) or
    ``max |delta|`` (``linf``). The rows are built in bulk with numpy and passed to OR-Tools as one sparse matrix.
    After the solve the patched layer is re-checked in float64 and in the model's dtype; a failed re-check re-solves
    with a 10x larger margin (at most 3 times, §3.8).

    ``soft=True`` (§2.5, infeasibility handling): the passing rows stay hard, each failing example gets a binary
    with exact big-M rows (§3.6); phase 1 maximises the number of fixed failing examples (SCIP, or CP-SAT when
    ``solver="cp-sat"``), phase 2 solves the hard problem on the chosen subset for the smallest change. The status is
    ``"soft"`` when some failing examples stay unfixed.

    **Intermediate layer** (§2.5 'Intermediate expert', §3.5): the oracle is an activation ``pattern``
    ``(on, off)`` of the layer's pre-activations (:func:`activation_patterns` mines one per class). The faulty
    neurons are those where a failing example violates the pattern (eq. 3, the union over the failing examples);
    each gets its top-``k`` incoming edges. Every example must then satisfy ``z'_N(X) >= epsilon`` (on) or
    ``z'_N(X) <= 0`` (off) at every faulty neuron, where failing examples take the pattern's status and passing
    examples keep their current one (``min(epsilon, z)`` as margin), with ``z'_N = z_N + sum_i delta_{N,i} a_i``.
    Neurons outside the faulty set keep their weights. The LP separates by neuron; ``split=True`` (default) solves
    one small LP per faulty neuron (same optimum as the joint LP for ``l1``, ``linf`` and ``none``; ``l1+linf``
    is always solved jointly). :attr:`Patch.fixed` and
    :attr:`Patch.kept` come from a forward pass of the patched model (the pattern does not guarantee the class).

    Biases are never changed. The model (its weights and modes) is not modified: apply the result with
    :meth:`Patch.apply`.

    Args:
        model: a classifier returning ``[N, K]`` logits.
        layer: the ``nn.Linear`` to repair: an index into the leaf modules, a module name or ``"last"``.
        failing: ``(inputs, labels)`` to fix; at least one example.
        passing: ``(inputs, labels)`` that must stay correct (may be empty); the model must classify them
            correctly.
        edges: bool ``[K, n_in]`` mask (or a :class:`Localization`) of the weights that may change; default:
            :func:`localize` with ``top_k`` on the rows of the failing labels.
        top_k: edges per suspicious neuron when ``edges`` is not given; >= 1; default (``None``): 5 for the output
            layer, 10 % of the fan-in (rounded up) for an intermediate one (§4).
        bound: box bound on each change, ``|delta| <= bound``; > 0; default (``None``): 0.5 for the output layer,
            1.0 for an intermediate one (§7-A2).
        objective: ``"l1"``, ``"linf"``, ``"l1+linf"`` or ``"none"`` (see :data:`OBJECTIVES`).
        solver: ``"glop"``, ``"pdlp"``, ``"scip"`` or ``"cp-sat"``.
        time_limit: seconds per solver call; > 0. A solve stopped by it reports ``"feasible"`` or ``"timeout"``.
        soft: use the soft variant (maximise fixed failing examples, then minimise the change); ``"auto"``: solve
            the hard problem and fall back to the soft variant only when it is infeasible (§7-A4).
        epsilon: decision margin in logit units; > 0 (§7-A3).
        strict: raise :class:`~pyrepair.errors.SolverError` instead of returning a patch without a solution.
        pattern: the activation pattern (a :class:`Pattern` or ``(on, off)`` neuron lists) required for an
            intermediate layer; not used for the output layer.
        split: intermediate layer: solve one LP per faulty neuron (``True``) or one joint LP.

    Returns:
        A :class:`Patch` (``delta`` is zero when the status is ``infeasible``, ``timeout`` or ``error``).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, malformed arguments.
        ValueError: ``layer`` is not an ``nn.Linear`` (the message lists them), an intermediate layer without a
            ``pattern``, an empty ``failing``, a misclassified passing example, labels outside ``[0, K)``,
            ``bound <= 0``, empty ``edges``, pattern neurons out of range or in both lists.
        UnknownNameError: unknown ``solver`` or ``objective``.
        ShapeError: inputs the model does not accept, ``edges`` of the wrong shape.
        SolverError: ``strict=True`` and no solution was found (the message gives the status).
    """
    fn = "pyrepair.patch.repair_layer"
    check_model(model, fn)
    name, lin = _resolve_layer(model, layer, fn)
    cfg = _check_solver_args(fn, bound, objective, solver, time_limit, soft, epsilon)
    if not isinstance(strict, bool):
        raise ArgumentTypeError(f"{fn}: strict must be True or False, got {strict!r}")
    k = _check_top_k(top_k, fn)
    xf, yf = _check_pair(failing, "failing", fn, allow_empty=False)
    xp, yp = _check_pair(passing, "passing", fn, allow_empty=True)
    shape = (int(lin.weight.shape[0]), int(lin.weight.shape[1]))
    mask = None if edges is None else _check_edges(edges, shape, fn)
    if not isinstance(split, bool):
        raise ArgumentTypeError(f"{fn}: split must be True or False, got {split!r}")
    masks = None if pattern is None else _check_pattern(pattern, shape[0], fn)
    x = _stack(xf, xp, ("failing", "passing"), fn)
    cache = _forward_cache(model, lin, x, fn, "failing/passing")
    k = _kind_defaults(k, cfg, cache.is_output, shape[1])
    n_out = cache.logits.shape[1]
    _check_labels(yf, n_out, "failing", fn)
    _check_labels(yp, n_out, "passing", fn)
    y = torch.cat([yf, yp]).numpy()
    nf = len(yf)
    wrong = np.nonzero(_pred(cache.logits[nf:]) != y[nf:])[0]
    if len(wrong):
        raise ArgumentError(f"{fn}: passing examples must be classified correctly by the model; {len(wrong)} of "
                            f"{len(yp)} are not (indices {wrong[:10].tolist()}); move them to failing")
    w = lin.weight.detach().double().cpu().numpy()
    is_fail = np.arange(len(y)) < nf
    bias = None if lin.bias is None else lin.bias.detach()
    if cache.is_output:
        if mask is None:
            mask = _top_edges(_scores(w, cache.a[:nf], cache.a[nf:]), sorted(set(yf.tolist())), min(k, shape[1]))
        prob = _Problem(layer=name, a=cache.a, logits=cache.logits, a_t=cache.a_t, y=y, is_fail=is_fail,
                        edges=mask, weight=lin.weight.detach(), bias=bias)
        patch = _solve_with_fallback(partial(_solve_problem, prob), cfg)
    else:
        if masks is None:
            raise ArgumentError(f"{fn}: layer {name!r} is not the output layer, so it needs pattern=(on, off), the "
                                "activation pattern the failing examples must reach (see activation_patterns)")
        on, off = masks
        if mask is None:
            viol = (on[None] & (cache.z[:nf] <= 0)) | (off[None] & (cache.z[:nf] > 0))
            faulty = np.nonzero(viol.any(axis=0))[0].tolist()  # eq. 3, the union over the failing examples
            mask = _top_edges(_scores(w, cache.a[:nf], cache.a[nf:]), faulty, min(k, shape[1]))
        prob_i = _PatternProblem(layer=name, model=model, x=x, a=cache.a, z=cache.z, a_t=cache.a_t, y=y,
                                 is_fail=is_fail, on=on, off=off, weight=lin.weight.detach(), bias=bias)
        patch = _solve_with_fallback(partial(_solve_pattern_problem, prob_i, mask, split=split), cfg)
    assert mask is not None
    if strict and not patch.ok:
        raise SolverError(f"{fn}: no repair found: status {patch.status!r} (bound={cfg['bound']}, "
                          f"{int(mask.sum())} edges, {nf} failing, {len(yp)} passing, solver {cfg['solver']!r})")
    return patch


# --------------------------------------------------------------------------------------------------------------------
# Activation patterns and intermediate-layer repair (§2.2, §2.5, §3.5)
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """An activation pattern ``sigma = (on, off)`` of a layer's pre-activations (§2.2).

    ``sigma(X)`` holds iff ``z_N(X) > 0`` for every ``N`` in ``on`` and ``z_N(X) <= 0`` for every ``N`` in ``off``.

    Attributes:
        on: neurons that must be active, ascending.
        off: neurons that must be inactive, ascending.
        support: number of mining inputs in the pattern's leaf (0 for a hand-made pattern).
    """

    on: tuple[int, ...]
    off: tuple[int, ...]
    support: int = 0

    def holds(self, z: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Bool ``[N]``: which rows of the pre-activations ``z`` ``[N, n]`` satisfy the pattern."""
        zt = torch.as_tensor(z)
        ok = torch.ones(zt.shape[0], dtype=torch.bool, device=zt.device)
        if self.on:
            ok &= (zt[:, list(self.on)] > 0).all(dim=1)
        if self.off:
            ok &= (zt[:, list(self.off)] <= 0).all(dim=1)
        return ok


@dataclass
class Patterns:
    """Result of :func:`activation_patterns`.

    Attributes:
        layer: the layer's name.
        correct: ``sigma_C`` per class: the highest-support pure leaf of inputs correctly classified as ``C``.
        incorrect: ``sigma^inc_C`` per class: the highest-support pure leaf of misclassified inputs of class ``C``
            (absent when there is none; then every failing input of ``C`` is used, §7-A12).
    """

    layer: str
    correct: dict[int, Pattern]
    incorrect: dict[int, Pattern]


def _leaf_patterns(sig: np.ndarray, target: np.ndarray, seed: int) -> dict[int, Pattern]:
    """Fit a gini tree on the binary signatures and return, per target value, its best pure leaf (§2.2 steps 3-5:
    the largest support, then the shorter pattern, then the lower leaf id)."""
    from sklearn.tree import DecisionTreeClassifier  # lazy: only intermediate repair needs it

    tree = DecisionTreeClassifier(criterion="gini", random_state=seed).fit(sig.astype(np.uint8), target)
    t = tree.tree_
    leaf_of = tree.apply(sig.astype(np.uint8))
    best: dict[int, tuple[tuple[int, int, int], Pattern]] = {}
    stack: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = [(0, (), ())]
    while stack:
        node, on, off = stack.pop()
        left, right = int(t.children_left[node]), int(t.children_right[node])
        if left == -1:  # a leaf: pure when every training sample in it has the same target
            members = target[leaf_of == node]
            if len(members) and bool(np.all(members == members[0])):
                c = int(members[0])
                key = (-len(members), len(on) + len(off), node)
                if c not in best or key < best[c][0]:
                    best[c] = (key, Pattern(tuple(sorted(on)), tuple(sorted(off)), len(members)))
            continue
        f = int(t.feature[node])  # binary features: "<= 0.5" is off (left), "> 0.5" is on (right)
        stack.append((left, on, off + (f,)))
        stack.append((right, on + (f,), off))
    return {c: p for c, (_, p) in best.items()}


def activation_patterns(model: nn.Module, layer: int | str, data: Any, *, seed: int = 0) -> Patterns:
    """Mine the correct-label and incorrect-classification patterns of a layer (§2.2, §7-A11, §7-A12).

    The signature of ``X`` is ``z(X) > 0`` at the layer's output (pre-activation). ``sigma_C``: a gini decision tree
    (no depth limit) on the signatures with target = the label when the model is right, else an extra "wrong"
    class; the pure leaf of class ``C`` with the largest support. ``sigma^inc_C``: a tree on the inputs of class
    ``C`` with target "misclassified"; its largest pure misclassified leaf. Needs scikit-learn.

    Args:
        model: a classifier returning ``[N, K]`` logits.
        layer: the ``nn.Linear`` (index into the leaf modules, name, or ``"last"``).
        data: the mining pool ``(inputs, labels)`` (the defect set and Train, §2.2).
        seed: the trees' ``random_state``; >= 0.

    Returns:
        :class:`Patterns`.

    Raises:
        TypeError, ValueError, ShapeError: as for :func:`localize`.
    """
    fn = "pyrepair.patch.activation_patterns"
    check_model(model, fn)
    name, lin = _resolve_layer(model, layer, fn)
    x, y = _check_pair(data, "data", fn, allow_empty=False)
    seed = check_seed(seed, fn)
    cache = _forward_cache(model, lin, x, fn, "data")
    k = cache.logits.shape[1]
    _check_labels(y, k, "data", fn)
    yy = y.numpy()
    pred = _pred(cache.logits)
    sig = cache.z > 0
    correct = _leaf_patterns(sig, np.where(pred == yy, yy, k), seed % 2**32)
    correct.pop(k, None)
    correct = dict(sorted(correct.items()))
    incorrect = {}
    for c in sorted(set(yy[pred != yy].tolist())):
        rows = yy == c
        found = _leaf_patterns(sig[rows], (pred[rows] != c).astype(np.int64), seed % 2**32)
        if 1 in found:
            incorrect[int(c)] = found[1]
    return Patterns(layer=name, correct=correct, incorrect=incorrect)


def _check_pattern(pattern: Any, n: int, fn: str) -> tuple[np.ndarray, np.ndarray]:
    """``pattern`` as two bool masks over the ``n`` neurons."""
    if isinstance(pattern, Pattern):
        on_l, off_l = pattern.on, pattern.off
    elif isinstance(pattern, (tuple, list)) and len(pattern) == 2:
        on_l, off_l = pattern
    else:
        raise ArgumentTypeError(f"{fn}: pattern must be a Pattern or an (on, off) pair of neuron lists, got "
                                f"{type(pattern).__name__}")
    masks = []
    for label, lst in (("on", on_l), ("off", off_l)):
        if isinstance(lst, (str, bytes)) or not isinstance(lst, Sequence):
            raise ArgumentTypeError(f"{fn}: pattern {label} must be a sequence of neuron indices, got "
                                    f"{type(lst).__name__}")
        m = np.zeros(n, dtype=bool)
        m[[check_int(v, f"pattern {label} neuron", fn, min_value=0, max_value=n - 1) for v in lst]] = True
        masks.append(m)
    if np.any(masks[0] & masks[1]):
        raise ArgumentError(f"{fn}: pattern on and off must be disjoint, both hold "
                            f"{np.nonzero(masks[0] & masks[1])[0].tolist()}")
    return masks[0], masks[1]


@dataclass
class _PatternProblem:
    layer: str
    model: nn.Module
    x: torch.Tensor
    a: np.ndarray  # float64 [M, n_in]
    z: np.ndarray  # float64 [M, n]
    a_t: torch.Tensor
    y: np.ndarray
    is_fail: np.ndarray
    on: np.ndarray  # bool [n]
    off: np.ndarray  # bool [n]
    weight: torch.Tensor
    bias: torch.Tensor | None


def _pattern_rows(p: _PatternProblem, mask: np.ndarray, eps: float) -> tuple[list[tuple[Any, np.ndarray,
                                                                                           np.ndarray]], np.ndarray,
                                                                               np.ndarray]:
    """Per faulty neuron ``N`` (the rows of ``mask`` with edges): ``(A_N sparse [R_N, k_N], lo_N, example_N)``
    with ``A_N delta_N >= lo_N``; plus ``req_on [M, f]`` and the ``dead`` examples (a violated constant row).

    Vectorised over examples: one neuron's rows are ``sign * a[:, S_N]`` and ``on: eps_X - z``, ``off: z``.
    """
    import scipy.sparse as sp

    faulty = np.nonzero(mask.any(axis=1))[0]
    zf = p.z[:, faulty]
    cur_on = zf > 0
    req_on = np.where(p.is_fail[:, None] & p.on[faulty][None], True,
                      np.where(p.is_fail[:, None] & p.off[faulty][None], False, cur_on))
    m_on = np.where(p.is_fail[:, None], eps, np.minimum(eps, np.maximum(zf, 0.0)))
    sign = np.where(req_on, 1.0, -1.0)
    lo_all = np.where(req_on, m_on - zf, zf)
    dead = np.zeros(len(p.y), dtype=bool)
    blocks = []
    for j, n in enumerate(faulty):  # one block per faulty neuron (f of them), each vectorised over examples
        coef = p.a[:, mask[n]] * sign[:, j:j + 1]
        live = np.any(coef != 0.0, axis=1)
        dead |= ~live & (lo_all[:, j] > 0.0)
        ex = np.nonzero(live)[0]
        blocks.append((sp.csr_matrix(coef[ex]), lo_all[ex, j], ex))
    return blocks, req_on, dead


def _solve_pattern_problem(p: _PatternProblem, mask: np.ndarray, *, bound: float, objective: str, solver: str,
                           time_limit: float, soft: bool, epsilon: float, split: bool,
                           cls: int | None = None) -> Patch:
    import scipy.sparse as sp

    n, n_in = mask.shape
    rows_e, cols_e = np.nonzero(mask)  # row-major: the edges of one neuron are contiguous
    e = len(rows_e)
    faulty = np.nonzero(mask.any(axis=1))[0]
    sizes = mask[faulty].sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    total_solve, total_asm, eps = 0.0, 0.0, epsilon
    lp = {"rows": 0, "cols": 2 * e, "nnz": 0, "binaries": 0}
    status, x, obj = "optimal", np.zeros(2 * e), 0.0
    delta = np.zeros((n, n_in))
    target = np.ones(len(p.y), dtype=bool)
    for attempt in range(_RECHECKS + 1):
        t0 = time.perf_counter()
        blocks, req_on, dead = _pattern_rows(p, mask, eps)
        total_asm += time.perf_counter() - t0
        if dead[~p.is_fail].any():  # cannot happen: the current status satisfies a passing example's rows
            raise AssertionError("a passing example has a violated constant row")
        if not soft and dead[p.is_fail].any():
            status, x = "infeasible", None
            break
        target = ~dead
        if e == 0:
            break
        if soft:
            fail_ids = np.nonzero(p.is_fail & ~dead)[0]
            n_bin = len(fail_ids)
            col_of = np.full(len(p.y), -1, dtype=np.int64)
            col_of[fail_ids] = np.arange(n_bin)
            t0 = time.perf_counter()
            A = sp.block_diag([b[0] for b in blocks], format="csr")
            lo = np.concatenate([b[1] for b in blocks])
            ex = np.concatenate([b[2] for b in blocks])
            keep = ~dead[ex]
            mat, lo2, hi, n_cols = _lp_matrix(A[keep], lo[keep], e, bound, "l1", p.is_fail[ex][keep],
                                              col_of[ex][keep], n_bin)
            total_asm += time.perf_counter() - t0
            st, xs, sec = _max_fixed(mat, lo2, hi, n_cols, n_bin, bound, solver, time_limit)
            total_solve += sec
            lp["binaries"] = n_bin
            if xs is None:
                status, x = st, None
                break
            target = ~p.is_fail.copy()
            target[fail_ids[xs[n_cols:] > 0.5]] = True
        joint = not split or objective == "l1+linf"  # the max couples the neurons: one LP
        groups = [list(range(len(blocks)))] if joint else [[j] for j in range(len(blocks))]
        x = np.zeros(2 * e)
        obj, status = 0.0, "optimal"
        lp.update(rows=0, nnz=0)
        for g in groups:  # one LP per faulty neuron (split), or one joint LP
            t0 = time.perf_counter()
            A = sp.block_diag([blocks[j][0] for j in g], format="csr")
            lo = np.concatenate([blocks[j][1] for j in g])
            ex = np.concatenate([blocks[j][2] for j in g])
            keep = target[ex]
            ge = int(sum(sizes[j] for j in g))
            mat, lo2, hi, n_cols = _lp_matrix(A[keep], lo[keep], ge, bound, objective)
            total_asm += time.perf_counter() - t0
            lp["rows"] += int(mat.shape[0])
            lp["nnz"] += int(mat.nnz)
            c = _objective_vector(objective, ge)
            st, xg, og, sec = _solve_sparse(mat, lo2, hi, np.zeros(n_cols), np.full(n_cols, bound), c, solver,
                                            time_limit)
            total_solve += sec
            if xg is None:
                status, x = st, None
                break
            cols = np.concatenate([np.arange(offsets[j], offsets[j + 1]) for j in g])
            x[cols], x[e + cols] = xg[:ge], xg[ge:2 * ge]
            obj = max(obj, og) if objective == "linf" else obj + og  # l1+linf is solved jointly
            if st == "feasible":
                status = "feasible"
        if x is None:
            break
        delta = np.zeros((n, n_in))
        delta[rows_e, cols_e] = x[:e] - x[e:]
        if soft and not bool(np.all(target | ~p.is_fail)):
            status = "soft"
        # float re-check (§3.8) of every targeted row: float64 on the cache, and the model's dtype
        new64 = p.z[:, faulty] + p.a @ delta[faulty].T
        w = p.weight + torch.from_numpy(delta).to(p.weight.device, p.weight.dtype)
        new_t = torch.nn.functional.linear(p.a_t, w.to(p.a_t.device), p.bias)[:, torch.from_numpy(faulty)]
        m_on = np.where(p.is_fail[:, None], eps, np.minimum(eps, np.maximum(p.z[:, faulty], 0.0)))
        ok64 = np.where(req_on, new64 >= m_on - 1e-9, new64 <= 1e-9).all(axis=1)
        okt = np.where(req_on, new_t.double().cpu().numpy() > 0, True).all(axis=1)
        if bool(np.all((ok64 & okt)[target])):
            break
        if attempt == _RECHECKS:
            status = "numerically_unstable"
            break
        eps *= 10.0
    if x is None:
        delta, obj = np.zeros((n, n_in)), None
    correct = _model_correct(p.model, p.layer, delta, p.x, p.y)
    return Patch(layer=p.layer, delta=torch.from_numpy(delta), edges=torch.from_numpy(mask.copy()), status=status,
                 objective=obj, solver=solver, solve_seconds=total_solve, assemble_seconds=total_asm,
                 fixed=torch.from_numpy(correct[p.is_fail]), kept=torch.from_numpy(correct[~p.is_fail]), lp=lp,
                 epsilon=eps, cls=cls, kind="intermediate")


def _model_correct(model: nn.Module, layer: str, delta: np.ndarray, x: torch.Tensor, y: np.ndarray) -> np.ndarray:
    """Which examples the model with ``delta`` added to ``layer`` classifies correctly (one batched pass)."""
    return _patched_pred(model, layer, delta, x) == y


def _patched_pred(model: nn.Module, layer: str, delta: np.ndarray, x: torch.Tensor) -> np.ndarray:
    """Predictions (tie rule) of the model with ``delta`` added to ``layer``'s weight, through a forward hook that
    adds ``delta @ a`` to the layer's output (the model itself is not changed)."""
    lin = dict(model.named_modules())[layer]
    extra = torch.from_numpy(delta).to(lin.weight.device, lin.weight.dtype)
    handle = lin.register_forward_hook(lambda _m, inp, out: out + torch.nn.functional.linear(inp[0], extra))
    modes = save_modes(model)
    preds = []
    try:
        model.eval()
        with torch.no_grad():
            for s in range(0, int(x.shape[0]), _BATCH):
                xb = x[s:s + _BATCH].to(model_device(model), input_dtype(model))
                preds.append(_pred_t(model(xb)).cpu())
    finally:
        handle.remove()
        restore_modes(modes)
    return torch.cat(preds).numpy() if preds else np.zeros(0, dtype=np.int64)


# --------------------------------------------------------------------------------------------------------------------
# Experts (§2.3, §2.6)
# --------------------------------------------------------------------------------------------------------------------


def class_experts(
    model: nn.Module,
    layer: int | str,
    data: Any,
    *,
    extra: Any = None,
    score_data: Any = None,
    classes: Sequence[int] | None = None,
    n_fail: int | None = None,
    n_pass: int | None = None,
    top_k: int | None = None,
    bound: float | None = None,
    objective: Literal["l1", "linf", "l1+linf", "none"] = "l1",
    solver: Literal["glop", "pdlp", "scip", "cp-sat"] = "glop",
    time_limit: float = 60.0,
    soft: bool | Literal["auto"] = False,
    epsilon: float = 1e-3,
    seed: int = 0,
    progress: bool | None = None,
) -> list[Patch]:
    """One expert per class (§2.3, §2.6): a :class:`Patch` found from that class's examples only.

    **Output layer**: for each class ``C`` with misclassified examples in ``data``, ``n_fail`` failing and
    ``n_pass`` passing examples of class ``C`` are drawn at random (``seed``), plus every correctly classified
    example of ``extra`` (the clean passing inputs of §2.3, any class: they get the single row
    ``y_D - y'_C >= m``); the expert changes the top-``k`` edges of row ``C``.

    **Intermediate layer**: the patterns are mined first (:func:`activation_patterns` on ``data`` and
    ``score_data``); ``Fail_C`` = the failing examples of ``C`` matching ``sigma^inc_C`` (all of them when there is
    no such pattern) that violate ``sigma_C``, at most ``n_fail``; ``Pass_C`` = ``|Fail_C| + n_pass`` correct
    examples of ``C`` matching ``sigma_C``; the correctly classified ``extra`` examples keep their status at the
    faulty neurons (§7-A9); the expert changes the top-``k`` edges of each faulty neuron (:func:`repair_layer` with
    the pattern). A class without ``sigma_C`` gets no expert.

    The edge scores use ``Fail`` = the drawn failing examples and ``Pass`` = every passing example of ``data`` and
    ``extra``, or of ``score_data`` when given (§7-A7: all passing inputs of the pool). One forward pass caches all
    of ``data`` and ``extra`` (and one more ``score_data``).

    Args:
        model, layer: as for :func:`repair_layer`.
        data: the defect set ``(inputs, labels)`` (Train, P-Train or Adv-Train with true labels).
        extra: optional clean ``(inputs, labels)``; those classified correctly join every expert's constraints.
        score_data: optional ``(inputs, labels)`` whose correctly classified examples define the ``Pass`` mean of
            the defect score (e.g. the whole training set).
        classes: the classes to build experts for (default: every class with a failing example).
        n_fail: failing examples per expert, >= 1; default 5 for the output layer (§4), all for an intermediate
            layer.
        n_pass: passing examples per expert (beyond ``|Fail_C|`` for an intermediate layer), >= 0; default 5 for
            the output layer, 100 for an intermediate one (§4).
        top_k, bound, objective, solver, time_limit, soft, epsilon: as for :func:`repair_layer` (defaults per layer
            kind: 5 edges and bound 0.5 for the output layer, 10 % of the fan-in and bound 1.0 otherwise).
        seed: seed of the draws; >= 0.
        progress: a tqdm bar over the classes; ``None`` shows it only on a terminal.

    Returns:
        The experts, ascending by class (:attr:`Patch.cls`); a class without failing examples has none.

    Raises:
        TypeError, ValueError, UnknownNameError, ShapeError: as for :func:`repair_layer`.
    """
    fn = "pyrepair.patch.class_experts"
    check_model(model, fn)
    name, lin = _resolve_layer(model, layer, fn)
    cfg = _check_solver_args(fn, bound, objective, solver, time_limit, soft, epsilon)
    k = _check_top_k(top_k, fn)
    n_fail_ = None if n_fail is None else check_int(n_fail, "n_fail", fn, min_value=1)
    n_pass_ = None if n_pass is None else check_int(n_pass, "n_pass", fn, min_value=0)
    seed = check_seed(seed, fn)
    show = resolve_progress(progress, fn)
    xd, yd = _check_pair(data, "data", fn, allow_empty=False)
    xe, ye = (xd[:0], yd[:0]) if extra is None else _check_pair(extra, "extra", fn, allow_empty=True)
    x_all = _stack(xd, xe, ("data", "extra"), fn)
    cache = _forward_cache(model, lin, x_all, fn, "data/extra")
    k = _kind_defaults(k, cfg, cache.is_output, int(lin.weight.shape[1]))
    n_out = cache.logits.shape[1]
    _check_labels(yd, n_out, "data", fn)
    _check_labels(ye, n_out, "extra", fn)
    y = torch.cat([yd, ye]).numpy()
    pred = _pred(cache.logits)
    nd = len(yd)
    in_data = np.arange(len(y)) < nd
    correct = pred == y
    if classes is None:
        wanted = sorted({int(c) for c in y[in_data & ~correct]})
    else:
        if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence):
            raise ArgumentTypeError(f"{fn}: classes must be a sequence of ints, got {type(classes).__name__}")
        wanted = sorted({check_int(c, "classes", fn, min_value=0, max_value=n_out - 1) for c in classes})
    w = lin.weight.detach().double().cpu().numpy()
    pass_a = cache.a[correct]
    if score_data is not None:
        xs, ys = _check_pair(score_data, "score_data", fn, allow_empty=False)
        sc = _forward_cache(model, lin, _stack(xd, xs, ("data", "score_data"), fn)[len(xd):], fn, "score_data")
        _check_labels(ys, n_out, "score_data", fn)
        pass_a = sc.a[_pred(sc.logits) == ys.numpy()]
    mean_pass = np.abs(pass_a).mean(axis=0) if len(pass_a) else np.zeros(w.shape[1])
    extra_idx = np.nonzero(~in_data & correct)[0]
    rng = np.random.default_rng(seed)
    if not cache.is_output:
        pool = (xd, yd) if score_data is None else (torch.cat([xd, xs.to(xd.dtype)]), torch.cat([yd, ys]))
        pats = activation_patterns(model, name, pool, seed=seed)
        return _intermediate_experts(model, name, lin, cache, x_all, y, in_data, correct, wanted, pats, mean_pass,
                                     extra_idx, rng, len(y) if n_fail_ is None else n_fail_,
                                     100 if n_pass_ is None else n_pass_, k, cfg, show)
    n_fail = 5 if n_fail_ is None else n_fail_
    n_pass = 5 if n_pass_ is None else n_pass_
    experts = []
    for c in tqdm(wanted, desc="NNrepair experts", unit="class", disable=not show, leave=False):  # one LP each
        fails = np.nonzero(in_data & ~correct & (y == c))[0]
        if not len(fails):
            continue
        passes = np.nonzero(in_data & correct & (y == c))[0]
        fails = np.sort(rng.choice(fails, size=min(n_fail, len(fails)), replace=False))
        passes = np.sort(rng.choice(passes, size=min(n_pass, len(passes)), replace=False))
        idx = np.concatenate([fails, passes, extra_idx[~np.isin(extra_idx, passes)]])
        score = np.abs(w) * (np.abs(cache.a[fails]).mean(axis=0) - mean_pass)[None, :]
        mask = _top_edges(score, [c], min(k, w.shape[1]))
        ti = torch.from_numpy(idx).to(cache.a_t.device)
        prob = _Problem(layer=name, a=cache.a[idx], logits=cache.logits[idx], a_t=cache.a_t[ti],
                        y=y[idx], is_fail=np.arange(len(idx)) < len(fails), edges=mask, weight=lin.weight.detach(),
                        bias=None if lin.bias is None else lin.bias.detach())
        experts.append(_solve_with_fallback(partial(_solve_problem, prob, cls=c), cfg))
    return experts


def _intermediate_experts(model: nn.Module, name: str, lin: nn.Linear, cache: _Cache, x_all: torch.Tensor,
                          y: np.ndarray, in_data: np.ndarray, correct: np.ndarray, wanted: list[int],
                          pats: Patterns, mean_pass: np.ndarray, extra_idx: np.ndarray, rng: np.random.Generator,
                          n_fail: int, n_pass: int, k: int, cfg: dict[str, Any], show: bool) -> list[Patch]:
    """§2.3 'Intermediate-layer repair': Fail_C = failing inputs of C matching sigma^inc_C (all of them when there
    is no such pattern), at most ``n_fail``; Pass_C = ``|Fail_C| + n_pass`` correct inputs of C matching sigma_C;
    the extras keep their current status at the faulty neurons (§7-A9)."""
    w = lin.weight.detach().double().cpu().numpy()
    experts = []
    for c in tqdm(wanted, desc="NNrepair experts", unit="class", disable=not show, leave=False):
        sigma = pats.correct.get(c)
        if sigma is None:
            logger.info("class %d has no correct-label pattern: no intermediate expert", c)
            continue
        fails = np.nonzero(in_data & ~correct & (y == c))[0]
        if c in pats.incorrect:
            fails = fails[pats.incorrect[c].holds(cache.z[fails]).numpy()]
        fails = fails[~sigma.holds(cache.z[fails]).numpy()]  # those already in sigma_C have nothing to fix
        if not len(fails):
            continue
        fails = np.sort(rng.choice(fails, size=min(n_fail, len(fails)), replace=False))
        passes = np.nonzero(in_data & correct & (y == c))[0]
        passes = passes[sigma.holds(cache.z[passes]).numpy()]
        passes = np.sort(rng.choice(passes, size=min(len(fails) + n_pass, len(passes)), replace=False))
        idx = np.concatenate([fails, passes, extra_idx[~np.isin(extra_idx, passes)]])
        on, off = _check_pattern(sigma, w.shape[0], "pyrepair.patch.class_experts")
        zf = cache.z[fails]
        faulty = np.nonzero(((on[None] & (zf <= 0)) | (off[None] & (zf > 0))).any(axis=0))[0].tolist()
        score = np.abs(w) * (np.abs(cache.a[fails]).mean(axis=0) - mean_pass)[None, :]
        mask = _top_edges(score, faulty, min(k, w.shape[1]))
        ti = torch.from_numpy(idx)
        prob = _PatternProblem(layer=name, model=model, x=x_all[ti], a=cache.a[idx], z=cache.z[idx],
                               a_t=cache.a_t[ti.to(cache.a_t.device)], y=y[idx],
                               is_fail=np.arange(len(idx)) < len(fails), on=on, off=off, weight=lin.weight.detach(),
                               bias=None if lin.bias is None else lin.bias.detach())
        experts.append(_solve_with_fallback(partial(_solve_pattern_problem, prob, mask, split=True, cls=c), cfg))
    return experts


def _check_patches(patches: Any, fn: str) -> list[Patch]:
    if isinstance(patches, Patch):
        patches = [patches]
    if not isinstance(patches, (list, tuple)) or not all(isinstance(p, Patch) for p in patches):
        raise ArgumentTypeError(f"{fn}: patches must be a list of Patch objects, got {type(patches).__name__}")
    layers = {(p.layer, tuple(p.delta.shape)) for p in patches}
    if len(layers) > 1:
        raise ArgumentError(f"{fn}: patches must all change the same layer, got {sorted(layers)}")
    return list(patches)


def merge(patches: Sequence[Patch]) -> Patch:
    """Variant B of §2.6: one patch whose change of each edge is the average over the usable experts in which that
    edge is symbolic (§7-A14).

    Last-layer experts change disjoint rows, so this is the sum of their changes. Patches without a solution
    (``patch.ok`` false) are left out.

    Args:
        patches: patches of the same layer (e.g. from :func:`class_experts`); may be empty only if no layer is
            known, so at least one is needed.

    Returns:
        A :class:`Patch` with status ``"merged"`` (``objective`` the L1 size of the merged change, times and LP
        sizes summed; ``fixed``/``kept`` empty: they belong to each expert).

    Raises:
        TypeError: not a list of patches.
        ValueError: an empty list, or patches of different layers.
    """
    fn = "pyrepair.patch.merge"
    ps = _check_patches(patches, fn)
    if not ps:
        raise ArgumentError(f"{fn}: patches must hold at least one Patch, got none")
    use = [p for p in ps if p.ok]
    delta = torch.zeros_like(ps[0].delta)
    count = torch.zeros_like(ps[0].delta)
    for p in use:
        delta += p.delta
        count += p.edges.to(count.dtype)
    edges = count > 0
    delta = torch.where(edges, delta / count.clamp(min=1), delta)
    lp = {key: sum(p.lp.get(key, 0) for p in use) for key in ("rows", "cols", "nnz", "binaries")}
    empty = torch.zeros(0, dtype=torch.bool)
    return Patch(layer=ps[0].layer, delta=delta, edges=edges, status="merged", objective=float(delta.abs().sum()),
                 solver="+".join(sorted({p.solver for p in use})) or ps[0].solver,
                 solve_seconds=sum(p.solve_seconds for p in use), assemble_seconds=sum(p.assemble_seconds for p in use),
                 fixed=empty, kept=empty.clone(), lp=lp, epsilon=max((p.epsilon for p in use), default=ps[0].epsilon),
                 kind=ps[0].kind)


def _f1(pred: np.ndarray, y: np.ndarray, c: int) -> float:
    tp = float(np.sum((pred == c) & (y == c)))
    fp = float(np.sum((pred == c) & (y != c)))
    fn_ = float(np.sum((pred != c) & (y == c)))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn_)


def f1_filter(model: nn.Module, patches: Sequence[Patch], data: Any) -> list[Patch]:
    """Variant C of §2.6: keep the experts whose F1 for their own class on ``data`` is strictly above the model's.

    With several filter sets the score is the harmonic mean of the per-set F1 (§7-A16: Train and P-Train for a
    poisoned model, Train and Adv-Train for an adversarial one).

    Args:
        model: the original model.
        patches: experts with :attr:`Patch.cls` set (from :func:`class_experts`).
        data: the filter set ``(inputs, labels)``, or a list of such sets (harmonic mean of their F1).

    Returns:
        The kept experts (possibly none), in the given order.

    Raises:
        TypeError: a bad argument type. ValueError: a patch without a class, or of a layer the model lacks.
    """
    fn = "pyrepair.patch.f1_filter"
    check_model(model, fn)
    return _f1_filter(model, _check_patches(patches, fn), data, "data", fn)


def _f1_scores(model: nn.Module, lin: nn.Linear, ps: list[Patch], x: torch.Tensor, y: torch.Tensor, name: str,
               fn: str) -> tuple[list[float], list[float]]:
    """Per patch: (F1 of the patched model for its class, F1 of the original) on one filter set."""
    cache = _forward_cache(model, lin, x, fn, name)
    _check_labels(y, cache.logits.shape[1], name, fn)
    yy = y.numpy()
    base = _pred(cache.logits)
    mine_f1, base_f1 = [], []
    for p in ps:
        if cache.is_output:  # the logits move by delta @ a: no forward pass needed
            mine = _pred(cache.logits + cache.a @ p.delta.numpy().T)
        else:
            mine = _patched_pred(model, p.layer, p.delta.numpy(), x)
        assert p.cls is not None
        mine_f1.append(_f1(mine, yy, p.cls))
        base_f1.append(_f1(base, yy, p.cls))
    return mine_f1, base_f1


def _harmonic(values: Sequence[float]) -> float:
    return 0.0 if min(values) <= 0 else len(values) / sum(1.0 / v for v in values)


def _f1_filter(model: nn.Module, ps: list[Patch], data: Any, name: str, fn: str) -> list[Patch]:
    several = isinstance(data, list) and len(data) > 0 and all(isinstance(d, (tuple, list)) for d in data)
    names = [f"{name}[{i}]" for i in range(len(data))] if several else [name]
    sets = [_check_pair(d, nm, fn, allow_empty=False) for d, nm in zip(data if several else [data], names,
                                                                          strict=True)]
    if not ps:
        return []
    if any(p.cls is None for p in ps):
        raise ArgumentError(f"{fn}: every patch must be a class expert (Patch.cls set), got cls=None")
    lin = _layer_by_name(model, ps[0].layer, tuple(ps[0].delta.shape), fn)
    use = [p for p in ps if p.ok]
    scores = [_f1_scores(model, lin, use, x, y, nm, fn) for (x, y), nm in zip(sets, names, strict=True)]
    return [p for j, p in enumerate(use)
            if _harmonic([s[0][j] for s in scores]) > _harmonic([s[1][j] for s in scores])]


def _choose(y0: torch.Tensor, ys: torch.Tensor, classes: torch.Tensor, strategy: str) -> torch.Tensor:
    """§2.6 variant A on logits: ``y0`` ``[B, K]`` of the original, ``ys`` ``[B, E, K]`` of the experts of
    ``classes`` ``[E]``. ``E(X)`` are the experts that predict their own class; none: the original logits; one: that
    expert's logits; several: ``naive`` the original, ``confidence`` the expert with the largest ``|y^e_{C_e}|``,
    ``votes`` the claimant most other experts predict, ties to confidence, then the original prediction, then the
    lowest class (§7-A13). The output is the chosen network's logits, so its argmax is the combined decision."""
    p = _pred_t(ys)  # [B, E]
    cls = classes[None, :]
    claim = p == cls
    count = claim.sum(1)
    conf = ys.gather(2, classes[None, :, None].expand(ys.shape[0], -1, 1)).squeeze(2).abs()
    p0 = _pred_t(y0)
    if strategy == "naive":
        choice = claim.float().argmax(1)  # the single claimant when count == 1
    elif strategy == "confidence":
        choice = torch.where(claim, conf, torch.full_like(conf, -math.inf)).argmax(1)
    else:
        others = ~torch.eye(p.shape[1], dtype=torch.bool, device=p.device)[None]  # e' != e
        votes = ((p[:, None, :] == classes[None, :, None]) & others).sum(2)  # [B, E]
        neg = torch.full_like(conf, -math.inf)
        v = torch.where(claim, votes.to(conf.dtype), neg)
        tied = claim & (v == v.max(1, keepdim=True).values)
        cf = torch.where(tied, conf, neg)
        tied = tied & (cf == cf.max(1, keepdim=True).values)
        is_p0 = tied & (cls == p0[:, None])
        big = torch.iinfo(torch.int64).max
        lowest = torch.where(tied, cls.expand_as(tied), torch.full_like(p, big)).argmin(1)
        choice = torch.where(is_p0.any(1), is_p0.float().argmax(1), lowest)
    use = (count == 1) | ((count > 1) & (strategy != "naive"))
    chosen = ys[torch.arange(ys.shape[0], device=ys.device), choice]
    return torch.where(use[:, None], chosen, y0)


class _ExpertHead(nn.Module):
    """The output layer with its experts run side by side (§2.6 variant A): expert ``e`` gives the logits
    ``W a + b + delta_e a``; :func:`_choose` combines them per input. One pass of the prefix."""

    def __init__(self, linear: nn.Linear, deltas: torch.Tensor, classes: torch.Tensor, strategy: str) -> None:
        super().__init__()
        self.linear = linear
        self.register_buffer("deltas", deltas.to(linear.weight.device, linear.weight.dtype))  # [E, K, n_in]
        self.register_buffer("classes", classes.to(linear.weight.device))  # [E]
        self.strategy = strategy

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        y0 = self.linear(a)
        if self.deltas.shape[0] == 0:
            return y0
        ys = y0[:, None, :] + torch.einsum("bi,eki->bek", a, self.deltas)  # [B, E, K]
        return _choose(y0, ys, self.classes, self.strategy)


class _ExpertEnsemble(nn.Module):
    """Intermediate-layer experts run side by side (§2.6 variant A, the sparse form of kernel K5).

    The prefix up to the repaired layer runs once: a forward hook on the layer returns its output for the original
    model stacked over the batch with ``out + delta_e a`` for every expert, so the suffix runs on ``(E + 1) B`` rows
    in one pass and :func:`_choose` combines the ``E + 1`` logit sets. A model whose suffix does not keep rows apart
    (the output is not ``(E + 1) B`` rows) falls back to one full pass per expert. Meant for eval mode (a
    train-mode BatchNorm after the layer would mix the experts' rows)."""

    def __init__(self, model: nn.Module, layer: str, deltas: torch.Tensor, classes: torch.Tensor,
                 strategy: str) -> None:
        super().__init__()
        self.model = model
        self.layer = layer
        lin = model.get_submodule(layer)
        self.register_buffer("deltas", deltas.to(lin.weight.device, lin.weight.dtype))  # [E, n, n_in]
        self.register_buffer("classes", classes.to(lin.weight.device))
        self.strategy = strategy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lin = self.model.get_submodule(self.layer)
        e = self.deltas.shape[0]
        if e == 0:
            return self.model(x)
        calls = [0]

        def stacked(_m: nn.Module, inp: tuple[Any, ...], out: torch.Tensor) -> torch.Tensor | None:
            calls[0] += 1
            if calls[0] > 1:  # a layer used twice in one forward: only its first use is repaired
                return None
            a = inp[0]
            return torch.cat([out, *(out + torch.nn.functional.linear(a, d) for d in self.deltas)])

        handle = lin.register_forward_hook(stacked)
        try:
            y = self.model(x)
        finally:
            handle.remove()
        b = y.shape[0] // (e + 1)
        if calls[0] == 1 and y.dim() == 2 and y.shape[0] == (e + 1) * b and b == _batch_size(x):
            return _choose(y[:b], y[b:].reshape(e, b, -1).transpose(0, 1), self.classes, self.strategy)
        y0, ys = self.model(x), []
        for d in self.deltas:
            hook = lin.register_forward_hook(lambda _m, inp, out, d=d: out + torch.nn.functional.linear(inp[0], d))
            try:
                ys.append(self.model(x))
            finally:
                hook.remove()
        return _choose(y0, torch.stack(ys, dim=1), self.classes, self.strategy)


def _batch_size(x: Any) -> int:
    return int(x.shape[0]) if isinstance(x, torch.Tensor) and x.dim() else -1


_RECORD_KEYS = ("version", "layer", "kind", "strategy", "classes", "shape", "changes")


def _attach(out: nn.Module, name: str, kind: str, deltas: torch.Tensor, classes: torch.Tensor, strategy: str,
            fn: str) -> nn.Module:
    """Install the run-time combination of ``deltas`` ``[E, n, n_in]`` on layer ``name`` of ``out``: an
    :class:`_ExpertHead` in place of an output layer, or an :class:`_ExpertEnsemble` around the model."""
    if kind != "last":
        return _ExpertEnsemble(out, name, deltas, classes, strategy)
    if not name:  # the model itself is the linear layer
        raise ArgumentError(f"{fn}: the model is a bare nn.Linear; wrap it in nn.Sequential for a run-time strategy")
    _set_submodule(out, name, _ExpertHead(out.get_submodule(name), deltas, classes, strategy))
    return out


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    """Put ``module`` at the dotted ``name`` (non-empty) inside ``root``."""
    parent_name, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, child, module)


def combination_record(model: nn.Module) -> tuple[nn.Module, dict[str, Any] | None]:
    """Split a model returned by :func:`combine` with a run-time strategy into the plain model and a JSON-able record.

    The plain model has the original architecture and weights (its ``state_dict`` loads into a fresh instance);
    the record holds the layer, the strategy, the experts' classes and their non-zero weight changes, exactly (float
    values of the layer's dtype). :func:`install_combination` rebuilds the combined model from both. Used by
    :meth:`pyrepair.methods.RepairResult.save` so that a run-time combination survives a checkpoint.

    Args:
        model: any model; only a run-time combination of :func:`combine` has a record.

    Returns:
        ``(plain, record)``; ``(model, None)`` when ``model`` holds no run-time combination (it is not copied).
        For an output-layer combination ``plain`` is a copy; for an intermediate one it is the wrapped model.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
    """
    check_model(model, "pyrepair.patch.combination_record")
    if isinstance(model, _ExpertEnsemble):
        plain, name, mod = model.model, model.layer, model
    else:
        heads = [(n, m) for n, m in model.named_modules() if isinstance(m, _ExpertHead)]
        if not heads:
            return model, None
        name, mod = heads[0]
        plain = copy.deepcopy(model)
        _set_submodule(plain, name, plain.get_submodule(name).linear)
    d = mod.deltas.detach().cpu()
    nz = torch.nonzero(d)
    changes = [[int(e), int(r), int(c), float(d[e, r, c])] for e, r, c in nz.tolist()]
    record = {"version": 1, "layer": name, "kind": "intermediate" if isinstance(mod, _ExpertEnsemble) else "last",
              "strategy": mod.strategy, "classes": [int(c) for c in mod.classes.tolist()],
              "shape": [int(s) for s in d.shape[1:]], "changes": changes}
    return plain, record


def install_combination(model: nn.Module, record: dict[str, Any], *, inplace: bool = False) -> nn.Module:
    """Rebuild the run-time combination that :func:`combination_record` described on the plain ``model``.

    Args:
        model: a model of the original architecture (with the weights the record was taken with).
        record: the dict from :func:`combination_record` (for example read back from JSON).
        inplace: install into ``model`` itself instead of a copy (an output-layer combination replaces the layer;
            an intermediate one wraps the model).

    Returns:
        The combined model: predictions equal those of the model the record was taken from.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``record`` is not a dict. ValueError: a malformed record, or
        its layer is missing from ``model`` or has another shape. UnknownNameError: an unknown strategy.
    """
    fn = "pyrepair.patch.install_combination"
    check_model(model, fn)
    if not isinstance(record, dict):
        raise ArgumentTypeError(f"{fn}: record must be a dict from combination_record, got {type(record).__name__}")
    missing = [k for k in _RECORD_KEYS if k not in record]
    unknown = sorted(str(k) for k in record if k not in _RECORD_KEYS)
    if missing or unknown or record["version"] != 1 or record["kind"] not in ("last", "intermediate"):
        raise ArgumentError(f"{fn}: record is not a version-1 combination record (missing keys {missing}, unknown "
                            f"keys {unknown}, version {record.get('version')!r}, kind {record.get('kind')!r})")
    strategy = record["strategy"]
    if not isinstance(strategy, str):
        raise ArgumentTypeError(f"{fn}: record['strategy'] must be a str, got {strategy!r}")
    check_in("record['strategy']", strategy, STRATEGIES[:3], fn)
    if not isinstance(inplace, bool):
        raise ArgumentTypeError(f"{fn}: inplace must be True or False, got {inplace!r}")
    try:
        shape = tuple(int(s) for s in record["shape"])
        classes = torch.tensor([int(c) for c in record["classes"]], dtype=torch.int64)
        changes = np.asarray(record["changes"], dtype=np.float64).reshape(-1, 4)
    except (TypeError, ValueError) as err:
        raise ArgumentError(f"{fn}: record has malformed shape, classes or changes ({err})") from None
    _layer_by_name(model, str(record["layer"]), shape, fn)
    deltas = torch.zeros((len(classes), *shape), dtype=torch.float64)
    idx = changes[:, :3].astype(np.int64)
    if len(idx) and (idx.min() < 0 or np.any(idx.max(0) >= (len(classes), *shape))):
        raise ArgumentError(f"{fn}: record['changes'] indexes outside [{len(classes)}, {shape[0]}, {shape[1]}]")
    deltas[tuple(torch.from_numpy(idx).T)] = torch.from_numpy(changes[:, 3])
    out = model if inplace else copy.deepcopy(model)
    return _attach(out, str(record["layer"]), record["kind"], deltas, classes, strategy, fn)


def combine(
    model: nn.Module,
    patches: Sequence[Patch],
    *,
    strategy: Literal["naive", "confidence", "votes", "merged"] = "votes",
    filter_data: Any = None,
    inplace: bool = False,
) -> nn.Module:
    """The repaired classifier from per-class experts (§2.6): merged weights or a run-time ensemble.

    ``merged`` adds :func:`merge`'s change to the layer (zero inference overhead); ``naive``, ``confidence`` and
    ``votes`` run every expert and combine their decisions per input: for output-layer experts the layer is
    replaced by a module that runs them on the layer's input (one pass); for intermediate-layer experts the model is
    wrapped in a module that runs the layers before the repaired one once and the rest on the ``E + 1`` stacked
    versions of its output (one pass when the model keeps batch rows apart, else one pass per expert; not available
    with ``inplace``; use it in eval mode). A run-time combination is saved with :meth:`RepairResult.save
    <pyrepair.methods.RepairResult.save>` or :func:`combination_record`. With ``filter_data`` the F1 filter
    (:func:`f1_filter`) runs first; if no expert survives the model is the original ("ON(0)").

    Args:
        model: the original model; not modified unless ``inplace=True``.
        patches: class experts of the model's output layer (:func:`class_experts`), one per class.
        strategy: one of :data:`STRATEGIES`.
        filter_data: optional ``(inputs, labels)`` for the F1 filter.
        inplace: change ``model`` itself instead of a copy.

    Returns:
        The combined model (a copy unless ``inplace``; a wrapper module for run-time intermediate experts).

    Raises:
        TypeError: bad argument types. ValueError: patches of another layer, two experts of one class, experts
        without a class for a run-time strategy, or ``inplace`` with a run-time strategy of intermediate experts.
        UnknownNameError: unknown ``strategy``.
    """
    fn = "pyrepair.patch.combine"
    check_model(model, fn)
    ps = _check_patches(patches, fn)
    if not isinstance(strategy, str):
        raise ArgumentTypeError(f"{fn}: strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    check_in("strategy", strategy, STRATEGIES, fn)
    if not isinstance(inplace, bool):
        raise ArgumentTypeError(f"{fn}: inplace must be True or False, got {inplace!r}")
    if ps:
        _layer_by_name(model, ps[0].layer, tuple(ps[0].delta.shape), fn)
    if filter_data is not None:
        ps = _f1_filter(model, ps, filter_data, "filter_data", fn)
    ps = [p for p in ps if p.ok]
    out = model if inplace else copy.deepcopy(model)
    if not ps:
        return out
    name = ps[0].layer
    lin = dict(out.named_modules())[name]
    assert isinstance(lin, nn.Linear)
    if strategy == "merged":
        with torch.no_grad():
            lin.weight.add_(merge(ps).delta.to(lin.weight.device, lin.weight.dtype))
        return out
    classes = [p.cls for p in ps]
    if any(c is None for c in classes) or len(set(classes)) != len(classes):
        raise ArgumentError(f"{fn}: strategy {strategy!r} needs one expert per class (Patch.cls set and distinct), "
                            f"got classes {classes}")
    deltas, cls_t = torch.stack([p.delta for p in ps]), torch.tensor(classes, dtype=torch.int64)
    kind = "intermediate" if any(p.kind != "last" for p in ps) else "last"
    if kind == "intermediate" and inplace:
        raise ArgumentError(f"{fn}: strategy {strategy!r} for intermediate-layer experts wraps the model in a new "
                            "module (the suffix runs once per expert), so it cannot be inplace; use inplace=False or "
                            "strategy='merged'")
    return _attach(out, name, kind, deltas, cls_t, strategy, fn)

