"""Metrics agree with scikit-learn, carry bootstrap intervals, and say undefined when they are."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from riskwatch.model.metrics import METRIC_NAMES, better, compute_metrics, effective_resamples


@pytest.fixture
def labelled() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 3000)
    # Rounded risks make many ties, the hard case for AUC and average precision.
    risks = np.round(np.clip(rng.random(3000) * 0.6 + labels * 0.25, 0, 1), 2)
    return labels, risks


def test_metrics_match_scikit_learn(labelled: tuple[np.ndarray, np.ndarray]) -> None:
    labels, risks = labelled
    found = compute_metrics(labels, risks, threshold=0.5, k=100, resamples=0)
    predicted = risks >= 0.5
    assert found["roc_auc"].value == pytest.approx(roc_auc_score(labels, risks), abs=1e-12)
    assert found["pr_auc"].value == pytest.approx(average_precision_score(labels, risks), abs=1e-12)
    assert found["brier"].value == pytest.approx(brier_score_loss(labels, risks), abs=1e-12)
    assert found["f1"].value == pytest.approx(f1_score(labels, predicted), abs=1e-12)
    assert found["precision"].value == pytest.approx(precision_score(labels, predicted))
    assert found["recall"].value == pytest.approx(recall_score(labels, predicted))


def test_precision_and_recall_at_k_count_the_top_k() -> None:
    labels = np.array([1, 0, 1, 0, 0, 1])
    risks = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.05])
    found = compute_metrics(labels, risks, k=3, resamples=0)
    assert found["precision_at_k"].value == pytest.approx(2 / 3)
    assert found["recall_at_k"].value == pytest.approx(2 / 3)


def test_f1_is_the_classic_harmonic_mean() -> None:
    # The classic holdout's outcome: precision 1/2, recall 2/3.
    labels = np.array([1, 1, 1, 0, 0])
    risks = np.array([0.9, 0.8, 0.1, 0.7, 0.6])
    f1 = compute_metrics(labels, risks, resamples=0)["f1"].value
    assert f1 == 0.5714285714285715


def test_intervals_contain_the_value_and_are_reproducible(
    labelled: tuple[np.ndarray, np.ndarray],
) -> None:
    labels, risks = labelled
    first = compute_metrics(labels, risks, resamples=200, seed=3)
    again = compute_metrics(labels, risks, resamples=200, seed=3)
    assert first == again
    for name in METRIC_NAMES:
        metric = first[name]
        assert metric.low is not None and metric.high is not None
        assert metric.value is not None
        assert metric.low <= metric.value <= metric.high, name


def test_one_class_data_reports_undefined_metrics_not_a_crash() -> None:
    found = compute_metrics(np.zeros(20), np.linspace(0.1, 0.9, 20), resamples=100)
    for name in ("roc_auc", "pr_auc", "recall", "recall_at_k"):
        assert found[name].value is None, name
        assert (found[name].low, found[name].high) == (None, None)
    assert found["brier"].value is not None
    assert found["precision_at_k"].value == 0.0


def test_a_risk_that_is_not_a_number_leaves_every_metric_undefined() -> None:
    found = compute_metrics(np.array([0, 1, 0, 1]), np.array([0.2, np.nan, 0.4, 0.9]))
    assert all(metric.value is None and metric.low is None for metric in found.values())


def test_empty_data_reports_every_rate_undefined() -> None:
    found = compute_metrics(np.array([]), np.array([]), resamples=10)
    assert found["roc_auc"].value is None
    assert found["f1"].value is None


def test_no_positive_predicted_leaves_precision_undefined_and_f1_zero() -> None:
    labels = np.array([1, 0, 1, 0])
    found = compute_metrics(labels, np.full(4, 0.1), resamples=0)
    assert found["precision"].value is None
    assert found["recall"].value == 0.0


def test_better_respects_the_metric_direction_and_margin() -> None:
    assert better("roc_auc", 0.81, 0.80, 0.005)
    assert not better("roc_auc", 0.803, 0.80, 0.005)
    assert better("brier", 0.14, 0.15, 0.005)
    assert not better("brier", 0.16, 0.15, 0.0)


def test_few_resamples_give_a_normal_interval_around_the_value(
    labelled: tuple[np.ndarray, np.ndarray],
) -> None:
    labels, risks = labelled
    auc = compute_metrics(labels, risks, resamples=50, names=("roc_auc",))["roc_auc"]
    assert auc.value is not None and auc.low is not None and auc.high is not None
    assert auc.high - auc.value == pytest.approx(auc.value - auc.low)
    assert 0 < auc.high - auc.low < 0.1


def test_large_data_draws_fewer_resamples_within_the_budget() -> None:
    assert effective_resamples(2_000, 1000) == 1000
    assert effective_resamples(1_000_000, 1000) == 20
    assert effective_resamples(0, 1000) == 0


def test_ties_at_the_top_k_cut_are_taken_in_row_order() -> None:
    # Four clients share the 2nd-highest risk; a stable sort takes the first of them.
    labels = np.array([0, 1, 0, 0, 0, 1])
    risks = np.array([0.9, 0.5, 0.5, 0.5, 0.1, 0.5])
    found = compute_metrics(labels, risks, k=2, resamples=0)
    assert found["precision_at_k"].value == 0.5
    order = np.argsort(-risks, kind="stable")[:3]
    expected = labels[order].sum() / 3
    assert compute_metrics(labels, risks, k=3, resamples=0)["precision_at_k"].value == expected


def _reference_interval(values: list[float]) -> tuple[float, float]:
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def test_intervals_match_a_loop_over_the_same_resamples_with_scikit_learn(
    labelled: tuple[np.ndarray, np.ndarray],
) -> None:
    # The reference: draw the resamples as rows, score each with scikit-learn, take percentiles.
    labels, risks = labelled[0][:600], labelled[1][:600]
    rows = np.random.default_rng(7).integers(0, len(labels), size=(300, len(labels)))
    reference = {
        "roc_auc": [roc_auc_score(labels[r], risks[r]) for r in rows],
        "pr_auc": [average_precision_score(labels[r], risks[r]) for r in rows],
        "brier": [brier_score_loss(labels[r], risks[r]) for r in rows],
        "f1": [f1_score(labels[r], risks[r] >= 0.5) for r in rows],
    }
    found = compute_metrics(labels, risks, threshold=0.5, resamples=300, seed=7)
    for name, values in reference.items():
        low, high = _reference_interval(values)
        assert found[name].low == pytest.approx(low, abs=1e-12), name
        assert found[name].high == pytest.approx(high, abs=1e-12), name


def test_top_k_intervals_match_a_stable_sort_of_each_resample() -> None:
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 2, 400)
    risks = rng.random(400) * 0.5 + labels * 0.3  # no ties: the cut is the same in any order
    rows = np.random.default_rng(3).integers(0, 400, size=(250, 400))
    hits = [labels[r][np.argsort(-risks[r], kind="stable")[:40]].sum() for r in rows]
    found = compute_metrics(labels, risks, k=40, resamples=250, seed=3)
    low, high = _reference_interval([h / 40 for h in hits])
    assert (found["precision_at_k"].low, found["precision_at_k"].high) == pytest.approx((low, high))
    low, high = _reference_interval([h / labels[r].sum() for h, r in zip(hits, rows, strict=True)])
    assert (found["recall_at_k"].low, found["recall_at_k"].high) == pytest.approx((low, high))


def _delong_interval(labels: np.ndarray, risks: np.ndarray) -> tuple[float, float, float]:
    """DeLong's AUC and 95 % interval, straight from its definition (every leaver x stayer)."""
    leavers, stayers = risks[labels == 1], risks[labels == 0]
    pairs = (leavers[:, None] > stayers[None, :]) + 0.5 * (leavers[:, None] == stayers[None, :])
    auc = float(pairs.mean())
    v10, v01 = pairs.mean(axis=1), pairs.mean(axis=0)  # each leaver's and each stayer's share
    se = float(np.sqrt(v10.var(ddof=1) / len(leavers) + v01.var(ddof=1) / len(stayers)))
    return auc, auc - 1.959964 * se, auc + 1.959964 * se


