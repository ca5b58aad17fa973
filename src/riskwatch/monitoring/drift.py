"""Data drift per feature and prediction drift: the newest rows against the reference sample.

Data drift follows Evidently's default for numerical columns (``_get_default_stattest`` in
``evidently/calculations/stattests/registry.py``), chosen by the smaller of the two samples where
Evidently looks at the reference alone: up to 1,000 rows the two-sample Kolmogorov-Smirnov test
(drifted when its p-value falls below the threshold), above that the Wasserstein distance divided
by the reference's standard deviation (drifted from 0.1). Unlike
Evidently we do not switch to chi-square / Jensen-Shannon for columns of five values or fewer:
every column compared here is a count or a risk. PSI on reference quantile bins is reported
alongside with its own verdict, ``psi_drifted``; ``drifted`` is the size-chosen test's verdict
alone, so one number decides and PSI stays the familiar second opinion.

A batch with fewer than ``drift_min_batch_rows`` values of a column is not judged: on a handful
of rows no test can tell drift from noise (one row from the reference's own distribution lies
about 0.8 reference SDs from it, and its PSI is about 8), so the result says so instead.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp, wasserstein_distance

from riskwatch.config import Settings
from riskwatch.schema import FEATURES

log = logging.getLogger(__name__)
Array = np.ndarray[Any, Any]

PSI_BINS = 10
# An empty bin counts as this share (0.01 %, Evidently's floor too) so that ln(current /
# reference) stays finite; a bin empty on both sides then adds exactly 0.
PSI_EPSILON = 1e-4
# Evidently's floor for the reference SD: a constant reference column still gives a distance,
# and any change of its value reads as drift (1,000 SDs per unit moved).
MIN_NORM = 0.001


@dataclass(frozen=True)
class FeatureDrift:
    """One column's drift: the size-chosen test, its statistic and verdict, and PSI."""

    feature: str
    test: Literal["ks", "wasserstein"]  # the test chosen by the smaller sample's size
    statistic: float | None  # KS: D; Wasserstein: the distance in reference SDs; None unjudged
    p_value: float | None  # KS only
    threshold: float  # KS: the p-value below which it drifts; Wasserstein: the distance from which
    reference_rows: int
    current_rows: int
    psi: float | None  # None when not judged
    psi_threshold: float
    drifted: bool
    psi_drifted: bool
    judged: bool = True  # False: too few current rows to tell drift from noise
    min_rows: int = 0  # current rows a judgement needs (drift_min_batch_rows)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return asdict(self)

    def summary(self) -> str:
        """One line in plain words: verdict, statistic against threshold, PSI, sample sizes."""
        if not self.judged:
            return f"{self.feature}: {self.verdict()}"
        verdict = self.verdict()
        if self.test == "ks":
            test = (
                f"KS p-value {self.p_value:.3g} (drifted below {self.threshold:g}; "
                f"D {self.statistic:.3g})"
            )
        else:
            test = f"Wasserstein {self.statistic:.3g} reference SDs (threshold {self.threshold:g})"
        return (
            f"{self.feature}: {verdict} — {test}, PSI {self.psi:.3g} "
            f"(threshold {self.psi_threshold:g}); "
            f"{self.reference_rows:,} vs {self.current_rows:,} rows"
        )

    def verdict(self) -> str:
        """drifted, not drifted, or why it was not judged."""
        if not self.judged:
            return not_judged(self.current_rows, self.min_rows)
        return "drifted" if self.drifted else "not drifted"


def not_judged(rows: int, needed: int) -> str:
    """Why a check on this many rows was not made, in words."""
    return f"not judged: only {rows:,} row{'' if rows == 1 else 's'} (at least {needed:,} needed)"


def _values(data: Any, feature: str, side: str) -> Array:
    """The non-missing values as floats; refuse a side with none to compare."""
    values = np.asarray(data, dtype="float64").ravel()
    # Missing values are the diagnostics' concern: drift compares the values that exist.
    present: Array = values[~np.isnan(values)]
    if len(present) == 0:
        raise ValueError(f"no {side} values of {feature} to compare: drift needs both samples")
    return present


