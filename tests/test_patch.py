"""pyrepair.patch: NNrepair's localisation and last-layer repair (``shared/spec/nnrepair.md`` §8, T1-T7, T10).

The worked example of §2.8 is rebuilt in float64 so its numbers are exact; the planted-error instance (T5) is a
seeded 8 -> 16 -> 4 teacher MLP whose logit 0 loses 1.0 on its three largest positive weights.
"""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
import torch
from scipy.optimize import linprog
from torch import nn

from pyrepair import patch
from pyrepair.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError, SolverError, UnknownNameError

F64 = torch.float64
X = torch.tensor([[1, 1], [0, 1], [1, 0], [-1, 1], [1.5, 2], [0.6, 1]], dtype=F64)
IDEAL = torch.tensor([0, 1, 0, 1, 0, 1])


def toy(w_n1n2: float = -1.5) -> nn.Sequential:
    """Fig. 1 of the paper (§2.8): 2 -> (N0, N1) -> (N2, N3) -> (y0, y1), ReLU, no biases, float64."""
    m = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 2, bias=False), nn.ReLU(),
                      nn.Linear(2, 2, bias=False)).double()
    with torch.no_grad():
        m[0].weight.copy_(torch.tensor([[-1.0, 2.0], [0.5, 1.0]], dtype=F64))
        m[2].weight.copy_(torch.tensor([[2.0, w_n1n2], [-0.5, 3.0]], dtype=F64))
        m[4].weight.copy_(torch.tensor([[-1.5, 2.0], [2.5, 1.5]], dtype=F64))
    return m


def pred(logits: torch.Tensor) -> torch.Tensor:
    """Argmax with ties to the largest index (§7-A19)."""
    return logits.shape[1] - 1 - logits.flip(1).argmax(1)


def snapshot(model: nn.Module) -> tuple[dict[str, torch.Tensor], list[bool]]:
    return {k: v.clone() for k, v in model.state_dict().items()}, [m.training for m in model.modules()]


def assert_unchanged(model: nn.Module, snap: tuple[dict[str, torch.Tensor], list[bool]]) -> None:
    state, modes = snap
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert [m.training for m in model.modules()] == modes


# ----------------------------------------------------------------------------------------------------------------
# T1, T2: the worked example's forward values and edge scores


def test_toy_forward_values_and_tie_rule():
    with torch.no_grad():
        y = toy()(X[:5])
        y5 = toy(-1.9)(X[5:])
    want = torch.tensor([[8, 6], [0.25, 9.25], [3, 2.25], [-7.875, 13.125], [12.6875, 12.6875]], dtype=F64)
    assert torch.allclose(y, want, atol=1e-9, rtol=0)
    assert torch.allclose(y5, torch.tensor([[5.905, 5.625]], dtype=F64), atol=1e-9, rtol=0)
    assert pred(y).tolist() == [0, 1, 0, 1, 1]  # X4 is a tie: class 1


def test_edge_scores_of_the_worked_example():
    # edges into N2 (layer 2, neuron 0), Fail = {X4}, Pass = {X0..X3}
    loc = patch.localize(toy(), 2, (X[4:5], IDEAL[4:5]), (X[:4], IDEAL[:4]), neurons=[0], top_k=1)
    assert loc.scores[0].tolist() == pytest.approx([2.0, 2.8125], abs=1e-12)
    assert loc.neurons == [0] and loc.edges.nonzero().tolist() == [[0, 1]]  # N1 -> N2
    # edges into y1 on the -1.9 network, Fail = {X5}, Pass = {X0..X4}; default neurons = failing labels
    loc = patch.localize(toy(-1.9), "4", (X[5:], IDEAL[5:]), (X[:5], IDEAL[:5]), top_k=1)
    assert loc.layer == "4" and loc.neurons == [1]
    assert loc.scores[1].tolist() == pytest.approx([-2.75, 0.45], abs=1e-12)
    assert loc.edges.nonzero().tolist() == [[1, 1]]  # N3 -> y1


def test_factorised_score_equals_eq4():
    g = np.random.default_rng(0)
    w, af, ap = g.normal(size=(5, 7)), g.normal(size=(9, 7)), g.normal(size=(13, 7))
    direct = np.abs(af[:, None, :] * w[None]).mean(0) - np.abs(ap[:, None, :] * w[None]).mean(0)
    assert np.allclose(patch._scores(w, af, ap), direct, atol=1e-12, rtol=0)


# ----------------------------------------------------------------------------------------------------------------
# T4: last-layer repair of the worked example


_OLD_CP_SAT = pytest.mark.skipif(patch._ortools_version() < patch._CP_SAT_MIN,
                                 reason="cp-sat needs OR-Tools >= 9.15 (rejected with BackendUnavailableError)")


@pytest.mark.parametrize("solver,tol", [("glop", 1e-9), ("scip", 1e-9), ("pdlp", 1e-6),
                                        pytest.param("cp-sat", 1e-6, marks=_OLD_CP_SAT)])
def test_worked_example_last_layer_delta(solver, tol):
    model = toy(-1.9)
    snap = snapshot(model)
    p = patch.repair_layer(model, -1, (X[5:], IDEAL[5:]), (X[:5], IDEAL[:5]), top_k=1, solver=solver)
    assert p.status == "optimal" and p.solver == solver
    assert p.delta[1, 1].item() == pytest.approx(0.0875 + 1e-3 / 3.2, abs=tol)  # 0.0878125
    assert p.changes()[0][:2] == (1, 1) and len(p.changes()) == 1
    assert p.objective == pytest.approx(0.0878125, abs=tol)
    assert p.fixed.tolist() == [True] and p.kept.all()
    # one row per example (K = 2) except X3, whose N3 is off (a constant row); split columns p, q
    assert p.lp == {"rows": 5, "cols": 2, "nnz": 10, "binaries": 0}
    repaired = p.apply(model)
    with torch.no_grad():
        assert pred(repaired(X)).tolist() == [0, 1, 0, 1, 0, 1]  # X5 fixed, X0..X4 keep their classes
    assert_unchanged(model, snap)


def test_papers_delta_is_feasible_for_the_built_rows():
    model = toy(-1.9)
    cache = patch._forward_cache(model, model[4], X, "t", "x")
    y = IDEAL.numpy()
    margin = np.where(np.arange(6) == 5, 1e-3, np.minimum(1e-3, patch._margin(cache.logits, y)))
    rows = patch._decision_rows(cache.a, cache.logits, y, margin, np.array([1]), np.array([1]))
    assert np.all(rows.A @ np.array([0.1]) >= rows.lo)  # the paper's delta = 0.1
    assert not np.all(rows.A @ np.array([0.08]) >= rows.lo)


def test_linf_objective():
    p = patch.repair_layer(toy(-1.9), -1, (X[5:], IDEAL[5:]), (X[:5], IDEAL[:5]), top_k=2, objective="linf")
    assert p.status == "optimal"
    assert p.objective == pytest.approx(float(p.delta.abs().max()), abs=1e-9)
    assert p.lp["cols"] == 5 and p.lp["rows"] == 6 + 2  # + t, + the rows |delta_e| <= t


