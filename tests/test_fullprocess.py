"""One monitored cycle: the decisions on the demo scenarios, recording, failures, the fast path."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from riskwatch.config import Settings
from riskwatch.demo import create_demo, release_month
from riskwatch.fullprocess import CycleResult, run_cycle
from riskwatch.fullprocess.record import read_mark
from riskwatch.fullprocess.replay import replay_demo
from riskwatch.masterdata import read_master
from riskwatch.metrics import compute_metrics
from riskwatch.models import predict_risk
from riskwatch.registry import load_deployed, load_model, read_deployment
from riskwatch.schema import BATCH_COLUMN, TARGET
from riskwatch.store import Store, batches, cycles, promotions

from .conftest import api_settings

DRIFT_MONTH = 4


def demo(path: Path, *, scenario: str, months: int, clients: int = 10_000) -> Settings:
    """A demo workspace with month 1 released, and settings for tests (no index off-machine)."""
    drift = DRIFT_MONTH if scenario != "none" else None
    create_demo(path, months=months, seed=42, clients=clients, scenario=scenario, drift_month=drift)
    return dataclasses.replace(api_settings(path), bootstrap_resamples=200)


def outcomes(results: list[CycleResult]) -> list[str]:
    return [r.outcome for r in results]


@pytest.fixture(scope="module")
def concept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[CycleResult]]:
    """10,000 clients whose relation to leaving changes at month 4; one cycle a month."""
    settings = demo(tmp_path_factory.mktemp("concept") / "ws", scenario="concept", months=6)
    return settings, _replay(settings)


def _replay(settings: Settings) -> list[CycleResult]:
    results = []
    for month in range(1, 1 + 6):
        release_month(settings.workspace, month)
        results.append(run_cycle(settings, report=False))
    return results


def test_concept_drift_retrains_and_promotes_at_the_first_drifted_cycle_only(
    concept: tuple[Settings, list[CycleResult]],
) -> None:
    settings, results = concept
    assert [r.error for r in results] == [None] * 6
    assert outcomes(results) == ["initial", "kept", "kept", "promoted", "kept", "kept"]
    judged = results[DRIFT_MONTH - 1].steps
    evaluate = next(s for s in judged if s.name == "evaluate")
    assert evaluate.outcome == "retrain"
    assert evaluate.detail["performance"]["decision"] == "retrain"
    retrain = next(s for s in judged if s.name == "retrain")
    gate = retrain.detail["gate"]
    assert gate["promoted"] and gate["challenger_value"] > gate["production_value"] + 0.01
    with Store(settings.database_url) as store:
        promoted = [row for row in store.rows(promotions) if row["promoted"]]
    assert len(promoted) == 2  # the initial model and the retrain at the drift month


def test_precision_at_k_recovers_after_the_promotion(
    concept: tuple[Settings, list[CycleResult]],
) -> None:
    settings, results = concept
    initial = results[0].steps[2].detail["version"]
    deployed, model = load_deployed(settings.prod_deployment_path)
    assert deployed.version != initial
    old = load_model(settings.output_model_path, initial)
    master = read_master(settings.output_folder_path)
    # K = 500: at the demo's K = 100 both models find the same obvious leavers (small firms
    # with no activity last month); the changed rule shows further down the list.
    for month in (DRIFT_MONTH + 1, DRIFT_MONTH + 2):  # months neither model trained on
        rows = master[master[BATCH_COLUMN] == month]
        assert _precision_at(500, model, rows) > _precision_at(500, old, rows) + 0.03


def _precision_at(k: int, model: object, rows: object) -> float:
    risks = predict_risk(model, rows)  # type: ignore[arg-type]
    found = compute_metrics(
        rows[TARGET].to_numpy(),  # type: ignore[index]
        risks,
        threshold=0.5,
        k=k,
        resamples=0,
        seed=0,
        names=("precision_at_k",),
    )["precision_at_k"].value
    assert found is not None
    return found


def test_a_cycle_with_no_new_data_changes_nothing(
    concept: tuple[Settings, list[CycleResult]],
) -> None:
    settings, _ = concept
    master = settings.output_folder_path / "finaldata.parquet"
    before = (master.stat().st_mtime_ns, read_deployment(settings.prod_deployment_path))
    result = run_cycle(settings)
    assert result.outcome == "no new data" and result.error is None
    assert [s.name for s in result.steps] == ["new data"]
    assert (master.stat().st_mtime_ns, read_deployment(settings.prod_deployment_path)) == before
    with Store(settings.database_url) as store:
        last = store.rows(cycles, newest_first=True, limit=1)[0]
    assert last["id"] == result.cycle_id and last["outcome"] == "no new data"


def test_without_drift_nothing_is_promoted_after_the_initial_model(tmp_path: Path) -> None:
    settings = demo(tmp_path / "ws", scenario="none", months=5)
    results = replay_demo(settings, months=5)
    assert outcomes(results) == ["initial", "kept", "kept", "kept", "kept"]
    with Store(settings.database_url) as store:
        assert [row["promoted"] for row in store.rows(promotions)] == [True]
        recorded = store.rows(cycles)
    assert [row["outcome"] for row in recorded] == outcomes(results)
    assert all(row["finished_at"] for row in recorded)
    assert (settings.reports_path / "report.html").is_file()  # built on the last cycle


def test_a_failing_step_stops_the_cycle_keeps_what_finished_and_the_next_cycle_resumes(
    tmp_path: Path,
) -> None:
    settings = demo(tmp_path / "ws", scenario="none", months=2, clients=2000)
    holdout = settings.test_data_path / "testdata.csv"
    good = holdout.read_text()
    holdout.write_text(good + "broken,-1,x,3,0\n")
    failed = run_cycle(settings)
    assert failed.outcome == "failed"
    assert failed.error is not None and failed.error.startswith("initial model:")
    assert "testdata.csv" in failed.error and "line" in failed.error
    assert read_deployment(settings.prod_deployment_path) is None  # nothing downstream ran
    assert [s.name for s in failed.steps][-1] == "initial model"
    with Store(settings.database_url) as store:
        assert len(store.rows(batches, status="ingested")) == 1  # the ingestion stays done
        assert store.rows(cycles, newest_first=True)[0]["error"] == failed.error
    assert read_mark(settings) is not None
    holdout.write_text(good)
    resumed = run_cycle(settings)  # no new data, but the unfinished work is done now
    assert resumed.outcome == "initial", resumed.error
    assert resumed.steps[0].outcome == "an unfinished cycle's work"
    assert read_mark(settings) is None
    assert read_deployment(settings.prod_deployment_path) is not None


def test_the_no_new_data_command_imports_no_pandas_sklearn_or_sqlalchemy(tmp_path: Path) -> None:
    settings = demo(tmp_path / "ws", scenario="none", months=2, clients=2000)
    assert run_cycle(settings, report=False).outcome == "initial"
    probe = (
        "import sys\n"
        "from riskwatch.cli import main\n"
        "code = main(['run', '--json'])\n"
        "names = ('pandas', 'sqlalchemy', 'sklearn', 'pyarrow', 'numpy')\n"
        "heavy = sorted(m for m in names if m in sys.modules)\n"
        "sys.stderr.write(f'HEAVY={heavy} CODE={code}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=settings.workspace,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "RISKWATCH_PACKAGE_INDEX_URL": "http://127.0.0.1:9/"},
    )
    assert "HEAVY=[] CODE=0" in result.stderr, result.stderr
    assert json.loads(result.stdout)["outcome"] == "no new data"
    with Store(settings.database_url) as store:
        assert store.rows(cycles, newest_first=True)[0]["outcome"] == "no new data"
