"""The data commands through the real `riskwatch` entry point: demo and ingest."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import CLASSIC, csv_rows, run


def test_ingest_classic_workspace_from_its_folder(tmp_path: Path) -> None:
    shutil.copytree(CLASSIC, tmp_path / "classic")
    result = run("ingest", cwd=tmp_path / "classic")  # finds ./config.json by itself
    assert result.returncode == 0, result.stderr
    assert "dataset2.csv: 19 read, 9 added, 10 duplicate, 0 quarantined" in result.stdout
    assert "(26 rows)" in result.stdout
    again = run("ingest", cwd=tmp_path / "classic")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("No new data in folder:practicedata")


def test_ingest_json_prints_one_document_and_logs_to_stderr(workspace: Path) -> None:
    (workspace / "sourcedata" / "a.csv").write_text(csv_rows("x,1,12,3,0", "bad,-1,1,1,0"))
    result = run("--config", str(workspace / "riskwatch.toml"), "ingest", "--json", cwd=workspace)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["batches"][0]["rows_quarantined"] == 1
    assert report["master_rows"] == 1


def test_missing_source_folder_exits_1_with_its_path(workspace: Path) -> None:
    shutil.rmtree(workspace / "sourcedata")
    result = run("ingest", cwd=workspace)
    assert result.returncode == 1
    assert f"the source folder {workspace / 'sourcedata'} does not exist" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["--months", "0"], ["--scenario", "chaos"], ["--clients", "many"], ["--drift-month", "3"]],
)
def test_demo_with_a_bad_option_exits_2(tmp_path: Path, args: list[str]) -> None:
    result = run("demo", str(tmp_path / "demo"), *args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr


def test_demo_then_ingest_builds_the_master_dataset(tmp_path: Path) -> None:
    created = run("demo", "ws", "--clients", "500", "--months", "3", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    result = run("--config", "ws/riskwatch.toml", "ingest", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "month_01.csv: 500 read, 500 added" in result.stdout
    database = run(
        "ingest",
        "--json",
        cwd=tmp_path / "ws",
        env={
            "RISKWATCH_SOURCE": "database",
            "RISKWATCH_SOURCE_URL": "sqlite:///source.db",
            "RISKWATCH_OUTPUT_FOLDER_PATH": "from_db",
            "RISKWATCH_DATABASE_URL": "sqlite:///from_db.db",
        },
    )
    assert database.returncode == 0, database.stderr
    assert json.loads(database.stdout)["master_rows"] == 500


def test_nothing_new_path_imports_neither_pandas_nor_sqlalchemy(workspace: Path) -> None:
    (workspace / "sourcedata" / "a.csv").write_text(csv_rows("x,1,12,3,0"))
    assert run("ingest", cwd=workspace).returncode == 0
    probe = (
        "import sys\n"
        "from riskwatch.cli import main\n"
        "code = main(['ingest', '--json'])\n"
        "names = ('pandas', 'sqlalchemy', 'sklearn', 'pyarrow')\n"
        "heavy = sorted(m for m in names if m in sys.modules)\n"
        "sys.stderr.write(f'HEAVY={heavy} CODE={code}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=workspace, capture_output=True, text=True, check=False
    )
    assert "HEAVY=[] CODE=0" in result.stderr, result.stderr
    assert json.loads(result.stdout)["new_data"] is False