def test_feasibility_and_combined_objectives():
    fail, keep = (X[5:], IDEAL[5:]), (X[:5], IDEAL[:5])
    none = patch.repair_layer(toy(-1.9), -1, fail, keep, top_k=1, objective="none")  # the paper's z3 query
    assert none.status == "optimal" and none.objective == 0.0 and none.fixed.all() and none.kept.all()
    assert 0.0878125 - 1e-9 <= none.delta[1, 1].item() <= 0.5
    both = patch.repair_layer(toy(-1.9), -1, fail, keep, top_k=1, objective="l1+linf")
    assert both.delta[1, 1].item() == pytest.approx(0.0878125, abs=1e-9)
    assert both.objective == pytest.approx(2 * 0.0878125, abs=1e-9) and both.lp["cols"] == 3


# ----------------------------------------------------------------------------------------------------------------
# Assembly: vectorised rows equal a naive row-by-row reference


def naive_rows(a, logits, y, margin, rows_e, cols_e):
    out = []
    for x in range(len(y)):
        for k in range(logits.shape[1]):
            if k == y[x]:
                continue
            coef = [a[x, c] * (int(r == y[x]) - int(r == k)) for r, c in zip(rows_e, cols_e, strict=True)]
            if any(v != 0 for v in coef):
                out.append((coef, margin[x] - (logits[x, y[x]] - logits[x, k])))
    return np.array([c for c, _ in out]), np.array([lo for _, lo in out])


def test_assembly_matches_naive_reference():
    g = np.random.default_rng(1)
    m, n_in, k = 17, 6, 4
    a = np.maximum(g.normal(size=(m, n_in)), 0)  # ReLU-like: some zero coefficients
    logits, y = g.normal(size=(m, k)), g.integers(0, k, m)
    margin = g.uniform(0, 1e-2, m)
    rows_e, cols_e = np.array([0, 0, 2, 3, 3]), np.array([1, 4, 0, 2, 5])
    got = patch._decision_rows(a, logits, y, margin, rows_e, cols_e)
    A, lo = naive_rows(a, logits, y, margin, rows_e, cols_e)
    assert np.array_equal(got.A, A) and np.allclose(got.lo, lo, atol=1e-15, rtol=0)


def planted(seed: int = 0, classes: tuple[int, ...] = (0,), shift: float = 1.0):
    """T5: teacher 8 -> 16 -> 4 (seed), 2,000 Gaussian inputs labelled by it; each logit of ``classes`` loses
    ``shift`` on its three largest positive weights."""
    torch.manual_seed(seed)
    teacher = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    x = torch.randn(2000, 8, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        y = teacher(x).argmax(1)
    model = copy.deepcopy(teacher)
    with torch.no_grad():
        for c in classes:
            top = torch.topk(model[2].weight[c], 3).indices
            model[2].weight[c, top] -= shift
        p = model(x).argmax(1)
    return model, x, y, p, top


def test_lp_sizes_last_layer():
    # T7: rows = m_C (K - 1) + m_o, cols = 2k; a tanh layer input has no zero activations, so nnz = 2k rows
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 4))
    x = torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        p = model(x).argmax(1)
    x0, x3 = x[p == 0], x[p == 3]  # this model predicts classes 0 and 3 only
    fail = (x3[:3], torch.zeros(3, dtype=torch.long))  # class C = 0, predicted 3
    passing = (torch.cat([x0[:4], x3[3:8]]), torch.tensor([0] * 4 + [3] * 5))
    out = patch.repair_layer(model, -1, fail, passing, top_k=2, bound=10.0)
    assert out.status == "optimal" and out.edges[0].sum() == 2 and out.edges.sum() == 2
    m_c, m_o = 3 + 4, 5
    assert out.lp["rows"] == m_c * 3 + m_o and out.lp["cols"] == 4 and out.lp["nnz"] == 4 * out.lp["rows"]


def test_planted_error_fixed_with_minimal_l1():
    model, x, y, p, top = planted()
    c = 0
    fail = ((p != y) & (y == c)).nonzero().squeeze(1)
    f = fail[fail < 1000][:5]
    assert not ((p == y) & (y == c)).any()  # the planted error leaves no correct example of class c
    pool_pass = (p == y)[:1000].nonzero().squeeze(1)
    q = pool_pass[:5]  # 5 passing examples of the other classes
    snap = snapshot(model)
    # Pass of the defect score = every passing example of the pool (§7-A7); the LP holds 5 + 5 examples
    loc = patch.localize(model, -1, (x[f], y[f]), (x[pool_pass], y[pool_pass]), top_k=3)
    assert loc.neurons == [c] and sorted(loc.edges[c].nonzero().squeeze(1).tolist()) == sorted(top.tolist())
    out = patch.repair_layer(model, -1, (x[f], y[f]), (x[q], y[q]), edges=loc, bound=2.0)
    assert_unchanged(model, snap)
    assert out.status == "optimal" and out.fixed.all() and out.kept.all()
    s = out.edges[c].nonzero().squeeze(1)
    assert out.edges.sum() == 3 and torch.all(out.delta[~out.edges] == 0) and out.delta.abs().max() <= 2.0
    repaired = out.apply(model)
    idx = torch.cat([f, q])
    with torch.no_grad():
        assert torch.equal(repaired(x[idx]).argmax(1), y[idx])  # float32
        assert torch.equal(copy.deepcopy(repaired).double()(x[idx].double()).argmax(1), y[idx])  # float64
    # independent LP: scipy HiGHS on rows built here, from the float64 hidden activations
    m64 = copy.deepcopy(model).double()
    with torch.no_grad():
        a = m64[1](m64[0](x[idx].double())).numpy()
        z = m64(x[idx].double()).numpy()
    cols = s.numpy()
    yy = y[idx].numpy()
    a_ub, b_ub = [], []
    for r in range(len(idx)):
        m = 1e-3 if r < 5 else min(1e-3, z[r, yy[r]] - np.max(np.delete(z[r], yy[r])))
        for k in range(4):
            if k != yy[r] and c in (k, yy[r]):  # only rows with logit c change: +-(a_S delta) >= m - (z_D - z_k)
                sign = 1.0 if yy[r] == c else -1.0
                a_ub.append(-sign * a[r, cols])
                b_ub.append(z[r, yy[r]] - z[r, k] - m)
    a_ub = np.array(a_ub)
    ref = linprog(np.ones(6), A_ub=np.hstack([a_ub, -a_ub]), b_ub=np.array(b_ub), bounds=[(0, 2.0)] * 6,
                  method="highs")
    assert ref.status == 0
    assert out.objective == pytest.approx(ref.fun, abs=1e-6)
    assert float(out.delta.abs().sum()) == pytest.approx(ref.fun, abs=1e-6)
    # held out: accuracy does not drop by more than 1 pp, and the recall of class c strictly rises
    with torch.no_grad():
        p2 = repaired(x).argmax(1)
    te = slice(1000, 2000)
    assert (p2[te] == y[te]).float().mean() >= (p[te] == y[te]).float().mean() - 0.01
    rc = y[te] == c
    assert (p2[te][rc] == c).float().mean() > (p[te][rc] == c).float().mean()


# ----------------------------------------------------------------------------------------------------------------
# T6: infeasibility, soft mode


def test_infeasible_bound_is_reported_cleanly():
    model, x, y, p, _ = planted()
    f = ((p != y) & (y == 0)).nonzero().squeeze(1)[:5]
    q = (p == y).nonzero().squeeze(1)[:10]
    snap = snapshot(model)
    out = patch.repair_layer(model, -1, (x[f], y[f]), (x[q], y[q]), top_k=3, bound=1e-3)
    assert out.status == "infeasible" and not out.ok and out.objective is None
    assert torch.all(out.delta == 0) and not out.fixed.any() and out.kept.all()
    assert torch.equal(out.apply(model)[2].weight, model[2].weight)  # byte-identical weights
    assert_unchanged(model, snap)
    with pytest.raises(SolverError, match=r"repair_layer: no repair found: status 'infeasible'"):
        patch.repair_layer(model, -1, (x[f], y[f]), (x[q], y[q]), top_k=3, bound=1e-3, strict=True)
    big_eps = patch.repair_layer(model, -1, (x[f], y[f]), (x[q], y[q]), top_k=3, bound=2.0, epsilon=1e6)
    assert big_eps.status == "infeasible"


