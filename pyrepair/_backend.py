"""What was built and what can run: the compiled core, its CUDA kernels, OpenMP threads (STYLE rule 15).

Availability is computed once, lazily; nothing here touches the GPU at import time, so a CUDA build imports on a
machine without a driver.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
from types import ModuleType
from typing import Any

import torch

from .errors import ArgumentError, BackendUnavailableError

__all__ = [
    "build_info",
    "core",
    "cuda_available",
    "cuda_built",
    "cuda_device_count",
    "get_num_threads",
    "has_core",
    "set_num_threads",
]

log = logging.getLogger(__name__)

MAX_THREADS = 4096
"""Largest thread count :func:`set_num_threads` accepts."""

_SOURCE_TREE_HINT = (
    "pyrepair._core (the compiled kernels) could not be imported ({err}). If you are running from the source "
    "tree, you are importing it instead of the installed package: run `pip install .` in the repository (or "
    "`pip install --no-build-isolation -ve .` for development) and run pytest from the repository root with "
    "`--import-mode=importlib`."
)


@functools.lru_cache(maxsize=1)
def _load_core() -> tuple[ModuleType | None, str | None]:
    if os.environ.get("PYREPAIR_DISABLE_CORE") == "1":
        return None, "disabled by PYREPAIR_DISABLE_CORE=1"
    try:
        from . import _core  # type: ignore[attr-defined]
    except ImportError as exc:  # the source tree has no _core
        log.debug("pyrepair._core not importable: %s", exc)
        return None, str(exc)
    return _core, None


def has_core() -> bool:
    """True when the compiled extension ``pyrepair._core`` imports."""
    return _load_core()[0] is not None


def core(fn: str = "pyrepair") -> ModuleType:
    """The compiled extension module.

    Raises:
        BackendUnavailableError: the extension is not importable; the message says how to build it.
    """
    mod, err = _load_core()
    if mod is None:
        raise BackendUnavailableError(f"{fn}: " + _SOURCE_TREE_HINT.format(err=err))
    return mod


def cuda_built() -> bool:
    """True when the compiled core contains the CUDA kernels (built with ``PYREPAIR_CUDA=AUTO|ON`` and nvcc)."""
    mod, _ = _load_core()
    return bool(mod is not None and mod.build_info()["cuda"])


def cuda_device_count() -> int:
    """CUDA devices the core's runtime sees (0 without a CUDA build, a driver or a device). Never raises."""
    mod, _ = _load_core()
    if mod is None or not hasattr(mod, "cuda_device_count"):
        return 0
    try:
        return int(mod.cuda_device_count())
    except Exception:  # a broken driver counts as no device
        return 0


def cuda_available() -> bool:
    """True when CUDA kernels are built and torch can use a GPU, i.e. CUDA tensors can be processed."""
    return cuda_built() and torch.cuda.is_available()


def get_num_threads() -> int:
    """Threads used by the compiled CPU kernels (OpenMP); 1 without OpenMP or without the core."""
    mod, _ = _load_core()
    return int(mod.get_num_threads()) if mod is not None else 1


def set_num_threads(n: int) -> None:
    """Set the threads used by the compiled CPU kernels (does not change torch's own thread count).

    Raises:
        TypeError: ``n`` is not an int.
        ValueError: ``n`` is not in ``[1, MAX_THREADS]`` (4096: more threads than any machine's cores only adds
            overhead, and the core takes a C ``int``).
    """
    from ._checks import check_int

    fn = "pyrepair.set_num_threads"
    n = check_int(n, "n", fn, min_value=1)
    if n > MAX_THREADS:
        raise ArgumentError(f"{fn}: n must be at most {MAX_THREADS} (threads of the compiled CPU kernels), got {n}")
    mod, _ = _load_core()
    if mod is not None:
        mod.set_num_threads(n)


def build_info() -> dict[str, Any]:
    """How pyrepair was built and what this machine offers.

    Returns:
        A dict with ``version``, ``core`` (compiled extension importable), ``cuda`` (CUDA kernels built),
        ``cuda_archs`` (list of SM architectures, e.g. ``["90"]``), ``cuda_runtime_version``, ``openmp``,
        ``openmp_threads``, ``compiler``, ``cuda_devices`` (devices the core sees; 0 without a driver),
        ``torch`` (version), ``torch_cuda`` (``torch.cuda.is_available()``), ``python`` and ``platform``.
    """
    from . import __version__

    mod, err = _load_core()
    info: dict[str, Any] = {
        "version": __version__,
        "core": mod is not None,
        "cuda": False,
        "cuda_archs": [],
        "cuda_runtime_version": None,
        "openmp": False,
        "openmp_threads": 1,
        "compiler": None,
    }
    if mod is not None:
        raw = dict(mod.build_info())
        info.update(
            cuda=bool(raw["cuda"]),
            cuda_archs=[a for a in str(raw["cuda_archs"]).split(",") if a],
            cuda_runtime_version=raw["cuda_runtime_version"],
            openmp=bool(raw["openmp"]),
            openmp_threads=int(mod.get_num_threads()),
            compiler=raw["compiler"],
        )
        if raw["version"] != __version__:
            info["core_version"] = raw["version"]
    else:
        info["core_error"] = err
    info["cuda_devices"] = cuda_device_count()
    info["torch"] = torch.__version__
    info["torch_cuda"] = bool(torch.cuda.is_available())
    info["python"] = platform.python_version()
    info["platform"] = platform.platform()
    return info
