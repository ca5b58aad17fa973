"""Classification metrics with bootstrap confidence intervals; undefined values stay undefined."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]

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


@dataclass(frozen=True)
class Ranked:
    """The rows sorted once, highest risk first (ties in row order, as a stable sort).

    A bootstrap resample is then a count per row (how often it was drawn), so every metric of
    every resample is a weighted sum or cumulative sum over this one order: no sort per resample.
    """

    order: Array  # the rows' positions, highest risk first
    y: Array  # labels, 0 or 1, in that order
    s: Array  # risks in that order
    first: Array  # each row's first position in its tie (rows of equal risk)
    last: Array  # each row's last position in its tie

    @classmethod
    def of(cls, labels: Array, risks: Array) -> Ranked:
        """The labels and risks in descending order of risk, with each tie's bounds."""
        order = np.argsort(-risks, kind="stable")
        y, s = labels[order].astype("float64"), risks[order]
        n = len(s)
        starts = np.ones(n, dtype=bool)
        starts[1:] = s[1:] != s[:-1]
        first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
        ends = np.ones(n, dtype=bool)
        ends[:-1] = starts[1:]
        last = np.minimum.accumulate(np.where(ends, np.arange(n), n)[::-1])[::-1]
        return cls(order, y, s, first, last)


class Drawn:
    """Resamples as counts: how often each resample (a row) drew each ranked row (a column),
    with the sums the metrics share, each computed once."""

    def __init__(self, counts: Array) -> None:
        self.counts = counts  # int32: cumulative sums stay exact and fast
        self._cache: dict[str, Array] = {}

    def _once(self, name: str, make: Callable[[], Array]) -> Array:
        if name not in self._cache:
            self._cache[name] = make()
        return self._cache[name]

    @property
    def weights(self) -> Array:
        """The counts as floats, for products with the rows' values."""
        return self._once("weights", lambda: self.counts.astype("float64"))

    @property
    def cumulative(self) -> Array:
        """Rows drawn at or above each position."""
        return self._once("cumulative", lambda: np.cumsum(self.counts, axis=1))

    def leavers_cumulative(self, y: Array) -> Array:
        """Leavers drawn at or above each position (y: the ranked rows' labels)."""
        return self._once("leavers", lambda: np.cumsum(self.counts * y.astype("int32"), axis=1))


# Each metric maps the ranked rows and their resamples to one value per resample, NaN where
# undefined: point estimates (counts all 1) and intervals share one code path.
MetricFunction = Callable[[Ranked, Drawn, float, int], Array]


def auc_from_rank_sum(rank_sum: Any, positives: Any, total: Any) -> Any:
    """Mann-Whitney: the ROC AUC from the positives' sum of ranks (1 = lowest score, ties at
    their mean rank) among total rows; scalars or arrays alike."""
    negatives = total - positives
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _divide(top: Array, bottom: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)


def _counts(r: Ranked, d: Drawn, threshold: float) -> tuple[Array, Array, Array]:
    predicted = (r.s >= threshold).astype("float64")
    w = d.weights
    tp = w @ (predicted * r.y)
    fp = w @ (predicted * (1 - r.y))
    fn = w @ ((1 - predicted) * r.y)
    return tp, fp, fn


def _precision(r: Ranked, d: Drawn, threshold: float, k: int) -> Array:
    tp, fp, _ = _counts(r, d, threshold)
    return _divide(tp, tp + fp)


def _recall(r: Ranked, d: Drawn, threshold: float, k: int) -> Array:
    tp, _, fn = _counts(r, d, threshold)
    return _divide(tp, tp + fn)


def _f1(r: Ranked, d: Drawn, threshold: float, k: int) -> Array:
    # The harmonic mean 2PR/(P+R), as the classic exercise computes it (0.5714285714285715).
    precision, recall = _precision(r, d, threshold, k), _recall(r, d, threshold, k)
    f1 = _divide(2 * precision * recall, precision + recall)
    # No positive predicted and none present is undefined; predicted but never right is 0.
    return np.where(np.isnan(f1) & ~np.isnan(precision) & ~np.isnan(recall), 0.0, f1)


def _stayers_at(r: Ranked, d: Drawn, positions: Array) -> Array:
    """Stayers drawn at or above each position (none above the first)."""
    at = np.maximum(positions, 0)
    found = d.cumulative[:, at] - d.leavers_cumulative(r.y)[:, at]
    return np.where(positions >= 0, found, 0)


def _roc_auc(r: Ranked, d: Drawn, threshold: float, k: int) -> Array:
    """Mann-Whitney's U over leavers times stayers: each leaver counts the stayers below its
    risk, and half of those tied with it."""
    positives = d.weights @ r.y
    negatives = d.counts.sum(axis=1) - positives
    leavers = np.flatnonzero(r.y)
    through = _stayers_at(r, d, r.last[leavers])
    before = _stayers_at(r, d, r.first[leavers] - 1)
    # Below plus half the tie: all stayers less those through the tie, plus half the tie.
    each = negatives[:, None] - 0.5 * (through + before)
    u = (d.weights[:, leavers] * each).sum(axis=1)
    return _divide(u, positives * negatives)


