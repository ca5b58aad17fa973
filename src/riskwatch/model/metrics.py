"""Classification metrics with bootstrap confidence intervals; undefined values stay undefined."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

Array = np.ndarray[Any, Any]
# Each metric maps labels and risks, one bootstrap resample per row, to one value per row
# (NaN where undefined on that resample), so point estimates and intervals share one code path.
MetricFunction = Callable[[Array, Array, float, int], Array]

METRIC_NAMES = (
    "f1",
    "precision",
    "recall",
    "roc_auc",
    "pr_auc",
    "brier",
    "precision_at_k",
    "recall_at_k",
)
LOWER_IS_BETTER = frozenset({"brier"})
CONFIDENCE = 0.95
# Bootstrap resamples are drawn in blocks so memory stays near this many values per array.
BLOCK_VALUES = 4_000_000
# Rows x resamples the bootstrap may cost: past it, fewer resamples (never under MIN_RESAMPLES).
# On a large dataset the interval is narrow and a few dozen resamples place it well enough,
# while 1,000 resamples of 1 M rows would take minutes.
BOOTSTRAP_BUDGET = 20_000_000
MIN_RESAMPLES = 20
# Percentiles of fewer resamples than this place the tails poorly; below it the interval is the
# normal one, value +- 1.96 bootstrap standard errors (a standard error needs few resamples).
PERCENTILE_MIN_RESAMPLES = 200


@dataclass(frozen=True)
class Metric:
    """One metric: its value and a bootstrap interval, each None where undefined."""

    value: float | None
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        """The metric as JSON-ready values."""
        return {"value": self.value, "low": self.low, "high": self.high}


def _divide(top: Array, bottom: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)


def _counts(y: Array, s: Array, threshold: float) -> tuple[Array, Array, Array]:
    predicted = s >= threshold
    tp = (predicted & (y == 1)).sum(axis=1)
    fp = (predicted & (y == 0)).sum(axis=1)
    fn = (~predicted & (y == 1)).sum(axis=1)
    return tp, fp, fn


def _precision(y: Array, s: Array, threshold: float, k: int) -> Array:
    tp, fp, _ = _counts(y, s, threshold)
    return _divide(tp, tp + fp)


def _recall(y: Array, s: Array, threshold: float, k: int) -> Array:
    tp, _, fn = _counts(y, s, threshold)
    return _divide(tp, tp + fn)


def _f1(y: Array, s: Array, threshold: float, k: int) -> Array:
    # The harmonic mean 2PR/(P+R), as the classic exercise computes it (0.5714285714285715).
    precision, recall = _precision(y, s, threshold, k), _recall(y, s, threshold, k)
    f1 = _divide(2 * precision * recall, precision + recall)
    # No positive predicted and none present is undefined; predicted but never right is 0.
    return np.where(np.isnan(f1) & ~np.isnan(precision) & ~np.isnan(recall), 0.0, f1)


def _roc_auc(y: Array, s: Array, threshold: float, k: int) -> Array:
    positives = y.sum(axis=1)
    negatives = y.shape[1] - positives
    ranks = rankdata(s, axis=1)  # ties share their average rank, as Mann-Whitney's U counts them
    u = (ranks * y).sum(axis=1) - positives * (positives + 1) / 2
    return _divide(u, positives * negatives)


def _pr_auc(y: Array, s: Array, threshold: float, k: int) -> Array:
    """Average precision: precision at each distinct threshold, weighted by the recall gained."""
    order = np.argsort(-s, axis=1, kind="stable")
    ys, ss = np.take_along_axis(y, order, 1), np.take_along_axis(s, order, 1)
    true_positives = np.cumsum(ys, axis=1)
    precision = true_positives / np.arange(1, y.shape[1] + 1)
    # Tied risks form one threshold: every row in a tie takes the precision at the tie's end.
    n = y.shape[1]
    is_end = np.ones_like(ss, dtype=bool)
    is_end[:, :-1] = ss[:, :-1] != ss[:, 1:]
    end = np.where(is_end, np.arange(n), n)
    end = np.minimum.accumulate(end[:, ::-1], axis=1)[:, ::-1]
    at_end = np.take_along_axis(precision, end, 1)
    return _divide((ys * at_end).sum(axis=1), ys.sum(axis=1))


def _brier(y: Array, s: Array, threshold: float, k: int) -> Array:
    if y.shape[1] == 0:
        return np.full(y.shape[0], np.nan)
    return np.asarray(((s - y) ** 2).mean(axis=1), dtype="float64")


def _top_k_hits(y: Array, s: Array, k: int) -> Array:
    """Leavers among the k highest risks; ties at the cut go in row order, as a stable sort."""
    if k >= y.shape[1]:
        return np.asarray(y.sum(axis=1))
    cut = -np.partition(-s, k - 1, axis=1)[:, k - 1 : k]  # the k-th highest risk, in linear time
    above, tied = s > cut, s == cut
    room = k - above.sum(axis=1, keepdims=True)
    taken = tied & (np.cumsum(tied, axis=1) <= room)
    hits: Array = (y * (above | taken)).sum(axis=1)
    return hits


def _precision_at_k(y: Array, s: Array, threshold: float, k: int) -> Array:
    size = min(k, y.shape[1])
    return _divide(_top_k_hits(y, s, size), np.full(y.shape[0], size))


def _recall_at_k(y: Array, s: Array, threshold: float, k: int) -> Array:
    return _divide(_top_k_hits(y, s, k), y.sum(axis=1))


METRICS: dict[str, MetricFunction] = {
    "f1": _f1,
    "precision": _precision,
    "recall": _recall,
    "roc_auc": _roc_auc,
    "pr_auc": _pr_auc,
    "brier": _brier,
    "precision_at_k": _precision_at_k,
    "recall_at_k": _recall_at_k,
}


def compute_metrics(
    labels: Array,
    risks: Array,
    *,
    threshold: float = 0.5,
    k: int = 100,
    resamples: int = 1000,
    seed: int = 0,
    names: tuple[str, ...] = METRIC_NAMES,
) -> dict[str, Metric]:
    """The metrics (default: all) of risks against labels, each with a bootstrap interval."""
    y = np.asarray(labels, dtype="int8")[None, :]
    s = np.asarray(risks, dtype="float64")[None, :]
    chosen = {name: METRICS[name] for name in names}
    point = {name: _value(fn(y, s, threshold, k)[0]) for name, fn in chosen.items()}
    samples = _bootstrap(
        y[0], s[0], chosen, threshold=threshold, k=k, resamples=resamples, seed=seed
    )
    result = {}
    for name, value in point.items():
        low, high = _interval(samples[name], value) if value is not None else (None, None)
        result[name] = Metric(value, low, high)
    return result


def _value(number: float) -> float | None:
    return None if math.isnan(number) else float(number)


def _bootstrap(
    y: Array,
    s: Array,
    metrics: dict[str, MetricFunction],
    *,
    threshold: float,
    k: int,
    resamples: int,
    seed: int,
) -> dict[str, Array]:
    """Each metric on `resamples` resamples with replacement of the rows."""
    n = len(y)
    out: dict[str, list[Array]] = {name: [] for name in metrics}
    if n == 0 or resamples == 0:
        return {name: np.empty(0) for name in metrics}
    resamples = effective_resamples(n, resamples)
    rng = np.random.default_rng(seed)
    block = max(1, BLOCK_VALUES // n)
    for start in range(0, resamples, block):
        rows = rng.integers(0, n, size=(min(block, resamples - start), n))
        ys, ss = y[rows], s[rows]
        for name, fn in metrics.items():
            out[name].append(fn(ys, ss, threshold, k))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def effective_resamples(rows: int, resamples: int) -> int:
    """The resamples the bootstrap draws for this many rows, within its budget."""
    if rows == 0:
        return 0
    return min(resamples, max(MIN_RESAMPLES, BOOTSTRAP_BUDGET // rows))


def _interval(samples: Array, value: float) -> tuple[float | None, float | None]:
    """The 95 % interval of the defined resample values; none when too few are defined."""
    defined = samples[~np.isnan(samples)]
    # An interval from a minority of resamples would describe another dataset than this one.
    if len(defined) < 2 or len(defined) < 0.5 * len(samples):
        return None, None
    if len(samples) < PERCENTILE_MIN_RESAMPLES:
        spread = 1.959964 * float(np.std(defined, ddof=1))
        return value - spread, value + spread
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return float(low), float(high)


def better(metric: str, challenger: float, production: float, margin: float) -> bool:
    """Whether the challenger beats production on the metric by at least the margin."""
    if metric in LOWER_IS_BETTER:
        return challenger <= production - margin
    return challenger >= production + margin
