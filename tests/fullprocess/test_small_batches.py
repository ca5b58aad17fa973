"""A cycle on a drop of a few rows judges no drift, and an estimate that fails stops no step."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from riskwatch.demo.workspace import release_month
from riskwatch.fullprocess import CycleResult, run_cycle
from riskwatch.fullprocess.ingeststep import ingest_step
from riskwatch.fullprocess.steps import Held, calllist_step, evaluate_step
from riskwatch.ingestion import check
from riskwatch.storage.store import Store

from ..conftest import Workspace, copy_workspace

TWO_ROWS = (
    "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n"
    "tiny000001,3,40,2,0\n"
    "tiny000002,900,9000,800,1\n"
)


def steps(result: CycleResult) -> dict[str, dict[str, Any]]:
    """Each step's detail as `run --json` prints it."""
    printed = json.loads(json.dumps(result.to_dict(), default=str))
    return {step["name"]: step["detail"] for step in printed["steps"]}


@pytest.fixture
def cycled(deployed_template: Callable[..., Path], tmp_path: Path) -> Workspace:
    """The deployed demo after a cycle on month 2, so the next one judges only what arrives
    next."""
    ws = copy_workspace(deployed_template(months=3, seed=3), tmp_path)
    release_month(ws.path, 2)
    run_cycle(ws.settings, report=False)
    return ws


def test_a_cycle_on_a_two_row_drop_judges_no_drift_and_asks_no_retrain_for_it(
    cycled: Workspace,
) -> None:
    (cycled.path / "sourcedata" / "tiny.csv").write_text(TWO_ROWS, encoding="utf-8")
    result = run_cycle(cycled.settings)
    evaluate = steps(result)["evaluate"]
    assert evaluate["rows"] == 2
    assert [d["judged"] for d in evaluate["data_drift"]] == [False] * 3
    assert all(d["drifted"] is False and d["psi"] is None for d in evaluate["data_drift"])
    assert evaluate["prediction_drift"]["judged"] is False
    assert evaluate["multivariate_drift"]["judged"] is False
    assert "data drift" not in evaluate["reason"]
    html = (cycled.path / "reports" / "report.html").read_text(encoding="utf-8")
    assert "not judged: only 2 rows (at least 10 needed)" in html


def test_an_estimate_that_fails_is_recorded_as_unavailable_and_the_steps_go_on(
    cycled: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    # The holdout gains a bad row after the model was trained: its calibration cannot be made.
    # (Other steps read the holdout too and stop on it; the estimate's steps must not.)
    settings = cycled.settings
    release_month(cycled.path, 3)
    holdout = settings.test_data_path / "testdata.csv"
    holdout.write_text(holdout.read_text() + "broken,row\n", encoding="utf-8")
    held = Held()
    with Store(settings.database_url) as store, caplog.at_level(logging.WARNING):
        found = ingest_step(settings, store, check(settings))
        batch_ids = found.detail["judged_batch_ids"]
        evaluate = evaluate_step(settings, store, batch_ids, held).detail
        listed = calllist_step(settings, store, None, held)[0].detail
    reason = evaluate["estimate_unavailable"]
    assert reason.startswith("estimate unavailable: ") and reason in caplog.text
    assert evaluate["estimated"] is None and evaluate["performance"] is not None
    assert listed["estimate_unavailable"] == listed["reason"] == reason
    assert listed["expected_leavers"] is None and listed["clients"] > 0
