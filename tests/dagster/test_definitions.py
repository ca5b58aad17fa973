"""riskwatch's cycle run by Dagster in-process: recorded, materialized, checked, sensed."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import dagster as dg
import pytest

from riskwatch.dagster import defs
from riskwatch.dagster.definitions import BATCHES_NAME, new_batches
from riskwatch.demo.workspace import release_month

from .conftest import small_demo

ASSETS = {"model_version", "deployment", "call_list", "report"}


def cycles(workspace: Path) -> list[tuple[str, str]]:
    """Each recorded cycle's trigger and outcome, oldest first."""
    with closing(sqlite3.connect(workspace / "riskwatch.db")) as conn:
        return conn.execute("SELECT trigger, outcome FROM cycles ORDER BY id").fetchall()


def execute(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """The riskwatch_cycle job, run in this process; a failed run is returned, not raised."""
    job = defs.resolve_job_def("riskwatch_cycle")
    return job.execute_in_process(instance=instance, raise_on_error=False)


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """Each check's evaluation in the run, by check name (and partition, when it has one)."""
    found = {}
    for event in result.get_asset_check_evaluations():
        name = event.check_name + (f"[{event.partition}]" if event.partition else "")
        found[name] = event
    return found


def test_job_runs_one_cycle_recorded_with_trigger_dagster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = small_demo(tmp_path / "ws")
    monkeypatch.setenv("RISKWATCH_CONFIG", str(config))
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        result = execute(instance)
        took = time.perf_counter() - started
        assert result.success
        assert cycles(tmp_path / "ws") == [("dagster", "initial")]
        assert materialized(result) == ASSETS | {"batch"}
        assert instance.get_dynamic_partitions(BATCHES_NAME) == ["month_01.csv"]
        found = checks(result)
        assert found["promotion_gate"].passed
        assert found["validation[month_01.csv]"].passed
    sys.stderr.write(f"riskwatch_cycle in process, initial cycle: {took:.1f} s\n")


def test_job_with_no_new_data_records_the_cycle_and_materializes_nothing(ran: Path) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = execute(instance)
    assert result.success
    assert cycles(ran)[-1] == ("dagster", "no new data")
    assert materialized(result) == set()


def test_job_fails_when_the_cycle_fails_and_the_cycle_is_recorded(ran: Path) -> None:
    shutil.rmtree(ran / "sourcedata")  # the source cannot be read at all
    with dg.DagsterInstance.ephemeral() as instance:
        result = execute(instance)
    assert not result.success
    assert cycles(ran)[-1] == ("dagster", "failed")
    assert "the cycle failed" in str(result.failure_data_for_node("riskwatch_cycle_assets"))


def test_validation_fails_on_a_quarantined_batch(ran: Path) -> None:
    (ran / "sourcedata" / "broken.csv").write_text("name,size\nacme,3\n")
    release_month(ran, 2)
    with dg.DagsterInstance.ephemeral() as instance:
        result = execute(instance)
    assert result.success
    found = checks(result)
    broken = found["validation[broken.csv]"]
    assert not broken.passed
    assert broken.severity == dg.AssetCheckSeverity.ERROR
    assert "quarantined whole" in (broken.description or "")
    assert found["validation[month_02.csv]"].passed


def test_promotion_gate_fails_on_a_rejected_challenger(ran: Path) -> None:
    config = ran / "riskwatch.toml"
    # Every feature counts as drifted (a retrain), and no challenger can beat production by 1.
    config.write_text(config.read_text() + "drift_ks_p_value = 1.0\ngate_margin = 1.0\n")
    release_month(ran, 2)
    with dg.DagsterInstance.ephemeral() as instance:
        result = execute(instance)
    assert result.success
    assert cycles(ran)[-1] == ("dagster", "rejected")
    gate = checks(result)["promotion_gate"]
    assert not gate.passed
    assert gate.severity == dg.AssetCheckSeverity.WARN
    # The challenger is a new version; production did not change.
    assert materialized(result) == {"model_version", "call_list", "report", "batch"}


def test_sensor_adds_one_partition_per_new_batch_and_none_without_new_data(ran: Path) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        quiet = new_batches(dg.build_sensor_context(instance=instance))
        assert isinstance(quiet, dg.SensorResult)
        assert quiet.run_requests == [] and quiet.dynamic_partitions_requests == []
        release_month(ran, 2)
        release_month(ran, 3)
        sensed = new_batches(dg.build_sensor_context(instance=instance))
    assert isinstance(sensed, dg.SensorResult)
    assert len(sensed.run_requests or []) == 1  # one cycle ingests both
    [added] = sensed.dynamic_partitions_requests or []
    assert isinstance(added, dg.AddDynamicPartitionsRequest)
    assert sorted(added.partition_keys) == ["month_02.csv", "month_03.csv"]


def test_schedule_runs_the_cycle_as_the_cron_entry_does() -> None:
    schedule = defs.resolve_schedule_def("riskwatch_every_10m")
    assert schedule.cron_schedule == "*/10 * * * *"
    assert schedule.job_name == "riskwatch_cycle"


def test_importing_the_adapter_reads_no_settings_and_loads_no_heavy_step(tmp_path: Path) -> None:
    code = (
        "import sys, riskwatch.dagster\n"
        "heavy = {'pandas', 'sklearn', 'numpy', 'riskwatch.fullprocess.steps'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=tmp_path,  # no riskwatch.toml here: reading settings would fail
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
