"""Crash safety: a real `riskwatch run` killed with SIGKILL at several points, then run again."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from riskwatch.config import load_settings
from riskwatch.demo import create_demo, release_month
from riskwatch.fullprocess.record import read_mark
from riskwatch.masterdata import read_master
from riskwatch.registry import load_deployed
from riskwatch.schema import BATCH_COLUMN
from riskwatch.store import Store, batches, cycles, deployments

from .conftest import OFFLINE_INDEX, RISKWATCH, clean_env

# Each cycle is killed at a seeded random moment between start-up and the end of its report;
# FAULT_SEED=<seed> replays a failing sequence.
SEED = int(os.environ.get("FAULT_SEED", "20261121"))
KILLS = 6


def riskwatch_run(config: Path) -> subprocess.Popen[str]:
    environment = clean_env(
        RISKWATCH_PACKAGE_INDEX_URL=OFFLINE_INDEX, RISKWATCH_BOOTSTRAP_RESAMPLES="50"
    )
    return subprocess.Popen(
        [str(RISKWATCH), "--config", str(config), "run", "--json"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill(config: Path, seconds: float) -> bool:
    """Start a cycle and SIGKILL it after the delay; whether it was still running."""
    with riskwatch_run(config) as process:
        time.sleep(seconds)
        running = process.poll() is None
        if running:
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    return running


def finish(config: Path) -> dict[str, object]:
    with riskwatch_run(config) as process:
        out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def assert_consistent(config: Path) -> None:
    """Every batch in the master exactly once, as recorded; production whole and recorded."""
    settings = load_settings(config, env={})
    master = read_master(settings.output_folder_path)
    with Store(settings.database_url) as store:
        ingested = store.rows(batches, status="ingested")
        assert not store.rows(batches, status="pending")
        recorded_deployments = {row["version"] for row in store.rows(deployments)}
        assert not store.rows(cycles, outcome="running")
    counts = master[BATCH_COLUMN].value_counts().to_dict()
    assert {row["id"]: row["rows_added"] for row in ingested} == counts
    assert len({row["sha256"] for row in ingested}) == len(ingested)  # none ingested twice
    files = sorted(p.name for p in settings.input_folder_path.iterdir())
    assert sorted(row["name"] for row in ingested) == files  # none lost
    deployed, _ = load_deployed(settings.prod_deployment_path)  # complete and loadable
    assert deployed.version in recorded_deployments
    assert read_mark(settings) is None


def test_cycles_killed_at_random_points_are_finished_by_the_next_ones(tmp_path: Path) -> None:
    rng = random.Random(SEED)  # noqa: S311 - kill times, not secrets
    kill_after = [round(rng.uniform(0.3, 3.5), 2) for _ in range(KILLS)]
    workspace = tmp_path / "ws"
    create_demo(workspace, months=KILLS, seed=7, clients=2000)
    config = workspace / "riskwatch.toml"
    survived = 0
    for month, seconds in enumerate(kill_after, start=1):
        release_month(workspace, month)  # new data, so each killed run is a full cycle
        landed = _kill(config, seconds)
        result = finish(config)
        where = f"seed {SEED}, month {month}, killed after {seconds} s"
        assert result["error"] is None, where
        assert result["outcome"] != "no new data", where  # it finished the killed cycle's work
        assert_consistent(config)
        survived += landed
    # Most kills land inside a cycle (the rest after it ended, which is fine too).
    assert survived >= KILLS // 2, f"seed {SEED}: only {survived} kills landed in a cycle"
    settings = load_settings(config, env={})
    with Store(settings.database_url) as store:
        outcomes = [row["outcome"] for row in store.rows(cycles)]
    assert outcomes.count("interrupted") >= 1
    print(f"fault injection, seed {SEED}: {survived} of {KILLS} kills landed, all recovered")