def psi(reference: Any, current: Any, bins: int = PSI_BINS) -> float:
    """Population stability index of current against the reference's quantile bins."""
    ref, cur = (
        _values(reference, "the PSI sample", "reference"),
        _values(current, "the PSI sample", "current"),
    )
    # Inner edges at the reference's deciles, taken as observed values (inverted CDF) so every
    # inner bin holds reference rows; ties in count data merge edges, hence unique().
    quantiles = np.linspace(0, 1, bins + 1)[1:-1]
    edges = np.unique(np.quantile(ref, quantiles, method="inverted_cdf"))
    # Bins are (-inf, e1], (e1, e2], ..., (ek, inf): open-ended, so no value falls outside.
    ref_share = np.bincount(np.searchsorted(edges, ref), minlength=len(edges) + 1) / len(ref)
    cur_share = np.bincount(np.searchsorted(edges, cur), minlength=len(edges) + 1) / len(cur)
    ref_share, cur_share = np.maximum(ref_share, PSI_EPSILON), np.maximum(cur_share, PSI_EPSILON)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def compare(feature: str, reference: Any, current: Any, settings: Settings) -> FeatureDrift:
    """Drift of one column: KS up to drift_ks_max_rows rows on the smaller side, Wasserstein
    above."""
    ref, cur = _values(reference, feature, "reference"), _values(current, feature, "current")
    test, statistic, p_value, threshold, drifted = _size_chosen_test(ref, cur, settings)
    population = psi(ref, cur)
    return FeatureDrift(
        feature=feature,
        test=test,
        statistic=statistic,
        p_value=p_value,
        threshold=threshold,
        reference_rows=len(ref),
        current_rows=len(cur),
        psi=population,
        psi_threshold=settings.drift_psi_threshold,
        drifted=drifted,
        psi_drifted=bool(population >= settings.drift_psi_threshold),
        min_rows=settings.drift_min_batch_rows,
    )


def judge_column(feature: str, reference: Any, current: Any, settings: Settings) -> FeatureDrift:
    """compare(), or, below drift_min_batch_rows current values, a result saying it was not
    judged (no statistic, no PSI, not drifted) with the rows it had and needed."""
    ref, cur = _values(reference, feature, "reference"), _values(current, feature, "current")
    needed = settings.drift_min_batch_rows
    if len(cur) >= needed:
        return compare(feature, ref, cur, settings)
    log.debug("%s not judged: %d current rows, %d needed", feature, len(cur), needed)
    ks = min(len(ref), len(cur)) <= settings.drift_ks_max_rows
    return FeatureDrift(
        feature=feature,
        test="ks" if ks else "wasserstein",
        statistic=None,
        p_value=None,
        threshold=settings.drift_ks_p_value if ks else settings.drift_wasserstein_threshold,
        reference_rows=len(ref),
        current_rows=len(cur),
        psi=None,
        psi_threshold=settings.drift_psi_threshold,
        drifted=False,
        psi_drifted=False,
        judged=False,
        min_rows=needed,
    )


def _size_chosen_test(
    ref: Array, cur: Array, settings: Settings
) -> tuple[Literal["ks", "wasserstein"], float, float | None, float, bool]:
    """The test chosen by the smaller sample: name, statistic, p-value, threshold, verdict."""
    # Evidently chooses by the reference's size alone; a small batch against a large reference
    # then gets the fixed Wasserstein threshold, which has no sampling error behind it (a batch of
    # 50 rows from the reference's own distribution read as drifted every time, docs/monitoring.md)
    # while KS's p-value holds its false-alarm rate at any size.
    if min(len(ref), len(cur)) <= settings.drift_ks_max_rows:
        result = ks_2samp(ref, cur)
        p_value = float(result.pvalue)
        threshold = settings.drift_ks_p_value
        return "ks", float(result.statistic), p_value, threshold, p_value < threshold
    distance = float(wasserstein_distance(ref, cur)) / max(float(np.std(ref)), MIN_NORM)
    threshold = settings.drift_wasserstein_threshold
    return "wasserstein", distance, None, threshold, distance >= threshold


def data_drift(
    reference: pd.DataFrame, current: pd.DataFrame, settings: Settings
) -> list[FeatureDrift]:
    """Drift of every feature between the reference (training) data and the current data."""
    return [judge_column(name, reference[name], current[name], settings) for name in FEATURES]


def prediction_drift(reference_risk: Any, current_risk: Any, settings: Settings) -> FeatureDrift:
    """Drift of the predicted risk between the reference data and the current data."""
    return judge_column("predicted_risk", reference_risk, current_risk, settings)
