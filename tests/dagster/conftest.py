"""Small demo workspaces for the Dagster adapter: one cycle run once, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from riskwatch.demo.workspace import create_demo

from ..conftest import OFFLINE_INDEX

# Quick settings for 500 clients: one model kind, few resamples, no package index off-machine.
QUICK = (
    'model_kind = "logistic"\n'
    "bootstrap_resamples = 50\n"
    f'package_index_url = "{OFFLINE_INDEX}"\n'
    "package_index_timeout = 0.5\n"
)


def small_demo(path: Path, *extra: str) -> Path:
    """A 500-client demo with month 1 released; its config file."""
    create_demo(path, months=3, seed=7, clients=500)
    config = path / "riskwatch.toml"
    config.write_text(config.read_text() + QUICK + "".join(extra))
    return config


@pytest.fixture(scope="module")
def ran_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo after one cycle (month 1 ingested, a model deployed)."""
    from riskwatch.config import load_settings  # noqa: PLC0415
    from riskwatch.fullprocess import run_cycle  # noqa: PLC0415

    config = small_demo(tmp_path_factory.mktemp("ran") / "ws")
    result = run_cycle(load_settings(config, env={}), report=False)
    assert result.outcome == "initial", result.error
    return config.parent


@pytest.fixture
def ran(ran_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the ran workspace that one test may change, named by RISKWATCH_CONFIG."""
    path = Path(shutil.copytree(ran_template, tmp_path / "ws", symlinks=True))
    monkeypatch.setenv("RISKWATCH_CONFIG", str(path / "riskwatch.toml"))
    return path
