"""Data, prediction and performance drift: the tests chosen by size, PSI, and the retrain rules."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from riskwatch.config import Settings
from riskwatch.demo.workspace import create_demo
from riskwatch.model.metrics import Metric, compute_metrics
from riskwatch.model.pipeline import ModelParams, predict_risk
from riskwatch.monitoring.drift import (
    FeatureDrift,
    compare,
    data_drift,
    performance_drift,
    prediction_drift,
    psi,
)
from riskwatch.schema import FEATURES, TARGET
from riskwatch.training import train_model

# 200 resamples keep the demo tests quick; the interval's ends move by about 0.002 from 1,000.
SETTINGS = Settings(bootstrap_resamples=200)


def normal(size: int, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, size)


# Data drift on hand-made samples


@pytest.mark.parametrize(("rows", "test"), [(800, "ks"), (5000, "wasserstein")])
def test_same_distribution_is_not_drifted(rows: int, test: str) -> None:
    result = compare("x", normal(rows, seed=1), normal(rows, seed=2), SETTINGS)
    assert result.test == test
    assert not result.drifted, result.summary()
    assert not result.psi_drifted, result.summary()


@pytest.mark.parametrize(("rows", "test"), [(800, "ks"), (5000, "wasserstein")])
def test_shifted_distribution_is_drifted(rows: int, test: str) -> None:
    result = compare("x", normal(rows, seed=1), normal(rows, shift=0.5, seed=2), SETTINGS)
    assert result.test == test
    assert result.drifted, result.summary()
    assert result.psi_drifted, result.summary()


def test_ks_up_to_ks_max_rows_reference_rows_and_wasserstein_above() -> None:
    current = normal(10, seed=2)  # the current sample's size plays no part in the choice
    assert compare("x", normal(1000), current, SETTINGS).test == "ks"
    assert compare("x", normal(1001), current, SETTINGS).test == "wasserstein"
    fewer = dataclasses.replace(SETTINGS, drift_ks_max_rows=50)
    assert compare("x", normal(51), current, fewer).test == "wasserstein"


def test_ks_reports_its_p_value_and_wasserstein_its_distance_in_reference_sds() -> None:
    ks = compare("x", normal(500), normal(500, shift=1.0, seed=2), SETTINGS)
    assert ks.p_value is not None and ks.p_value < 1e-6
    assert ks.threshold == SETTINGS.drift_ks_p_value
    reference = normal(4000) * 10  # a shift of 5 units is half a reference SD
    wasserstein = compare("x", reference, reference + 5, SETTINGS)
    assert wasserstein.p_value is None
    assert wasserstein.statistic == pytest.approx(0.5, rel=0.02)
    assert wasserstein.threshold == SETTINGS.drift_wasserstein_threshold


def test_psi_matches_a_hand_computed_value() -> None:
    reference = np.arange(100)  # quartile bins: (-inf, 24], (24, 49], (49, 74], (74, inf)
    current = np.array([0] * 50 + [99] * 50)  # half in the first bin, half in the last
    moved, emptied = (0.5 - 0.25) * math.log(0.5 / 0.25), (1e-4 - 0.25) * math.log(1e-4 / 0.25)
    assert psi(reference, current, bins=4) == pytest.approx(2 * moved + 2 * emptied)


def test_psi_of_identical_samples_is_zero_even_with_tied_bin_edges() -> None:
    counts = np.array([0] * 60 + [1] * 30 + [7] * 10)  # deciles share edges: deduplicated
    assert psi(counts, counts) == 0.0


def test_constant_reference_column_drifts_only_when_its_value_changes() -> None:
    reference = np.full(2000, 5.0)
    same = compare("x", reference, np.full(300, 5.0), SETTINGS)
    assert (same.drifted, same.statistic, same.psi) == (False, 0.0, 0.0)
    moved = compare("x", reference, np.full(300, 6.0), SETTINGS)
    assert moved.drifted
    assert moved.psi_drifted
    assert moved.statistic == pytest.approx(1000.0)  # 1 unit over the 0.001 SD floor


def test_missing_values_are_left_out_of_the_comparison() -> None:
    reference = np.append(normal(600), [np.nan] * 5)
    result = compare("x", reference, [0.1, np.nan, -0.2, 0.3], SETTINGS)
    assert (result.reference_rows, result.current_rows) == (600, 3)
    assert not math.isnan(result.statistic)
    assert not math.isnan(result.psi)


def test_empty_current_sample_is_refused_with_the_feature_named() -> None:
    with pytest.raises(ValueError, match="no current values of lastmonth_activity"):
        compare("lastmonth_activity", normal(100), [], SETTINGS)
    with pytest.raises(ValueError, match="no reference values of x"):
        compare("x", [np.nan, np.nan], normal(100), SETTINGS)


def test_summary_states_verdict_statistic_threshold_psi_and_rows() -> None:
    reference = normal(10_000) * 10
    line = compare("lastmonth_activity", reference, reference + 2.3, SETTINGS).summary()
    assert line.startswith("lastmonth_activity: drifted — Wasserstein 0.23 reference SDs")
    assert "(threshold 0.1), PSI" in line
    assert "(threshold 0.2); 10,000 vs 10,000 rows" in line
    ks_line = compare("x", normal(300), normal(300, seed=2), SETTINGS).summary()
    assert ks_line.startswith("x: not drifted — KS p-value ")
    assert "drifted below 0.05" in ks_line


def test_results_are_json_ready() -> None:
    result = compare("x", normal(2000), normal(2000, shift=1.0, seed=2), SETTINGS)
    assert json.loads(json.dumps(result.to_dict()))["drifted"] is True


def test_data_drift_covers_every_feature_and_prediction_drift_the_risk() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({name: rng.poisson(20, 500) for name in FEATURES})
    assert [r.feature for r in data_drift(frame, frame, SETTINGS)] == list(FEATURES)
    risk = prediction_drift(rng.random(500), rng.random(400), SETTINGS)
    assert (risk.feature, risk.reference_rows, risk.current_rows) == ("predicted_risk", 500, 400)


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

MONTHS = 4


@dataclasses.dataclass(frozen=True)
class Demo:
    drift_month: int
    months: dict[int, pd.DataFrame]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Demo]:
    """The demo's drops for a scenario, drift (if any) in the last month; built once each."""
    built: dict[str, Demo] = {}

    def build(scenario: str) -> Demo:
        if scenario not in built:
            folder = tmp_path_factory.mktemp(scenario)
            drift: dict[str, Any] = {} if scenario == "none" else {"drift_month": MONTHS}
            create_demo(folder, months=MONTHS, seed=42, scenario=scenario, **drift)
            truth = json.loads((folder / "truth" / "truth.json").read_text())
            months = {m: read_drop(folder, m) for m in range(1, MONTHS + 1)}
            built[scenario] = Demo(truth["drift_month"] or MONTHS, months)
        return built[scenario]

    return build


def read_drop(folder: Path, month: int) -> pd.DataFrame:
    return pd.read_csv(folder / "drops" / f"month_{month:02d}.csv")


def drifted(results: list[FeatureDrift]) -> list[str]:
    return [r.feature for r in results if r.drifted]


def test_covariate_scenario_drifts_at_the_drift_month_and_not_before(
    demo: Callable[[str], Demo],
) -> None:
    data = demo("covariate")
    reference = data.months[1]
    at_drift = data_drift(reference, data.months[data.drift_month], SETTINGS)
    assert drifted(at_drift), [r.summary() for r in at_drift]
    for month in range(2, data.drift_month):
        before = data_drift(reference, data.months[month], SETTINGS)
        assert drifted(before) == [], [r.summary() for r in before]


def test_none_scenario_never_drifts(demo: Callable[[str], Demo]) -> None:
    data = demo("none")
    for month in range(2, MONTHS + 1):
        results = data_drift(data.months[1], data.months[month], SETTINGS)
        assert drifted(results) == [], [r.summary() for r in results]


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
