"""A label-free estimate of the deployed model's performance, as NannyML's CBPE makes it.

Confidence-based performance estimation: calibrate the model's risks on labelled rows it did not
train on (isotonic regression), read each new client's calibrated probability as its chance of
leaving, and take the expected value of a metric over those chances. The expected precision at K
is the mean probability of the K riskiest; the expected ROC AUC counts every client as a leaver
with weight p and a stayer with weight 1 - p (NannyML's ``estimate_roc_auc``), here ranked by the
model's own risks, which is the ranking the realized AUC judges. The band is the spread of the
realized figure over draws that refit the calibration on a bootstrap of its rows and draw labels
from the refitted probabilities: the sampling error and the calibration's own noise.

The estimate assumes the chance of leaving at a given risk is still what the calibration rows
showed: it sees covariate shift, and is blind to concept drift (the same clients leaving more or
less often than before). The realized figure, once labels arrive, is the check.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.optimize import isotonic_regression
from scipy.stats import norm, rankdata
from sklearn.isotonic import IsotonicRegression

from riskwatch.config import Settings
from riskwatch.ingestion.datasets import read_labelled
from riskwatch.model.metrics import auc_from_rank_sum
from riskwatch.model.pipeline import predict_risk
from riskwatch.schema import TARGET
from riskwatch.storage.files import shown_path

log = logging.getLogger(__name__)
Array = np.ndarray[Any, Any]

BLIND_TO = "concept drift"
RESAMPLES = 200  # draws behind a band: its 2.5 % tails rest on 5 draws each
LEVEL = 0.95
MIN_CALIBRATION_ROWS = 50  # fewer labelled rows give a calibration too coarse to trust


@dataclass(frozen=True)
class Calibration:
    """Risks mapped to leaving rates, fitted on labelled rows the model did not train on."""

    regression: IsotonicRegression
    risks: Array  # the labelled rows, kept to refit the calibration on resamples of them
    labels: Array
    source: str  # where the labelled rows came from, for the record

    @property
    def rows(self) -> int:
        """Labelled rows behind the calibration."""
        return len(self.labels)

    def probabilities(self, risks: Any) -> Array:
        """Each risk's calibrated chance of leaving."""
        values = np.asarray(risks, dtype="float64").ravel()
        found: Array = np.clip(self.regression.predict(values), 0.0, 1.0)
        return found


@dataclass(frozen=True)
class Estimate:
    """Expected ROC AUC and precision at K on unlabelled rows, with 95 % sampling-error bands."""

    roc_auc: float | None
    roc_auc_low: float | None
    roc_auc_high: float | None
    precision_at_k: float | None
    precision_at_k_low: float | None
    precision_at_k_high: float | None
    k: int
    n: int  # rows estimated on
    calibration_rows: int
    calibration_source: str
    blind_to: str = BLIND_TO

    def to_dict(self) -> dict[str, Any]:
        """The estimate as JSON-ready values."""
        return asdict(self)


@dataclass(frozen=True)
class Expected:
    """Expected leavers among some clients, with a 95 % band (sum of independent Bernoullis)."""

    leavers: float
    low: float
    high: float
    clients: int

    def to_dict(self) -> dict[str, Any]:
        """The count as JSON-ready values (one decimal: it is an expectation, not a headcount)."""
        return {
            "leavers": round(self.leavers, 1),
            "low": round(self.low, 1),
            "high": round(self.high, 1),
            "clients": self.clients,
            "blind_to": BLIND_TO,
        }


def fit_calibration(labels: Any, risks: Any, source: str = "") -> Calibration | None:
    """Isotonic calibration of risks on their labels; None when the rows cannot support one."""
    y = np.asarray(labels, dtype="float64").ravel()
    s = np.asarray(risks, dtype="float64").ravel()
    if len(y) != len(s):
        raise ValueError(f"{len(y):,} labels but {len(s):,} risks: one of each per row")
    if len(y) < MIN_CALIBRATION_ROWS or len(np.unique(y)) < 2:
        log.debug("no calibration: %d rows, classes %s", len(y), np.unique(y))
        return None
    regression = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, y)
    return Calibration(regression, s, y, source)


def top_k(risks: Array, k: int) -> Array:
    """Indices of the k highest risks; ties at the cut in row order (as the realized metric)."""
    order: Array = np.argsort(-risks, kind="stable")[: min(k, len(risks))]
    return order


def expected_roc_auc(p: Array, risks: Array) -> float | None:
    """The ROC AUC of the risks when each row is a leaver with weight p and a stayer with 1 - p.

    The expected Mann-Whitney count over expected pairs: every pair of distinct rows, the pair
    (i, j) ordered right with weight p_i (1 - p_j), a tie counted half. A row is never paired
    with itself, as no client can be both a leaver and a stayer.
    """
    return _expected_auc(p, np.unique(risks, return_inverse=True)[1])


def _expected_auc(p: Array, inverse: Array) -> float | None:
    """expected_roc_auc, given each risk's index among the distinct risks in ascending order."""
    q = 1.0 - p
    pairs = float(p.sum() * q.sum() - (p * q).sum())
    if pairs <= 0:
        return None
    stayers_at = np.bincount(inverse, weights=q)
    below = np.cumsum(stayers_at) - stayers_at  # stayer weight strictly below each risk value
    tied_others = stayers_at[inverse] - q
    return float((p * (below[inverse] + 0.5 * tied_others)).sum() / pairs)


