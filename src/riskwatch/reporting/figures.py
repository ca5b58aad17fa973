"""The report's figures, drawn from the gathered facts (the drawing itself is in plots.py)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from matplotlib.figure import Figure

from riskwatch.config import Settings
from riskwatch.reporting import plots
from riskwatch.reporting.details import verdict
from riskwatch.reporting.gather import Facts
from riskwatch.reporting.summary import PLAIN
from riskwatch.schema import FEATURES
from riskwatch.scoring import LABELS

CONFUSION_MATRIX = "confusionmatrix.png"  # the classic exercise's name
Check = tuple[str, dict[str, Any]]  # a drift check: its time and its stored result
HISTORY = 50  # model versions shown in the score history


def draw(facts: Facts, settings: Settings, current: Check) -> dict[str, Figure]:
    """Every figure of the report by its PNG file name; current is this report's drift check."""
    holdout, active = facts.holdout, facts.clients[~facts.clients["left"]]
    labels, risks, threshold = holdout.labels, holdout.risks, settings.decision_threshold
    return {
        CONFUSION_MATRIX: plots.confusion_matrix_figure(labels, risks, threshold),
        "roc.png": plots.roc_figure(labels, risks, holdout.metrics["roc_auc"].value),
        "precision_recall.png": plots.precision_recall_figure(labels, risks, threshold),
        "calibration.png": plots.calibration_figure(labels, risks),
        "risk_distribution.png": plots.risk_distribution_figure(
            active["risk"].to_numpy(),
            high=settings.risk_band_high,
            medium=settings.risk_band_medium,
            clients=f"your {len(active):,} current clients",
        ),
        "feature_drift.png": feature_drift(facts),
        "score_history.png": plots.score_history_figure(
            score_points(facts, settings.drift_metric, current),
            metric=LABELS[settings.drift_metric],
        ),
        "drift_history.png": drift_history(facts, settings, current),
    }


def feature_drift(facts: Facts) -> Figure:
    """Each feature and the predicted risk: the reference against the newest data."""
    drift, reference, newest = facts.drift, facts.reference, facts.newest.frame
    if reference is None or drift.prediction is None:
        return plots.message_figure("Training data against the newest data", drift.reason)
    before = {PLAIN[f]: reference[f].to_numpy() for f in FEATURES}
    after = {PLAIN[f]: newest[f].to_numpy() for f in FEATURES}
    before[PLAIN["predicted_risk"]] = drift.reference_risks
    after[PLAIN["predicted_risk"]] = drift.newest_risks
    verdicts = {PLAIN[d.feature]: verdict(d) for d in [*drift.features, drift.prediction]}
    return plots.feature_drift_figure(before, after, verdicts)


def _checks(facts: Facts, current: Check) -> list[Check]:
    """The stored drift checks, oldest first, then this report's."""
    return [*((row["created_at"], row["result"]) for row in facts.drift_history), current]


def score_points(facts: Facts, metric: str, current: Check) -> list[tuple[datetime, str, float]]:
    """The metric at training (holdout), at each `riskwatch score`, and on each newest data."""
    points: list[tuple[str, str, Any]] = []
    for row in facts.models[-HISTORY:]:
        value = ((row["metrics"].get("holdout") or {}).get(metric) or {}).get("value")
        points.append((row["created_at"], "holdout, at training", value))
    for row in facts.scores:
        value = (row["metrics"].get(metric) or {}).get("value")
        points.append((row["scored_at"], "riskwatch score", value))
    for created_at, result in _checks(facts, current):
        performance = result.get("performance") or {}
        if performance.get("metric") == metric:
            value = performance["current"]["value"]
            points.append((created_at, "newest data, at each report", value))
    return [
        (datetime.fromisoformat(when), source, float(value))
        for when, source, value in points
        if value is not None and math.isfinite(value)
    ]


def drift_history(facts: Facts, settings: Settings, current: Check) -> Figure:
    """The PSI of each feature and of the predicted risk at each drift check."""
    checks = [(t, result) for t, result in _checks(facts, current) if result.get("features")]
    series: dict[str, list[float]] = {name: [] for name in PLAIN.values()}
    for _, result in checks:
        found = {f["feature"]: f["psi"] for f in result["features"]}
        if result.get("prediction"):
            found["predicted_risk"] = result["prediction"]["psi"]
        for key, name in PLAIN.items():
            series[name].append(float(found.get(key, math.nan)))
    times = [datetime.fromisoformat(t) for t, _ in checks]
    return plots.drift_history_figure(times, series, settings.drift_psi_threshold)
