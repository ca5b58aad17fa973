"""The `riskwatch` command through its real entry point: output, JSON, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..conftest import csv_rows, run


def test_config_option_after_the_command_works_too(workspace: Path) -> None:
    result = run(
        "ingest", "--dry-run", "--config", str(workspace / "riskwatch.toml"), cwd=Path("/")
    )
    assert result.returncode == 0, result.stderr
    assert "No new data" in result.stdout


def test_bad_config_exits_2_naming_key_and_file(workspace: Path) -> None:
    config = workspace / "riskwatch.toml"
    config.write_text('input_folder = "x"\n')
    result = run("--config", str(config), "ingest", cwd=workspace)
    assert result.returncode == 2
    assert f"{config}: key 'input_folder': unknown setting" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_environment_override_exits_2(workspace: Path) -> None:
    result = run("ingest", cwd=workspace, env={"RISKWATCH_READ_CHUNK_ROWS": "-3"})
    assert result.returncode == 2
    assert "environment variable RISKWATCH_READ_CHUNK_ROWS" in result.stderr


def test_no_config_file_exits_2_with_a_hint(tmp_path: Path) -> None:
    result = run("ingest", cwd=tmp_path)
    assert result.returncode == 2
    assert "riskwatch demo DIR" in result.stderr


def test_python_dash_m_runs_the_same_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "riskwatch", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("riskwatch ")


def test_unreachable_metadata_database_exits_1_without_its_password(workspace: Path) -> None:
    (workspace / "sourcedata" / "a.csv").write_text(csv_rows("x,1,12,3,0"))
    url = "postgresql+psycopg://riskwatch:s3cret@127.0.0.1:1/nowhere"
    result = run("ingest", cwd=workspace, env={"RISKWATCH_DATABASE_URL": url})
    assert result.returncode == 1
    assert "cannot open the metadata database postgresql+psycopg://riskwatch:***@" in result.stderr
    assert "s3cret" not in result.stderr
    assert "internal error" not in result.stderr


def test_the_command_line_and_its_help_import_no_heavy_package() -> None:
    # Each command imports its own steps: parsing any command line stays quick.
    probe = (
        "import sys\n"
        "from riskwatch.cli import _parser\n"
        "_parser().format_help()\n"
        "names = ('pandas', 'numpy', 'sklearn', 'skops', 'sqlalchemy', 'pyarrow', 'scipy',\n"
        "         'fastapi', 'uvicorn', 'jinja2', 'tqdm', 'matplotlib', 'weasyprint')\n"
        "sys.stderr.write(f'HEAVY={sorted(m for m in names if m in sys.modules)}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY=[]" in result.stderr, result.stderr
