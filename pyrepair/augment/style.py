"""DeepRepair's StyleAug (Algorithm 1): AugMix whose chains may start with a *style op* drawn from failure clusters.

``shared/spec/deeprepair.md`` §A.4-§A.5. The collected failures ``D^c`` are clustered with k-means (N = 5); each
cluster becomes one style op ``O^c_i(X) = ST(X, X^i)`` whose reference ``X^i`` is drawn from that cluster with the
Eq. 4 probabilities (nearer the centre is likelier). A chain's first op is a style op with probability ``p_style``
(default 5/14, the paper's uniform draw over 9 base + 5 style ops); ops 2-3 are ordinary AugMix ops; chains are
mixed with Dirichlet/Beta weights exactly as in :class:`~pyrepair.augment.AugMix`.

* :func:`cluster_failures` fits the k-means and returns a :class:`StyleBank` (references, cluster ids, distances,
  probabilities).
* :func:`cluster_probabilities` is Eq. 4 with its normalisations (the printed formula does not sum to 1).
* :class:`StyleAugMix` is the augmenter. It is batched: the style ops of a batch are grouped by cluster and each
  group is one :func:`pyrepair.wavelet.style_transfer` call with that cluster's images and probabilities as the
  reference bank, so ``mode="spectral"`` gives each group its cluster's power spectrum.

Example:
    In a plain training loop (``model``, ``x``, ``y`` are yours; ``failures`` are images the model gets wrong):

    >>> import torch
    >>> from torch import nn
    >>> from pyrepair.augment import StyleAugMix, augmix_loss
    >>> failures = torch.rand(40, 3, 16, 16)
    >>> aug = StyleAugMix(failures, n_clusters=2, seed=0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 10))
    >>> x, y, g = torch.rand(8, 3, 16, 16), torch.randint(0, 10, (8,)), torch.Generator().manual_seed(0)
    >>> clean, a1, a2 = aug.views(x, generator=g)
    >>> loss = augmix_loss(*model(torch.cat([clean, a1, a2])).chunk(3), y)
    >>> loss.backward()
    >>> aug.bank.sizes
    [..., ...]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from .._checks import check_images, check_in, check_int, check_positive, check_seed
from .._checks import check_range as check_number
from .._dispatch import BACKENDS, Backend, select
from ..errors import ArgumentError, ArgumentTypeError, DeviceError, PyrepairError, ShapeError
from .augmix import AugMix, AugMixParams, _apply
from .mixing import resolve_generator

__all__ = [
    "NORMALIZATIONS",
    "SAMPLINGS",
    "SPACES",
    "STYLE_MODES",
    "StyleAugMix",
    "StyleAugMixParams",
    "StyleBank",
    "cluster_failures",
    "cluster_probabilities",
]

#: How references are drawn: ``"cluster"`` (k-means + Eq. 4, the paper's method) or ``"uniform"`` (Eq. 3, the
#: paper's no-cluster ablation).
SAMPLINGS: tuple[str, ...] = ("cluster", "uniform")
#: Style-transfer modes of :func:`pyrepair.wavelet.style_transfer`.
STYLE_MODES: tuple[str, ...] = ("spectral", "pixel", "wct2")
#: Feature spaces of the k-means and of the distances ``d`` (§A.5): standardised pixels (per position, zero mean and
#: unit variance over the failures; the default) or raw pixels.
SPACES: tuple[str, ...] = ("standardized", "raw")
#: Normalisations of Eq. 4 (§A.5): ``"balanced"`` (variant B, each cluster has mass 1/N; default), ``"global"``
#: (variant A, one renormalisation) and ``"printed"`` (the formula as printed, which sums to (n - N)/N).
NORMALIZATIONS: tuple[str, ...] = ("balanced", "global", "printed")

_FN_CLUSTER = "pyrepair.augment.cluster_failures"
_FN_PROBS = "pyrepair.augment.cluster_probabilities"
_FN = "pyrepair.augment.StyleAugMix"


# ----------------------------------------------------------------------------------------------------- Eq. 4


def cluster_probabilities(
    distances: Any,
    clusters: Any,
    n_clusters: int | None = None,
    *,
    normalization: Literal["balanced", "global", "printed"] = "balanced",
) -> torch.Tensor:
    """DeepRepair Eq. 4: the probability of drawing each failure as a style reference, from its cluster distance.

    For cluster ``i`` with members ``j`` at distance ``d_j`` from the centre and ``S_i = sum_j d_j``, the printed
    formula is ``P_j = (1/N)(1 - d_j / S_i)``; it sums to ``(n - N)/N``, not 1 (199 for n = 1000, N = 5). The
    normalisations (§A.5):

    * ``"balanced"`` (variant B, default): ``P_j = (1/N)(1 - d_j/S_i)/(n_i - 1)``; every cluster has mass ``1/N``.
    * ``"global"`` (variant A): ``P_j = (1 - d_j/S_i)/(n - N)``; cluster mass proportional to ``n_i - 1``.
    * ``"printed"``: the formula as printed (not a distribution; for reference and tests).

    Degenerate clusters (every normalisation): a cluster of one member gives it the whole cluster mass (``1/N``,
    or ``1/n`` for ``"global"``); a cluster whose members all sit on the centre (``S_i = 0``) is uniform inside.
    Empty cluster ids (no member) get no mass and do not count in ``N``.

    Args:
        distances: ``(M,)`` non-negative finite distances to the own cluster's centre (tensor, array or sequence).
        clusters: ``(M,)`` integer cluster ids in ``[0, n_clusters)``.
        n_clusters: the number of cluster ids; default ``max(clusters) + 1``.
        normalization: ``"balanced"``, ``"global"`` or ``"printed"``.

    Returns:
        ``(M,)`` float64 tensor (on CPU); sums to 1 except for ``"printed"``. Within a cluster, a smaller distance
        never gets a smaller probability.

    Raises:
        ShapeError: ``distances`` and ``clusters`` are not 1-D of the same length, or are empty.
        ArgumentError: negative or non-finite distances, cluster ids outside ``[0, n_clusters)``.
        UnknownNameError: unknown ``normalization``.

    Example:
        >>> p = cluster_probabilities([0.0, 1.0, 3.0, 2.0], [0, 0, 1, 1])
        >>> [round(float(v), 4) for v in p], float(p.sum())
        ([0.5, 0.0, 0.2, 0.3], 1.0)
    """
    fn = _FN_PROBS
    check_in("normalization", normalization, NORMALIZATIONS, fn)
    d = _as_1d(distances, "distances", fn, torch.float64)
    c = _as_1d(clusters, "clusters", fn, torch.int64)
    if d.numel() != c.numel():
        raise ShapeError(f"{fn}: distances and clusters must have the same length, got {d.numel()} and {c.numel()}",
                         actual_shape=(d.numel(), c.numel()), expected="M")
    if d.numel() == 0:
        raise ShapeError(f"{fn}: distances must hold at least one failure, got an empty tensor",
                         actual_shape=(0,), expected="M")
    if not bool(torch.isfinite(d).all()) or float(d.min()) < 0:
        raise ArgumentError(f"{fn}: distances must be finite and >= 0, got values in [{float(d.min())!r}, "
                            f"{float(d.max())!r}]")
    m = d.numel()
    if n_clusters is None:
        k = int(c.max()) + 1
        if int(c.min()) >= 0 and k > m:
            raise ArgumentError(f"{fn}: clusters must be ids in [0, M) for M = {m} failures (at most one cluster per "
                                f"failure), got ids up to {k - 1}; pass n_clusters to name empty clusters on purpose")
    else:
        k = check_int(n_clusters, "n_clusters", fn, min_value=1, max_value=max(m, 1))
    if int(c.min()) < 0 or int(c.max()) >= k:
        raise ArgumentError(f"{fn}: clusters must lie in [0, {k}), got ids in [{int(c.min())}, {int(c.max())}]")
    sizes = torch.bincount(c, minlength=k).to(torch.float64)
    sums = torch.zeros(k, dtype=torch.float64).index_add_(0, c, d)
    n_used = int((sizes > 0).sum())
    n_i, s_i = sizes[c], sums[c]
    # 1 - d/S_i; S_i = 0 (every member on the centre) -> uniform weights 1 inside the cluster
    raw = torch.where(s_i > 0, 1.0 - d / torch.where(s_i > 0, s_i, 1.0), torch.ones_like(d))
    single = n_i == 1
    if normalization == "printed":
        return torch.where(single, torch.ones_like(d), raw) / n_used
    # per-cluster sum of the weights: n_i - 1 when S_i > 0, n_i when S_i = 0, 1 for a single member
    raw = torch.where(single, torch.ones_like(d), raw)
    mass = torch.zeros(k, dtype=torch.float64).index_add_(0, c, raw)[c]
    if normalization == "balanced":
        return raw / mass / n_used
    return raw / float(raw.sum())


def _as_1d(x: Any, name: str, fn: str, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(x, torch.Tensor) and x.device.type == "meta":
        raise DeviceError(f"{fn}: {name} is on the meta device (no data); pass a CPU or CUDA tensor")
    if isinstance(x, torch.Tensor) and x.dtype == torch.bool:
        raise ArgumentTypeError(f"{fn}: {name} must hold numbers, got dtype torch.bool")
    try:
        t = torch.as_tensor(np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x))
    except (TypeError, ValueError) as e:
        raise ArgumentTypeError(f"{fn}: {name} must be a 1-D tensor, array or sequence of numbers, got "
                                f"{type(x).__name__} ({e})") from e
    if t.dim() != 1:
        raise ShapeError(f"{fn}: {name} must be 1-D, got shape {list(t.shape)}", actual_shape=tuple(t.shape),
                         expected="M")
    if dtype == torch.int64 and (t.dtype.is_floating_point or t.dtype.is_complex):
        raise ArgumentTypeError(f"{fn}: {name} must be integer ids, got dtype {t.dtype}")
    if t.dtype.is_complex:
        raise ArgumentTypeError(f"{fn}: {name} must be real, got dtype {t.dtype}")
    return t.to(dtype)


# ----------------------------------------------------------------------------------------------------- clustering


@dataclass(frozen=True, eq=False)
class StyleBank:
    """The style references of DeepRepair: the collected failures, their clusters and their drawing probabilities.

    Attributes:
        images: ``(M, C, H, W)`` float32 references in ``[0, 1]`` (a copy of the failures, on CPU).
        labels: ``(M,)`` int64 labels of the failures, or ``None``.
        clusters: ``(M,)`` int64 cluster id of each reference, ``0 .. n_clusters - 1``.
        distances: ``(M,)`` float64 distance of each reference to its cluster centre in the clustering space.
        probs: ``(M,)`` float64 drawing probabilities (sum 1): Eq. 4 (``sampling="cluster"``) or uniform.
        n_clusters: the number of clusters (1 for ``sampling="uniform"``).
        sampling: ``"cluster"`` or ``"uniform"``.
        space: the feature space of the k-means and of ``distances``.
        per_class: whether the k-means ran per class (cluster ids are then global, class by class).
        inertia: the k-means inertia (sum of squared distances; 0.0 for ``"uniform"``).
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    clusters: torch.Tensor
    distances: torch.Tensor
    probs: torch.Tensor
    n_clusters: int
    sampling: str
    space: str
    per_class: bool
    inertia: float

    @property
    def sizes(self) -> list[int]:
        """Members per cluster."""
        return [int(v) for v in torch.bincount(self.clusters, minlength=self.n_clusters)]

    def members(self, cluster: int) -> torch.Tensor:
        """Indices (into :attr:`images`) of one cluster's members, nearest to the centre first."""
        k = check_int(cluster, "cluster", "pyrepair.augment.StyleBank.members", min_value=0,
                      max_value=self.n_clusters - 1)
        idx = (self.clusters == k).nonzero().squeeze(1)
        return idx[torch.argsort(self.distances[idx], stable=True)]

    def cluster_probs(self, cluster: int) -> torch.Tensor:
        """The drawing probabilities of one cluster's members (in :meth:`members` order), renormalised to sum 1."""
        p = self.probs[self.members(cluster)]
        total = float(p.sum())
        return p / total if total > 0 else torch.full_like(p, 1.0 / max(p.numel(), 1))

    def summary(self, n_members: int = 4) -> dict[str, Any]:
        """A JSON-able description for reports: sizes, mass and the ``n_members`` most central members per cluster.

        Returns:
            ``{"n_clusters", "sampling", "space", "per_class", "inertia", "sizes", "mass", "members", "labels"}``;
            ``members[i]`` are indices into the failure set, ``labels[i]`` the class counts of cluster ``i`` as
            ``{"class": count}`` (when
            the failures have labels).
        """
        n_members = check_int(n_members, "n_members", "pyrepair.augment.StyleBank.summary", min_value=0)
        out: dict[str, Any] = {
            "n_clusters": self.n_clusters,
            "sampling": self.sampling,
            "space": self.space,
            "per_class": self.per_class,
            "inertia": float(self.inertia),
            "sizes": self.sizes,
            "mass": [float(self.probs[self.clusters == k].sum()) for k in range(self.n_clusters)],
            "members": [[int(i) for i in self.members(k)[:n_members]] for k in range(self.n_clusters)],
        }
        if self.labels is not None:
            out["labels"] = [
                {str(int(c)): int(n) for c, n in zip(*torch.unique(self.labels[self.clusters == k], return_counts=True),
                                                 strict=True)}
                for k in range(self.n_clusters)
            ]
        return out