def test_soft_mode_keeps_passing_and_fixes_the_most():
    model, x, y, p, _ = planted()
    f = ((p != y) & (y == 0)).nonzero().squeeze(1)[::10][:5]
    q = (p == y).nonzero().squeeze(1)[:10]
    out = patch.repair_layer(model, -1, (x[f], y[f]), (x[q], y[q]), top_k=3, bound=0.95, soft=True)
    assert out.status == "soft" and out.kept.all() and out.lp["binaries"] == 5
    fixed = int(out.fixed.sum())
    assert 0 < fixed < 5
    with torch.no_grad():
        assert torch.equal(out.apply(model)(x[q]).argmax(1), y[q])
        assert int((out.apply(model)(x[f]).argmax(1) == y[f]).sum()) == fixed
    best = 0  # brute force: the largest subset of failing examples the hard LP can fix on the same edges
    for mask in range(1, 32):
        sub = [i for i in range(5) if mask >> i & 1]
        if patch.repair_layer(model, -1, (x[f][sub], y[f][sub]), (x[q], y[q]), edges=out.edges, bound=0.95).ok:
            best = max(best, len(sub))
    assert fixed == best


def test_soft_mode_on_a_two_example_contradiction():
    # y0 = w a (w = 0), y1 = 0.3: x = +1 needs delta >= 0.3 + eps, x = -1 needs delta <= -0.3 - eps
    model = nn.Sequential(nn.Linear(1, 2)).double()
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.copy_(torch.tensor([0.0, 0.3], dtype=F64))
    fail = (torch.tensor([[1.0], [-1.0]], dtype=F64), torch.tensor([0, 0]))
    edges = torch.tensor([[True], [False]])
    hard = patch.repair_layer(model, 0, fail, (fail[0][:0], fail[1][:0]), edges=edges, bound=1.0)
    assert hard.status == "infeasible"
    brute = max(len(s) for s in ([], [0], [1], [0, 1]) if _feasible(s))
    for solver in ("glop", "cp-sat") if patch._ortools_version() >= patch._CP_SAT_MIN else ("glop",):
        soft = patch.repair_layer(model, 0, fail, (fail[0][:0], fail[1][:0]), edges=edges, bound=1.0, soft=True,
                                  solver=solver)
        assert soft.status == "soft" and int(soft.fixed.sum()) == brute == 1
        assert soft.objective == pytest.approx(0.301, abs=1e-6)


def test_soft_auto_falls_back_only_when_infeasible():
    model, x, y, p, _ = planted()
    f = ((p != y) & (y == 0)).nonzero().squeeze(1)[::10][:5]
    q = (p == y).nonzero().squeeze(1)[:10]
    auto = patch.repair_layer(model, -1, (x[f], y[f]), (x[q], y[q]), top_k=3, bound=0.95, soft="auto")
    soft = patch.repair_layer(model, -1, (x[f], y[f]), (x[q], y[q]), top_k=3, bound=0.95, soft=True)
    assert auto.status == "soft" and torch.equal(auto.fixed, soft.fixed) and auto.lp["binaries"] == 5
    easy = patch.repair_layer(model, -1, (x[f], y[f]), (x[q], y[q]), top_k=3, bound=2.0, soft="auto")
    assert easy.status == "optimal" and easy.lp["binaries"] == 0 and easy.fixed.all()


def _feasible(subset: list[int]) -> bool:
    lo = max([0.301 for i in subset if i == 0] + [-1.0])
    hi = min([-0.301 for i in subset if i == 1] + [1.0])
    return lo <= hi


# ----------------------------------------------------------------------------------------------------------------
# Experts and their combinations (§2.6, T10)


def test_class_experts_merge_and_combine():
    model, x, y, p, _ = planted(seed=1, classes=(0, 1))
    data, extra = (x[:1000], y[:1000]), (x[1000:1040], y[1000:1040])
    snap = snapshot(model)
    experts = patch.class_experts(model, -1, data, extra=extra, top_k=3, bound=2.0, seed=0)
    assert_unchanged(model, snap)
    wrong = sorted({int(c) for c in y[:1000][p[:1000] != y[:1000]]})
    assert [e.cls for e in experts] == wrong == [0, 1]
    for e in experts:  # each expert changes only its own row
        assert e.ok and e.edges.sum() == 3 and e.edges[e.cls].sum() == 3
        assert e.fixed.numel() == min(5, int(((p[:1000] != y[:1000]) & (y[:1000] == e.cls)).sum()))
    merged = patch.merge(experts)
    assert merged.status == "merged"
    assert torch.equal(merged.delta, sum(e.delta for e in experts))
    m2 = patch.combine(model, experts, strategy="merged")
    assert torch.equal(m2[2].weight, model[2].weight + merged.delta.float())
    again = patch.class_experts(model, -1, data, extra=extra, top_k=3, bound=2.0, seed=0)  # T13 determinism
    assert all(torch.equal(a.delta, b.delta) for a, b in zip(experts, again, strict=True))
    with torch.no_grad():
        base = (model(x[1000:]).argmax(1) == y[1000:]).float().mean()
        for strategy in ("naive", "confidence", "votes"):
            ens = patch.combine(model, experts, strategy=strategy)
            acc = (ens(x[1000:]).argmax(1) == y[1000:]).float().mean()
            assert acc >= base - 0.05, strategy
    assert_unchanged(model, snap)


def _expert(cls: int, delta: list[list[float]]) -> patch.Patch:
    d = torch.tensor(delta, dtype=F64)
    e = torch.zeros(0, dtype=torch.bool)
    return patch.Patch(layer="0", delta=d, edges=d != 0, status="optimal", objective=float(d.abs().sum()),
                       solver="glop", solve_seconds=0.0, assemble_seconds=0.0, fixed=e, kept=e, cls=cls)


def _combined(y0: list[float], outs: dict[int, list[float]], strategy: str) -> int:
    """The class the combination picks when the original gives y0 and expert C gives outs[C] (input a = [1])."""
    k = len(y0)
    model = nn.Sequential(nn.Linear(1, k, bias=False)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(y0, dtype=F64)[:, None])
    ps = [_expert(c, [[o - b] for o, b in zip(out, y0, strict=True)]) for c, out in outs.items()]
    with torch.no_grad():
        return int(pred(patch.combine(model, ps, strategy=strategy)(torch.ones(1, 1, dtype=F64)))[0])


