"""The ``pyrepair`` command line: a thin layer over the library (``python -m pyrepair`` works too).

    pyrepair info                                   build, devices, datasets found
    pyrepair train --dataset digits --arch lenet --epochs 20 --out model.pt
    pyrepair evaluate --model model.pt --dataset digits

The command line prints; the library underneath only logs.

Exit codes: 0 success; 2 a usage or input mistake (bad flag values, reported by argparse itself; a
``PyrepairError``; ``ValueError``/``TypeError`` from the library's argument checks; a missing, unreadable or
wrong-kind path), printed as one line on stderr; 1 an internal failure (anything else, e.g. a ``RuntimeError`` or a
``FloatingPointError`` during training), printed as one line plus "rerun with --debug". ``--debug`` prints the full
traceback instead. No traceback is ever shown without ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import PyrepairError

__all__ = ["main"]


def _int_at_least(lo: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``lo`` (argparse reports a bad value and exits with status 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}, got {value}")
        return value

    parse.__name__ = f"integer >= {lo}"
    return parse


def _float_in(lo: float, hi: float, *, lo_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite float in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text!r}") from None
        if not (lo < value if lo_open else lo <= value) or not value <= hi:  # also rejects nan
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text}")
        return value

    parse.__name__ = f"number in {interval}"
    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)
_learning_rate = _float_in(0.0, 10.0, lo_open=True)
_weight_decay = _float_in(0.0, 1.0)


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="digits", help="dataset name (see `pyrepair info`; default: digits)")
    p.add_argument("--data-root", default=None, help="folder holding the dataset files (else $PYREPAIR_DATA)")
    p.add_argument("--limit", type=_positive_int, default=None, help="use only the first N images of each split")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda if available)")
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help="batch size, >= 1 (default: 128 train, 512 evaluate)")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    ap = argparse.ArgumentParser(prog="pyrepair", description="Repair trained PyTorch image classifiers.")
    ap.add_argument("--version", action="version", version=f"pyrepair {__version__}")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    ap.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("info", help="build information, devices and datasets found")
    p.add_argument("--data-root", default=None, help="also look for datasets here")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("train", help="train a reference architecture on a dataset")
    _add_data_args(p)
    p.add_argument("--arch", default="lenet", help="architecture name (see `pyrepair info`; default: lenet)")
    p.add_argument("--epochs", type=_positive_int, default=20, help="epochs, >= 1 (default: 20)")
    p.add_argument("--lr", type=_learning_rate, default=1e-3, help="learning rate in (0, 10] (default: 1e-3)")
    p.add_argument("--optimizer", default="adam", help="adam or sgd")
    p.add_argument("--scheduler", default="none", help="none, cosine or step")
    p.add_argument("--weight-decay", type=_weight_decay, default=0.0, help="L2 penalty in [0, 1] (default: 0)")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="random seed, >= 0 (default: 0)")
    p.add_argument("--out", default="model.pt", help="checkpoint to write (default: model.pt)")
    p.add_argument("--resume", default=None, help="continue from this checkpoint (written by --out)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the final metrics as JSON")

    p = sub.add_parser("evaluate", help="evaluate a checkpoint on a dataset split")
    _add_data_args(p)
    p.add_argument("--model", required=True, help="checkpoint written by `pyrepair train`")
    p.add_argument("--split", default="test", help="train or test (default: test)")
    p.add_argument("--json", action="store_true", help="print JSON")
    return ap


def _cmd_info(args: argparse.Namespace) -> int:
    import torch

    from . import data, models
    from ._backend import build_info

    info: dict[str, Any] = {"build": build_info()}
    gpus = [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    info["devices"] = ["cpu", *gpus]
    found: dict[str, str] = {}
    for name in data.names():
        try:
            data.load(name, "test", root=args.data_root, limit=1)
            found[name] = "found"
        except PyrepairError as exc:
            found[name] = "not found" if isinstance(exc, FileNotFoundError) else f"error: {exc}"
        except Exception as exc:  # a corrupt file must not break `info`
            found[name] = f"error: {type(exc).__name__}: {exc}"
    info["datasets"] = found
    info["search_paths"] = [str(p) for p in data.search_paths(args.data_root)]
    info["architectures"] = models.names()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    b = info["build"]
    print(f"pyrepair {b['version']}  (torch {b['torch']}, python {b['python']})")
    print(f"  compiled core : {'yes' if b['core'] else 'NO: ' + str(b.get('core_error'))}")
    archs = ",".join(b["cuda_archs"]) or "-"
    print(f"  CUDA kernels  : {'yes' if b['cuda'] else 'no'} (archs {archs}, devices seen {b['cuda_devices']})")
    print(f"  OpenMP        : {'yes' if b['openmp'] else 'no'} ({b['openmp_threads']} threads), {b['compiler']}")
    print(f"  devices       : {', '.join(info['devices'])}")
    print("  datasets      : " + ", ".join(f"{k} ({v})" for k, v in found.items()))
    print(f"  searched      : {', '.join(info['search_paths']) or '(no root given and PYREPAIR_DATA unset)'}")
    print(f"  architectures : {', '.join(info['architectures'])}")
    return 0


def _load_split(args: argparse.Namespace, split: str) -> Any:
    from . import data

    return data.load(args.dataset, split, root=args.data_root, limit=args.limit)


def _batch_size(args: argparse.Namespace, default: int) -> int:
    """``--batch-size`` or the command's default (``is None``, not ``or``: argparse already rejected 0)."""
    return default if args.batch_size is None else int(args.batch_size)


