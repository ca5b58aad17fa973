"""The deployed model's score on newly labelled rows against its recorded score: retrain, keep,
or not enough evidence, by the interval rule (a drop beyond both scores' noise) or the classic
rule (any drop of F1).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from riskwatch.config import Settings
from riskwatch.model.metrics import LOWER_IS_BETTER, Metric, compute_metrics

log = logging.getLogger(__name__)
Array = np.ndarray[Any, Any]
Decision = Literal["retrain", "keep", "not enough evidence"]


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
    current = _score(metric, y, s, settings)
    record = _recorded(recorded.get(metric))
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


def _score(metric: str, y: Array, s: Array, settings: Settings) -> Metric:
    """The metric on the new rows, with its bootstrap interval."""
    return compute_metrics(
        y,
        s,
        threshold=settings.decision_threshold,
        k=settings.call_list_capacity,
        resamples=settings.bootstrap_resamples,
        seed=settings.model_seed,
        names=(metric,),
    )[metric]


def _recorded(found: float | Metric | None) -> Metric:
    """The recorded score as a Metric; a bare number is exact, a NaN none at all."""
    record = found if isinstance(found, Metric) else Metric(found)
    if record.value is not None and math.isnan(record.value):
        return Metric(None)  # a NaN record is as good as none
    return record


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
            f"Only {len(y):,} newly labelled row{'' if len(y) == 1 else 's'}; at least "
            f"{settings.drift_min_rows:,} "
            "(drift_min_rows) are needed before a drop can ask for retraining."
        )
    if len(np.unique(y)) < 2:
        return f"The {len(y):,} newly labelled rows all have exited = {int(y[0])}: both needed."
    return None