def test_roc_auc_interval_agrees_with_delong(labelled: tuple[np.ndarray, np.ndarray]) -> None:
    # Bootstrap percentiles and DeLong's variance estimate the same spread: honest intervals.
    labels, risks = labelled
    auc, low, high = _delong_interval(labels, risks)
    found = compute_metrics(labels, risks, resamples=1000, seed=1, names=("roc_auc",))["roc_auc"]
    assert found.value == pytest.approx(auc)
    assert found.low is not None and found.high is not None
    assert found.high - found.low == pytest.approx(high - low, rel=0.1)
    assert found.low == pytest.approx(low, abs=0.005) and found.high == pytest.approx(
        high, abs=0.005
    )


def test_roc_auc_of_hanley_and_mcneil_ratings_is_the_textbook_value() -> None:
    # Hanley & McNeil (1982), table 1: 58 normal and 51 abnormal CT images rated 1 to 5.
    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    labels = np.repeat([0, 1], [sum(normal), sum(abnormal)])
    risks = np.concatenate(
        [np.repeat(np.arange(1, 6), normal), np.repeat(np.arange(1, 6), abnormal)]
    )
    found = compute_metrics(labels, risks / 5, resamples=2000, seed=0, names=("roc_auc",))
    assert round(found["roc_auc"].value or 0, 3) == 0.893
    _, low, high = _delong_interval(labels, risks / 5.0)
    assert found["roc_auc"].high - found["roc_auc"].low == pytest.approx(high - low, rel=0.1)
