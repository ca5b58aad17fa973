"""Data and prediction drift: the tests chosen by size, PSI, and the demo's drift scenarios."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from riskwatch.monitoring.drift import compare, data_drift, prediction_drift, psi
from riskwatch.schema import FEATURES

from .conftest import MONTHS, SETTINGS, Demo, drifted


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


def test_ks_up_to_ks_max_rows_on_the_smaller_side_and_wasserstein_above() -> None:
    large = normal(1001, seed=2)
    assert compare("x", normal(1000), large, SETTINGS).test == "ks"
    assert compare("x", normal(1001), large, SETTINGS).test == "wasserstein"
    assert compare("x", normal(5000), normal(10, seed=3), SETTINGS).test == "ks"
    fewer = dataclasses.replace(SETTINGS, drift_ks_max_rows=50)
    assert compare("x", normal(51), normal(51, seed=3), fewer).test == "wasserstein"


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
    same = compare("x", reference, np.full(2000, 5.0), SETTINGS)
    assert (same.drifted, same.statistic, same.psi) == (False, 0.0, 0.0)
    moved = compare("x", reference, np.full(2000, 6.0), SETTINGS)
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


# The demo's scenarios (fixed seeds): drift where the demo puts it, and nowhere else


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


# Batches too small to judge


def test_a_batch_of_two_rows_is_not_judged_and_not_drifted() -> None:
    rng = np.random.default_rng(4)
    reference = pd.DataFrame({name: rng.poisson(20, 10_000) for name in FEATURES})
    results = data_drift(reference, reference.head(2), SETTINGS)
    assert drifted(results) == []
    for result in results:
        assert not result.judged and not result.psi_drifted
        assert (result.statistic, result.psi, result.current_rows) == (None, None, 2)
        said = "not judged: only 2 rows (at least 10 needed)"
        assert result.summary() == f"{result.feature}: {said}"
    assert json.loads(json.dumps(results[0].to_dict()))["judged"] is False


def test_prediction_drift_on_one_row_is_not_judged() -> None:
    risk = prediction_drift(normal(5000), [0.99], SETTINGS)
    assert (risk.judged, risk.drifted, risk.psi) == (False, False, None)
    assert risk.verdict() == "not judged: only 1 row (at least 10 needed)"


def test_a_batch_of_the_minimum_rows_is_judged_and_the_minimum_is_a_setting() -> None:
    reference = normal(10_000)
    judged = prediction_drift(reference, normal(10, seed=2), SETTINGS)
    assert judged.judged and judged.psi is not None and judged.min_rows == 10
    fewer = dataclasses.replace(SETTINGS, drift_min_batch_rows=2)
    assert prediction_drift(reference, [0.1, 0.2], fewer).judged


def test_a_small_batch_against_a_large_reference_is_judged_by_ks_with_few_false_alarms() -> None:
    # The fixed Wasserstein threshold read every 50-row batch from the reference's own
    # distribution as drifted; KS's p-value keeps false alarms near its 5 %.
    reference = normal(10_000)
    found = [prediction_drift(reference, normal(50, seed=seed), SETTINGS) for seed in range(200)]
    assert {f.test for f in found} == {"ks"}
    assert sum(f.drifted for f in found) / len(found) < 0.1
    shifted = prediction_drift(reference, normal(50, seed=7) + 1.0, SETTINGS)
    assert shifted.test == "ks" and shifted.drifted


def test_two_large_samples_are_judged_by_the_wasserstein_distance() -> None:
    found = prediction_drift(normal(5_000), normal(5_000, seed=3), SETTINGS)
    assert found.test == "wasserstein" and not found.drifted