def test_combination_logic():
    y0 = [0.0, 0.0, 0.0, 1.0]  # original: class 3
    none = {0: [0, 0, 2, 0], 1: [0, 0, 2, 0]}
    assert all(_combined(y0, none, s) == 3 for s in ("naive", "confidence", "votes"))  # E = {} -> original
    one = {0: [0, 0, 2, 0], 1: [0, 2, 0, 0]}
    assert all(_combined(y0, one, s) == 1 for s in ("naive", "confidence", "votes"))  # |E| = 1 -> that class
    two = {0: [5, 0, 0, 0], 1: [0, 3, 0, 0], 2: [0, 1, 0, 0]}  # 0 and 1 claim; expert 2 votes for 1
    assert _combined(y0, two, "naive") == 3
    assert _combined(y0, two, "confidence") == 0  # |y^0_0| = 5 > |y^1_1| = 3
    assert _combined(y0, two, "votes") == 1  # one vote for 1, none for 0
    tie = {0: [5, 0, 0, 0], 1: [0, 3, 0, 0]}
    assert _combined(y0, tie, "votes") == 0  # no votes: confidence decides
    conf_tie = {0: [-3, -9, -9, -9], 1: [-9, 3, -9, -9], 2: [-9, -9, 3, -9]}
    assert _combined([0.0, 0.0, 1.0, 0.0], conf_tie, "votes") == 2  # then the original prediction
    assert _combined(y0, conf_tie, "votes") == 0  # then the lowest class


def test_f1_filter_keeps_only_improving_experts():
    # original logits (0, a1); expert 0 sets y0 = a2, expert 1 sets y1 = 0 (ties go to class 1)
    model = nn.Sequential(nn.Linear(2, 2, bias=False)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=F64))
    x = torch.tensor([[1.0, 2.0], [1.0, 0.0], [-1.0, 0.0]], dtype=F64)
    fix, bad = _expert(0, [[0.0, 1.0], [0.0, 0.0]]), _expert(1, [[0.0, 0.0], [-1.0, 0.0]])
    y = torch.tensor([0, 1, 0])  # original F1: class 0 2/3, class 1 2/3; fix: class 0 1.0; bad: class 1 0.5
    assert [p.cls for p in patch.f1_filter(model, [fix, bad], (x, y))] == [0]
    perfect = torch.tensor([1, 1, 0])  # the original is perfect: nobody is strictly better
    assert patch.f1_filter(model, [fix, bad], (x, perfect)) == []
    same = patch.combine(model, [fix, bad], strategy="votes", filter_data=(x, perfect))  # ON(0): the original
    with torch.no_grad():
        assert torch.equal(same(x), model(x))
    kept = patch.combine(model, [fix, bad], strategy="merged", filter_data=(x, y))
    assert torch.equal(kept[0].weight, model[0].weight + fix.delta)
    # several filter sets: the harmonic mean of the F1 (A16). fix scores 1.0 on y and 2/3 on perfect, the original
    # 2/3 and 1.0: both harmonic means are 0.8, so fix is not strictly better there
    assert [p.cls for p in patch.f1_filter(model, [fix, bad], [(x, y), (x, y)])] == [0]
    assert patch.f1_filter(model, [fix, bad], [(x, y), (x, perfect)]) == []


# ----------------------------------------------------------------------------------------------------------------
# Bad input


def _pair(n: int = 2, d: int = 2, dtype: torch.dtype = F64):
    return torch.ones(n, d, dtype=dtype), torch.zeros(n, dtype=torch.long)


def test_layer_that_is_not_linear_lists_the_linear_layers():
    with pytest.raises(ArgumentError, match=r"repair_layer: layer 1 \('1'\) is a ReLU, not an nn.Linear; "
                                            r"linear layers \(index \(name\)\): 0 \('0'\), 2 \('2'\), 4 \('4'\)"):
        patch.repair_layer(toy(), 1, (X[4:5], IDEAL[4:5]), (X[:4], IDEAL[:4]))
    with pytest.raises(ArgumentError, match=r"localize: layer 'nope' is no module, not an nn.Linear"):
        patch.localize(toy(), "nope", (X[4:5], IDEAL[4:5]), (X[:4], IDEAL[:4]))
    with pytest.raises(ArgumentError, match=r"layer index 9 is out of range"):
        patch.localize(toy(), 9, (X[4:5], IDEAL[4:5]), (X[:4], IDEAL[:4]))
    with pytest.raises(ArgumentTypeError, match=r"layer must be an int index"):
        patch.localize(toy(), 1.5, (X[4:5], IDEAL[4:5]), (X[:4], IDEAL[:4]))
    with pytest.raises(ArgumentError, match=r"localize: neurons or pattern must be given for layer '2'"):
        patch.localize(toy(), 2, (X[4:5], IDEAL[4:5]), (X[:4], IDEAL[:4]))


def test_bad_examples():
    m = toy(-1.9)
    good = (X[:5], IDEAL[:5])
    with pytest.raises(ShapeError, match=r"repair_layer: the model does not accept failing/passing inputs of "
                                          r"shape \[1, 3\]"):
        patch.repair_layer(m, -1, (torch.ones(1, 3, dtype=F64), IDEAL[:1]), (torch.ones(0, 3, dtype=F64),
                                                                               IDEAL[:0]))
    with pytest.raises(ShapeError, match=r"repair_layer: failing must be inputs \[N, ...\] with labels \[N\], got "
                                         r"inputs \[2, 2\] and labels \[3\]"):
        patch.repair_layer(m, -1, (X[:2], IDEAL[:3]), good)
    with pytest.raises(ArgumentError, match=r"repair_layer: failing must hold at least one example, got an empty"):
        patch.repair_layer(m, -1, (X[:0], IDEAL[:0]), good)
    with pytest.raises(ArgumentError, match=r"localize: failing must hold at least one example"):
        patch.localize(m, -1, (X[:0], IDEAL[:0]), good)
    with pytest.raises(DTypeError, match=r"failing labels must be an integer tensor, got torch.float32"):
        patch.repair_layer(m, -1, (X[5:], IDEAL[5:].float()), good)
    with pytest.raises(DTypeError, match=r"failing inputs must be a floating tensor"):
        patch.repair_layer(m, -1, (X[5:].long(), IDEAL[5:]), good)
    with pytest.raises(ArgumentTypeError, match=r"failing must be an \(inputs, labels\) pair, got Tensor"):
        patch.repair_layer(m, -1, X[5:], good)
    with pytest.raises(ArgumentError, match=r"passing labels must lie in \[0, 2\)"):
        patch.repair_layer(m, -1, (X[5:], IDEAL[5:]), (X[:1], torch.tensor([7])))
    with pytest.raises(ArgumentError, match=r"passing examples must be classified correctly by the model; 1 of 5"):
        patch.repair_layer(m, -1, (X[5:], IDEAL[5:]), (X[:5], torch.tensor([0, 1, 0, 1, 1])))
    with pytest.raises(ArgumentError, match=r"failing inputs must be finite"):
        patch.repair_layer(m, -1, (X[5:] * np.nan, IDEAL[5:]), good)


