"""pyrepair.metrics: corruption_report against evaluate / a manual corrupt.apply loop / corruption_failures, its
writers (markdown, CSV, JSON, plot), compare_reports, the untouched model and the bad-input messages."""

from __future__ import annotations

import csv
import json
import sys

import numpy as np
import pytest
import torch
from torch import nn

from pyrepair import corrupt, scenarios, train
from pyrepair.errors import (
    ArgumentError,
    ArgumentTypeError,
    BackendUnavailableError,
    DTypeError,
    PyrepairWarning,
    ShapeError,
    UnknownNameError,
    ValueRangeError,
)
from pyrepair.metrics import CLEAN, CorruptionReport, compare_reports, corruption_report

FN = "pyrepair.metrics.corruption_report"
N, K = 24, 3


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5), nn.Flatten(),
                         nn.Linear(4 * 8 * 8, K))


@pytest.fixture
def model() -> nn.Module:
    return make_model().eval()


@pytest.fixture
def test_set() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(N, 3, 8, 8, generator=g), torch.arange(N) % K


def manual_accuracy(model, x, y, name, severities, seed=0):
    """The protocol written out: the whole set corrupted in one call per severity, then argmax == label."""
    hits = []
    for s in severities:
        xc = corrupt.apply(x, name, s, seed=seed, index_offset=0)
        hits.append((train.predict(model, xc).argmax(1) == y).double().mean().item())
    return hits


# --- values ---------------------------------------------------------------------------------------------------------


def test_clean_row_equals_evaluate(model, test_set):
    r = corruption_report(model, test_set, progress=False)
    assert list(r.rows) == [CLEAN]
    row = r.rows[CLEAN]
    assert row["clean_accuracy"] == pytest.approx(train.evaluate(model, test_set)["accuracy"], abs=0)
    assert row["n"] == N and row["corrupted_accuracy"] is None and row["heldout_accuracy"] is None


def test_corrupted_accuracy_equals_manual_loop(model, test_set):
    sev = (1, 3, 5)
    r = corruption_report(model, test_set, ["gaussian_noise", "fog"], severities=sev, seed=7, batch_size=5,
                          progress=False)
    assert list(r.rows) == [CLEAN, "gaussian_noise", "fog"]
    for name in ("gaussian_noise", "fog"):
        want = manual_accuracy(model, *test_set, name, sev, seed=7)
        row = r.rows[name]
        assert [row[f"severity_{s}"] for s in sev] == pytest.approx(want, abs=1e-12)
        assert row["corrupted_accuracy"] == pytest.approx(sum(want) / len(want), abs=1e-12)
        assert row["n"] == N * len(sev)
        assert row["clean_accuracy"] is None and row["heldout_accuracy"] is None and row["heldout_n"] is None


def test_batch_size_does_not_change_the_result(model, test_set):
    a = corruption_report(model, test_set, "shot_noise", severities=(2, 4), batch_size=7, progress=False)
    b = corruption_report(model, test_set, "shot_noise", severities=(2, 4), batch_size=512, progress=False)
    assert a.rows == b.rows


def test_agrees_with_corruption_failures(model, test_set):
    sev = (1, 5)
    split = scenarios.corruption_failures(model, *test_set, "impulse_noise", severities=sev, n_collect=3, seed=4)
    r = corruption_report(model, test_set, "impulse_noise", {"impulse_noise": split}, severities=sev, seed=4,
                          progress=False)
    row = r.rows["impulse_noise"]
    wrong = round((1 - row["corrupted_accuracy"]) * row["n"])
    assert wrong == split.n_failures
    assert row["heldout_n"] == split.n_failures - 3
    assert row["heldout_accuracy"] == 0.0  # by construction the original model fails every D^e image


def test_agrees_with_corruption_failures_on_uint8(model, test_set):
    u8 = (test_set[0].permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)
    labels = test_set[1].numpy()
    split = scenarios.corruption_failures(model, u8, labels, "contrast", severities=(4,), n_collect=1, seed=0)
    r = corruption_report(model, (u8, labels), "contrast", {"contrast": split}, severities=(4,), progress=False)
    row = r.rows["contrast"]
    assert round((1 - row["corrupted_accuracy"]) * row["n"]) == split.n_failures
    assert row["heldout_accuracy"] == 0.0