def _features(x: torch.Tensor, space: str) -> np.ndarray:
    f = x.reshape(x.shape[0], -1).to(torch.float64).numpy()
    if space == "standardized":  # sklearn.preprocessing.scale: per position, zero mean, unit variance (0 std -> 1)
        std = f.std(axis=0)
        f = (f - f.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return f


def _kmeans(f: np.ndarray, k: int, seed: int, n_init: int) -> tuple[np.ndarray, np.ndarray, float]:
    """scikit-learn k-means (k-means++, Lloyd, ``n_init`` restarts, best inertia): ``(labels, distances, inertia)``."""
    from sklearn.cluster import KMeans  # lazily: importing sklearn costs ~1 s

    km = KMeans(n_clusters=k, init="k-means++", n_init=n_init, max_iter=300, tol=1e-4,
                random_state=seed % (1 << 32))  # fmt: skip
    lab = km.fit_predict(f).astype(np.int64)
    dist = np.linalg.norm(f - km.cluster_centers_[lab], axis=1)
    return lab, dist, float(km.inertia_)


def cluster_failures(
    failures: torch.Tensor,
    n_clusters: int = 5,
    *,
    labels: Any = None,
    per_class: bool = False,
    sampling: Literal["cluster", "uniform"] = "cluster",
    space: Literal["standardized", "raw"] = "standardized",
    normalization: Literal["balanced", "global"] = "balanced",
    seed: int = 0,
    n_init: int = 10,
    check_range: bool = True,
) -> StyleBank:
    """Cluster the collected failures ``D^c`` with k-means and give each one its Eq. 4 drawing probability (§A.5).

    Features are the flattened pixels, standardised per position over the failures (``space="standardized"``, the
    spec's default; sklearn's ``scale``) or raw; k-means is scikit-learn's (k-means++, 300 Lloyd iterations,
    ``n_init`` restarts, the lowest inertia kept), seeded by ``seed``. The distance ``d`` of a failure is its
    Euclidean distance to its own centroid in the same space.

    ``per_class=True`` runs the k-means per class (``labels`` needed) with ``min(n_clusters, members of the
    class)`` clusters each, the authors' code's choice; the cluster ids are then global (class 0's clusters first).
    ``sampling="uniform"`` skips the k-means: one cluster holding every failure, uniform probabilities (Eq. 3).

    Args:
        failures: ``(M, C, H, W)`` float images in ``[0, 1]`` (not modified).
        n_clusters: N, ``1 <= N <= M`` (per class: the clusters of each class).
        labels: optional ``(M,)`` integer labels (kept for the report; needed for ``per_class``).
        per_class: cluster each class separately.
        sampling: ``"cluster"`` or ``"uniform"``.
        space: ``"standardized"`` or ``"raw"``.
        normalization: Eq. 4 normalisation, ``"balanced"`` (each cluster has mass 1/N) or ``"global"``.
        seed: k-means seed in ``[0, 2^64)`` (its low 32 bits go to scikit-learn).
        n_init: k-means restarts, >= 1.
        check_range: check that the failures are finite and in ``[0, 1]``.

    Returns:
        A :class:`StyleBank`.

    Raises:
        ShapeError, DTypeError: malformed ``failures`` or ``labels``.
        ArgumentError: no failures, ``n_clusters`` larger than the number of failures, ``per_class`` without labels,
            values out of range.
        UnknownNameError: unknown ``sampling``, ``space`` or ``normalization``.

    Example:
        >>> import torch
        >>> bank = cluster_failures(torch.rand(30, 1, 8, 8), n_clusters=3, seed=0)
        >>> len(bank.sizes), round(float(bank.probs.sum()), 6)
        (3, 1.0)
    """
    return _cluster_failures(failures, n_clusters, labels=labels, per_class=per_class, sampling=sampling,
                             space=space, normalization=normalization, seed=seed, n_init=n_init,
                             check_range=check_range, fn=_FN_CLUSTER)


def _cluster_failures(
    failures: Any,
    n_clusters: Any,
    *,
    labels: Any,
    per_class: Any,
    sampling: Any,
    space: Any,
    normalization: Any,
    seed: Any,
    n_init: Any,
    check_range: Any,
    fn: str,
) -> StyleBank:
    """:func:`cluster_failures` with the public function's name ``fn`` in every error message."""
    check_in("sampling", sampling, SAMPLINGS, fn)
    check_in("space", space, SPACES, fn)
    check_in("normalization", normalization, ("balanced", "global"), fn)
    seed = check_seed(seed, fn)
    n_init = check_int(n_init, "n_init", fn, min_value=1, max_value=1000)
    if not isinstance(per_class, bool):
        raise ArgumentTypeError(f"{fn}: per_class must be True or False, got {per_class!r}")
    if not isinstance(check_range, bool):
        raise ArgumentTypeError(f"{fn}: check_range must be True or False, got {check_range!r}")
    if isinstance(failures, torch.Tensor) and failures.dim() == 4 and failures.shape[0] == 0:
        raise ArgumentError(f"{fn}: failures must hold at least one image (the collected failure cases D^c), got "
                            f"an empty tensor of shape {list(failures.shape)}")
    m = check_images(failures, fn, "failures", channels=None, check_range=check_range).sizes["B"]
    n_clusters = check_int(n_clusters, "n_clusters", fn, min_value=1, max_value=1 << 31)
    y: torch.Tensor | None = None
    if labels is not None:
        y = _as_1d(labels, "labels", fn, torch.int64)
        if y.numel() != m:
            raise ShapeError(f"{fn}: labels must have one entry per failure ({m}), got {y.numel()}",
                             actual_shape=(y.numel(),), expected="M")
    if y is not None and y.numel() and int(y.min()) < 0:
        raise ArgumentError(f"{fn}: labels must be class ids >= 0, got minimum {int(y.min())}")
    if per_class and y is None:
        raise ArgumentError(f"{fn}: per_class=True clusters each class separately and needs labels=")
    x = failures.detach().to(device="cpu", dtype=torch.float32).contiguous()
    if sampling == "uniform":
        zeros = torch.zeros(m, dtype=torch.int64)
        return StyleBank(x.clone(), y, zeros, torch.zeros(m, dtype=torch.float64),
                         torch.full((m,), 1.0 / m, dtype=torch.float64), 1, "uniform", space, per_class, 0.0)
    if n_clusters > m:
        raise ArgumentError(f"{fn}: n_clusters={n_clusters} is larger than the number of failures ({m}); pass "
                            f"n_clusters <= {m} or sampling='uniform'")
    f = _features(x, space)
    if per_class:
        assert y is not None
        clusters = np.zeros(m, dtype=np.int64)
        dist = np.zeros(m, dtype=np.float64)
        inertia, offset = 0.0, 0
        for c in torch.unique(y).tolist():
            sel = (y == c).nonzero().squeeze(1).numpy()
            k = min(n_clusters, len(sel))
            lab, dd, ine = _kmeans(f[sel], k, seed, n_init) if k > 1 else (np.zeros(len(sel), np.int64),
                                                                           _centre_dist(f[sel]), 0.0)
            clusters[sel], dist[sel] = lab + offset, dd
            inertia, offset = inertia + (ine if k > 1 else float((dd**2).sum())), offset + k
        total = offset
    else:
        if n_clusters > 1:
            lab, dist, inertia = _kmeans(f, n_clusters, seed, n_init)
        else:
            lab, dist = np.zeros(m, np.int64), _centre_dist(f)
            inertia = float((dist**2).sum())
        clusters, total = lab, n_clusters
    ct, dt = torch.from_numpy(clusters), torch.from_numpy(dist)
    probs = cluster_probabilities(dt, ct, total, normalization=normalization)
    return StyleBank(x.clone(), y, ct, dt, probs, total, "cluster", space, per_class, inertia)


def _centre_dist(f: np.ndarray) -> np.ndarray:
    return np.linalg.norm(f - f.mean(axis=0, keepdims=True), axis=1)


# ----------------------------------------------------------------------------------------------------- StyleAugMix

#: the largest AugMix width accepted (chains per image; AugMix uses 3)
MAX_WIDTH = 64


def check_augmix_hparams(
    fn: str, severity: Any, width: Any, depth: Any, alpha: Any, all_ops: Any, backend: Any
) -> dict[str, Any]:
    """Validate the AugMix settings of a style augmenter under the public function's name ``fn``.

    Also checks that an explicit ``backend`` can run here (``"cuda"`` needs a CUDA device and a CUDA build), so
    a bad back-end fails at construction rather than at the first batch.
    """
    out: dict[str, Any] = {
        "severity": check_int(severity, "severity", fn, min_value=1, max_value=10),
        "width": check_int(width, "width", fn, min_value=1, max_value=MAX_WIDTH),
        "depth": check_int(depth, "depth", fn, min_value=-1, max_value=3 * MAX_WIDTH),
    }
    if out["depth"] == 0:
        raise ArgumentError(f"{fn}: depth must be -1 (random in {{1, 2, 3}}) or >= 1, got 0")
    out["alpha"] = check_positive(alpha, "alpha", fn)
    if not isinstance(all_ops, bool):
        raise ArgumentTypeError(f"{fn}: all_ops must be True or False, got {all_ops!r}")
    out["all_ops"] = all_ops
    check_in("backend", backend, BACKENDS, fn)
    if backend == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"{fn}: backend='cuda' needs a CUDA device, but torch.cuda.is_available() is False")
    if backend in ("cpu", "cuda"):
        select(fn, backend, backend)  # raises when the compiled back-end is missing
    out["backend"] = backend
    return out



