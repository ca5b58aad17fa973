"""The cycle's steps: the clients that judge a retrain; the ingest step's quarantine words."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.demo.workspace import release_month
from riskwatch.fullprocess.steps import EVALUATION_SHARE, Held, initial_step, split_for_judging
from riskwatch.model.registry import load_deployed
from riskwatch.reporting.gather import holdout_scores
from riskwatch.storage.store import Store, cycles

from ..conftest import OFFLINE_INDEX, demo, run


def test_half_the_new_clients_are_kept_to_judge_a_retrain_all_their_rows_and_seeded() -> None:
    rows = pd.DataFrame({"corporation": [f"c{n % 40}" for n in range(100)], "x": range(100)})
    judged, mask = split_for_judging(rows, seed=7)
    chosen = set(judged["corporation"])
    assert len(chosen) == int(40 * EVALUATION_SHARE)
    # Every row of a chosen client is judged, and no row of the others.
    assert np.array_equal(mask, rows["corporation"].isin(chosen).to_numpy())
    assert list(judged.index) == list(range(len(judged)))
    again, _ = split_for_judging(rows.sample(frac=1, random_state=1), seed=7)
    assert set(again["corporation"]) == chosen  # the same clients, whatever the row order
    other, _ = split_for_judging(rows, seed=8)
    assert set(other["corporation"]) != chosen


def _command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run(*args, cwd=cwd, env={"RISKWATCH_PACKAGE_INDEX_URL": OFFLINE_INDEX}, timeout=300)


def _spoil(drop: Path) -> None:
    """Break 5 rows of a released drop: 3 negative activities, 2 impossible exits."""
    lines = drop.read_text().splitlines()
    for number in (2, 5, 9):
        fields = lines[number].split(",")
        lines[number] = ",".join([fields[0], "-3", *fields[2:]])
    for number in (20, 30):
        lines[number] = lines[number].rsplit(",", 1)[0] + ",2"
    drop.write_text("\n".join(lines) + "\n")


def _ingest_record(settings: Settings) -> dict[str, object]:
    with Store(settings.database_url) as store:
        steps = store.rows(cycles, newest_first=True, limit=1)[0]["steps"]
    return next(step for step in steps if step["name"] == "ingest")


QUARANTINED_ROWS = {"lastmonth_activity is negative": 3, "exited must be 0 or 1": 2}


def test_a_cycle_names_the_quarantined_rows_of_a_drop_in_its_output_record_and_report(
    tmp_path: Path,
) -> None:
    settings = demo(tmp_path / "ws", scenario="none", months=2, clients=500)
    _spoil(settings.workspace / "sourcedata" / "month_01.csv")
    first = _command("run", "--json", cwd=settings.workspace)
    assert first.returncode == 0, first.stderr
    where = "ingesteddata/quarantine/batch000001-month_01.csv.rows.csv"
    ingest = json.loads(first.stdout)["steps"][1]
    assert ingest["outcome"] == f"1 batch, 495 rows added, 5 rows quarantined (see {where})"
    assert ingest["detail"]["rows_quarantined"] == 5
    expected = {"batch": "month_01.csv", "whole_file": False, "rows": 5, "file": where}
    assert ingest["detail"]["quarantined"] == [expected | {"reasons": QUARANTINED_ROWS}]
    assert _ingest_record(settings)["detail"] == ingest["detail"]
    assert (settings.workspace / where).is_file()

    release_month(settings.workspace, 2)
    _spoil(settings.workspace / "sourcedata" / "month_02.csv")
    second = _command("run", cwd=settings.workspace)
    assert second.returncode == 0, second.stderr
    where = where.replace("000001-month_01", "000002-month_02")
    # A client whose row did not change is a duplicate: month 2 may add a few rows less.
    assert re.search(
        rf"1 batch, 4\d\d rows added, 5 rows quarantined \(see {where}\)", second.stdout
    )
    reasons = "lastmonth_activity is negative: 3, exited must be 0 or 1: 2"
    assert f"quarantined: month_02.csv: 5 rows ({reasons})" in second.stdout
    assert _ingest_record(settings)["detail"]["rows_quarantined"] == 5  # type: ignore[index]
    report = (settings.reports_path / "report.html").read_text()
    table = report[report.index("Missing data and quarantined rows") :]
    assert '<td>any column</td><td class="number"></td><td class="number"></td>' in table
    assert '<td class="number">5</td></tr>' in table.split("</table>")[0]
    assert f"month_02.csv: 5 rows quarantined ({reasons}), in {where}" in table


def test_the_first_model_is_deployed_with_the_holdout_scores_its_report_would_make(
    demo_settings: Settings,
) -> None:
    # The report shows these instead of scoring the model again: they must be the same scores.
    held = Held()
    with Store(demo_settings.database_url) as store:
        step = initial_step(demo_settings, store, held)
        assert step.outcome == "deployed"
        deployed, model = load_deployed(demo_settings.prod_deployment_path)
        scored = holdout_scores(demo_settings, model, deployed, None)
    assert held.holdout is not None
    assert held.holdout.sha256 == deployed.sha256
    assert np.array_equal(held.holdout.risks, scored.risks)
    assert np.array_equal(held.holdout.labels, scored.labels)
    assert held.holdout.metrics == scored.metrics
    assert step.detail["holdout"]["roc_auc"] == scored.metrics["roc_auc"].value
