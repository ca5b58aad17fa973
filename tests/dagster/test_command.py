"""`dagster job execute -m riskwatch.dagster -j riskwatch_cycle` on a workspace, and the checks
run again on demand from riskwatch's records."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import dagster as dg

from riskwatch.dagster import defs
from riskwatch.demo.workspace import release_month

from ..conftest import clean_env

DAGSTER = Path(sys.executable).with_name("dagster")


def test_dagster_command_runs_a_cycle_recorded_with_trigger_dagster(ran: Path) -> None:
    release_month(ran, 2)
    home = ran.parent / "dagster-home"
    home.mkdir()
    env = clean_env(RISKWATCH_CONFIG=str(ran / "riskwatch.toml"), DAGSTER_HOME=str(home))
    done = subprocess.run(
        [str(DAGSTER), "job", "execute", "-m", "riskwatch.dagster", "-j", "riskwatch_cycle"],
        cwd=ran.parent,  # not the workspace: the config file comes from RISKWATCH_CONFIG
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with closing(sqlite3.connect(ran / "riskwatch.db")) as conn:
        newest = conn.execute("SELECT trigger, outcome FROM cycles ORDER BY id DESC").fetchone()
    assert newest == ("dagster", "kept")
    assert "RUN_SUCCESS" in done.stderr + done.stdout


def on_demand(name: str, instance: dg.DagsterInstance) -> bool:
    """Run one of the adapter's checks alone, as from Dagster's UI; whether it passed."""
    key = dg.AssetCheckKey(dg.AssetKey("batch" if name == "validation" else "model_version"), name)
    job = dg.define_asset_job("check", selection=dg.AssetSelection.checks(key))
    again = dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, jobs=[job])
    result = again.resolve_job_def("check").execute_in_process(instance=instance)
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation.passed


def test_checks_run_on_demand_judge_from_the_records(ran: Path) -> None:
    (ran / "sourcedata" / "broken.csv").write_text("name,size\nacme,3\n")
    with dg.DagsterInstance.ephemeral() as instance:
        assert defs.resolve_job_def("riskwatch_cycle").execute_in_process(instance=instance).success
        assert not on_demand("validation", instance)  # the newest batch: broken.csv
        release_month(ran, 2)
        assert defs.resolve_job_def("riskwatch_cycle").execute_in_process(instance=instance).success
        assert on_demand("validation", instance)  # month_02.csv
        assert on_demand("promotion_gate", instance)  # the initial model's deployment
