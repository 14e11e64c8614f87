"""Scoring a yes/no call against labels: metrics, bootstrap CIs, baselines, kappa, LOCO thresholds.

Pure numpy, no I/O. Rows are whatever is scored (clips, reps); ``groups`` names the clip of each
row so that resampling and cross-validation treat a clip as one unit (reps of one clip are not
independent). Labels and predictions are booleans (anything ``np.asarray(..., bool)`` accepts).

NaN conventions: a ratio whose denominator is zero is NaN (e.g. precision when nothing is
flagged, sensitivity when there are no positives). F1 is ``2TP / (2TP + FP + FN)``: 0 for a
never-flag call on data with positives, NaN only when there are neither positives nor flags.
Threshold helpers treat a NaN *value* as "not measured": never flagged, whatever the threshold.

API (kept stable; other modules import it):

- :func:`confusion` -> :class:`Confusion` (counts + ``sensitivity``, ``specificity``,
  ``precision``, ``f1``, ``balanced_accuracy``, ``accuracy``; ``metric(name)``).
- :func:`bootstrap_ci` (any statistic over row-aligned arrays, clip-level resampling, seeded) and
  :func:`metric_ci` / :func:`metrics_with_ci` (binary metrics) -> :class:`Interval`.
- :func:`baselines` -> never-flag and always-flag :class:`Confusion` on the same rows.
- :func:`cohen_kappa` (two raters, any hashable categories).
- :func:`flag` (value vs threshold), :func:`choose_threshold` (in-sample) and
  :func:`loco_thresholds` (leave one clip out) -> :class:`LocoResult`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

#: Names :meth:`Confusion.metric` and :func:`metric_ci` accept, in report order.
METRICS: tuple[str, ...] = ("sensitivity", "specificity", "precision", "f1", "balanced_accuracy", "accuracy")
#: "above": fault when value > threshold; "below": fault when value < threshold.
Direction = Literal["above", "below"]
Objective = Literal["balanced_accuracy", "f1"]


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


@dataclass(frozen=True)
class Confusion:
    """Counts of a binary call against labels, with the usual rates (NaN when undefined)."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n_pos(self) -> int:
        return self.tp + self.fn

    @property
    def n_neg(self) -> int:
        return self.tn + self.fp

    @property
    def n(self) -> int:
        return self.n_pos + self.n_neg

    @property
    def sensitivity(self) -> float:
        """TP / positives (recall)."""
        return _ratio(self.tp, self.n_pos)

    @property
    def specificity(self) -> float:
        """TN / negatives."""
        return _ratio(self.tn, self.n_neg)

    @property
    def precision(self) -> float:
        """TP / flagged."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def f1(self) -> float:
        """2TP / (2TP + FP + FN)."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def balanced_accuracy(self) -> float:
        """Mean of sensitivity and specificity (NaN if either is undefined)."""
        return (self.sensitivity + self.specificity) / 2

    @property
    def accuracy(self) -> float:
        return _ratio(self.tp + self.tn, self.n)

    def metric(self, name: str) -> float:
        """One of :data:`METRICS` by name."""
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; expected one of {', '.join(METRICS)}")
        return float(getattr(self, name))


