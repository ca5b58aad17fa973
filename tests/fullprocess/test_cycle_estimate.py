"""The label-free estimate and the multivariate check on every judged cycle of a concept drift
(a module of its own: its 10,000-client cycles then run beside test_cycle.py's on a second
worker)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from riskwatch.config import Settings
from riskwatch.fullprocess import CycleResult

from ..conftest import DRIFT_MONTH, demo
from .conftest import replay_months

# The drift's month and the one after it: every check below runs on a month before the drift,
# on the drifted month and on one judged after it (months 5 and 6 checked nothing else).
MONTHS = DRIFT_MONTH + 1


@pytest.fixture(scope="module")
def concept_hgb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[CycleResult]]:
    """test_cycle.py's concept months with model_kind = hgb, the kind `auto` trained from 2,000
    rows when the label-free estimate's checks were written (auto compares the kinds since
    issue 16); the demo as before (six months drawn), its first five replayed."""
    settings = demo(tmp_path_factory.mktemp("concept_hgb") / "ws", scenario="concept", months=6)
    settings = dataclasses.replace(settings, model_kind="hgb")
    return settings, replay_months(settings, MONTHS)


def test_every_judged_cycle_carries_a_label_free_estimate_and_a_multivariate_check(
    concept_hgb: tuple[Settings, list[CycleResult]],
) -> None:
    """What `run --json` prints: the estimate beside the realized figures, the domain
    classifier beside the per-feature tests, expected leavers on the call list."""
    _, results = concept_hgb
    printed = [json.loads(json.dumps(r.to_dict(), default=str)) for r in results]
    for month, cycle in enumerate(printed, start=1):
        steps = {step["name"]: step["detail"] for step in cycle["steps"]}
        listed = steps["call list"]["expected_leavers"]
        assert 0 < listed["low"] <= listed["leavers"] <= listed["high"] <= listed["clients"]
        if month == 1:  # the initial model judged nothing
            continue
        estimated, domain = steps["evaluate"]["estimated"], steps["evaluate"]["multivariate_drift"]
        assert estimated["blind_to"] == "concept drift" and estimated["k"] == 100
        assert estimated["n"] > 9_000 and estimated["calibration_rows"] == 2_000
        assert 0.6 < estimated["roc_auc_low"] <= estimated["roc_auc"] <= estimated["roc_auc_high"]
        realized = estimated["realized"]["roc_auc"]
        if month < DRIFT_MONTH:  # the world the holdout comes from: the estimate holds
            assert estimated["roc_auc_low"] <= realized <= estimated["roc_auc_high"]
        if month == DRIFT_MONTH:  # the same clients now leave for other reasons: it cannot see
            assert realized < estimated["roc_auc_low"]
        assert 0.4 < domain["auc"] < 0.6 and domain["threshold"] > 0.5
        assert domain["drifted"] is False  # the concept scenario moves no feature
        assert domain["n_newest"] == 2_000
