"""The label-free estimate against reference computations and against realized figures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from riskwatch.model.metrics import compute_metrics
from riskwatch.monitoring.estimate import (
    estimate_performance,
    expected_leavers,
    expected_roc_auc,
    fit_calibration,
)

Array = np.ndarray[Any, Any]


def _pairwise_auc(p: Array, s: Array) -> float:
    """The expected-pairs AUC by brute force: every ordered pair of distinct rows."""
    right = (s[:, None] > s[None, :]) + 0.5 * (s[:, None] == s[None, :])
    weight = p[:, None] * (1 - p)[None, :]
    np.fill_diagonal(weight, 0.0)
    return float((weight * right).sum() / weight.sum())


def _world(seed: int, rows: int) -> tuple[Array, Array]:
    """Risks that rank well but are not probabilities, and the true chance behind each."""
    rng = np.random.default_rng(seed)
    truth = 1 / (1 + np.exp(-(rng.normal(size=rows) - 2)))
    return np.sqrt(truth), truth


def test_expected_auc_counts_each_pair_of_distinct_clients_by_their_chances() -> None:
    rng = np.random.default_rng(0)
    risks = np.round(rng.random(300), 2)  # ties on purpose: they count half
    p = rng.random(300) ** 2
    assert expected_roc_auc(p, risks) == pytest.approx(_pairwise_auc(p, risks), abs=1e-12)


def test_expected_auc_is_close_to_the_weighted_auc_of_leaver_and_stayer_copies() -> None:
    rng = np.random.default_rng(1)
    risks, p = rng.random(2000), rng.random(2000) ** 3
    weighted = roc_auc_score(
        np.r_[np.ones(2000), np.zeros(2000)], np.r_[risks, risks], sample_weight=np.r_[p, 1 - p]
    )
    # NannyML's form also pairs each client with itself (a tie): a difference of 1/n at most.
    assert expected_roc_auc(p, risks) == pytest.approx(weighted, abs=1 / 2000)


def test_calibration_maps_risks_to_observed_rates_and_clips_beyond_the_seen_range() -> None:
    risks = np.repeat([0.2, 0.4, 0.6, 0.8], 50)
    labels = np.r_[np.zeros(45), np.ones(5), np.zeros(30), np.ones(20), np.ones(50), np.ones(50)]
    calibration = fit_calibration(labels, risks, "testdata")
    assert calibration is not None and calibration.rows == 200
    found = calibration.probabilities([0.0, 0.2, 0.4, 0.99])
    assert found == pytest.approx([0.1, 0.1, 0.4, 1.0])


def test_no_calibration_from_too_few_rows_or_one_class() -> None:
    assert fit_calibration(np.zeros(500), np.linspace(0, 1, 500)) is None
    assert fit_calibration([0, 1] * 10, np.linspace(0, 1, 20)) is None


def test_realized_auc_and_precision_fall_in_the_bands_about_95_times_in_100() -> None:
    """Calibrated on 2,000 labelled rows of the same world, then 1,000 new clients: the
    realized figures on the new clients' drawn labels, over 60 worlds."""
    inside, errors = [], []
    for seed in range(60):
        risks, truth = _world(seed, 3000)
        rng = np.random.default_rng(1000 + seed)
        labels = (rng.random(3000) < truth).astype(int)
        calibration = fit_calibration(labels[:2000], risks[:2000])
        assert calibration is not None
        found = estimate_performance(calibration, risks[2000:], 100, seed=seed)
        realized = compute_metrics(
            labels[2000:],
            risks[2000:],
            threshold=0.5,
            k=100,
            resamples=0,
            names=("roc_auc", "precision_at_k"),
        )
        auc, precision = realized["roc_auc"].value, realized["precision_at_k"].value
        assert auc is not None and precision is not None and found.roc_auc is not None
        inside.append(
            (
                found.roc_auc_low <= auc <= found.roc_auc_high,  # type: ignore[operator]
                found.precision_at_k_low <= precision <= found.precision_at_k_high,  # type: ignore[operator]
            )
        )
        errors.append((found.roc_auc - auc, found.precision_at_k - precision))  # type: ignore[operator]
    coverage, bias = np.mean(inside, axis=0), np.mean(errors, axis=0)
    assert coverage[0] >= 0.85 and coverage[1] >= 0.85, coverage
    # the mean error of 60 worlds has a standard error of about 0.004 (AUC) and 0.01 (p@100)
    assert abs(bias[0]) < 0.015 and abs(bias[1]) < 0.035, bias


def test_the_estimate_names_its_size_its_calibration_and_its_blind_spot() -> None:
    risks, truth = _world(7, 1500)
    labels = (np.random.default_rng(7).random(1500) < truth).astype(int)
    calibration = fit_calibration(labels[:1000], risks[:1000], "testdata")
    assert calibration is not None
    found = estimate_performance(calibration, risks[1000:], 50).to_dict()
    assert found["k"] == 50 and found["n"] == 500
    assert found["calibration_rows"] == 1000 and found["calibration_source"] == "testdata"
    assert found["blind_to"] == "concept drift"
    assert found["roc_auc_low"] <= found["roc_auc"] <= found["roc_auc_high"]
    assert found["precision_at_k_low"] <= found["precision_at_k"] <= found["precision_at_k_high"]


def test_expected_leavers_sum_the_calibrated_chances_with_a_band() -> None:
    risks = np.repeat([0.2, 0.8], 100)
    labels = np.r_[np.zeros(80), np.ones(20), np.zeros(20), np.ones(80)]
    calibration = fit_calibration(labels, risks)
    assert calibration is not None
    found = expected_leavers(calibration, np.repeat([0.8], 10))
    assert found.leavers == pytest.approx(8.0)
    spread = 1.96 * np.sqrt(10 * 0.8 * 0.2)
    assert (found.low, found.high) == pytest.approx((8 - spread, min(10, 8 + spread)), abs=0.01)
    assert found.to_dict()["clients"] == 10


def test_one_new_client_has_no_expected_auc_but_an_expected_precision() -> None:
    risks, truth = _world(3, 1001)
    labels = (np.random.default_rng(3).random(1001) < truth).astype(int)
    calibration = fit_calibration(labels[:1000], risks[:1000])
    assert calibration is not None
    found = estimate_performance(calibration, risks[1000:], 100)
    assert found.roc_auc is None and found.roc_auc_low is None and found.n == 1
    assert found.precision_at_k is not None and 0 < found.precision_at_k < 1
    low, high = found.precision_at_k_low, found.precision_at_k_high
    assert low is not None and high is not None and high - low > 0.9  # it leaves or it does not