def _cmd_train(args: argparse.Namespace) -> int:
    from . import models, train

    train_set = _load_split(args, "train")
    test_set = _load_split(args, "test")
    _, c, h, w = train_set.images.shape
    num_classes = int(max(int(train_set.labels.max()), int(test_set.labels.max())) + 1)
    model = models.create(args.arch, num_classes=num_classes, in_channels=c, input_size=(h, w), seed=args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"training {args.arch} ({n_params:,} parameters) on {args.dataset}: {len(train_set.labels)} train / "
          f"{len(test_set.labels)} test images, {args.epochs} epochs")
    t0 = time.perf_counter()
    history = train.fit(
        model, train_set, args.epochs, val=test_set, batch_size=_batch_size(args, 128), lr=args.lr,
        optimizer=args.optimizer, scheduler=args.scheduler, weight_decay=args.weight_decay, seed=args.seed,
        device=args.device, progress=False if args.no_progress else None, checkpoint=args.out, resume=args.resume,
    )
    seconds = time.perf_counter() - t0
    for rec in history.epochs:
        print(f"  epoch {rec['epoch']:3d}  loss {rec['train_loss']:.4f}  train acc {rec['train_accuracy']:.4f}"
              + (f"  test acc {rec['val_accuracy']:.4f}" if "val_accuracy" in rec else ""))
    metrics = train.evaluate(model, test_set, batch_size=_batch_size(args, 512), device=args.device)
    result = {"dataset": args.dataset, "arch": args.arch, "epochs": args.epochs, "seconds": round(seconds, 2),
              "test_accuracy": metrics["accuracy"], "test_loss": metrics["loss"], "checkpoint": str(args.out)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"test accuracy {metrics['accuracy']:.4f} (loss {metrics['loss']:.4f}) after {seconds:.1f} s; "
              f"checkpoint written to {args.out}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from . import train

    path = Path(args.model)
    ckpt = train.load_checkpoint(path)
    model = ckpt.model
    if model is None:
        raise PyrepairError(f"pyrepair evaluate: {path} holds no architecture config; it was not written by "
                            "`pyrepair train` / a model from pyrepair.models")
    split = _load_split(args, args.split)
    metrics = train.evaluate(model, split, batch_size=_batch_size(args, 512), device=args.device)
    result = {"model": str(path), "dataset": args.dataset, "split": args.split, **metrics}
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(f"{path}: {args.dataset}/{args.split}: accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f} "
              f"on {metrics['n']} images")
    return 0


# A user mistake: wrong flags, a bad file or path, data that does not fit the model. One line, exit status 2.
_USER_ERRORS: tuple[type[BaseException], ...] = (PyrepairError, ValueError, TypeError, OSError)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())  # one line, whatever the message holds
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pyrepair`` command; returns the exit status.

    0: success. 2: a usage or input mistake (bad flag values are reported by argparse; library argument checks,
    ``PyrepairError``, missing/unreadable paths), one line on stderr. 1: an internal failure, one line plus "rerun
    with --debug". With ``--debug`` the traceback is printed as well. Never lets an exception escape: argparse's own
    exit (usage errors: status 2, ``--help``/``--version``: 0) is returned as the status too, so in-process callers
    get a number either way.
    """
    if argv is not None and (
        isinstance(argv, (str, bytes)) or not isinstance(argv, Sequence) or not all(isinstance(a, str) for a in argv)
    ):  # an in-process caller's mistake: reported like a usage error, never a traceback
        print(f"pyrepair: error: argv must be None or a list of str, got {argv!r}", file=sys.stderr)
        return 2
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage line and its message
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if os.environ.get("CI") and args.command == "train" and not args.no_progress:
        args.no_progress = True  # no progress bars in CI logs
    commands = {"info": _cmd_info, "train": _cmd_train, "evaluate": _cmd_evaluate}
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        print(f"pyrepair {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the top of the command: every error becomes one line
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        if isinstance(exc, _USER_ERRORS):
            print(f"pyrepair {args.command}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        print(
            f"pyrepair {args.command}: internal error: {type(exc).__name__}: {_one_line(exc)}"
            + ("" if args.debug else " (rerun with --debug for the traceback)"),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