def refitted(
    calibration: Calibration, grid: tuple[Array, Array], ascending: Array, rng: np.random.Generator
) -> Array:
    """Calibrated probabilities of risks in ascending order, the calibration refitted on a
    Poisson bootstrap of its rows (the weights avoid re-sorting; ties pooled as sklearn does).
    grid: the calibration rows' distinct risks, and each row's index among them."""
    values, inverse = grid
    weights = rng.poisson(1.0, calibration.rows).astype("float64")
    total = np.bincount(inverse, weights=weights, minlength=len(values))
    leaving = np.bincount(inverse, weights=weights * calibration.labels, minlength=len(values))
    kept = total > 0
    fitted = isotonic_regression(leaving[kept] / total[kept], weights=total[kept]).x
    # np.interp clips at both ends, as out_of_bounds="clip"; on sorted risks it is 25x faster.
    found: Array = np.interp(ascending, values[kept], fitted)
    return found


def sampling_bands(
    calibration: Calibration, risks: Array, k: int, resamples: int, seed: int
) -> tuple[Array, Array, Array]:
    """Realized ROC AUCs and precisions at k of the risks on labels drawn from refitted
    calibrations (the spread of the realized figures, calibration noise included), and the
    mean expected AUC and precision of those refits (their bias)."""
    rng = np.random.default_rng(seed)
    order = np.argsort(risks, kind="stable")
    ascending = risks[order]
    ranks = rankdata(ascending)  # midranks: a tie counts half, as in the realized AUC
    position = np.empty(len(risks), dtype="int64")
    position[order] = np.arange(len(risks))
    listed = position[top_k(risks, k)]
    grid = np.unique(calibration.risks, return_inverse=True)
    distinct = np.unique(ascending, return_inverse=True)[1]
    aucs, precisions = np.full(resamples, np.nan), np.empty(resamples)
    expected = np.empty((resamples, 2))
    for draw in range(resamples):
        p = refitted(calibration, grid, ascending, rng)
        expected[draw] = _expected_auc(p, distinct) or np.nan, p[listed].mean()
        drawn = rng.random(len(risks)) < p
        leavers = int(drawn.sum())
        if 0 < leavers < len(risks):
            aucs[draw] = auc_from_rank_sum(float(ranks[drawn].sum()), leavers, len(risks))
        precisions[draw] = drawn[listed].mean()
    return aucs[~np.isnan(aucs)], precisions, _means(expected)


def _means(columns: Array) -> Array:
    """Each column's mean over its defined values; NaN for a column with none."""
    defined = ~np.isnan(columns)
    counts = defined.sum(axis=0)
    sums = np.where(defined, columns, 0.0).sum(axis=0)
    found: Array = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return found


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def interval(draws: Array) -> tuple[float | None, float | None]:
    """The central 95 % of draws (None when there are none)."""
    if len(draws) == 0:
        return None, None
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.clip(np.percentile(draws, [tail, 100 - tail]), 0.0, 1.0)
    return float(low), float(high)


def estimate_performance(
    calibration: Calibration, risks: Any, k: int, *, resamples: int = RESAMPLES, seed: int = 0
) -> Estimate:
    """Expected ROC AUC and precision at k of these risks, from their calibrated probabilities,
    each with the 95 % band the realized figure should fall in."""
    s = np.asarray(risks, dtype="float64").ravel()
    p = calibration.probabilities(s)
    if len(s) == 0 or k < 1:
        empty = (None,) * 6
        return Estimate(*empty, k, len(s), calibration.rows, calibration.source)
    chosen = p[top_k(s, k)]
    auc, precision = expected_roc_auc(p, s), float(chosen.mean())
    aucs, precisions, refits = sampling_bands(calibration, s, k, resamples, seed)
    # Isotonic fits on a few thousand rows are too steep at both ends, which lifts both
    # estimates; refits on resamples are steeper still by about as much: take that off.
    auc_bias = 0.0 if auc is None or np.isnan(refits[0]) else float(refits[0]) - auc
    precision_bias = float(refits[1]) - precision if resamples else 0.0
    return Estimate(
        None if auc is None else _clip(auc - auc_bias),
        *(interval(aucs - auc_bias) if auc is not None else (None, None)),
        _clip(precision - precision_bias),
        *interval(precisions - precision_bias),
        k,
        len(s),
        calibration.rows,
        calibration.source,
    )


def expected_leavers(calibration: Calibration, risks: Any) -> Expected:
    """How many of these clients are expected to leave: the sum of their calibrated chances."""
    p = calibration.probabilities(risks)
    total = float(p.sum())
    spread = float(norm.ppf(0.5 + LEVEL / 2)) * math.sqrt(float((p * (1 - p)).sum()))
    return Expected(total, max(0.0, total - spread), min(float(len(p)), total + spread), len(p))


def holdout_calibration(settings: Settings, model: Any) -> Calibration | None:
    """The model's calibration on the labelled holdout (rows no model trains on); None when
    there is no holdout to read."""
    path = settings.test_data_path
    if not path.exists():
        return None
    frame = read_labelled(path)
    source = shown_path(path, settings.workspace)
    return fit_calibration(frame[TARGET].to_numpy(), predict_risk(model, frame), source)
