"""What the command tests share: a demo workspace with month 1 ingested, and a --json call."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ..conftest import run

FAST = {"RISKWATCH_BOOTSTRAP_RESAMPLES": "50"}


@pytest.fixture(scope="session")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace with month 1 ingested, shared read-only by the tests of the
    model and monitor commands."""
    folder = tmp_path_factory.mktemp("cli_model")
    assert run("demo", "ws", "--clients", "1500", "--months", "3", cwd=folder).returncode == 0
    assert run("ingest", cwd=folder / "ws").returncode == 0
    return folder / "ws"


@pytest.fixture
def ws(ingested: Path, tmp_path: Path) -> Path:
    """A copy of the ingested workspace that a test may change."""
    return Path(shutil.copytree(ingested, tmp_path / "ws"))


def rw(ws: Path, *args: str) -> dict:
    result = run(*args, "--json", cwd=ws, env=FAST)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
