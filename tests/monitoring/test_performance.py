"""Performance drift: the new score against the recorded one, by the interval and classic rules."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from riskwatch.model.metrics import Metric, compute_metrics
from riskwatch.model.pipeline import ModelParams, predict_risk
from riskwatch.monitoring.drift import data_drift, prediction_drift
from riskwatch.monitoring.performance import performance_drift
from riskwatch.schema import TARGET
from riskwatch.training import train_model

from .conftest import MONTHS, SETTINGS, Demo, drifted

# Performance drift and the retrain decision


def labelled(rows: int, signal: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and risks that rank them as well as `signal` allows (0: not at all)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    risks = 1 / (1 + np.exp(-(signal * (labels - 0.5) * 2 + rng.normal(0, 1, rows))))
    return labels, risks


def current_auc(labels: np.ndarray, risks: np.ndarray) -> float:
    value = compute_metrics(labels, risks, resamples=0)["roc_auc"].value
    assert value is not None
    return float(value)


def test_small_batch_is_not_enough_evidence_even_when_the_score_drops() -> None:
    labels, risks = labelled(150, signal=0.0)
    result = performance_drift({"roc_auc": 0.95}, labels, risks, SETTINGS)
    assert result.decision == "not enough evidence"
    assert "Only 150 newly labelled rows; at least 200" in result.evidence
    assert result.rows == 150


def test_a_single_class_is_not_enough_evidence() -> None:
    result = performance_drift({"roc_auc": 0.8}, np.zeros(500), np.linspace(0, 1, 500), SETTINGS)
    assert result.decision == "not enough evidence"
    assert "exited = 0" in result.evidence


def test_no_recorded_score_or_no_interval_is_not_enough_evidence() -> None:
    labels, risks = labelled(1000)
    assert performance_drift({}, labels, risks, SETTINGS).decision == "not enough evidence"
    assert performance_drift({"roc_auc": math.nan}, labels, risks, SETTINGS).recorded is None
    no_bootstrap = dataclasses.replace(SETTINGS, bootstrap_resamples=0)
    result = performance_drift({"roc_auc": 0.99}, labels, risks, no_bootstrap)
    assert result.decision == "not enough evidence"
    assert "no bootstrap interval" in result.evidence


def test_retrain_when_the_recorded_score_is_far_above_the_new_interval() -> None:
    labels, risks = labelled(2000, signal=0.5)
    result = performance_drift({"roc_auc": 0.95}, labels, risks, SETTINGS)
    assert result.decision == "retrain"
    assert result.current.high is not None and result.current.high < 0.95
    assert f"{result.current.high:.3f}, half-width" in result.evidence
    assert "against the recorded 0.950 (no interval: taken as exact, half-width 0): worse by" in (
        result.evidence
    )
    assert json.loads(json.dumps(result.to_dict()))["current"]["value"] == result.current.value


def test_keep_when_the_recorded_score_is_inside_the_interval_or_below_it() -> None:
    labels, risks = labelled(2000, signal=0.5)
    auc = current_auc(labels, risks)
    for recorded in (auc + 0.005, auc - 0.2):
        result = performance_drift({"roc_auc": recorded}, labels, risks, SETTINGS)
        assert result.decision == "keep", result.evidence


def test_a_recorded_interval_counts_as_noise_too() -> None:
    # A drop just beyond the new interval alone, but within the noise of both scores.
    labels, risks = labelled(2000, signal=0.5)
    new = performance_drift({}, labels, risks, SETTINGS).current
    assert new.value is not None and new.low is not None and new.high is not None
    half = (new.high - new.low) / 2
    exact = performance_drift({"roc_auc": new.value + 1.2 * half}, labels, risks, SETTINGS)
    assert exact.decision == "retrain", exact.evidence
    record = Metric(new.value + 1.2 * half, new.value, new.value + 2.4 * half)
    noisy = performance_drift({"roc_auc": record}, labels, risks, SETTINGS)
    assert noisy.decision == "keep", noisy.evidence
    assert "noise allows" in noisy.evidence


def test_the_evidence_shows_both_intervals_and_the_allowance_they_combine_into() -> None:
    # The rule: a drop is noise up to √(a² + b²), a and b the half-widths of both intervals;
    # the numbers shown must be the ones the decision used, so a reader can redo it.
    labels, risks = labelled(2000, signal=0.5)
    new = performance_drift({}, labels, risks, SETTINGS).current
    assert new.value is not None and new.low is not None and new.high is not None
    a = (new.high - new.low) / 2
    record = Metric(new.value + 1.2 * a, new.value + 0.2 * a, new.value + 2.2 * a)
    b = (2.2 - 0.2) * a / 2
    result = performance_drift({"roc_auc": record}, labels, risks, SETTINGS)

    assert result.allowed == pytest.approx(math.sqrt(a**2 + b**2))
    assert (result.recorded_low, result.recorded_high) == (record.low, record.high)
    assert result.allowed > 1.2 * a  # more than the new interval's half-width alone
    assert result.decision == "keep"
    assert f"half-width {a:.3f}" in result.evidence
    assert f"half-width {b:.3f}" in result.evidence
    assert f"noise allows {result.allowed:.3f} (√({a:.3f}² + {b:.3f}²))" in result.evidence
    stored = json.loads(json.dumps(result.to_dict()))
    assert stored["allowed"] == result.allowed
    assert stored["recorded_low"] == record.low


def test_brier_retrains_when_the_recorded_score_is_below_the_interval() -> None:
    labels, risks = labelled(2000, signal=0.5)
    brier = dataclasses.replace(SETTINGS, drift_metric="brier")
    assert performance_drift({"brier": 0.01}, labels, risks, brier).decision == "retrain"
    assert performance_drift({"brier": 0.6}, labels, risks, brier).decision == "keep"


def test_classic_rule_retrains_on_any_drop_of_f1_however_few_rows() -> None:
    labels, risks = labelled(40, signal=1.0)
    f1 = compute_metrics(labels, risks, resamples=0)["f1"].value
    assert f1 is not None
    classic = dataclasses.replace(SETTINGS, drift_rule="classic")
    dropped = performance_drift({"f1": f1 + 0.001}, labels, risks, classic)
    assert (dropped.decision, dropped.metric, dropped.rule) == ("retrain", "f1", "classic")
    assert "no minimum of rows" in dropped.evidence
    assert performance_drift({"f1": f1}, labels, risks, classic).decision == "keep"


def test_classic_rule_with_undefined_f1_is_not_enough_evidence() -> None:
    classic = dataclasses.replace(SETTINGS, drift_rule="classic")
    # No client leaves and none is predicted to: F1 is 0/0.
    result = performance_drift({"f1": 0.6}, np.zeros(300), np.full(300, 0.1), classic)
    assert result.decision == "not enough evidence"


def test_labels_and_risks_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="300 labels but 299 risks"):
        performance_drift({"roc_auc": 0.8}, np.zeros(300), np.zeros(299), SETTINGS)


# The demo's scenarios (fixed seeds): drift where the demo puts it, and nowhere else


def deployed_model_check(data: Demo, metric: str) -> tuple[Any, Any]:
    """Train on month 1, record on month 2; the check on the last month's labelled rows."""
    model = train_model(data.months[1], ModelParams())
    recorded_month = data.months[2]
    record = compute_metrics(
        recorded_month[TARGET], predict_risk(model, recorded_month), resamples=0
    )
    settings = dataclasses.replace(SETTINGS, drift_metric=metric)
    newest = data.months[MONTHS]
    return model, performance_drift(
        {name: m.value for name, m in record.items()},
        newest[TARGET],
        predict_risk(model, newest),
        settings,
    )


@pytest.mark.parametrize("metric", ["roc_auc", "brier"])
def test_concept_scenario_asks_to_retrain_at_the_drift_month(
    demo: Callable[[str], Demo], metric: str
) -> None:
    data = demo("concept")
    assert data.drift_month == MONTHS
    # Only the exit rule changes: the features do not drift, the score does.
    assert drifted(data_drift(data.months[1], data.months[MONTHS], SETTINGS)) == []
    _, result = deployed_model_check(data, metric)
    assert result.decision == "retrain", result.evidence


def test_none_scenario_keeps_the_model(demo: Callable[[str], Demo]) -> None:
    model, result = deployed_model_check(demo("none"), "roc_auc")
    assert result.decision == "keep", result.evidence
    months = demo("none").months
    risk = prediction_drift(
        predict_risk(model, months[1]), predict_risk(model, months[MONTHS]), SETTINGS
    )
    assert not risk.drifted, risk.summary()
