"""The report's figures, drawn from the gathered facts (the drawing itself is in plots.py)."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from riskwatch.config import Settings
from riskwatch.reporting import history, plots
from riskwatch.reporting.details import verdict
from riskwatch.reporting.gather import Facts
from riskwatch.reporting.report import CONFUSION_MATRIX
from riskwatch.reporting.words import PLAIN
from riskwatch.schema import FEATURES
from riskwatch.scoring import LABELS

Check = tuple[str, dict[str, Any]]  # a drift check: its time and its stored result


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
        "score_history.png": score_history(facts, settings, current),
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


def _checks(facts: Facts, current: Check) -> list[history.Check]:
    """Every check on newly arrived data: the cycles' evaluate steps, the reports', this one's."""
    stored: list[history.Stored] = [
        (row["created_at"], row["version"], row["result"]) for row in facts.drift_history
    ]
    stored.append((current[0], facts.deployed.version, current[1]))
    return history.every_check(facts.cycles, stored)


def score_history(facts: Facts, settings: Settings, current: Check) -> Figure:
    """The drift metric of every check per data batch, model changes marked."""
    metric = settings.drift_metric
    found = history.score_history(
        _checks(facts, current), facts.models, facts.deployments, facts.batches, metric
    )
    return plots.score_history_figure(found, metric=LABELS[metric])


def drift_history(facts: Facts, settings: Settings, current: Check) -> Figure:
    """The PSI of each feature and of the predicted risk at every check per data batch."""
    found = history.drift_history(
        _checks(facts, current), facts.deployments, facts.batches, dict(PLAIN)
    )
    return plots.drift_history_figure(found, settings.drift_psi_threshold)