@pytest.mark.parametrize("kwargs,exc,msg", [
    ({"bound": 0.0}, ArgumentError, r"repair_layer: bound must be > 0 and finite, got 0.0"),
    ({"bound": -1}, ArgumentError, r"repair_layer: bound must be > 0 and finite, got -1"),
    ({"solver": "gurobi"}, UnknownNameError, r"repair_layer: unknown solver 'gurobi'; valid: cp-sat, glop, pdlp"),
    ({"objective": "l2"}, UnknownNameError, r"repair_layer: unknown objective 'l2'; valid: l1, l1\+linf, linf, none"),
    ({"time_limit": 0}, ArgumentError, r"repair_layer: time_limit must be > 0"),
    ({"epsilon": float("nan")}, ArgumentError, r"repair_layer: epsilon must be > 0 and finite"),
    ({"top_k": 0}, ArgumentError, r"repair_layer: top_k must be in \[1, "),
    ({"soft": 1}, ArgumentTypeError, r"repair_layer: soft must be True, False or 'auto', got 1"),
    ({"edges": torch.ones(2, 3, dtype=torch.bool)}, ShapeError, r"repair_layer: edges must have the weight's shape "
                                                                r"\[2, 2\], got \[2, 3\]"),
    ({"edges": torch.zeros(2, 2, dtype=torch.bool)}, ArgumentError, r"edges must select at least one edge"),
    ({"edges": torch.ones(2, 2)}, DTypeError, r"edges must be a bool tensor, got torch.float32"),
])
def test_bad_settings(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        patch.repair_layer(toy(-1.9), -1, (X[5:], IDEAL[5:]), (X[:5], IDEAL[:5]), **kwargs)


def test_bad_combination_arguments():
    model = toy(-1.9)
    p = patch.repair_layer(model, -1, (X[5:], IDEAL[5:]), (X[:5], IDEAL[:5]), top_k=1)
    with pytest.raises(UnknownNameError, match=r"combine: unknown strategy 'vote'"):
        patch.combine(model, [p], strategy="vote")
    with pytest.raises(ArgumentError, match=r"combine: strategy 'votes' needs one expert per class"):
        patch.combine(model, [p], strategy="votes")  # repair_layer patches have no class
    with pytest.raises(ArgumentError, match=r"merge: patches must hold at least one Patch"):
        patch.merge([])
    with pytest.raises(ArgumentTypeError, match=r"merge: patches must be a list of Patch objects"):
        patch.merge("x")
    with pytest.raises(ArgumentError, match=r"Patch.apply: model must have an nn.Linear named '4'"):
        p.apply(nn.Sequential(nn.Linear(2, 2)))
    assert torch.equal(patch.combine(model, [p], strategy="merged")[4].weight, p.apply(model)[4].weight)


# ----------------------------------------------------------------------------------------------------------------
# pyrepair.methods.NNRepair


def planted_images(seed: int = 1, classes: tuple[int, ...] = (0, 1)):
    """The planted instance on [0, 1] 'images' [N, 1, 2, 4] (what RepairMethod.repair takes)."""
    torch.manual_seed(seed)
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    x = torch.rand(2000, 1, 2, 4, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        y = teacher(x).argmax(1)
    model = copy.deepcopy(teacher)
    with torch.no_grad():
        for c in classes:
            top = torch.topk(model[3].weight[c], 3).indices
            model[3].weight[c, top] -= 0.5
        p = model(x).argmax(1)
    return model, x, y, p


def test_nnrepair_merged_and_votes():
    from pyrepair.methods import NNRepair, create

    model, x, y, p = planted_images()
    train, val = (x[:1000], y[:1000]), (x[1000:], y[1000:])
    wrong = (p[:1000] != y[:1000]).nonzero().squeeze(1)
    failures = (x[wrong], y[wrong])
    snap = snapshot(model)
    res = NNRepair(combine="merged", bound=2.0, n_extra=20).repair(model, train, failures, val=val, progress=False)
    assert_unchanged(model, snap)
    assert res.method == "nnrepair" and res.config["combine"] == "merged"
    assert res.metrics["failures"]["after"] > res.metrics["failures"]["before"]
    experts = res.info["experts"]
    assert [e["cls"] for e in experts] == sorted({int(c) for c in y[wrong]})
    assert all(e["status"] in patch.STATUSES and e["lp"]["cols"] == 10 for e in experts)
    assert res.info["lp_totals"]["rows"] == sum(e["lp"]["rows"] for e in experts)
    delta = torch.zeros(4, 16, dtype=F64)
    for e in experts:
        for n, i, d in e["changes"]:
            delta[n, i] += d
    assert torch.allclose(res.model[3].weight.double(), model[3].weight.double() + delta, atol=1e-6)
    votes = create("nnrepair", bound=2.0, n_extra=20).repair(model, train, failures, val=val, progress=False)
    assert type(votes.model[3]).__name__ == "_ExpertHead" and isinstance(model[3], nn.Linear)
    assert votes.metrics["failures"]["after"] > votes.metrics["failures"]["before"]
    joint = NNRepair(experts=False, bound=2.0, n_extra=20).repair(model, train, failures, progress=False)
    assert len(joint.info["experts"]) == 1 and joint.info["experts"][0]["cls"] is None
    assert joint.metrics["failures"]["after"] > joint.metrics["failures"]["before"]
    filt = NNRepair(f1_filter=True, bound=2.0, n_extra=20).repair(model, train, failures, progress=False)
    assert set(filt.info["classes_kept"]) <= {e["cls"] for e in filt.info["experts"]}
    assert_unchanged(model, snap)


@pytest.mark.parametrize("kwargs,exc,msg", [
    ({"combine": "vote"}, UnknownNameError, r"pyrepair.methods.NNRepair: unknown combine 'vote'"),
    ({"bound": 0}, ArgumentError, r"pyrepair.methods.NNRepair: bound must be > 0"),
    ({"layer": 1.5}, ArgumentTypeError, r"pyrepair.methods.NNRepair: layer must be 'last', an int index or a "
                                        r"module name, got 1.5"),
    ({"experts": "yes"}, ArgumentTypeError, r"NNRepair: experts must be True or False"),
    ({"n_fail": 0}, ArgumentError, r"NNRepair: n_fail must be in \[1, "),
    ({"solver": "z3"}, UnknownNameError, r"NNRepair: unknown solver 'z3'"),
])
def test_nnrepair_bad_settings(kwargs, exc, msg):
    from pyrepair.methods import NNRepair

    with pytest.raises(exc, match=msg):
        NNRepair(**kwargs)


def test_nnrepair_needs_failures_and_a_linear_output():
    from pyrepair.methods import NNRepair

    model, x, y, _ = planted_images()
    with pytest.raises(ArgumentError, match=r"NNRepair.repair: NNRepair needs failures"):
        NNRepair().repair(model, (x[:50], y[:50]), progress=False)
    with pytest.raises(ArgumentError, match=r"layer 2 \('2'\) is a ReLU, not an nn.Linear; linear layers "
                                            r"\(index \(name\)\): 1 \('1'\), 3 \('3'\)"):
        NNRepair(layer=2).repair(model, (x[:50], y[:50]), (x[50:60], y[50:60]), progress=False)


# ----------------------------------------------------------------------------------------------------------------
# Intermediate-layer repair (§2.2, §2.5, §3.5; T3, T7, T8, T9)


def test_worked_example_intermediate_repair():
    model = toy()
    pats = patch.activation_patterns(model, 2, (X[:5], IDEAL[:5]))  # mined on X0..X4 (§2.2 recipe)
    assert pats.layer == "2" and pats.correct[0] == patch.Pattern(on=(), off=(0,), support=2)  # (N2 off), {X0, X2}
    assert pats.correct[0].holds(torch.tensor([[-0.25, 4.0], [0.875, 7.0]])).tolist() == [True, False]
    loc = patch.localize(model, 2, (X[4:5], IDEAL[4:5]), (X[:4], IDEAL[:4]), neurons=[0], top_k=1)  # N1 -> N2
    by_pattern = patch.localize(model, 2, (X[4:5], IDEAL[4:5]), (X[:4], IDEAL[:4]), pattern=([1], [0]), top_k=1)
    assert by_pattern.neurons == [0] and torch.equal(by_pattern.edges, loc.edges)  # N_faulty = {N2} (eq. 3)
    snap = snapshot(model)
    for pattern in (([1], [0]), pats.correct[0]):  # the paper's sigma_0 = (N3 on, N2 off), and the mined one
        p = patch.repair_layer(model, 2, (X[4:5], IDEAL[4:5]), (X[[0, 2]], IDEAL[[0, 2]]), edges=loc,
                               pattern=pattern, bound=1.0)
        assert p.status == "optimal"
        assert p.delta[0, 1].item() == pytest.approx(-7 / 22, abs=1e-9) and p.changes()[0][:2] == (0, 1)
        assert len(p.changes()) == 1  # only W2[0, 1] changed
        assert p.fixed.tolist() == [True] and p.kept.tolist() == [True, True]
        repaired = p.apply(model)
        with torch.no_grad():
            z = repaired[2](repaired[1](repaired[0](X[[4, 0, 2]])))
            y4 = repaired(X[4:5])
        assert (z[:, 0] <= 1e-12).all() and (z[:, 1] > 0).all()  # X4, X0, X2 satisfy sigma_0
        assert torch.allclose(y4, torch.tensor([[14.0, 10.5]], dtype=F64), atol=1e-9)  # class 0 (Table 1: 14)
    assert_unchanged(model, snap)


def digits_mlp():
    from pyrepair import data

    tr = data.load("digits", "train")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        opt.zero_grad()
        nn.functional.cross_entropy(model(tr.images), tr.labels).backward()
        opt.step()
    model.zero_grad(set_to_none=True)
    with torch.no_grad():
        p = model(tr.images).argmax(1)
        z = model[3](model[2](model[1](model[0](tr.images))))
    return model, tr.images, tr.labels, p, z


def test_intermediate_repair_on_digits():
    # T8: a 64 -> 32 -> 16 -> 10 MLP; repair layer 3 (the 16 ReLU units) for class 3 with its mined pattern
    model, x, y, p, z = digits_mlp()
    pats = patch.activation_patterns(model, 3, (x, y))
    c = 3
    sigma = pats.correct[c]
    fail = ((p != y) & (y == c)).nonzero().squeeze(1)
    ok = ((p == y) & (y == c) & sigma.holds(z)).nonzero().squeeze(1)[: len(fail) + 100]
    assert len(fail) > 0 and len(ok) > 0 and not sigma.holds(z[fail]).any()
    snap = snapshot(model)
    out = patch.repair_layer(model, 3, (x[fail], y[fail]), (x[ok], y[ok]), pattern=sigma, bound=1.0, top_k=4)
    assert_unchanged(model, snap)
    assert out.status == "optimal" and out.delta.abs().max() <= 1.0 and out.kept.all()
    faulty = out.edges.any(dim=1)
    viol = torch.zeros(16, dtype=torch.bool)  # eq. 3: the union of the failing examples' violations
    viol[list(sigma.on)] |= (z[fail][:, list(sigma.on)] <= 0).any(0)
    viol[list(sigma.off)] |= (z[fail][:, list(sigma.off)] > 0).any(0)
    assert torch.equal(faulty, viol) and torch.all(out.edges.sum(1)[faulty] == 4)
    repaired = out.apply(model)
    idx = torch.cat([fail, ok])
    with torch.no_grad():
        z2 = repaired[3](repaired[2](repaired[1](repaired[0](x[idx]))))
    # every repair example satisfies sigma_C at layer 3: "on" rows have the margin epsilon; "off" rows are exact
    # (<= 0) in float64, so the float32 weights W + delta may leave a rounding-level positive value there
    assert (z2[:, list(sigma.on)] > 0).all() and (z2[:, list(sigma.off)] <= 1e-5).all()
    assert sigma.holds(z2 - 1e-5).all()
    with torch.no_grad():
        z1 = model[3](model[2](model[1](model[0](x[idx]))))  # the original model on the same batch
    # non-faulty pre-activations are unchanged (up to BLAS rounding: the batch shape decides the kernel's blocking)
    torch.testing.assert_close(z2[:, ~faulty], z1[:, ~faulty], rtol=0, atol=1e-5)


def test_split_solve_equals_joint_lp():
    # T7: the hard LP separates by neuron; one LP per faulty neuron gives the joint LP's delta
    model, x, y, p, z = digits_mlp()
    pats = patch.activation_patterns(model, 3, (x, y))
    for c in (3, 7):
        sigma = pats.correct[c]
        fail = ((p != y) & (y == c)).nonzero().squeeze(1)
        ok = ((p == y) & (y == c) & sigma.holds(z)).nonzero().squeeze(1)[: len(fail) + 100]
        kw = {"pattern": sigma, "bound": 1.0, "top_k": 4}
        both = patch.repair_layer(model, 3, (x[fail], y[fail]), (x[ok], y[ok]), objective="l1+linf", **kw)
        assert both.status == "optimal" and both.kept.all()  # l1+linf couples the neurons: always one LP
        split = patch.repair_layer(model, 3, (x[fail], y[fail]), (x[ok], y[ok]), split=True, **kw)
        joint = patch.repair_layer(model, 3, (x[fail], y[fail]), (x[ok], y[ok]), split=False, **kw)
        assert split.status == joint.status == "optimal" and split.edges.any(1).sum() >= 2
        assert torch.allclose(split.delta, joint.delta, atol=1e-7, rtol=0)
        assert split.objective == pytest.approx(joint.objective, abs=1e-7)
        m, k_tot = len(fail) + len(ok), int(split.edges.sum())
        assert split.lp["cols"] == joint.lp["cols"] == 2 * k_tot
        assert split.lp["rows"] == joint.lp["rows"] <= m * int(split.edges.any(1).sum())  # constant rows dropped
        assert split.lp["nnz"] == joint.lp["nnz"] <= 2 * m * k_tot


def test_pattern_mining_on_a_hand_made_signature_matrix():
    # T9: target 0 exactly when neuron 2 is on and neuron 0 off; the tree's pure leaf for 0 is (on {2}, off {0})
    g = np.random.default_rng(0)
    sig = g.random((200, 4)) > 0.5
    target = np.where(sig[:, 2] & ~sig[:, 0], 0, 1)
    pats = patch._leaf_patterns(sig, target, 0)
    assert pats[0].on == (2,) and pats[0].off == (0,)
    assert pats[0].support == int(np.sum(target == 0))  # support = the leaf's sample count
    holds = pats[0].holds(torch.from_numpy(np.where(sig, 1.0, -1.0)))
    assert torch.equal(holds, torch.from_numpy(target == 0))


def test_intermediate_bad_input():
    model = toy()
    fail, keep = (X[4:5], IDEAL[4:5]), (X[[0, 2]], IDEAL[[0, 2]])
    with pytest.raises(ArgumentError, match=r"repair_layer: layer '2' is not the output layer, so it needs "
                                            r"pattern=\(on, off\)"):
        patch.repair_layer(model, 2, fail, keep)
    with pytest.raises(ArgumentError, match=r"repair_layer: pattern on and off must be disjoint, both hold \[0\]"):
        patch.repair_layer(model, 2, fail, keep, pattern=([0], [0]))
    with pytest.raises(ArgumentError, match=r"repair_layer: pattern off neuron must be in \[0, 1\], got 5"):
        patch.repair_layer(model, 2, fail, keep, pattern=([], [5]))
    with pytest.raises(ArgumentTypeError, match=r"repair_layer: pattern must be a Pattern or an \(on, off\) pair"):
        patch.repair_layer(model, 2, fail, keep, pattern="N2 off")


def test_intermediate_experts_merge_and_ensemble():
    model, x, y, p, z = digits_mlp()
    snap = snapshot(model)
    experts = patch.class_experts(model, 3, (x, y), bound=1.0, top_k=4)
    assert_unchanged(model, snap)
    assert experts and all(e.kind == "intermediate" and e.ok and e.kept.all() for e in experts)
    assert [e.cls for e in experts] == sorted(e.cls for e in experts)
    # merged (§7-A14): each edge's change is the average over the experts in which it is symbolic
    merged = patch.merge(experts)
    count = sum(e.edges.to(F64) for e in experts)
    want = torch.where(count > 0, sum(e.delta for e in experts) / count.clamp(min=1), torch.zeros_like(count))
    assert torch.allclose(merged.delta, want, atol=1e-15) and torch.equal(merged.edges, count > 0)
    assert torch.equal(patch.combine(model, experts, strategy="merged")[3].weight,
                       model[3].weight + merged.delta.float())
    # run time: one expert; where it claims its class the output is its network's logits, else the original's
    e = experts[0]
    ens = patch.combine(model, [e], strategy="votes")
    alone = e.apply(model)
    with torch.no_grad():
        out, y0, ye = ens(x), model(x), alone(x)
    claim = ye.argmax(1) == e.cls
    assert claim.any() and torch.equal(out[~claim], y0[~claim])
    assert torch.allclose(out[claim], ye[claim], atol=1e-5)  # delta added as a hook vs folded into W (float32)
    assert_unchanged(model, snap)
    with pytest.raises(ArgumentError, match=r"combine: strategy 'votes' for intermediate-layer experts wraps"):
        patch.combine(model, experts, strategy="votes", inplace=True)
    # the F1 filter on Train: no intermediate expert beats this well-fitted model (the paper's ON(0) case)
    assert patch.f1_filter(model, experts, (x, y)) == [] or all(e.ok for e in patch.f1_filter(model, experts, (x, y)))


def _choose_by_hand(y0, ys, classes, strategy):
    """§2.6 variant A written per input, from each expert's own full network (the reference for the batched
    ensemble): ``y0`` [B, K], ``ys`` [E, B, K]."""
    out = y0.clone()
    for b in range(y0.shape[0]):
        p = [int(v) for v in ys[:, b].argmax(1)]
        claim = [j for j, c in enumerate(classes) if p[j] == c]
        if len(claim) == 1:
            out[b] = ys[claim[0], b]
        elif len(claim) > 1 and strategy != "naive":
            conf = {j: abs(float(ys[j, b, classes[j]])) for j in claim}
            if strategy == "confidence":
                j = max(claim, key=lambda j: conf[j])
            else:
                votes = {j: sum(1 for i in range(len(classes)) if i != j and p[i] == classes[j]) for j in claim}
                best = [j for j in claim if votes[j] == max(votes.values())]
                best = [j for j in best if conf[j] == max(conf[i] for i in best)]
                p0 = int(y0[b].argmax())
                j = next((j for j in best if classes[j] == p0), min(best, key=lambda j: classes[j]))
            out[b] = ys[j, b]
    return out


class _Truncating(nn.Module):
    """A model whose suffix does not keep rows apart (it cuts its output to the input's batch size)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[: x.shape[0]]


@pytest.mark.parametrize("strategy", ["naive", "confidence", "votes"])
def test_intermediate_ensemble_runs_the_prefix_once(strategy):
    # §2.6 variant A with kernel K5's shared prefix: one pass of the layers before the repaired one, the suffix on
    # (E + 1) B stacked rows; equal to running each expert's own network (and to the row-by-row fallback)
    model, x, y, p, z = digits_mlp()
    experts = patch.class_experts(model, 3, (x, y), seed=0)
    assert len(experts) >= 3
    classes = [e.cls for e in experts]
    ens = patch.combine(model, experts, strategy=strategy)
    calls = []
    handle = ens.model[1].register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    with torch.no_grad():
        out = ens(x)
        ys = torch.stack([e.apply(model)(x) for e in experts])
        want = _choose_by_hand(model(x), ys, classes, strategy)
    handle.remove()
    assert calls == [len(x)]  # the prefix ran once, on the B inputs only
    assert out.shape == (len(x), 10) and torch.allclose(out, want, atol=1e-5)
    assert torch.equal(out.argmax(1), want.argmax(1))
    # a suffix that drops rows: the ensemble falls back to one full pass per expert, with the same answer
    wrapped = _Truncating(copy.deepcopy(model))
    alt = patch.combine(wrapped, [dataclasses.replace(e, layer="net." + e.layer) for e in experts], strategy=strategy)
    with torch.no_grad():
        assert torch.allclose(alt(x), out, atol=1e-5)


def test_combination_record_round_trip_and_errors():
    model, x, y, p, _ = digits_mlp()
    for layer in (3, 5):
        experts = patch.class_experts(model, layer, (x, y), seed=0)
        combined = patch.combine(model, experts, strategy="votes")
        plain, record = patch.combination_record(combined)
        assert record is not None and record["layer"] == str(layer) and record["strategy"] == "votes"
        assert record["kind"] == ("intermediate" if layer == 3 else "last")
        assert record["classes"] == [e.cls for e in experts if e.ok]
        assert type(plain) is nn.Sequential and plain.state_dict().keys() == model.state_dict().keys()
        assert all(torch.equal(plain.state_dict()[k], v) for k, v in model.state_dict().items())
        again = patch.install_combination(copy.deepcopy(model), json.loads(json.dumps(record)))
        with torch.no_grad():
            assert torch.equal(again(x), combined(x))  # exact: the changes are stored at the layer's precision
        assert patch.combination_record(model) == (model, None)
    bad = dict(record, strategy="merged")
    with pytest.raises(UnknownNameError, match=r"install_combination: unknown record\['strategy'\] 'merged'"):
        patch.install_combination(model, bad)
    with pytest.raises(ArgumentError, match=r"install_combination: record is not a version-1 combination record "
                                            r"\(missing keys \['changes'\], unknown keys \['zz'\]"):
        patch.install_combination(model, {**{k: v for k, v in record.items() if k != "changes"}, "zz": 1})
    with pytest.raises(ArgumentError, match=r"install_combination: record\['changes'\] indexes outside"):
        patch.install_combination(model, dict(record, changes=[[0, 99, 0, 1.0]]))
    small = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(ArgumentError, match=r"install_combination"):
        patch.install_combination(small, record)
    with pytest.raises(ArgumentTypeError, match=r"install_combination: record must be a dict"):
        patch.install_combination(model, [record])


def test_nnrepair_intermediate_layer(tmp_path):
    from pyrepair.methods import NNRepair, RepairResult

    model, x, y, p, _ = digits_mlp()
    wrong = (p != y).nonzero().squeeze(1)
    snap = snapshot(model)
    res = NNRepair(layer=3, combine="merged", bound=1.0, top_k=4, n_extra=0).repair(model, (x, y), (x[wrong], y[wrong]),
                                                                                   progress=False)
    assert_unchanged(model, snap)
    assert res.info["experts"] and all(e["kind"] == "intermediate" for e in res.info["experts"])
    assert not torch.equal(res.model[3].weight, model[3].weight) and torch.equal(res.model[5].weight, model[5].weight)
    # the default run-time strategy (votes): a wrapper that runs the experts; the defaults of an intermediate layer
    # are 10 % of the fan-in per faulty neuron (ceil(3.2) = 4 edges) and bound 1.0 (§4, §7-A2)
    votes = NNRepair(layer=3, n_extra=0).repair(model, (x, y), (x[wrong], y[wrong]), progress=False)
    assert_unchanged(model, snap)
    assert type(votes.model).__name__ == "_ExpertEnsemble" and votes.config["bound"] is None
    changes = [c for e in votes.info["experts"] for c in e["changes"]]
    assert changes and max(abs(d) for _, _, d in changes) <= 1.0 + 1e-9
    per_neuron = {}
    for e in votes.info["experts"]:
        for n, _, _ in e["changes"]:
            per_neuron[(e["cls"], n)] = per_neuron.get((e["cls"], n), 0) + 1
    assert max(per_neuron.values()) <= 4
    assert votes.metrics["failures"]["after"] > votes.metrics["failures"]["before"]
    with torch.no_grad():
        before = votes.model(x)
    # RepairResult.save / load keep the run-time ensemble (plain weights + the experts' record)
    votes.save(tmp_path / "r")
    fresh = copy.deepcopy(model)
    with torch.no_grad():
        for prm in fresh.parameters():
            prm.zero_()
    back = RepairResult.load(tmp_path / "r", model=fresh)
    assert type(back.model).__name__ == "_ExpertEnsemble" and not back.model.training
    with torch.no_grad():
        assert torch.equal(back.model(x), before)


def test_end_to_end_smoke_on_digits():
    # T14: both repair kinds, the four strategies, F1 filter OFF and ON; one report row per configuration
    model, x, y, p, _ = digits_mlp()
    base = float((p == y).float().mean())
    rows = []
    for kind, layer, bound in (("last", 5, 0.5), ("intermediate", 3, 1.0)):
        experts = patch.class_experts(model, layer, (x, y), bound=bound, top_k=4, seed=0)
        assert experts and all(e.kind == kind for e in experts)
        for strategy in patch.STRATEGIES:
            for f1 in (False, True):
                combined = patch.combine(model, experts, strategy=strategy, filter_data=(x, y) if f1 else None)
                with torch.no_grad():
                    acc = float((combined(x).argmax(1) == y).float().mean())
                rows.append({"kind": kind, "strategy": strategy, "f1": f1, "train": acc})
    assert len(rows) == 16 and len({(r["kind"], r["strategy"], r["f1"]) for r in rows}) == 16
    for r in rows:
        if r["strategy"] == "merged" and r["f1"]:
            assert r["train"] >= base - 0.01, r


def test_intermediate_soft_mode():
    model = toy()
    loc = patch.localize(model, 2, (X[4:5], IDEAL[4:5]), (X[:4], IDEAL[:4]), neurons=[0], top_k=1)
    kw = {"edges": loc, "pattern": ([1], [0])}
    hard = patch.repair_layer(model, 2, (X[4:5], IDEAL[4:5]), (X[[0, 2]], IDEAL[[0, 2]]), bound=0.3, **kw)
    assert hard.status == "infeasible" and torch.all(hard.delta == 0)  # needs delta <= -7/22 < -0.3
    soft = patch.repair_layer(model, 2, (X[4:5], IDEAL[4:5]), (X[[0, 2]], IDEAL[[0, 2]]), bound=0.3, soft=True, **kw)
    assert soft.status == "soft" and soft.lp["binaries"] == 1 and soft.kept.all() and not soft.fixed.any()
    ok = patch.repair_layer(model, 2, (X[4:5], IDEAL[4:5]), (X[[0, 2]], IDEAL[[0, 2]]), bound=1.0, soft=True, **kw)
    assert ok.status == "optimal" and ok.delta[0, 1].item() == pytest.approx(-7 / 22, abs=1e-9)


@pytest.mark.parametrize("solver", ["glop", "pdlp"])
def test_time_limit_is_reported_plainly(solver):
    model, x, y, p, _ = planted()
    f = ((p != y) & (y == 0)).nonzero().squeeze(1)[:50]
    q = (p == y).nonzero().squeeze(1)[:1500]
    out = patch.repair_layer(model, -1, (x[f], y[f]), (x[q], y[q]), top_k=16, bound=2.0, solver=solver,
                             time_limit=1e-6)
    assert out.status in ("timeout", "feasible") and out.solver == solver
    if out.status == "timeout":
        assert out.objective is None and torch.all(out.delta == 0) and not out.ok
    with pytest.raises(SolverError, match=r"no repair found: status 'timeout'"):
        patch.repair_layer(model, -1, (x[f], y[f]), (x[q], y[q]), top_k=16, bound=2.0, solver=solver,
                           time_limit=1e-6, strict=True)


def test_cp_sat_needs_a_recent_or_tools(monkeypatch):
    # OR-Tools 9.8-9.14 report the worked example's LP infeasible with CP-SAT (measured); refuse them up front
    from pyrepair.errors import BackendUnavailableError

    monkeypatch.setattr(patch, "_ortools_version", lambda: (9, 14, 6206))
    with pytest.raises(BackendUnavailableError, match=r"repair_layer: solver 'cp-sat' needs OR-Tools >= 9.15 for "
                                                      r"continuous weight changes, installed 9.14.6206; use 'glop'"):
        patch.repair_layer(toy(-1.9), -1, (X[5:], IDEAL[5:]), (X[:5], IDEAL[:5]), top_k=1, solver="cp-sat")
    assert patch.repair_layer(toy(-1.9), -1, (X[5:], IDEAL[5:]), (X[:5], IDEAL[:5]), top_k=1).status == "optimal"


def test_nnrepair_says_when_nothing_changes():
    from pyrepair.errors import PyrepairWarning
    from pyrepair.methods import NNRepair

    model, x, y, p, _ = digits_mlp()
    wrong = (p != y).nonzero().squeeze(1)
    right = (p == y).nonzero().squeeze(1)[:50]
    assert patch.layer_kind(model, 3, x) == "intermediate" and patch.layer_kind(model, -1, x[:1]) == "last"
    with pytest.raises(ArgumentError, match=r"^pyrepair.methods.NNRepair.repair: experts=False solves one LP on the "
                                            r"decisions of the output layer; layer 3 is an intermediate layer"):
        NNRepair(layer=3, experts=False).repair(model, (x, y), (x[wrong], y[wrong]), progress=False)
    with pytest.warns(PyrepairWarning, match=r"NNRepair.repair: the model is returned unchanged: failures hold no "
                                             r"example the model misclassifies"):
        res = NNRepair().repair(model, (x, y), (x[right], y[right]), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(res.model.parameters(), model.parameters(), strict=True))
    with pytest.warns(PyrepairWarning, match=r"no expert found a repair \(class: status \d+: infeasible"):
        NNRepair(bound=1e-6).repair(model, (x, y), (x[wrong], y[wrong]), progress=False)
    with pytest.raises(ArgumentError, match=r"^pyrepair.methods.NNRepair.repair: failures hold no example the model "
                                            r"misclassifies; nothing to repair"):
        NNRepair(experts=False).repair(model, (x, y), (x[right], y[right]), progress=False)
    with pytest.raises(ArgumentError, match=r"layer_kind: inputs must hold at least one input"):
        patch.layer_kind(model, 3, x[:0])


def test_class_experts_progress_bar(capsys):
    model, x, y, p, _ = digits_mlp()
    experts = patch.class_experts(model, -1, (x, y), seed=0, progress=True)
    err = capsys.readouterr().err
    assert "NNrepair experts" in err and f"0/{len(experts)}" in err  # a bar over the classes
    assert patch.class_experts(model, -1, (x, y), seed=0, progress=False)[0].changes() == experts[0].changes()
    assert "NNrepair experts" not in capsys.readouterr().err
    with pytest.raises(ArgumentTypeError, match=r"class_experts: progress must be None, True or False, got 'yes'"):
        patch.class_experts(model, -1, (x, y), progress="yes")
