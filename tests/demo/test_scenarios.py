"""The gradual and seasonal demo scenarios: their worlds month by month, and their truth."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from riskwatch.demo.portfolio import (
    BASELINE_RULE,
    CONCEPT_RULE,
    SEASON_DIP,
    SEASON_RULE,
    simulate,
    world,
)
from riskwatch.demo.workspace import create_demo


def test_gradual_drift_reaches_the_concept_rule_in_four_steps() -> None:
    rules = [world("gradual", 5, month).rule for month in range(3, 10)]
    assert rules[:2] == [BASELINE_RULE, BASELINE_RULE]
    drops = [rule.drop_weight for rule in rules[2:6]]
    assert drops == [2.5, 2.0, 1.5, 1.0]
    assert rules[5] == CONCEPT_RULE
    assert rules[6] == CONCEPT_RULE


def test_seasonal_slow_months_recur_from_the_drift_month() -> None:
    slow = [m for m in range(1, 13) if world("seasonal", 5, m).slowdown < 1]
    assert slow == [5, 6, 9, 10]
    assert world("seasonal", 5, 5).rule == SEASON_RULE
    assert world("seasonal", 5, 7).rule == BASELINE_RULE


def test_seasonal_slow_months_show_less_activity_but_no_more_leavers() -> None:
    months = list(simulate(2_000, 6, "seasonal", 5, seed=3))
    busy, slow = months[3], months[4]
    ratio = slow["lastmonth_activity"].mean() / busy["lastmonth_activity"].mean()
    assert abs(ratio - SEASON_DIP) < 0.08
    assert abs(slow["exited"].mean() - busy["exited"].mean()) < 0.02


def test_earlier_scenarios_share_the_months_before_the_drift() -> None:
    gradual = list(simulate(300, 4, "gradual", 3, seed=1))
    concept = list(simulate(300, 4, "concept", 3, seed=1))
    pd.testing.assert_frame_equal(gradual[1], concept[1])
    assert not gradual[2]["true_probability"].equals(concept[2]["true_probability"])


def test_demo_writes_the_truth_of_a_gradual_drift(tmp_path: Path) -> None:
    create_demo(tmp_path / "ws", months=6, clients=200, scenario="gradual", drift_month=3)
    truth = json.loads((tmp_path / "ws" / "truth" / "truth.json").read_text())
    assert truth["scenario"] == "gradual"
    assert "25% step a month over 4 months" in truth["change"]
    assert truth["rule"]["after"] == CONCEPT_RULE.describe()
    probabilities = pd.read_csv(tmp_path / "ws" / "truth" / "probabilities.csv")
    assert sorted(probabilities["month"].unique()) == [0, 1, 2, 3, 4, 5, 6]
