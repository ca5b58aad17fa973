"""The commands that run cycles, through the real `riskwatch` entry point: run and schedule."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from riskwatch.config import Settings
from riskwatch.fullprocess import run_cycle
from riskwatch.storage.store import Store, cycles

from ..conftest import CLASSIC, OFFLINE_INDEX, RISKWATCH, clean_env, demo, run


def _command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run(*args, cwd=cwd, env={"RISKWATCH_PACKAGE_INDEX_URL": OFFLINE_INDEX}, timeout=300)


def test_run_exits_1_naming_the_failing_step(tmp_path: Path) -> None:
    settings = demo(tmp_path / "ws", scenario="none", months=2, clients=2000)
    (settings.test_data_path / "testdata.csv").write_text("corporation,exited\nx,1\n")
    failed = _command("run", cwd=settings.workspace)
    assert failed.returncode == 1
    assert "error: initial model:" in failed.stderr
    assert "testdata.csv" in failed.stderr and "lastmonth_activity" in failed.stderr
    assert "Outcome: failed" in failed.stdout


def test_run_works_on_the_classic_workspace(tmp_path: Path) -> None:
    workspace = Path(shutil.copytree(CLASSIC, tmp_path / "classic"))
    first = _command("run", "--json", cwd=workspace)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["outcome"] == "initial"
    assert [step["name"] for step in result["steps"]] == [
        "new data",
        "ingest",
        "initial model",
        "diagnose",
        "call list",
        "report",
    ]
    assert (workspace / "production_deployment" / "latestscore.txt").is_file()
    assert json.loads(_command("run", "--json", cwd=workspace).stdout)["outcome"] == "no new data"
    config = workspace / "config.json"
    config.write_text(config.read_text().replace('"practicedata"', '"sourcedata"'))
    switched = _command("run", "--json", cwd=workspace)
    assert switched.returncode == 0, switched.stderr
    assert json.loads(switched.stdout)["outcome"] in ("kept", "rejected", "promoted")
    status = _command("status", cwd=workspace)
    assert "Cycles (newest first):" in status.stdout
    assert status.stdout.count("manual") == 3


def test_schedule_runs_real_cycles_and_survives_a_failing_one(tmp_path: Path) -> None:
    settings = demo(tmp_path / "ws", scenario="none", months=2, clients=2000)
    holdout = settings.test_data_path / "testdata.csv"
    good = holdout.read_text()
    holdout.write_text("corporation,exited\nx,1\n")  # the first cycle fails
    with subprocess.Popen(
        [str(RISKWATCH), "schedule", "--every", "1s", "--max-cycles", "3"],
        cwd=settings.workspace,
        env=clean_env(RISKWATCH_PACKAGE_INDEX_URL=OFFLINE_INDEX),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as scheduler:
        deadline = time.monotonic() + 120
        while not _outcomes(settings) and time.monotonic() < deadline:
            time.sleep(0.2)
        holdout.write_text(good)  # fixed while the scheduler runs on
        _, err = scheduler.communicate(timeout=300)
    assert scheduler.returncode == 0, err
    assert _outcomes(settings)[:1] == ["failed"]
    assert "initial" in _outcomes(settings)


def _outcomes(settings: Settings) -> list[str]:
    if not Path(settings.database_url.removeprefix("sqlite:///")).is_file():
        return []
    with Store(settings.database_url) as store:
        return [row["outcome"] for row in store.rows(cycles) if row["outcome"] != "running"]


def test_a_run_with_no_new_data_loads_no_hashing_subprocess_or_socket_module(
    workspace: Path, make_settings: Callable[..., Settings]
) -> None:
    # The cycle cron starts most: only what parsing, settings, the check and the record need.
    assert run_cycle(make_settings(), report=False).outcome == "no new data"
    probe = (
        "import sys\n"
        "from riskwatch.cli import main\n"
        "code = main(['run', '--json'])\n"
        "names = ('hashlib', 'secrets', 'random', 'subprocess', 'socket', 'difflib',\n"
        "         'riskwatch.scheduler_cron', 'sqlalchemy', 'pandas')\n"
        "sys.stderr.write(f'LOADED={sorted(m for m in names if m in sys.modules)} CODE={code}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(RISKWATCH_PACKAGE_INDEX_URL=OFFLINE_INDEX),
    )
    assert "LOADED=[] CODE=0" in result.stderr, result.stderr
    assert json.loads(result.stdout)["outcome"] == "no new data"
