"""Model choice: the kind trained on the data at hand, and whether a model can rank at all."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskwatch.model.choice import AUTO_HGB_ROWS, choose_kind, folds_for, ranking_check
from riskwatch.model.metrics import Metric
from riskwatch.schema import TARGET


def rows(count: int, leavers: int) -> pd.DataFrame:
    """Clients whose last month's activity tells who left."""
    rng = np.random.default_rng(2)
    left = np.zeros(count, dtype=int)
    left[:leavers] = 1
    return pd.DataFrame(
        {
            "lastmonth_activity": np.where(left == 1, 1, 30) + rng.integers(0, 5, size=count),
            "lastyear_activity": rng.integers(100, 400, size=count),
            "number_of_employees": rng.integers(1, 300, size=count),
            TARGET: left,
        }
    )


def test_folds_are_at_most_five_and_at_most_the_smaller_class() -> None:
    assert folds_for(pd.Series([0] * 50 + [1] * 50)) == 5
    assert folds_for(pd.Series([0] * 50 + [1] * 3)) == 3


def test_auto_on_large_data_compares_the_kinds_on_a_held_out_split_and_says_the_scores() -> None:
    choice = choose_kind("auto", rows(AUTO_HGB_ROWS, 200), seed=0)
    assert choice.kind in {"hgb", "logistic", "classic"}
    assert choice.cv == {}  # one held-out split, not cross-validation
    assert choice.reason.startswith(
        "auto: 2,000 rows, at least 2,000; best ROC AUC on a held-out 25% (500 rows, each kind "
        "fit on the other 1,500): hgb "
    )
    assert "logistic" in choice.reason and "classic" in choice.reason


def test_auto_on_small_data_picks_the_best_cross_validated_kind_and_says_the_scores() -> None:
    choice = choose_kind("auto", rows(120, 40), seed=0, resamples=50)
    assert set(choice.cv) == {"hgb", "logistic", "classic"}
    assert choice.reason.startswith("auto: 120 rows, fewer than 2,000; best cross-validated")
    best = max(choice.cv.values(), key=lambda found: found["roc_auc"]["value"])
    assert choice.cv[choice.kind] == best
    assert choice.to_dict()["setting"] == "auto"


def test_auto_with_one_leaver_falls_back_to_logistic_and_says_why() -> None:
    choice = choose_kind("auto", rows(30, 1), seed=0)
    assert choice.kind == "logistic"
    assert "too few rows of each class to cross-validate (30 rows)" in choice.reason


def test_a_kind_set_in_the_config_is_honoured() -> None:
    choice = choose_kind("classic", rows(60, 20), seed=0, resamples=50)
    assert (choice.kind, choice.reason, list(choice.cv)) == (
        "classic",
        "set by model_kind",
        ["classic"],
    )


def test_a_model_giving_everyone_the_same_risk_cannot_rank() -> None:
    check = ranking_check(np.full(40, 0.25), Metric(0.5, 0.4, 0.6), None, 40)
    assert check == {
        "better_than_chance": False,
        "reason": "it gives every one of the 40 training clients the same risk, 25.0%: "
        "it cannot rank them",
    }


def test_an_interval_above_chance_is_the_evidence_that_a_model_ranks() -> None:
    risks = np.linspace(0, 1, 10)
    good = ranking_check(risks, Metric(0.8, 0.7, 0.9), None, 300)
    assert good == {
        "better_than_chance": True,
        "reason": "ROC AUC 0.800 [95 % CI 0.700-0.900] on the holdout (300 rows)",
    }
    cv = {"folds": 5, "rows": 1000, "roc_auc": {"value": 0.6, "low": 0.45, "high": 0.7}}
    weak = ranking_check(risks, Metric(0.55, None, None), cv, 20)
    assert weak["better_than_chance"] is False
    assert weak["reason"] == (
        "ROC AUC 0.550 (no interval) on the holdout (20 rows); 0.600 [95 % CI 0.450-0.700] on "
        "5-fold cross-validation (1,000 rows): no interval lies above 0.5 (chance)"
    )