def test_failure_set_rows(model, test_set):
    x, y = test_set
    d_fog = (x[:10], y[:10])
    r = corruption_report(model, test_set, ["snow"], {"fog": d_fog, "snow": (x[10:], y[10:])}, severities=(2,),
                          progress=False)
    assert list(r.rows) == [CLEAN, "snow", "fog"]  # the failure-set-only corruption comes last
    fog = r.rows["fog"]
    assert fog["heldout_accuracy"] == pytest.approx(train.evaluate(model, d_fog)["accuracy"], abs=0)
    assert fog["heldout_n"] == 10 and fog["corrupted_accuracy"] is None and fog["n"] is None
    snow = r.rows["snow"]
    assert snow["heldout_n"] == N - 10 and snow["corrupted_accuracy"] is not None


def test_corruptions_default_to_failure_set_names(model, test_set):
    x, y = test_set
    r = corruption_report(model, test_set, None, {"frost": (x[:4], y[:4])}, severities=(1,), progress=False)
    assert list(r.rows) == [CLEAN, "frost"]
    assert r.rows["frost"]["corrupted_accuracy"] is not None and r.rows["frost"]["heldout_n"] == 4


def test_failure_split_without_held_out(model, test_set):
    with pytest.warns(PyrepairWarning, match="held-out set is empty"):
        split = scenarios.corruption_failures(model, *test_set, "fog", severities=(1,), n_collect=10**6)
    r = corruption_report(model, test_set, [], {"fog": split}, progress=False)
    assert r.rows["fog"]["heldout_accuracy"] is None and r.rows["fog"]["heldout_n"] == 0


def test_model_is_unchanged(test_set):
    m = make_model().train()
    m[1].eval()  # a mixed state: one submodule in eval mode
    modes = [s.training for s in m.modules()]
    state = {k: v.clone() for k, v in m.state_dict().items()}
    corruption_report(m, test_set, ["fog"], {"fog": test_set}, severities=(1,), progress=False, device="cpu")
    assert [s.training for s in m.modules()] == modes
    assert all(torch.equal(state[k], v) for k, v in m.state_dict().items())
    assert all(p.requires_grad and p.grad is None for p in m.parameters())


def test_progress_bar(model, test_set, capsys):
    r = corruption_report(model, test_set, ["fog"], severities=(1,), progress=True)
    assert "fog" in r.rows
    with pytest.raises(ArgumentTypeError, match=f"{FN}: progress must be None, True or False, got 'yes'"):
        corruption_report(model, test_set, progress="yes")


# --- writers --------------------------------------------------------------------------------------------------------


@pytest.fixture
def report(model, test_set) -> CorruptionReport:
    x, y = test_set
    return corruption_report(model, test_set, ["fog", "gaussian_noise"], {"fog": (x[:6], y[:6])}, severities=(1, 2),
                             progress=False)


def test_markdown(report):
    lines = report.to_markdown().splitlines()
    assert lines[0] == ("| row | clean | corrupted | severity 1 | severity 2 | held-out failures | n | held-out n |")
    assert lines[1].startswith("|---|")
    cells = {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[2:-1]] for ln in lines[2:]}
    assert list(cells) == [CLEAN, "fog", "gaussian_noise"]
    for name, row in report.rows.items():
        for col, text in zip(report.columns, cells[name], strict=True):
            v = row[col]
            if v is None:
                assert text == "-"
            elif col in ("n", "heldout_n"):
                assert int(text) == v
            else:
                assert text == f"{100 * v:.2f}"
    frac = report.to_markdown(digits=3, percent=False).splitlines()[2]
    assert f"{report.rows[CLEAN]['clean_accuracy']:.3f}" in frac


def test_markdown_bad_arguments(report):
    with pytest.raises(ArgumentError, match=r"CorruptionReport.to_markdown: digits must be in \[0, 10\], got 11"):
        report.to_markdown(digits=11)
    with pytest.raises(ArgumentTypeError, match="CorruptionReport.to_markdown: percent must be a bool"):
        report.to_markdown(percent="yes")


