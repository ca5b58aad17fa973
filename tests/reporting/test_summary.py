"""The managers' summary: the verdict sentence on hand-made drift results."""

from __future__ import annotations

import numpy as np

from riskwatch.model.metrics import Metric
from riskwatch.monitoring.drift import FeatureDrift
from riskwatch.monitoring.performance import PerformanceDrift
from riskwatch.monitoring.verdict import DriftCheck
from riskwatch.reporting.summary import verdict

# The managers' verdict on hand-made drift results


def feature(name: str, drifted: bool) -> FeatureDrift:
    statistic = 0.3 if drifted else 0.01
    return FeatureDrift(
        name, "wasserstein", statistic, None, 0.1, 1000, 500, 0.0, 0.2, drifted, False
    )


def performance(decision: str) -> PerformanceDrift:
    current = Metric(0.70, 0.68, 0.72)
    return PerformanceDrift("interval", "roc_auc", 0.77, current, 500, decision, "")


def check(features: list[FeatureDrift], decision: str) -> DriftCheck:
    empty = np.empty(0)
    prediction = feature("predicted_risk", False)
    return DriftCheck(features, prediction, performance(decision), "", {}, empty, empty)


def test_verdict_is_healthy_without_drift_or_a_worse_score() -> None:
    healthy, sentence = verdict(check([feature("lastmonth_activity", False)], "keep"))
    assert healthy
    assert sentence.startswith("The model is healthy: ")
    assert "ROC AUC 0.700" in sentence and "(0.770)" in sentence


def test_verdict_needs_attention_and_says_why() -> None:
    drifted = [feature("lastmonth_activity", True), feature("number_of_employees", True)]
    healthy, sentence = verdict(check(drifted, "retrain"))
    assert not healthy
    assert sentence.startswith("The model needs attention: ")
    assert "worse than when it was trained (0.770)" in sentence
    assert "last month's activity and company size changed" in sentence


def test_verdict_says_when_there_are_too_few_new_outcomes() -> None:
    healthy, sentence = verdict(check([], "not enough evidence"))
    assert healthy
    assert "not yet enough new outcomes to check its accuracy" in sentence