@dataclass(frozen=True, eq=False)
class StyleAugMixParams:
    """Every random choice of one :class:`StyleAugMix` call: the AugMix choices (style ops are the extra ops
    ``"style0" .. "style{N-1}"``, one per cluster) and the key of the style ops' own draws (reference sampling and
    noise injection).

    Attributes:
        augmix: the :class:`~pyrepair.augment.AugMixParams`.
        seed: the style ops' key in ``[0, 2^64)``; cluster ``i`` uses ``(seed + i) mod 2^64``.
    """

    augmix: AugMixParams
    seed: int


class StyleAugMix:
    """StyleAug (DeepRepair Algorithm 1; spec §A.4): AugMix with style-transfer ops built from collected failures.

    For every image and each of the ``width`` chains: with probability ``p_style`` the first op is a style op
    ``ST(x, r)``, its cluster drawn uniformly (so, with the ``"balanced"`` Eq. 4 normalisation, the reference ``r``
    is drawn from the whole bank by Eq. 4) and ``r`` from that cluster by its Eq. 4 probabilities; otherwise the
    first op is an AugMix base op. Ops 2-3 are always base ops; depth is uniform in {1, 2, 3}; chains are mixed with
    Dirichlet(α) weights and blended with the input by Beta(α, α), as in :class:`~pyrepair.augment.AugMix`.

    ST is :func:`pyrepair.wavelet.style_transfer` with ``mode``: ``"pixel"`` (default: Haar-band WCT, per image),
    ``"spectral"`` (the style ops of one cluster share one call, so the group gets the cluster's power spectrum:
    blur, noise level and colour, contrast, haze) or ``"wct2"`` (the WCT2 network; pass ``style_kwargs={"model":
    wct2_model}``). The default is the mode that repaired best in ``bench/repro_deeprepair.py`` (see
    :class:`pyrepair.methods.DeepRepair`).

    Randomness: every choice comes from the ``generator`` of :meth:`__call__` (AugMix draws first, then one 64-bit
    key for the style ops), so a seeded generator gives the same output on every run. In spectral mode one image's
    output depends on the other images of its style group (the statistics are pooled per call).

    Shape:
        - images: ``(B, C, H, W)`` floating in ``[0, 1]`` with the references' C (and H, W in spectral mode).
        - output: the input's shape, dtype and device, values in ``[0, 1]``.

    Args:
        failures: the collected failures ``D^c``, ``(M, C, H, W)`` float in ``[0, 1]``, or a ready
            :class:`StyleBank` (then ``n_clusters``, ``labels``, ``per_class``, ``sampling``, ``space`` and the
            clustering ``seed`` are taken from it and must be left at their defaults).
        n_clusters: N, the number of style ops (k-means clusters), ``1 <= N <= M``.
        labels: optional labels of the failures (reported per cluster; needed for ``per_class``).
        per_class: run the k-means per class (N clusters per class).
        sampling: ``"cluster"`` (Eq. 4/5) or ``"uniform"`` (Eq. 3, one style op over the whole bank).
        mode: ``"pixel"``, ``"spectral"`` or ``"wct2"``.
        p_style: probability that a chain starts with a style op, in ``[0, 1]`` (default 5/14).
        space: clustering feature space, ``"standardized"`` or ``"raw"``.
        seed: k-means seed in ``[0, 2^64)``.
        severity, width, depth, alpha, all_ops, backend: as for :class:`~pyrepair.augment.AugMix`.
        style_kwargs: extra keyword arguments of :func:`~pyrepair.wavelet.style_transfer` (e.g. ``{"alpha": 0.8}``
            or ``{"model": wct2}``).

    Raises:
        ArgumentError, ArgumentTypeError, ShapeError, UnknownNameError: invalid failures or hyper-parameters (see
            :func:`cluster_failures` and :class:`~pyrepair.augment.AugMix`); ``mode="wct2"`` without a model.
    """

    def __init__(
        self,
        failures: torch.Tensor | StyleBank,
        n_clusters: int = 5,
        *,
        labels: Any = None,
        per_class: bool = False,
        sampling: Literal["cluster", "uniform"] = "cluster",
        mode: Literal["spectral", "pixel", "wct2"] = "pixel",
        p_style: float = 5 / 14,
        space: Literal["standardized", "raw"] = "standardized",
        seed: int = 0,
        severity: int = 3,
        width: int = 3,
        depth: int = -1,
        alpha: float = 1.0,
        all_ops: bool = False,
        backend: Backend = "auto",
        style_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        fn = _FN
        check_in("mode", mode, STYLE_MODES, fn)
        hp = check_augmix_hparams(fn, severity, width, depth, alpha, all_ops, backend)
        self.p_style = check_number(p_style, "p_style", fn, 0.0, 1.0)
        if style_kwargs is not None and not isinstance(style_kwargs, Mapping):
            raise ArgumentTypeError(f"{fn}: style_kwargs must be a dict of style_transfer arguments or None, got "
                                    f"{type(style_kwargs).__name__}")
        self.style_kwargs: dict[str, Any] = dict(style_kwargs or {})
        for key in self.style_kwargs:
            if not isinstance(key, str):
                raise ArgumentTypeError(f"{fn}: style_kwargs keys must be argument names, got {key!r}")
        for key in ("mode", "style_probs", "seed", "backend", "check_range"):
            if key in self.style_kwargs:
                raise ArgumentError(f"{fn}: style_kwargs must not set {key!r} (StyleAugMix sets it)")
        if mode == "wct2" and self.style_kwargs.get("model") is None:
            raise ArgumentError(f"{fn}: mode='wct2' needs a WCT2 network: style_kwargs={{'model': wct2}} (train one "
                                "with pyrepair.wavelet.stylizer.train_wct2 or load one with load_wct2)")
        if isinstance(failures, StyleBank):
            given = {"n_clusters": (n_clusters, 5), "labels": (labels, None), "per_class": (per_class, False),
                     "sampling": (sampling, "cluster"), "space": (space, "standardized"), "seed": (seed, 0)}
            changed = [k for k, (v, d) in given.items() if v is not d and v != d]
            if changed:
                raise ArgumentError(f"{fn}: failures is a StyleBank, which fixes the clustering; leave "
                                    f"{', '.join(changed)} at the default")
            self.bank = failures
        else:
            self.bank = _cluster_failures(failures, n_clusters, labels=labels, per_class=per_class, sampling=sampling,
                                          space=space, normalization="balanced", seed=seed, n_init=10,
                                          check_range=True, fn=fn)
        self.mode = mode
        self.backend: Backend = backend
        n = self.bank.n_clusters
        self.style_ops: tuple[str, ...] = tuple(f"style{i}" for i in range(n))
        # Placeholder extra ops: AugMix uses them for the op names and p_extra; __call__/apply pass the real ones.
        placeholders = dict.fromkeys(self.style_ops, _unbound_style_op)
        self.augmix = AugMix(severity=hp["severity"], width=hp["width"], depth=hp["depth"], alpha=hp["alpha"],
                             all_ops=hp["all_ops"], backend=backend, extra_ops=placeholders, p_extra=self.p_style)
        # Per cluster: member indices and their within-cluster probabilities (CPU; moved per device on first use).
        self._groups = [(self.bank.members(i), self.bank.cluster_probs(i)) for i in range(n)]
        self._device_banks: dict[torch.device, list[torch.Tensor]] = {}
        if self.style_kwargs:
            self._check_style_kwargs(fn)

    def _check_style_kwargs(self, fn: str) -> None:
        """One style transfer of one reference onto itself, so bad ``style_kwargs`` fail here, not mid-training."""
        ref = self.bank.images[:1]
        try:
            from ..wavelet import style_transfer

            style_transfer(ref, ref, mode=self.mode, seed=0, check_range=False, **self.style_kwargs)
        except PyrepairError as e:
            raise ArgumentError(f"{fn}: style_kwargs={_short(self.style_kwargs)} were rejected by "
                                f"pyrepair.wavelet.style_transfer(mode={self.mode!r}): {e}") from e

    def __repr__(self) -> str:
        return (f"StyleAugMix(n_clusters={self.bank.n_clusters}, sampling={self.bank.sampling!r}, mode={self.mode!r}, "
                f"p_style={self.p_style:.4g}, references={self.bank.images.shape[0]}, augmix={self.augmix!r})")

    @property
    def op_names(self) -> tuple[str, ...]:
        """The op names of :class:`StyleAugMixParams`: the AugMix ops, then ``style0 ..``."""
        return self.augmix.op_names

    def _banks(self, device: torch.device) -> list[torch.Tensor]:
        if device not in self._device_banks:
            self._device_banks[device] = [self.bank.images[idx].to(device) for idx, _ in self._groups]
        return self._device_banks[device]

    def _ops(self, device: torch.device, seed: int) -> dict[str, Any]:
        banks = self._banks(device)
        mode, kwargs = self.mode, self.style_kwargs
        backend = self.backend

        def make(i: int) -> Any:
            probs = self._groups[i][1]
            key = (seed + i) % (1 << 64)

            def op(images: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
                from ..wavelet import style_transfer

                # style_probs is always passed: without it a group as large as the bank would be paired 1:1
                return style_transfer(images, banks[i], mode=mode, style_probs=probs, seed=key, backend=backend,
                                      check_range=False, **kwargs)

            return op

        return {name: make(i) for i, name in enumerate(self.style_ops)}

    def _check(self, images: Any, fn: str, check_range: bool) -> dict[str, int]:
        s = check_images(images, fn, check_range=check_range).sizes
        ref = self.bank.images.shape
        if s["C"] != ref[1]:
            raise ShapeError(f"{fn}: images must have the references' C={ref[1]} channels, got shape "
                             f"{list(images.shape)}", actual_shape=tuple(images.shape), expected=f"B,{ref[1]},H,W")
        if self.mode == "spectral" and (s["H"], s["W"]) != tuple(ref[2:]):
            raise ShapeError(f"{fn}: mode='spectral' needs images of the references' size {ref[2]}x{ref[3]}, got "
                             f"shape {list(images.shape)}", actual_shape=tuple(images.shape),
                             expected=f"B,{ref[1]},{ref[2]},{ref[3]}")
        return s

    def sample(
        self,
        batch_size: int,
        image_size: int | tuple[int, int],
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> StyleAugMixParams:
        """Draw every choice for ``batch_size`` images (AugMix's, then the style ops' 64-bit key).

        Raises:
            ArgumentError, ArgumentTypeError: as :meth:`pyrepair.augment.AugMix.sample`.
        """
        g = resolve_generator(generator, f"{_FN}.sample")
        params = self.augmix.sample(batch_size, image_size, generator=g, device=device)
        hi, lo = (int(v) for v in torch.randint(0, 1 << 32, (2,), generator=g, device=g.device).cpu())
        seed = (hi << 32) | lo
        return StyleAugMixParams(params, seed)

    def apply(self, images: torch.Tensor, params: StyleAugMixParams, *, check_range: bool = True) -> torch.Tensor:
        """Deterministically replay ``params`` on ``images``.

        Raises:
            ShapeError, DTypeError, ArgumentError: malformed images (see the class docstring) or params of another
                augmenter.
        """
        fn = f"{_FN}.apply"
        self._check(images, fn, check_range)
        if not isinstance(params, StyleAugMixParams):
            raise ArgumentTypeError(f"{fn}: params must be a StyleAugMixParams (from StyleAugMix.sample), got "
                                    f"{type(params).__name__}")
        if params.augmix.op_names != self.op_names:
            raise ArgumentError(f"{fn}: params were sampled for ops {list(params.augmix.op_names)}, this StyleAugMix "
                                f"uses {list(self.op_names)}")
        return _apply(images, params.augmix, self.augmix._table, self._ops(images.device, params.seed),
                      self.backend, fn, False)

    def __call__(
        self, images: torch.Tensor, *, generator: torch.Generator | None = None, check_range: bool = True
    ) -> torch.Tensor:
        """Augment ``images`` (``(B, C, H, W)`` in [0, 1], not modified): ``apply(images, sample(...))``."""
        s = self._check(images, _FN, check_range)
        params = self.sample(s["B"], (s["H"], s["W"]), generator=generator)
        return _apply(images, params.augmix, self.augmix._table, self._ops(images.device, params.seed),
                      self.backend, f"{_FN}.apply", False)

    def views(
        self, images: torch.Tensor, *, generator: torch.Generator | None = None, check_range: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The three views of the JSD loss: ``(images, self(images), self(images))``, two independent draws.

        Concatenate them for one forward pass of ``3B`` images and use :func:`pyrepair.augment.augmix_loss`.
        """
        fn = f"{_FN}.views"
        self._check(images, fn, check_range)
        g = resolve_generator(generator, fn)
        return images, self(images, generator=g, check_range=False), self(images, generator=g, check_range=False)


def _short(kwargs: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k!r}: {type(v).__name__ if isinstance(v, (torch.nn.Module, torch.Tensor)) else v!r}"
                           for k, v in kwargs.items()) + "}"


def _unbound_style_op(images: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    raise ArgumentError("pyrepair.augment.StyleAugMix: the style ops run through StyleAugMix.__call__/apply, not "
                        "through its inner AugMix")