def test_csv_round_trip(report, tmp_path):
    path = report.to_csv(tmp_path / "sub" / "report.csv")
    assert path == tmp_path / "sub" / "report.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["row"] for r in rows] == list(report.rows)
    assert list(rows[0]) == ["row", *report.columns]
    for r in rows:
        want = report.rows[r["row"]]
        for col in report.columns:
            if want[col] is None:
                assert r[col] == ""
            elif col in ("n", "heldout_n"):
                assert int(r[col]) == want[col]
            else:
                assert float(r[col]) == want[col]  # full precision
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary file left
    with pytest.raises(ArgumentError, match="CorruptionReport.to_csv: path must be a file"):
        report.to_csv(tmp_path)
    with pytest.raises(ArgumentTypeError, match="CorruptionReport.to_csv: path must be a str or os.PathLike"):
        report.to_csv(3)


def test_json_round_trip(report):
    d = json.loads(json.dumps(report.to_dict()))
    back = CorruptionReport.from_dict(d)
    assert back.rows == report.rows and back.columns == report.columns and back.severities == (1, 2)
    assert (back.seed, back.scale, back.delta) == (0, "auto", False)
    with pytest.raises(ArgumentError, match="CorruptionReport.from_dict: d must hold 'rows'"):
        CorruptionReport.from_dict({"rows": 3})


def test_compare_reports(test_set):
    before = corruption_report(make_model(0), test_set, ["fog"], {"fog": test_set}, severities=(1,), progress=False)
    after = corruption_report(make_model(1), test_set, ["fog"], {"fog": test_set}, severities=(1,), progress=False)
    d = compare_reports(before, after)
    assert d.delta and list(d.rows) == [CLEAN, "fog"]
    for name in d.rows:
        for col in d.columns:
            b, a = before.rows[name][col], after.rows[name][col]
            if col in ("n", "heldout_n"):
                assert d.rows[name][col] == a
            else:
                assert d.rows[name][col] == (None if a is None else pytest.approx(a - b))
    first = d.to_markdown().splitlines()[2].split("|")[2].strip()
    assert first[0] in "+-"  # signed
    with pytest.raises(ArgumentError, match="compare_reports: before must be a report of accuracies"):
        compare_reports(d, after)
    other = corruption_report(make_model(1), test_set, ["fog"], severities=(1,), seed=3, progress=False)
    with pytest.raises(ArgumentError, match="compare_reports: before and after must use the same corrupted"):
        compare_reports(before, other)
    with pytest.raises(ArgumentTypeError, match="compare_reports: after must be a CorruptionReport, got dict"):
        compare_reports(before, {})


