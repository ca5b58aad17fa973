"""Drift: data drift per feature, prediction drift, and the retrain decision on new labels.

Data drift follows Evidently's default for numerical columns (``_get_default_stattest`` in
``evidently/calculations/stattests/registry.py``): up to 1,000 reference rows the two-sample
Kolmogorov-Smirnov test (drifted when its p-value falls below the threshold), above that the
Wasserstein distance divided by the reference's standard deviation (drifted from 0.1). Unlike
Evidently we do not switch to chi-square / Jensen-Shannon for columns of five values or fewer:
every column compared here is a count or a risk. PSI on reference quantile bins is reported
alongside with its own verdict, ``psi_drifted``; ``drifted`` is the size-chosen test's verdict
alone, so one number decides and PSI stays the familiar second opinion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp, wasserstein_distance

from riskwatch.config import Settings
from riskwatch.model.metrics import LOWER_IS_BETTER, Metric, compute_metrics
from riskwatch.schema import FEATURES

Array = np.ndarray[Any, Any]
Decision = Literal["retrain", "keep", "not enough evidence"]

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
    test: Literal["ks", "wasserstein"]
    statistic: float  # KS: the D statistic; Wasserstein: the distance in reference SDs
    p_value: float | None  # KS only
    threshold: float  # KS: the p-value below which it drifts; Wasserstein: the distance from which
    reference_rows: int
    current_rows: int
    psi: float
    psi_threshold: float
    drifted: bool
    psi_drifted: bool

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return asdict(self)

    def summary(self) -> str:
        """One line in plain words: verdict, statistic against threshold, PSI, sample sizes."""
        verdict = "drifted" if self.drifted else "not drifted"
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
    """Drift of one column: KS up to drift_ks_max_rows reference rows, Wasserstein above."""
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
    )


def _size_chosen_test(
    ref: Array, cur: Array, settings: Settings
) -> tuple[Literal["ks", "wasserstein"], float, float | None, float, bool]:
    """The test Evidently picks by reference size: name, statistic, p-value, threshold, verdict."""
    if len(ref) <= settings.drift_ks_max_rows:
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
    return [compare(name, reference[name], current[name], settings) for name in FEATURES]


def prediction_drift(reference_risk: Any, current_risk: Any, settings: Settings) -> FeatureDrift:
    """Drift of the predicted risk between the reference data and the current data."""
    return compare("predicted_risk", reference_risk, current_risk, settings)


@dataclass(frozen=True)
class PerformanceDrift:
    """The deployed model's score on newly labelled rows against its recorded score."""

    rule: str
    metric: str
    recorded: float | None
    current: Metric
    rows: int
    decision: Decision
    evidence: str
    # The interval rule's numbers, so a reader can redo the decision: the recorded score's
    # 95 % interval (when it has one) and the drop the noise of both scores allows.
    recorded_low: float | None = None
    recorded_high: float | None = None
    allowed: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return {
            "rule": self.rule,
            "metric": self.metric,
            "recorded": self.recorded,
            "recorded_low": self.recorded_low,
            "recorded_high": self.recorded_high,
            "current": self.current.to_dict(),
            "rows": self.rows,
            "decision": self.decision,
            "evidence": self.evidence,
            "allowed": self.allowed,
        }


def half_width(low: float | None, high: float | None) -> float | None:
    """Half the width of an interval (a bootstrap interval need not be symmetric)."""
    return None if low is None or high is None else (high - low) / 2


def noise_allowance(current: Metric, record: Metric) -> float | None:
    """The drop the interval rule calls noise: √(a² + b²) of both intervals' half-widths.

    Each half-width is about 1.96 standard errors, so this is 1.96 standard errors of the
    difference of two independent estimates; a score without an interval counts as exact.
    """
    new = half_width(current.low, current.high)
    if new is None:
        return None
    old = half_width(record.low, record.high) or 0.0
    return math.sqrt(new**2 + old**2)


