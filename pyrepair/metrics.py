"""Robustness metrics of an image classifier: clean, per-corruption and held-out-failure accuracy in one table.

:func:`corruption_report` measures a model the way the DeepRepair paper reports a repair (Yu et al., IEEE Trans.
Reliability 2021, Table 2; ``shared/spec/deeprepair.md`` §A): accuracy on the clean test set, on each corruption's
full corrupted test set (every severity stacked, corrupted exactly as :func:`pyrepair.scenarios.corruption_failures`
corrupts it, so both see the same images), per severity, and on each corruption's held-out failures ``D^e``. The
result, a :class:`CorruptionReport`, is a dict of rows with markdown and CSV writers, a JSON-able form and a bar plot
(matplotlib, the ``plot`` extra). :func:`compare_reports` gives the per-cell change between two reports (before and
after a repair).

Nothing here changes the model: it runs in eval mode without gradients, and the train/eval mode of every submodule
(and its device, when ``device`` moves it) is restored afterwards.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from pyrepair.metrics import corruption_report
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))
    >>> x, y = torch.rand(16, 3, 8, 8), torch.arange(16) % 2
    >>> report = corruption_report(model, (x, y), ["brightness"], severities=(1, 5), progress=False)
    >>> list(report.rows)
    ['clean', 'brightness']
    >>> report.rows["brightness"]["n"]
    32
    >>> print(report.to_markdown().splitlines()[0])
    | row | clean | corrupted | severity 1 | severity 5 | held-out failures | n | held-out n |
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import corrupt as _corrupt
from ._checks import check_images, check_in, check_int, check_seed
from ._images import ImageData, as_image_data, numpy_to_nchw
from ._io import PathLike, atomic_write, check_path
from ._loop import check_label_range, check_model, check_model_input, on_device, predict, resolve_progress
from .corrupt.severity import SCALES
from .errors import ArgumentError, ArgumentTypeError, BackendUnavailableError
from .scenarios import FailureSplit

__all__ = ["CLEAN", "CorruptionReport", "compare_reports", "corruption_report"]

CLEAN = "clean"
"""Key of the clean-test-set row of a :class:`CorruptionReport`."""

_FN = "pyrepair.metrics.corruption_report"
_COMPARE = "pyrepair.metrics.compare_reports"
_REPORT = "pyrepair.metrics.CorruptionReport"
_MAX_BATCH = 2**31 - 1  # far above any real batch; a larger value is a mistake, not a request

#: column -> markdown header, in table order (the severity columns go between "corrupted" and "held-out")
_HEADERS = {"clean_accuracy": "clean", "corrupted_accuracy": "corrupted", "heldout_accuracy": "held-out failures",
            "n": "n", "heldout_n": "held-out n"}
_COUNT_COLUMNS = ("n", "heldout_n")


def _severity_column(s: int) -> str:
    return f"severity_{s}"


def _columns(severities: Sequence[int]) -> tuple[str, ...]:
    return ("clean_accuracy", "corrupted_accuracy", *(_severity_column(s) for s in severities), "heldout_accuracy",
            "n", "heldout_n")


def _header(column: str) -> str:
    if column.startswith("severity_"):
        return column.replace("_", " ")
    return _HEADERS.get(column, column)


Cell = float | int | None


@dataclass
class CorruptionReport:
    """Accuracy of one model on the clean test set, each corrupted test set and each held-out failure set.

    Attributes:
        rows: ``{row: {column: value}}``. Rows: ``"clean"`` first, then one per corruption (the order of
            ``corruptions``, then corruptions that only have a failure set). Every row has every column of
            :attr:`columns`; a cell that does not apply is ``None``:

            * ``clean_accuracy``: accuracy in ``[0, 1]`` on the clean test set (``"clean"`` row only);
            * ``corrupted_accuracy``: accuracy on the full corrupted test set, all severities stacked;
            * ``severity_<s>``: accuracy on the test set corrupted at severity ``s`` (one column per severity);
            * ``heldout_accuracy``: accuracy on the corruption's held-out failures ``D^e`` (``None`` without a
              failure set, or with an empty one);
            * ``n``: images behind ``clean_accuracy`` / ``corrupted_accuracy`` (``N`` on the clean row,
              ``len(severities) * N`` on a corruption row, ``None`` without a corrupted test set);
            * ``heldout_n``: images in ``D^e`` (``None`` without a failure set).

            In a report from :func:`compare_reports` the accuracy cells are differences (``after - before``, in
            ``[-1, 1]``) and the counts are those of ``after``.
        severities: the severities of the corrupted test sets, in column order.
        seed: the corruption seed.
        scale: the severity constants used (``"auto"``, ``"cifar"``, ``"imagenet"``).
        delta: ``True`` for a report of differences (from :func:`compare_reports`).
    """

    rows: dict[str, dict[str, Cell]]
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    seed: int = 0
    scale: str = "auto"
    delta: bool = False
    columns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.severities = tuple(int(s) for s in self.severities)
        self.columns = _columns(self.severities)

    # -- tables ------------------------------------------------------------------------------------------------

    def to_markdown(self, digits: int = 2, percent: bool = True) -> str:
        """The report as a GitHub markdown table, one line per row, ``-`` for cells that do not apply.

        Args:
            digits: decimals of each accuracy (0..10).
            percent: show accuracies in percent (``87.50``) rather than as fractions (``0.88``). Counts are shown
                as integers either way; differences carry a sign (``+3.10``).

        Returns:
            The table, lines joined by ``"\\n"``, with a final newline.

        Raises:
            ArgumentTypeError, ArgumentError: ``digits`` is not an int in 0..10, ``percent`` not a bool.
        """
        fn = f"{_REPORT}.to_markdown"
        digits = check_int(digits, "digits", fn, min_value=0, max_value=10)
        if not isinstance(percent, bool):
            raise ArgumentTypeError(f"{fn}: percent must be a bool, got {type(percent).__name__} {percent!r}")
        sign = "+" if self.delta else ""

        def cell(col: str, v: Cell) -> str:
            if v is None:
                return "-"
            if col in _COUNT_COLUMNS:
                return str(int(v))
            return f"{float(v) * (100.0 if percent else 1.0):{sign}.{digits}f}"

        lines = ["| row | " + " | ".join(_header(c) for c in self.columns) + " |",
                 "|---|" + "|".join("---:" for _ in self.columns) + "|"]
        for name, row in self.rows.items():
            lines.append(f"| {name} | " + " | ".join(cell(c, row.get(c)) for c in self.columns) + " |")
        return "\n".join(lines) + "\n"

    def to_csv(self, path: PathLike) -> Path:
        """Write the report as CSV (atomically): a ``row`` column, then :attr:`columns`.

        Accuracies are written as fractions in full precision (``repr`` of the float), counts as integers, cells
        that do not apply as empty fields.

        Args:
            path: the destination file; missing parent folders are created.

        Returns:
            ``path`` as a ``Path``.

        Raises:
            ArgumentTypeError: ``path`` is neither a ``str`` nor ``os.PathLike``.
            ArgumentError: ``path`` is an existing folder.
        """
        fn = f"{_REPORT}.to_csv"
        p = check_path(path, "path", fn)
        if p.is_dir():
            raise ArgumentError(f"{fn}: path must be a file, got the existing folder {str(p)!r}")
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["row", *self.columns])
        for name, row in self.rows.items():
            writer.writerow([name, *("" if row.get(c) is None else repr(row[c]) for c in self.columns)])
        data = buf.getvalue().encode("utf-8")
        return atomic_write(p, lambda f: f.write(data))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy: ``{"rows", "columns", "severities", "seed", "scale", "delta"}``
        (:meth:`from_dict` reads it back)."""
        return {
            "rows": {name: {c: row.get(c) for c in self.columns} for name, row in self.rows.items()},
            "columns": list(self.columns),
            "severities": list(self.severities),
            "seed": self.seed,
            "scale": self.scale,
            "delta": self.delta,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CorruptionReport:
        """The report :meth:`to_dict` (or its JSON round trip) describes.

        Raises:
            ArgumentTypeError: ``d`` is not a mapping.
            ArgumentError: a key is missing or ``rows`` is not a mapping of mappings.
        """
        fn = f"{_REPORT}.from_dict"
        if not isinstance(d, Mapping):
            raise ArgumentTypeError(f"{fn}: d must be a mapping from CorruptionReport.to_dict, got {type(d).__name__}")
        missing = [k for k in ("rows", "severities") if k not in d]
        if missing or not isinstance(d["rows"], Mapping) or not all(isinstance(r, Mapping) for r in d["rows"].values()):
            raise ArgumentError(f"{fn}: d must hold 'rows' (a mapping of row mappings) and 'severities', "
                                f"got keys {sorted(map(str, d))}")
        rows = {str(k): dict(v) for k, v in d["rows"].items()}
        return cls(rows, tuple(d["severities"]), int(d.get("seed", 0)), str(d.get("scale", "auto")),
                   bool(d.get("delta", False)))

    # -- plot --------------------------------------------------------------------------------------------------

    def plot(self, path: PathLike | None = None, ax: Any = None) -> Any:
        """A grouped bar plot: per row, the clean, corrupted and held-out-failure accuracy (in percent).

        matplotlib is imported here, not at module import (the ``plot`` extra: ``pip install "pyrepair[plot]"``).
        Without ``ax`` a new ``matplotlib.figure.Figure`` is made (no pyplot, so no window and no global state).

        Args:
            path: where to save the figure (atomically; the format follows the suffix, PNG without one).
            ax: a matplotlib ``Axes`` to draw into (its figure is the one saved).

        Returns:
            The ``Axes`` drawn into.

        Raises:
            BackendUnavailableError: matplotlib is not installed (the message says how to install it).
            ArgumentTypeError: ``path`` is neither a ``str`` nor ``os.PathLike``; ``ax`` is not an ``Axes``.
        """
        fn = f"{_REPORT}.plot"
        try:
            from matplotlib.axes import Axes
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise BackendUnavailableError(
                f"{fn}: plotting needs matplotlib, which is not installed; install it with "
                f'pip install "pyrepair[plot]" (or pip install matplotlib)'
            ) from exc
        p = None if path is None else check_path(path, "path", fn)
        if ax is None:
            fig = Figure(figsize=(max(4.0, 1.2 * len(self.rows) + 2.0), 3.5), layout="constrained")
            ax = fig.add_subplot()
        elif not isinstance(ax, Axes):
            raise ArgumentTypeError(f"{fn}: ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        series = [("clean_accuracy", "clean"), ("corrupted_accuracy", "corrupted"),
                  ("heldout_accuracy", "held-out failures")]
        series = [(c, label) for c, label in series if any(r.get(c) is not None for r in self.rows.values())]
        names = list(self.rows)
        width = 0.8 / max(1, len(series))
        x = np.arange(len(names), dtype=np.float64)
        for i, (col, label) in enumerate(series):
            vals = [np.nan if self.rows[r].get(col) is None else 100.0 * float(self.rows[r][col]) for r in names]
            ax.bar(x + (i - (len(series) - 1) / 2) * width, vals, width, label=label)
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.set_ylabel("accuracy change (points)" if self.delta else "accuracy (%)")
        if not self.delta:
            ax.set_ylim(0, 100)
        else:
            ax.axhline(0.0, color="black", linewidth=0.8)
        if series:
            ax.legend(fontsize="small")
        if p is not None:
            fmt = p.suffix.lstrip(".").lower() or "png"
            fig_ = ax.get_figure()
            atomic_write(p, lambda f: fig_.savefig(f, format=fmt))
        return ax


# --------------------------------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------------------------------


def _names(corruptions: Any, failure_names: list[str]) -> list[str]:
    """The checked corruption names, in the given order (``None``: the failure sets' names)."""
    if corruptions is None:
        return list(failure_names)
    if isinstance(corruptions, str):
        corruptions = [corruptions]
    if isinstance(corruptions, (bytes, Mapping)) or not isinstance(corruptions, (Sequence, set, frozenset)):
        raise ArgumentTypeError(
            f"{_FN}: corruptions must be None, a corruption name or a sequence of names of "
            f"pyrepair.corrupt.names(), got {type(corruptions).__name__} {corruptions!r}"
        )
    out = list(corruptions)
    for name in out:
        if not isinstance(name, str):
            raise ArgumentTypeError(f"{_FN}: corruptions must hold corruption names (str), got "
                                    f"{type(name).__name__} {name!r}")
        check_in("corruption", name, _corrupt.names(), _FN)
    dup = sorted({n for n in out if out.count(n) > 1})
    if dup:
        raise ArgumentError(f"{_FN}: corruptions must not repeat a name, got {dup} more than once")
    return out


def _failure_sets(failure_sets: Any) -> dict[str, ImageData | None]:
    """``{name: D^e}`` checked (``None`` for the empty held-out part of a FailureSplit)."""
    if failure_sets is None:
        return {}
    if not isinstance(failure_sets, Mapping):
        raise ArgumentTypeError(
            f"{_FN}: failure_sets must be None or a mapping corruption name -> held-out failures (images, labels) "
            f"or FailureSplit, got {type(failure_sets).__name__}"
        )
    if not failure_sets:
        raise ArgumentError(f"{_FN}: failure_sets must name at least one corruption, got an empty mapping "
                            "(pass failure_sets=None for none)")
    out: dict[str, ImageData | None] = {}
    for name, value in failure_sets.items():
        if not isinstance(name, str):
            raise ArgumentTypeError(f"{_FN}: failure_sets keys must be corruption names (str), "
                                    f"got {type(name).__name__} {name!r}")
        check_in("corruption", name, _corrupt.names(), _FN)
        arg = f"failure_sets[{name!r}]"
        if isinstance(value, FailureSplit):
            if value.corruption != name:
                raise ArgumentError(f"{_FN}: {arg} is the FailureSplit of {value.corruption!r}, not of {name!r}")
            held = value.held_out
            if len(held.labels) == 0:
                out[name] = None  # every failure was collected: no D^e to measure on
                continue
            value = (held.images, held.labels)
        out[name] = as_image_data(value, _FN, name=arg)
    return out


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> int:
    """Correct predictions of ``model`` (already on its device) on a float batch; ``predict`` batches it."""
    pred = predict(model, images, _FN, batch_size=batch_size).argmax(1)
    return int((pred == labels.cpu()).sum())


def corruption_report(
    model: nn.Module,
    test: Any,
    corruptions: str | Sequence[str] | None = None,
    failure_sets: Mapping[str, Any] | None = None,
    *,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    seed: int = 0,
    scale: str = "auto",
    batch_size: int = 512,
    device: str | int | torch.device | None = None,
    progress: bool | None = None,
    check_range: bool = True,
) -> CorruptionReport:
    """Accuracy of ``model`` on a clean test set, on each corruption of it and on each held-out failure set.

    1. ``"clean"`` row: accuracy on ``test`` (the value :func:`pyrepair.train.evaluate` reports).
    2. One row per corruption of ``corruptions``: every test image is corrupted at every severity with
       :func:`pyrepair.corrupt.apply` (key ``seed``, RNG stream ``index_offset = i`` for test image ``i``, severity
       constants ``scale``), exactly as :func:`pyrepair.scenarios.corruption_failures` does with the same
       ``seed``, ``severities`` and ``scale``, so this set is the one its failures come from. The row holds the
       accuracy on all of them (``corrupted_accuracy``) and per severity (``severity_<s>``). uint8 numpy test
       images are corrupted as uint8 and the model sees the quantised result divided by 255 (as in
       ``corruption_failures``).
    3. ``heldout_accuracy``: accuracy on each corruption's held-out failures ``D^e`` from ``failure_sets``; a
       corruption with a failure set but not in ``corruptions`` gets a row with only those cells.

    The model runs in eval mode without gradients (:func:`pyrepair.train.predict`); its weights, the train/eval
    mode of every submodule and its device are as before when the function returns.

    Args:
        model: classifier mapping ``(N, C, H, W)`` floats in [0, 1] to ``(N, K)`` logits.
        test: the clean test set ``(images, labels)``: float tensor ``(N, C, H, W)`` in [0, 1] (``C`` 1 or 3; at
            least 8 px when corrupted), or uint8 numpy ``(N, H, W, C)`` / ``(N, H, W)``; integer labels ``(N,)``
            in ``[0, K)``.
        corruptions: names of :func:`pyrepair.corrupt.names` (or one name); ``None``: the names of
            ``failure_sets`` (and with neither, only the clean row).
        failure_sets: ``{corruption name: D^e}``, each an ``(images, labels)`` pair as ``test`` or a
            :class:`pyrepair.scenarios.FailureSplit` (its ``held_out`` part; an empty one gives ``None`` cells).
        severities: severities to stack, in this order (1..5, no repeats); one ``severity_<s>`` column each.
        seed: corruption RNG key, in ``[0, 2^64)``.
        scale: severity constants: ``"auto"`` (by image size), ``"cifar"`` or ``"imagenet"``.
        batch_size: images per corruption call and forward pass (1 .. 2^31 - 1); results do not depend on it.
        device: where the model runs (see :func:`pyrepair.train.predict`); ``None``: where it is.
        progress: a tqdm bar over the corruptions; ``None``: only on a terminal and not when
            ``PYREPAIR_PROGRESS=0``.
        check_range: check that the float images are finite and in [0, 1] (``False`` skips that pass).

    Returns:
        A :class:`CorruptionReport`; ``report.rows["clean"]["clean_accuracy"]``,
        ``report.rows["fog"]["corrupted_accuracy"]``, ``report.rows["fog"]["severity_3"]``,
        ``report.rows["fog"]["heldout_accuracy"]``.

    Shape:
        - test images: ``(N, C, H, W)`` float, or uint8 ``(N, H, W, C)`` / ``(N, H, W)``; labels ``(N,)``.
        - failure set images: as test images, any length ``M >= 1``.

    Raises:
        UnknownNameError: an unknown corruption (in ``corruptions`` or a key of ``failure_sets``) or ``scale``;
            the message lists the valid names.
        ArgumentError: empty ``test`` or failure set, labels outside the model's ``[0, K)``, repeated names or
            severities, an empty ``failure_sets`` mapping, a FailureSplit filed under another corruption's name,
            bad ``batch_size`` / ``severities``.
        ValueRangeError: NaN/inf or values outside [0, 1] in float images (unless ``check_range=False``), a seed
            outside ``[0, 2^64)``.
        ShapeError, DTypeError: malformed images or labels, images smaller than 8 px when a corruption is asked
            for, or images the model does not accept (one forward of one image first).
        ArgumentTypeError: ``model`` is not an ``nn.Module``; wrong argument types.
        DeviceError: ``device`` is not available.

    Example:
        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8 * 8, 3))
        >>> x, y = torch.rand(6, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2])
        >>> r = corruption_report(model, (x, y), "fog", severities=(3,), progress=False)
        >>> sorted(r.rows["fog"])[:3]
        ['clean_accuracy', 'corrupted_accuracy', 'heldout_accuracy']
    """
    fn = _FN
    check_model(model, fn)
    sev = tuple(check_int(s, "severities", fn, min_value=1, max_value=5) for s in _sequence(severities, "severities"))
    if not sev or len(set(sev)) != len(sev):
        raise ArgumentError(f"{fn}: severities must be a non-empty sequence without repeats, got {list(sev)}")
    seed = check_seed(seed, fn)
    if not isinstance(scale, str):
        raise ArgumentTypeError(f"{fn}: scale must be one of {', '.join(SCALES)}, got {type(scale).__name__} "
                                f"{scale!r}")
    check_in("scale", scale, SCALES, fn)
    batch_size = check_int(batch_size, "batch_size", fn, min_value=1, max_value=_MAX_BATCH)
    if not isinstance(check_range, bool):
        raise ArgumentTypeError(f"{fn}: check_range must be a bool, got {type(check_range).__name__} {check_range!r}")
    show = resolve_progress(progress, fn)
    held = _failure_sets(failure_sets)
    names = _names(corruptions, list(held))

    data = as_image_data(test, fn, name="test")
    raw = test[0] if isinstance(test, (tuple, list)) else None
    uint8_in = isinstance(raw, np.ndarray) and raw.dtype == np.uint8
    min_size = _corrupt.MIN_SIZE if names else 1
    if not uint8_in:
        check_images(data.images, fn, "test images", spec="N,C,H,W", min_size=min_size, check_range=check_range)
    elif min(data.images.shape[2:]) < min_size:
        check_images(data.images, fn, "test images", spec="N,C,H,W", min_size=min_size, check_range=False,
                     given_shape=raw.shape)
    for name, d in held.items():
        if d is not None:
            check_images(d.images, fn, f"failure_sets[{name!r}] images", spec="N,C,H,W", check_range=check_range)
    n = int(data.images.shape[0])
    y = data.labels.cpu()

    with on_device(model, device, fn) as dev:
        # before any corruption or pass: the model accepts every set's images and every label is one of its K
        k = check_model_input(model, data.images[0], dev, fn, "test images")
        check_label_range(y, k, fn, "test")
        for name, d in held.items():
            if d is not None:
                arg = f"failure_sets[{name!r}]"
                k_e = check_model_input(model, d.images[0], dev, fn, f"{arg} images")
                check_label_range(d.labels, k_e, fn, arg)

        rows: dict[str, dict[str, Cell]] = {CLEAN: _row(sev, clean_accuracy=_accuracy(model, data.images, y,
                                                                                      batch_size) / n, n=n)}
        for name in [*names, *(h for h in held if h not in names)]:
            rows[name] = _row(sev)
        bar = tqdm(names, desc="corruption_report", disable=not show, leave=False, unit="corruption")
        for name in bar:
            bar.set_postfix_str(name, refresh=False)
            correct = [0] * len(sev)
            for j, s in enumerate(sev):
                for start in range(0, n, batch_size):
                    stop = min(n, start + batch_size)
                    src = raw[start:stop] if uint8_in else data.images[start:stop]
                    xc = _corrupt.apply(src, name, s, seed=seed, scale=scale, index_offset=start)
                    xf = numpy_to_nchw(xc, fn) if uint8_in else xc
                    correct[j] += _accuracy(model, xf, y[start:stop], batch_size)
            rows[name].update({_severity_column(s): c / n for s, c in zip(sev, correct, strict=True)})
            rows[name].update(corrupted_accuracy=sum(correct) / (n * len(sev)), n=n * len(sev))
        for name, d in held.items():
            if d is None:
                rows[name].update(heldout_n=0)
                continue
            m = int(d.labels.shape[0])
            rows[name].update(heldout_accuracy=_accuracy(model, d.images, d.labels, batch_size) / m, heldout_n=m)
    return CorruptionReport(rows, sev, seed, scale)


def _sequence(value: Any, name: str) -> list[Any]:
    """A non-string sequence as a list (a lone int is one element)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return [value]
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ArgumentTypeError(f"{_FN}: {name} must be a sequence of ints in 1..5, got {type(value).__name__} "
                                f"{value!r}")
    return list(value)


def _row(sev: Sequence[int], **values: Cell) -> dict[str, Cell]:
    row: dict[str, Cell] = dict.fromkeys(_columns(sev))
    row.update(values)
    return row


# --------------------------------------------------------------------------------------------------------------------
# before / after
# --------------------------------------------------------------------------------------------------------------------


def compare_reports(before: CorruptionReport, after: CorruptionReport) -> CorruptionReport:
    """The change from ``before`` to ``after`` (e.g. the original and the repaired model), cell by cell.

    Accuracy cells become ``after - before`` (``None`` where either is ``None``); count cells are ``after``'s.
    Rows are ``before``'s, then rows only ``after`` has (all their accuracy cells ``None``); severity columns are
    ``after``'s.

    Args:
        before: the report of the model before.
        after: the report of the model after, usually with the same ``seed``, ``scale`` and ``severities``.

    Returns:
        A :class:`CorruptionReport` with ``delta=True`` (its markdown shows signed differences).

    Raises:
        ArgumentTypeError: either argument is not a :class:`CorruptionReport`.
        ArgumentError: either one is already a difference, or the two were made with different ``seed`` or
            ``scale`` (their corrupted test sets differ).

    Example:
        >>> a = CorruptionReport({"clean": {"clean_accuracy": 0.5, "n": 10}}, severities=(1,))
        >>> b = CorruptionReport({"clean": {"clean_accuracy": 0.75, "n": 10}}, severities=(1,))
        >>> compare_reports(a, b).rows["clean"]["clean_accuracy"]
        0.25
    """
    fn = _COMPARE
    for arg, r in (("before", before), ("after", after)):
        if not isinstance(r, CorruptionReport):
            raise ArgumentTypeError(f"{fn}: {arg} must be a CorruptionReport, got {type(r).__name__}")
        if r.delta:
            raise ArgumentError(f"{fn}: {arg} must be a report of accuracies, got a report of differences")
    if (before.seed, before.scale) != (after.seed, after.scale):
        raise ArgumentError(
            f"{fn}: before and after must use the same corrupted test sets, got seed {before.seed} / scale "
            f"{before.scale!r} and seed {after.seed} / scale {after.scale!r}"
        )
    cols = _columns(after.severities)
    rows: dict[str, dict[str, Cell]] = {}
    for name in [*before.rows, *(r for r in after.rows if r not in before.rows)]:
        b, a = before.rows.get(name, {}), after.rows.get(name, {})
        row: dict[str, Cell] = {}
        for c in cols:
            if c in _COUNT_COLUMNS:
                row[c] = a.get(c)
            else:
                va, vb = a.get(c), b.get(c)
                row[c] = None if va is None or vb is None else float(va) - float(vb)
        rows[name] = row
    return CorruptionReport(rows, after.severities, after.seed, after.scale, delta=True)

