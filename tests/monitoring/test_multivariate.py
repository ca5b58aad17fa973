"""The domain classifier: no drift where the samples share a distribution, drift where not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskwatch.monitoring.multivariate import (
    domain_drift,
    judged_domain_drift,
    permutation_threshold,
)

COLUMNS = ("a", "b", "c")


def _frame(
    rng: np.random.Generator, rows: int, *, shift: float = 0.0, together: float = 0.0
) -> pd.DataFrame:
    a = rng.normal(size=rows)
    b = together * a + np.sqrt(1 - together**2) * rng.normal(size=rows)
    return pd.DataFrame({"a": a + shift, "b": b, "c": rng.poisson(5, rows)})


def test_one_distribution_gives_an_auc_near_a_half_and_no_drift() -> None:
    rng = np.random.default_rng(0)
    found = domain_drift(_frame(rng, 5000), _frame(rng, 1500), COLUMNS, seed=1)
    assert found is not None
    assert abs(found.auc - 0.5) < 0.03
    assert not found.drifted
    assert (found.n_reference, found.n_newest) == (2000, 1500)  # the reference sampled down


def test_a_shifted_feature_is_drift() -> None:
    rng = np.random.default_rng(0)
    found = domain_drift(_frame(rng, 3000), _frame(rng, 1000, shift=0.3), COLUMNS)
    assert found is not None and found.drifted
    assert found.auc > found.threshold > 0.5
    assert "drifted" in found.summary() and "1,000 rows" in found.summary()


def test_features_that_now_move_together_are_drift_though_each_looks_the_same() -> None:
    rng = np.random.default_rng(0)
    found = domain_drift(_frame(rng, 3000), _frame(rng, 1000, together=0.6), COLUMNS)
    assert found is not None and found.drifted


def test_the_permutation_threshold_is_what_shuffled_labels_reach() -> None:
    scores = np.random.default_rng(2).random(2000)
    threshold = permutation_threshold(scores, 1000, seed=0)
    # the Mann-Whitney null: sd √((n0 + n1 + 1) / (12 n0 n1)) = 0.0129; its 99th percentile ≈ 0.530
    assert 0.515 < threshold < 0.545


def test_too_few_rows_give_no_verdict() -> None:
    rng = np.random.default_rng(0)
    assert domain_drift(_frame(rng, 3000), _frame(rng, 20), COLUMNS) is None
    assert domain_drift(_frame(rng, 3000), _frame(rng, 500), ("missing",)) is None


def test_a_batch_below_the_minimum_is_not_judged_and_says_so_once() -> None:
    rng = np.random.default_rng(0)
    found = judged_domain_drift(_frame(rng, 3000), _frame(rng, 2), COLUMNS, min_rows=500)
    assert found is not None
    assert (found.judged, found.drifted, found.auc, found.n_newest) == (False, False, None, 2)
    assert found.summary() == (
        "Multivariate drift (all features together): not judged: only 2 rows (at least 500 needed)"
    )


def test_the_verdict_line_names_the_check_once() -> None:
    rng = np.random.default_rng(0)
    found = judged_domain_drift(_frame(rng, 3000), _frame(rng, 1000), COLUMNS, min_rows=500)
    assert found is not None and found.judged and found.min_rows == 500
    line = found.summary()
    assert line.startswith("Multivariate drift (all features together): not drifted — ")
    assert line.lower().count("all features together") == 1


def test_a_batch_under_the_classifiers_own_floor_is_not_judged_and_names_that_floor() -> None:
    rng = np.random.default_rng(0)
    found = judged_domain_drift(_frame(rng, 3000), _frame(rng, 20), COLUMNS, min_rows=10)
    assert found is not None and not found.judged
    assert found.summary().endswith("not judged: only 20 rows (at least 50 needed)")