def _bools(x: Sequence | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr.astype(bool)


def confusion(y_true: Sequence | np.ndarray, y_pred: Sequence | np.ndarray) -> Confusion:
    """Confusion counts of predictions ``y_pred`` against labels ``y_true`` (same length)."""
    t, p = _bools(y_true, "y_true"), _bools(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    return Confusion(
        tp=int(np.sum(t & p)), fp=int(np.sum(~t & p)), tn=int(np.sum(~t & ~p)), fn=int(np.sum(t & ~p))
    )


def baselines(y_true: Sequence | np.ndarray) -> dict[str, Confusion]:
    """The trivial calls on the same rows: ``{"never_flag": ..., "always_flag": ...}``."""
    t = _bools(y_true, "y_true")
    return {"never_flag": confusion(t, np.zeros_like(t)), "always_flag": confusion(t, np.ones_like(t))}


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval.

    ``n_valid`` counts the bootstrap replicates whose statistic was finite (e.g. a resample with
    no positive clip has no sensitivity); the interval is taken over those. ``low``/``high`` are
    NaN when the estimate is NaN or fewer than half the replicates were valid.
    """

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int
    n_valid: int

    def __str__(self) -> str:
        if math.isnan(self.estimate):
            return "n/a"
        if math.isnan(self.low):
            return f"{self.estimate:.2f} [n/a]"
        return f"{self.estimate:.2f} [{self.low:.2f}, {self.high:.2f}]"


def _group_index(n: int, groups: Sequence[Hashable] | np.ndarray | None) -> list[np.ndarray]:
    """Row indices of each group (each row its own group when ``groups`` is None)."""
    if groups is None:
        return [np.array([i]) for i in range(n)]
    g = list(groups)
    if len(g) != n:
        raise ValueError(f"groups has {len(g)} entries for {n} rows")
    order: dict[Hashable, list[int]] = {}
    for i, key in enumerate(g):
        order.setdefault(key, []).append(i)
    return [np.array(v) for v in order.values()]


def bootstrap_ci(
    statistic: Callable[..., float],
    *arrays: Sequence | np.ndarray,
    groups: Sequence[Hashable] | np.ndarray | None = None,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of ``statistic(*arrays)``, resampling whole groups (clips).

    ``arrays`` are row-aligned; each replicate draws as many groups as there are, with
    replacement, and calls ``statistic`` on the concatenated rows of the drawn groups. The same
    ``seed`` gives the same interval.
    """
    if not arrays:
        raise ValueError("bootstrap_ci needs at least one array")
    arrs = [np.asarray(a) for a in arrays]
    n = len(arrs[0])
    if any(len(a) != n for a in arrs):
        raise ValueError("bootstrap_ci arrays differ in length")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    estimate = float(statistic(*arrs)) if n else math.nan
    idx = _group_index(n, groups)
    rng = np.random.default_rng(seed)
    reps = np.full(n_boot, np.nan)
    if idx:
        for b in range(n_boot):
            pick = rng.integers(0, len(idx), size=len(idx))
            rows = np.concatenate([idx[k] for k in pick])
            reps[b] = float(statistic(*(a[rows] for a in arrs)))
    finite = reps[np.isfinite(reps)]
    if math.isnan(estimate) or finite.size < max(1, n_boot // 2):
        low = high = math.nan
    else:
        alpha = (1 - level) / 2
        low, high = (float(q) for q in np.quantile(finite, [alpha, 1 - alpha]))
    return Interval(estimate, low, high, level, n_boot, int(finite.size))


def metric_ci(
    y_true: Sequence | np.ndarray,
    y_pred: Sequence | np.ndarray,
    metric: str,
    groups: Sequence[Hashable] | np.ndarray | None = None,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Bootstrap interval of one binary metric (a name in :data:`METRICS`)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    return bootstrap_ci(
        lambda t, p: confusion(t, p).metric(metric),
        _bools(y_true, "y_true"),
        _bools(y_pred, "y_pred"),
        groups=groups,
        n_boot=n_boot,
        level=level,
        seed=seed,
    )


def metrics_with_ci(
    y_true: Sequence | np.ndarray,
    y_pred: Sequence | np.ndarray,
    groups: Sequence[Hashable] | np.ndarray | None = None,
    metrics: Sequence[str] = ("sensitivity", "specificity", "f1", "balanced_accuracy"),
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """:func:`metric_ci` for several metrics (same seed, so the same resamples for each)."""
    return {m: metric_ci(y_true, y_pred, m, groups, n_boot, level, seed) for m in metrics}


def cohen_kappa(a: Sequence[Hashable] | np.ndarray, b: Sequence[Hashable] | np.ndarray) -> float:
    """Cohen's kappa between two raters' labels of the same items (any hashable categories).

    ``(p_o - p_e) / (1 - p_e)``; NaN when ``p_e`` is 1 (both raters always give one and the same
    label: agreement carries no information) or there are no items.
    """
    la, lb = list(np.asarray(a).tolist()), list(np.asarray(b).tolist())
    if len(la) != len(lb):
        raise ValueError(f"raters differ in length: {len(la)} vs {len(lb)}")
    n = len(la)
    if n == 0:
        return math.nan
    p_o = sum(x == y for x, y in zip(la, lb, strict=True)) / n
    cats = set(la) | set(lb)
    p_e = sum((la.count(c) / n) * (lb.count(c) / n) for c in cats)
    if p_e >= 1.0:
        return math.nan
    return (p_o - p_e) / (1 - p_e)


def flag(
    values: Sequence[float] | np.ndarray, threshold: float, direction: Direction = "above"
) -> np.ndarray:
    """Boolean calls: value > threshold ("above") or < threshold ("below"); NaN values never flag."""
    if direction not in ("above", "below"):
        raise ValueError(f"direction must be 'above' or 'below', got {direction!r}")
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        out = v > threshold if direction == "above" else v < threshold
    return out & np.isfinite(v)


def _score(c: Confusion, objective: Objective) -> float:
    """Objective with undefined parts dropped (a fold without positives scores by specificity)."""
    if objective == "f1":
        f1 = c.f1
        return c.specificity if math.isnan(f1) else f1
    parts = [x for x in (c.sensitivity, c.specificity) if not math.isnan(x)]
    return sum(parts) / len(parts) if parts else math.nan


def choose_threshold(
    values: Sequence[float] | np.ndarray,
    y_true: Sequence | np.ndarray,
    direction: Direction = "above",
    objective: Objective = "balanced_accuracy",
) -> float:
    """The threshold that maximises ``objective`` on these rows.

    Candidates are the midpoints between consecutive distinct finite values plus one beyond each
    end (flag all / flag none). Ties go to fewer false positives, then to the wider margin to the
    nearest value, then to the more conservative threshold (fewer flags). With no finite value
    the result is +inf ("above") or -inf ("below"): never flag.
    """
    if objective not in ("balanced_accuracy", "f1"):
        raise ValueError(f"objective must be 'balanced_accuracy' or 'f1', got {objective!r}")
    v = np.asarray(values, dtype=float)
    t = _bools(y_true, "y_true")
    if v.shape != t.shape:
        raise ValueError(f"values and y_true differ in length: {v.size} vs {t.size}")
    uniq = np.unique(v[np.isfinite(v)])
    if uniq.size == 0:
        return math.inf if direction == "above" else -math.inf
    span = float(uniq[-1] - uniq[0]) or max(abs(float(uniq[0])), 1.0)
    pad = 0.05 * span
    cands = np.concatenate([[uniq[0] - pad], (uniq[:-1] + uniq[1:]) / 2, [uniq[-1] + pad]])
    best_key: tuple | None = None
    best = math.nan
    for c in cands:
        conf = confusion(t, flag(v, float(c), direction))
        score = _score(conf, objective)
        margin = float(np.min(np.abs(uniq - c)))
        conservative = c if direction == "above" else -c
        key = (-math.inf if math.isnan(score) else score, -conf.fp, margin, conservative)
        if best_key is None or key > best_key:
            best_key, best = key, float(c)
    return best


@dataclass(frozen=True)
class LocoResult:
    """Leave-one-clip-out calls: each clip judged with a threshold chosen on the other clips.

    ``predictions`` is row-aligned with the input; ``thresholds`` maps each clip (group) to the
    threshold it was judged with; ``in_sample_threshold`` is the one chosen on all rows.
    """

    predictions: np.ndarray
    thresholds: dict[Hashable, float]
    in_sample_threshold: float

    def confusion(self, y_true: Sequence | np.ndarray) -> Confusion:
        return confusion(y_true, self.predictions)


def loco_thresholds(
    values: Sequence[float] | np.ndarray,
    y_true: Sequence | np.ndarray,
    groups: Sequence[Hashable] | np.ndarray | None = None,
    direction: Direction = "above",
    objective: Objective = "balanced_accuracy",
) -> LocoResult:
    """For each clip, :func:`choose_threshold` on the other clips and apply it to this clip.

    ``groups`` names each row's clip (None: each row is its own clip).
    """
    v = np.asarray(values, dtype=float)
    t = _bools(y_true, "y_true")
    if v.shape != t.shape:
        raise ValueError(f"values and y_true differ in length: {v.size} vs {t.size}")
    keys = list(range(len(v))) if groups is None else list(groups)
    if len(keys) != len(v):
        raise ValueError(f"groups has {len(keys)} entries for {len(v)} rows")
    keys_arr = np.empty(len(keys), dtype=object)
    keys_arr[:] = keys
    pred = np.zeros(len(v), dtype=bool)
    per_group: dict[Hashable, float] = {}
    for key in dict.fromkeys(keys):
        held = np.array([k == key for k in keys_arr], dtype=bool)
        th = choose_threshold(v[~held], t[~held], direction, objective)
        per_group[key] = th
        pred[held] = flag(v[held], th, direction)
    return LocoResult(pred, per_group, choose_threshold(v, t, direction, objective))
