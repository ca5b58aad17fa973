"""The data scientists' part of the report: times, drift verdicts, the performance rule."""

from __future__ import annotations

from riskwatch.model.metrics import Metric
from riskwatch.monitoring.drift import FeatureDrift
from riskwatch.monitoring.performance import PerformanceDrift
from riskwatch.reporting.details import performance_rows, quarantined_by_column, verdict, when


def test_times_read_as_day_month_year_and_anything_else_is_left_as_it_is() -> None:
    assert when("2026-11-21T10:15:42.123456") == "21 Nov 2026 10:15 UTC"
    assert when(None) == "n/a"
    assert when("yesterday") == "yesterday"


def test_a_drift_verdict_names_its_test_statistic_and_threshold() -> None:
    ks = FeatureDrift("a", "ks", 0.2, 0.0001, 0.01, 1000, 500, 0.1, 0.2, True, False)
    assert verdict(ks) == "drifted (KS p-value 0.0001, drifted below 0.01)"
    far = FeatureDrift("b", "wasserstein", 0.05, None, 0.1, 1000, 500, 0.0, 0.2, False, False)
    assert verdict(far) == "no drift (Wasserstein 0.050 SDs, drifted from 0.1)"


def test_the_performance_rows_let_a_reader_redo_the_decision() -> None:
    drift = PerformanceDrift(
        "interval",
        "roc_auc",
        0.80,
        Metric(0.70, 0.66, 0.74),
        1234,
        "retrain",
        "",
        0.78,
        0.82,
        0.0447,
    )
    rows = dict(performance_rows(drift))
    assert rows["Metric"] == "ROC AUC"
    assert rows["Newest data: score"] == "0.7000 on 1,234 rows"
    assert rows["Newest data: 95 % interval (a = half-width)"] == (
        "0.6600 to 0.7400 (half-width 0.0400)"
    )
    assert rows["Drop (recorded minus newest; worse when positive)"] == "+0.1000"
    assert rows["Noise allows √(a² + b²)"] == "0.0447"
    assert rows["Decision (retrain when the drop exceeds the allowance)"] == "retrain"


def test_no_performance_rows_without_the_interval_rule() -> None:
    assert performance_rows(None) == []
    drift = PerformanceDrift("threshold", "roc_auc", 0.8, Metric(0.7), 10, "keep", "")
    assert performance_rows(drift) == []


def test_quarantined_rows_are_counted_by_the_column_whose_rule_they_break() -> None:
    entries = [
        {"reasons": {"lastmonth_activity is negative": 3, "exited must be 0 or 1": 2}},
        {"reasons": {"lastmonth_activity is missing": 1}},
    ]
    assert quarantined_by_column(entries) == {"lastmonth_activity": 4, "exited": 2}