def _pr_auc(r: Ranked, d: Drawn, threshold: float, k: int) -> Array:
    """Average precision: precision at each distinct threshold, weighted by the recall gained."""
    leavers = np.flatnonzero(r.y)
    # Tied risks form one threshold: every row in a tie takes the precision at the tie's end.
    hits = d.leavers_cumulative(r.y)[:, r.last[leavers]]
    at_end = _divide(hits, d.cumulative[:, r.last[leavers]])
    drawn = d.weights[:, leavers]
    return _divide(np.where(drawn > 0, drawn * at_end, 0.0).sum(axis=1), drawn.sum(axis=1))


def _brier(r: Ranked, d: Drawn, threshold: float, k: int) -> Array:
    return _divide(d.weights @ ((r.s - r.y) ** 2), d.counts.sum(axis=1))


def _top_k_hits(r: Ranked, d: Drawn, k: int) -> Array:
    """Leavers among the k highest risks; ties at the cut go in row order, as a stable sort."""
    # The first k + 64 positions hold the top k of a resample unless it drew them rarely.
    size = min(d.counts.shape[1], k + 64)
    if size < d.counts.shape[1] and d.cumulative[:, size - 1].min() < k:
        size = d.counts.shape[1]
    drawn = d.counts[:, :size]
    before = d.cumulative[:, :size] - drawn  # rows drawn ahead of each position
    taken = np.clip(k - before, 0, drawn).astype("float64")
    hits: Array = taken @ r.y[:size]
    return hits


def _precision_at_k(r: Ranked, d: Drawn, threshold: float, k: int) -> Array:
    return _divide(_top_k_hits(r, d, k), np.minimum(k, d.counts.sum(axis=1)))


def _recall_at_k(r: Ranked, d: Drawn, threshold: float, k: int) -> Array:
    return _divide(_top_k_hits(r, d, k), d.weights @ r.y)


FUNCTIONS: dict[str, MetricFunction] = {
    "f1": _f1,
    "precision": _precision,
    "recall": _recall,
    "roc_auc": _roc_auc,
    "pr_auc": _pr_auc,
    "brier": _brier,
    "precision_at_k": _precision_at_k,
    "recall_at_k": _recall_at_k,
}


def _on_rows(name: str) -> Callable[[Array, Array, float, int], Array]:
    """The metric of each row of (datasets x rows) labels and risks, one dataset a row."""

    def per_row(y: Array, s: Array, threshold: float, k: int) -> Array:
        values = []
        for labels, risks in zip(np.atleast_2d(y), np.atleast_2d(s), strict=True):
            ranked = Ranked.of(np.asarray(labels), np.asarray(risks, dtype="float64"))
            ones = Drawn(np.ones((1, len(labels)), dtype="int32"))
            values.append(FUNCTIONS[name](ranked, ones, threshold, k)[0])
        return np.asarray(values, dtype="float64")

    return per_row


# Each metric of datasets given as rows (labels, risks, threshold, k), one dataset at a time:
# for benchmarks/compare_models.py's paired resamples (not used in the cycle).
METRICS = {name: _on_rows(name) for name in METRIC_NAMES}


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
    """The metrics (default: all) of risks against labels, each with a bootstrap interval;
    all undefined when a risk is not a number (a ranking with NaN in it means nothing)."""
    if not np.isfinite(np.asarray(risks, dtype="float64")).all():
        return {name: Metric(None, None, None) for name in names}
    ranked = Ranked.of(np.asarray(labels, dtype="int8"), np.asarray(risks, dtype="float64"))
    chosen = {name: FUNCTIONS[name] for name in names}
    ones = Drawn(np.ones((1, len(ranked.y)), dtype="int32"))
    point = {name: _value(fn(ranked, ones, threshold, k)[0]) for name, fn in chosen.items()}
    samples = _bootstrap(ranked, chosen, threshold=threshold, k=k, resamples=resamples, seed=seed)
    result = {}
    for name, value in point.items():
        low, high = _interval(samples[name], value) if value is not None else (None, None)
        result[name] = Metric(value, low, high)
    return result


def _value(number: float) -> float | None:
    return None if math.isnan(number) else float(number)


def _bootstrap(
    ranked: Ranked,
    metrics: dict[str, MetricFunction],
    *,
    threshold: float,
    k: int,
    resamples: int,
    seed: int,
) -> dict[str, Array]:
    """Each metric on `resamples` resamples with replacement of the rows."""
    n = len(ranked.y)
    out: dict[str, list[Array]] = {name: [] for name in metrics}
    if n == 0 or resamples == 0:
        return {name: np.empty(0) for name in metrics}
    resamples = effective_resamples(n, resamples)
    rng = np.random.default_rng(seed)
    block = max(1, BLOCK_VALUES // n)
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        # The same draws as indexing the rows would take; what matters is how often each
        # row is drawn, by its position in the ranked order.
        rows = rng.integers(0, n, size=(size, n))
        drawn = _drawn(rows, ranked.order)
        for name, fn in metrics.items():
            out[name].append(fn(ranked, drawn, threshold, k))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _drawn(rows: Array, order: Array) -> Drawn:
    """How often each resample (a row of drawn row numbers) drew each row, in ranked order."""
    position = np.empty(len(order), dtype="int32")
    position[order] = np.arange(len(order), dtype="int32")
    counts = [np.bincount(position[drawn], minlength=len(order)) for drawn in rows]
    return Drawn(np.asarray(counts, dtype="int32"))


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