def test_plot(report, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    ax = report.plot(tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [t.get_text() for t in ax.get_xticklabels()] == list(report.rows)
    assert len(ax.patches) == 3 * len(report.rows)  # clean, corrupted and held-out bars per row
    own = Figure().add_subplot()
    assert report.plot(ax=own) is own
    with pytest.raises(ArgumentTypeError, match="CorruptionReport.plot: ax must be a matplotlib Axes"):
        report.plot(ax="axes")


def test_plot_without_matplotlib(report, monkeypatch):
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(BackendUnavailableError, match=r'CorruptionReport.plot: .*pip install "pyrepair\[plot\]"'):
        report.plot()


# --- bad input ------------------------------------------------------------------------------------------------------


def test_unknown_corruption(model, test_set):
    with pytest.raises(UnknownNameError, match=f"{FN}: unknown corruption 'nope'; valid: brightness, ") as e:
        corruption_report(model, test_set, ["fog", "nope"])
    assert "gaussian_noise" in e.value.valid
    with pytest.raises(UnknownNameError, match=f"{FN}: unknown corruption 'Fog'"):
        corruption_report(model, test_set, None, {"Fog": test_set})
    with pytest.raises(ArgumentTypeError, match=f"{FN}: corruptions must hold corruption names"):
        corruption_report(model, test_set, [3])
    with pytest.raises(ArgumentError, match=f"{FN}: corruptions must not repeat a name, got \\['fog'\\]"):
        corruption_report(model, test_set, ["fog", "fog"])


def test_empty_test_set(model):
    msg = rf"{FN}: test images must hold at least one image, got shape \[0, 3, 8, 8\]"
    with pytest.raises(ArgumentError, match=msg):
        corruption_report(model, (torch.rand(0, 3, 8, 8), torch.zeros(0, dtype=torch.long)))


def test_labels_out_of_range(model, test_set):
    x, y = test_set
    with pytest.raises(ArgumentError, match=rf"{FN}: test labels must lie in \[0, 3\) .*got values in \[0, 7\]"):
        corruption_report(model, (x, torch.full_like(y, 7).index_fill(0, torch.tensor([0]), 0)))
    with pytest.raises(ArgumentError, match=rf"{FN}: failure_sets\['fog'\] labels must lie in \[0, 3\)"):
        corruption_report(model, test_set, None, {"fog": (x[:2], torch.tensor([0, 5]))})
    with pytest.raises(DTypeError, match=f"{FN}: test labels must be an integer tensor"):
        corruption_report(model, (x, y.float()))


def test_wrong_image_shape(model, test_set):
    x, y = test_set
    with pytest.raises(ShapeError, match=rf"{FN}: test images must have shape \[N, C, H, W\] .*got \[3, 8, 8\]"):
        corruption_report(model, (x[0], y[:1]))
    with pytest.raises(ShapeError, match=rf"{FN}: test images .*channels-last"):
        corruption_report(model, (x.permute(0, 2, 3, 1).repeat(1, 1, 2, 1), y))
    with pytest.raises(ShapeError, match=rf"{FN}: test images of shape \[N, 3, 16, 16\] do not fit the model"):
        corruption_report(model, (torch.rand(2, 3, 16, 16), y[:2]))
    with pytest.raises(ShapeError, match=rf"{FN}: test images must be at least 8 px in H"):
        corruption_report(nn.Sequential(nn.Flatten(), nn.Linear(12, K)), (torch.rand(2, 3, 2, 2), y[:2]), "fog")
    with pytest.raises(ShapeError, match=f"{FN}: test has 24 images but 23 labels"):
        corruption_report(model, (x, y[:-1]))


def test_bad_values_and_arguments(model, test_set):
    x, y = test_set
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueRangeError, match=f"{FN}: test images must be finite, got 1 NaN/inf"):
        corruption_report(model, (bad, y))
    with pytest.raises(ValueRangeError, match=rf"{FN}: test images must hold values in \[0, 1\]"):
        corruption_report(model, (x * 255, y))
    with pytest.raises(ArgumentError, match=rf"{FN}: severities must be in \[1, 5\], got 6"):
        corruption_report(model, test_set, "fog", severities=(1, 6))
    with pytest.raises(ArgumentError, match=f"{FN}: severities must be a non-empty sequence without repeats"):
        corruption_report(model, test_set, "fog", severities=(2, 2))
    with pytest.raises(UnknownNameError, match=f"{FN}: unknown scale 'mnist'"):
        corruption_report(model, test_set, "fog", scale="mnist")
    with pytest.raises(ArgumentError, match=rf"{FN}: batch_size must be in \[1, 2\^31 - 1\], got 0"):
        corruption_report(model, test_set, batch_size=0)
    with pytest.raises(ValueRangeError, match=f"{FN}: seed must be in"):
        corruption_report(model, test_set, seed=-1)
    with pytest.raises(ArgumentTypeError, match=f"{FN}: model must be a torch.nn.Module, got str"):
        corruption_report("model", test_set)
    with pytest.raises(ArgumentTypeError, match=f"{FN}: failure_sets must be None or a mapping"):
        corruption_report(model, test_set, None, [test_set])
    with pytest.raises(ArgumentError, match=f"{FN}: failure_sets must name at least one corruption"):
        corruption_report(model, test_set, None, {})
    split = scenarios.corruption_failures(model, x, y, "fog", severities=(1,), n_collect=1)
    with pytest.raises(ArgumentError, match=rf"{FN}: failure_sets\['snow'\] is the FailureSplit of 'fog'"):
        corruption_report(model, test_set, None, {"snow": split})
    with pytest.raises(ArgumentError, match=rf"{FN}: failure_sets\['fog'\] images must hold at least one image"):
        corruption_report(model, test_set, None, {"fog": (x[:0], y[:0])})
