"""Status: what production holds and how it got there, read without writing anything."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from riskwatch.config import Settings
from riskwatch.deployment import deploy
from riskwatch.status import read_status, status
from riskwatch.storage import open_store
from riskwatch.storage.store import deployments
from riskwatch.training import train_version

from .conftest import Workspace, copy_workspace, run

MakeSettings = Callable[..., Settings]


@pytest.fixture(scope="module")
def template(deployed_template: Callable[..., Path]) -> Path:
    """Built once per session: a demo trained and deployed on month 1 (read only)."""
    return deployed_template(months=2, seed=5)


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    """A private copy of the deployed workspace for one test."""
    return copy_workspace(template, tmp_path)


def database_file(settings: Settings) -> Path:
    return Path(str(sa.make_url(settings.database_url).database))


def forget_deployments(settings: Settings) -> None:
    """What a crash between the switch and its record leaves: production without a record."""
    with open_store(settings) as store, store.begin() as conn:
        conn.execute(deployments.delete())


def test_status_of_a_workspace_without_a_model_says_nothing_is_deployed(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings()
    with open_store(settings) as store:
        found = status(settings, store)
    assert found.deployed is None
    assert (found.versions, found.newest_version, found.history) == (0, None, [])
    assert found.summary().startswith("Nothing is deployed. 0 model version(s) saved")


def test_status_shows_the_deployed_model_its_holdout_scores_and_history(ws: Workspace) -> None:
    with open_store(ws.settings) as store:
        found = status(ws.settings, store)
    assert found.deployed is not None
    version = found.deployed["version"]
    assert (found.versions, found.newest_version) == (1, version)
    assert [(r["version"], r["action"]) for r in found.history] == [(version, "deploy")]
    assert 0 <= found.holdout_metrics["roc_auc"]["value"] <= 1
    lines = found.summary().splitlines()
    assert lines[0].startswith(f"Deployed: {version} since ")
    assert "roc_auc" in lines[1]
    assert json.loads(json.dumps(found.to_dict()))["deployed"]["version"] == version


def test_status_shows_a_newer_version_and_the_deployments_newest_first(ws: Workspace) -> None:
    with open_store(ws.settings) as store:
        first = status(ws.settings, store).newest_version
        newer = train_version(ws.settings, store).version
        deploy(ws.settings, store, newer)
        found = status(ws.settings, store)
    assert [(r["version"], r["previous_version"]) for r in found.history] == [
        (newer, first),
        (first, None),
    ]
    assert found.versions == 2
    assert f"Deployed: {newer}" in found.summary()


def test_status_leaves_the_database_file_byte_identical(ws: Workspace) -> None:
    database = database_file(ws.settings)
    before = database.read_bytes()

    with open_store(ws.settings) as store:
        status(ws.settings, store)
    shown = run("status", "--json", cwd=ws.path)

    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["deployed"] is not None
    assert database.read_bytes() == before


def test_status_shows_an_unrecorded_deployment_without_recording_it(ws: Workspace) -> None:
    forget_deployments(ws.settings)
    database = database_file(ws.settings)
    before = database.read_bytes()

    with open_store(ws.settings) as store:
        found = status(ws.settings, store)
        recorded = store.rows(deployments)

    assert found.deployed is not None
    version = found.deployed["version"]
    [shown] = found.history
    assert (shown["version"], shown["action"]) == (version, "recovered")
    assert shown["reason"].startswith("found in production without a record")
    assert f"recovered {version}" in found.summary()
    assert recorded == []
    assert database.read_bytes() == before


def test_the_next_deploy_records_what_status_showed_as_unrecorded(ws: Workspace) -> None:
    forget_deployments(ws.settings)
    with open_store(ws.settings) as store:
        shown = status(ws.settings, store).history
        deploy(ws.settings, store)  # the version already in production: nothing to switch
        recorded = store.rows(deployments)
    assert [(r["version"], r["action"]) for r in recorded] == [
        (r["version"], r["action"]) for r in shown
    ]


def test_read_status_gives_what_the_store_gives(ws: Workspace) -> None:
    forget_deployments(ws.settings)  # the recovered record too
    with open_store(ws.settings) as store:
        expected = status(ws.settings, store).to_dict()
    assert read_status(ws.settings).to_dict() == expected


def test_read_status_creates_the_database_of_a_new_workspace_as_before(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings()
    found = read_status(settings)
    assert found.deployed is None
    assert database_file(settings).is_file()


def test_the_status_command_imports_neither_sqlalchemy_nor_scikit_learn_nor_pandas(
    ws: Workspace,
) -> None:
    probe = (
        "import sys\n"
        "from riskwatch.cli import main\n"
        "code = main(['status', '--json'])\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'sklearn', 'pandas', 'numpy', 'skops')\n"
        "               if m in sys.modules)\n"
        "sys.stderr.write(f'HEAVY={heavy} CODE={code}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ws.path, capture_output=True, text=True, check=False
    )
    assert "HEAVY=[] CODE=0" in result.stderr, result.stderr
    assert json.loads(result.stdout)["deployed"] is not None
