"""The verdict on new rows: retrain on a worse score or drifted data, and the check held."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.model.metrics import Metric
from riskwatch.model.registry import METADATA_FILE, load_deployed
from riskwatch.monitoring.calibrations import Calibrations
from riskwatch.monitoring.drift import FeatureDrift
from riskwatch.monitoring.evidence import Newest, judged_rows, read_reference
from riskwatch.monitoring.performance import PerformanceDrift
from riskwatch.monitoring.verdict import (
    DriftCheck,
    Evaluation,
    beside,
    check_drift,
    decide,
    judge,
    newest_check,
)
from riskwatch.schema import FEATURES
from riskwatch.storage.files import read_json

from ..conftest import Workspace, private_copy, workspace_settings


def feature(name: str, drifted: bool) -> FeatureDrift:
    return FeatureDrift(name, "ks", 0.1, 0.5, 0.05, 500, 500, 0.0, 0.2, drifted, False)


def performance(decision: str, evidence: str) -> PerformanceDrift:
    current = Metric(0.70, 0.68, 0.72)
    return PerformanceDrift("interval", "roc_auc", 0.77, current, 500, decision, evidence)


def check(drifted: list[str], decision: str, evidence: str = "Evidence.") -> DriftCheck:
    features = [feature(name, name in drifted) for name in FEATURES]
    empty = np.empty(0)
    return DriftCheck(features, None, performance(decision, evidence), "", {}, empty, empty)


def test_a_worse_score_retrains_with_its_evidence_as_the_reason() -> None:
    assert decide(check([], "retrain", "The score dropped.")) == (True, "The score dropped")


def test_drifted_columns_retrain_even_when_the_score_holds() -> None:
    retrain, reason = decide(check(["lastmonth_activity"], "keep", "No evidence."))
    assert retrain
    assert reason == "No evidence; data drift in lastmonth_activity"


def test_no_drift_and_no_drop_keeps_the_model() -> None:
    assert decide(check([], "keep", "No evidence it got worse.")) == (
        False,
        "No evidence it got worse",
    )
    assert decide(check([], "not enough evidence", "Only 150 rows."))[0] is False


def test_a_check_without_a_reference_keeps_and_says_why() -> None:
    empty = np.empty(0)
    found = DriftCheck([], None, None, "no reference sample", {}, empty, empty)
    assert decide(found) == (False, "no reference sample")


def newest(batch_id: int | None, in_training: bool = False) -> Newest:
    return Newest("month_02.csv", batch_id, pd.DataFrame(), in_training)


def test_a_held_evaluation_covers_only_the_same_model_on_exactly_the_newest_batch() -> None:
    held = Evaluation("v1", "abc", (2,), 500, check([], "keep"), False, "")
    assert held.covers("abc", newest(2))
    assert not held.covers("def", newest(2))  # another model: a retrain was promoted
    assert not held.covers("abc", newest(3))
    assert not held.covers("abc", newest(2, in_training=True))
    assert not held.covers("abc", newest(None))
    several = dataclasses.replace(held, batch_ids=(1, 2))  # the newest batch is only part
    assert not several.covers("abc", newest(2))


def test_judging_the_new_rows_records_the_check_and_the_verdict(deployed_ws: Workspace) -> None:
    settings = deployed_ws.settings
    deployed, model = load_deployed(settings.prod_deployment_path)
    rows = judged_rows(settings, [2])
    judged = judge(settings, deployed, model, rows, [2])
    assert (judged.version, judged.sha256) == (deployed.version, deployed.sha256)
    assert (judged.batch_ids, judged.rows) == ((2,), len(rows))
    assert [f.feature for f in judged.check.features] == list(FEATURES)
    assert (judged.retrain, judged.reason) == decide(judged.check)
    recorded = json.loads(json.dumps(judged.to_dict()))
    assert set(recorded) == {
        "version",
        "rows",
        "performance",
        "data_drift",
        "prediction_drift",
        "reason",
    }
    assert recorded["performance"]["rows"] == len(rows)


def test_the_newest_check_is_the_held_one_when_it_covers_the_rows_and_equal_to_a_new_one(
    deployed_ws: Workspace,
) -> None:
    settings = deployed_ws.settings
    deployed, model = load_deployed(settings.prod_deployment_path)
    rows = judged_rows(settings, [2])
    held = judge(settings, deployed, model, rows, [2])
    reference = read_reference(settings, deployed)
    metadata = read_json(deployed.folder / METADATA_FILE) or {}
    shown = Newest("month_02.csv", 2, rows, in_training=False)

    kept = newest_check(
        settings, model, reference, shown, metadata, sha256=deployed.sha256, held=held
    )
    assert kept is held.check
    made = newest_check(settings, model, reference, shown, metadata, sha256="another", held=held)
    assert made is not held.check
    # Both are the same numbers: showing the held check changes nothing a reader sees.
    assert [f.to_dict() for f in made.features] == [f.to_dict() for f in kept.features]
    assert made.performance == kept.performance
    assert made.newest_metrics == kept.newest_metrics
    again = check_drift(settings, model, reference, shown, metadata)
    assert again.prediction == kept.prediction


def test_a_batch_of_two_rows_asks_no_retrain_for_drift_and_says_it_was_not_judged(
    deployed_ws: Workspace,
) -> None:
    settings = deployed_ws.settings
    deployed, model = load_deployed(settings.prod_deployment_path)
    rows = judged_rows(settings, [2]).head(2)
    judged = judge(settings, deployed, model, rows, [2])
    check = judged.check
    assert [f.judged for f in check.features] == [False] * len(FEATURES)
    assert check.prediction is not None and not check.prediction.judged
    assert check.multivariate is not None and not check.multivariate.judged
    assert not judged.retrain
    assert "data drift" not in judged.reason
    recorded = json.loads(json.dumps(judged.to_dict() | beside(check)))
    assert all(d["psi"] is None for d in recorded["data_drift"])
    assert recorded["multivariate_drift"]["auc"] is None


def test_the_calibration_is_made_once_per_model_and_passed_on(deployed_ws: Workspace) -> None:
    settings = deployed_ws.settings
    deployed, model = load_deployed(settings.prod_deployment_path)
    held = Calibrations()
    judged = judge(settings, deployed, model, judged_rows(settings, [2]), [2], calibrations=held)
    assert judged.check.estimated is not None
    made = held.found[deployed.sha256]
    assert list(held.found) == [deployed.sha256]
    assert held.of(settings, model, deployed.sha256) is made  # the call list reuses it


def test_an_error_in_the_estimate_is_logged_and_recorded_and_the_check_goes_on(
    deployed_template: Callable[..., Path],
    tmp_path_factory: pytest.TempPathFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = private_copy(deployed_template(months=3, seed=3, later=1), tmp_path_factory, "bad")
    settings = workspace_settings(path)
    holdout = settings.test_data_path / "testdata.csv"
    good = holdout.read_text()
    holdout.write_text(good + "broken,row\n")
    deployed, model = load_deployed(settings.prod_deployment_path)
    held = Calibrations()
    rows = judged_rows(settings, [2])
    with caplog.at_level(logging.WARNING):
        judged = judge(settings, deployed, model, rows, [2], calibrations=held)
    reason = judged.check.estimate_unavailable
    assert reason.startswith("estimate unavailable: ")
    assert reason in caplog.text
    assert judged.check.estimated is None
    assert judged.check.performance is not None and len(judged.check.features) == len(FEATURES)
    assert beside(judged.check)["estimate_unavailable"] == reason
    # The failure is held: the call list hears the same reason without a second attempt.
    holdout.write_text(good)
    with pytest.raises(Exception, match=reason.removeprefix("estimate unavailable: ")[:20]):
        held.of(settings, model, deployed.sha256)