def performance_drift(
    recorded: Mapping[str, float | Metric | None], labels: Any, risks: Any, settings: Settings
) -> PerformanceDrift:
    """Retrain, keep, or not enough evidence: the new score against the recorded one.

    A recorded Metric with an interval (the holdout score at training) counts its own
    uncertainty too; a bare number is taken as exact.
    """
    y = np.asarray(labels, dtype="int8").ravel()
    s = np.asarray(risks, dtype="float64").ravel()
    if len(y) != len(s):
        raise ValueError(f"{len(y):,} labels but {len(s):,} risks: one of each per row")
    metric = "f1" if settings.drift_rule == "classic" else settings.drift_metric
    current = compute_metrics(
        y,
        s,
        threshold=settings.decision_threshold,
        k=settings.call_list_capacity,
        resamples=settings.bootstrap_resamples,
        seed=settings.model_seed,
        names=(metric,),
    )[metric]
    found = recorded.get(metric)
    record = found if isinstance(found, Metric) else Metric(found)
    if record.value is not None and math.isnan(record.value):
        record = Metric(None)  # a NaN record is as good as none
    previous = record.value
    if settings.drift_rule == "classic":
        decision, evidence = _classic(metric, previous, current, y, settings)
        allowed = None
    else:
        decision, evidence = _interval(metric, record, current, y, settings)
        allowed = noise_allowance(current, record)
    return PerformanceDrift(
        settings.drift_rule,
        metric,
        previous,
        current,
        len(y),
        decision,
        evidence,
        record.low,
        record.high,
        allowed,
    )


def _classic(
    metric: str, recorded: float | None, current: Metric, y: Array, settings: Settings
) -> tuple[Decision, str]:
    """The classic rule: any drop of F1 retrains, whatever the number of rows."""
    rows = f"{len(y):,} newly labelled rows"
    if recorded is None or current.value is None:
        missing = "no recorded F1" if recorded is None else f"F1 is undefined on {rows}"
        return "not enough evidence", f"Classic rule: {missing}."
    lower = current.value < recorded
    interval = (
        f" (95 % interval {current.low:.3f} to {current.high:.3f})"
        if current.low is not None and current.high is not None
        else ""
    )
    return (
        "retrain" if lower else "keep",
        f"Classic rule: F1 on {rows} is {current.value:.3f}{interval} against the recorded "
        f"{recorded:.3f}: {'lower' if lower else 'not lower'}; the classic rule retrains on "
        "any drop, with no minimum of rows and whatever the interval.",
    )


def _interval(
    metric: str, record: Metric, current: Metric, y: Array, settings: Settings
) -> tuple[Decision, str]:
    """The interval rule: retrain only when the drop is larger than both scores' noise."""
    rows = f"{len(y):,} newly labelled rows"
    recorded, value, low, high = record.value, current.value, current.low, current.high
    reason = _too_few(y, settings)
    if reason is not None:
        return "not enough evidence", reason
    if recorded is None:
        return "not enough evidence", f"No recorded {metric} of the deployed model to compare."
    if value is None:
        return "not enough evidence", f"{metric} is undefined on the {rows}."
    if low is None or high is None:
        return "not enough evidence", (
            f"{metric} on {rows} is {value:.3f} but has no bootstrap interval "
            "(bootstrap_resamples = 0, or too few resamples where it is defined)."
        )
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    drop = sign * (recorded - value)
    # Both scores are estimates: the recorded one from a holdout of its own. Their difference
    # is noise unless it exceeds 1.96 combined standard errors (each from its 95 % interval).
    allowed = noise_allowance(current, record) or 0.0
    new_half = (high - low) / 2
    old_half = half_width(record.low, record.high)
    was = (
        f" (95 % interval {record.low:.3f} to {record.high:.3f}, half-width {old_half:.3f})"
        if old_half is not None and record.low is not None and record.high is not None
        else " (no interval: taken as exact, half-width 0)"
    )
    measured = (
        f"{metric} on {rows} is {value:.3f} (95 % interval {low:.3f} to {high:.3f}, "
        f"half-width {new_half:.3f}) against the recorded {recorded:.3f}{was}: "
        f"{'worse' if drop > 0 else 'no worse'} by {max(drop, 0.0):.3f}, noise allows "
        f"{allowed:.3f} (√({new_half:.3f}² + {old_half or 0.0:.3f}²))"
    )
    if drop > allowed:
        return "retrain", f"{measured}: the model has got worse."
    return "keep", f"{measured}: no evidence the model got worse."


def _too_few(y: Array, settings: Settings) -> str | None:
    """Why these labels are too few to show a drop, or None when they are enough."""
    if len(y) < settings.drift_min_rows:
        return (
            f"Only {len(y):,} newly labelled rows; at least {settings.drift_min_rows:,} "
            "(drift_min_rows) are needed before a drop can ask for retraining."
        )
    if len(np.unique(y)) < 2:
        return f"The {len(y):,} newly labelled rows all have exited = {int(y[0])}: both needed."
    return None
