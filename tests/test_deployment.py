"""Deployment: atomic switch of production, history, rollback, crash safety and the gate."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path

import pandas as pd
import pytest

from riskwatch import deployment
from riskwatch.config import Settings, load_settings
from riskwatch.demo.workspace import create_demo
from riskwatch.deployment import (
    DeploymentError,
    deploy,
    deployments_folder,
    promote,
    reconcile,
    rollback,
)
from riskwatch.ingestion.ingest import ingest
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import (
    RegistryError,
    load_deployed,
    load_model,
    read_deployment,
    read_metadata,
)
from riskwatch.status import status
from riskwatch.storage.files import sha256_file
from riskwatch.storage.store import Store, deployments, promotions
from riskwatch.training import train_version

from .conftest import CLASSIC, run

DEPLOYMENT_FILES = [
    "deployment.json",
    "ingestedfiles.txt",
    "latestscore.txt",
    "metadata.json",
    "model.skops",
    "reference.parquet",
]


@dataclass(frozen=True)
class Versions:
    """The versions saved in the template workspace, oldest first."""

    classic: str  # model_kind = classic
    logistic: str  # model_kind = logistic
    twin: str  # logistic again, on the same data: the same model


@dataclass(frozen=True)
class Workspace:
    """A demo workspace with three trained versions and nothing deployed."""

    path: Path
    settings: Settings
    store: Store
    versions: Versions

    @property
    def prod(self) -> Path:
        return self.settings.prod_deployment_path


def workspace_settings(path: Path) -> Settings:
    settings = load_settings(path / "riskwatch.toml", env={})
    return replace(settings, bootstrap_resamples=50)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Versions]:
    """Built once: a demo workspace, ingested, with a classic and two logistic versions."""
    path = tmp_path_factory.mktemp("template") / "ws"
    create_demo(path, months=2, seed=1, clients=2000)
    settings = workspace_settings(path)
    ingest(settings)
    store = Store(settings.database_url)
    try:
        classic = train_version(replace(settings, model_kind="classic"), store).version
        logistic = train_version(replace(settings, model_kind="logistic"), store).version
        twin = train_version(replace(settings, model_kind="logistic"), store).version
    finally:
        store.close()
    return path, Versions(classic, logistic, twin)


@pytest.fixture
def ws(template: tuple[Path, Versions], tmp_path: Path) -> Iterator[Workspace]:
    """A private copy of the template workspace for one test."""
    source, versions = template
    path = tmp_path / "ws"
    shutil.copytree(source, path, symlinks=True)
    settings = workspace_settings(path)
    store = Store(settings.database_url)
    yield Workspace(path, settings, store, versions)
    store.close()


def deployed_version(ws: Workspace) -> str | None:
    found = read_deployment(ws.prod)
    return None if found is None else found.version


def history(ws: Workspace) -> list[tuple[str, str, str | None]]:
    """The deployment records as (version, action, previous version), oldest first."""
    return [(r["version"], r["action"], r["previous_version"]) for r in ws.store.rows(deployments)]


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


# Deploy


def test_deploy_makes_the_newest_version_production(ws: Workspace) -> None:
    v = ws.versions
    result = deploy(ws.settings, ws.store)

    assert result.changed
    assert result.deployed.version == v.twin
    assert ws.prod.is_symlink()
    folder = ws.prod.resolve()
    assert folder.parent == ws.path / ".production_deployment.d"
    assert sorted(p.name for p in folder.iterdir()) == DEPLOYMENT_FILES

    saved = ws.settings.output_model_path / v.twin
    metadata = json.loads((saved / "metadata.json").read_text())
    assert (ws.prod / "model.skops").read_bytes() == (saved / "model.skops").read_bytes()
    assert json.loads((ws.prod / "metadata.json").read_text()) == metadata
    f1 = metadata["metrics"]["holdout"]["f1"]["value"]
    assert (ws.prod / "latestscore.txt").read_text() == f"{f1!r}\n"
    assert 0 < float((ws.prod / "latestscore.txt").read_text()) < 1
    assert (ws.prod / "ingestedfiles.txt").read_text() == "month_01.csv\n"

    record = json.loads((ws.prod / "deployment.json").read_text())
    assert set(record) >= {"version", "deployed_at", "reason", "previous_version", "sha256"}
    assert record["version"] == v.twin
    assert record["reason"] == "manual"
    assert record["previous_version"] is None
    assert record["sha256"] == metadata["sha256"] == sha256_file(ws.prod / "model.skops")
    datetime.fromisoformat(record["deployed_at"])

    rows = ws.store.rows(deployments)
    assert [(r["version"], r["action"], r["reason"]) for r in rows] == [
        (v.twin, "deploy", "manual")
    ]
    assert rows[0]["deployed_at"] == record["deployed_at"]

    deployed, model = load_deployed(ws.prod)
    assert deployed.version == v.twin
    holdout = pd.read_csv(ws.path / "testdata" / "testdata.csv")
    risk = predict_risk(model, holdout)
    assert risk.shape == (len(holdout),)
    assert ((risk > 0) & (risk < 1)).all()


def test_deploying_a_second_version_records_the_previous_one(ws: Workspace) -> None:
    v = ws.versions
    deploy(ws.settings, ws.store, v.classic)
    result = deploy(ws.settings, ws.store, v.logistic)
    assert result.deployed.previous_version == v.classic
    assert deployed_version(ws) == v.logistic
    assert history(ws) == [(v.classic, "deploy", None), (v.logistic, "deploy", v.classic)]


def test_deploying_the_version_in_production_changes_nothing(ws: Workspace) -> None:
    first = deploy(ws.settings, ws.store, ws.versions.logistic)
    target = ws.prod.readlink()

    again = deploy(ws.settings, ws.store, ws.versions.logistic)

    assert not again.changed
    assert again.deployed == first.deployed
    assert ws.prod.readlink() == target
    assert len(ws.store.rows(deployments)) == 1


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2020-01-01T00.00.00.000000Z", "no model version 2020-01-01T00.00.00.000000Z in "),
        ("../../etc", "not a model version: '../../etc'"),
        ("latest", "not a model version: 'latest'"),
    ],
    ids=["unknown", "path-traversal", "malformed"],
)
def test_deploy_refuses_an_unknown_or_malformed_version(
    ws: Workspace, version: str, message: str
) -> None:
    deploy(ws.settings, ws.store, ws.versions.logistic)
    target = ws.prod.readlink()

    with pytest.raises(RegistryError, match=re.escape(message)):
        deploy(ws.settings, ws.store, version)

    assert ws.prod.readlink() == target
    assert deployed_version(ws) == ws.versions.logistic
    assert len(ws.store.rows(deployments)) == 1


def test_a_model_file_changed_by_one_byte_is_refused_at_deploy_and_load(ws: Workspace) -> None:
    v = ws.versions
    deploy(ws.settings, ws.store, v.logistic)
    target = ws.prod.readlink()
    flip_one_byte(ws.settings.output_model_path / v.twin / "model.skops")

    with pytest.raises(RegistryError, match="sha256") as refused:
        deploy(ws.settings, ws.store, v.twin)
    assert "the file was changed after it was saved" in str(refused.value)
    with pytest.raises(RegistryError, match="sha256"):
        load_model(ws.settings.output_model_path, v.twin)

    assert ws.prod.readlink() == target
    assert load_deployed(ws.prod)[0].version == v.logistic
    assert len(ws.store.rows(deployments)) == 1


def test_a_changed_model_file_in_production_is_refused_at_load(ws: Workspace) -> None:
    deploy(ws.settings, ws.store, ws.versions.logistic)
    flip_one_byte(ws.prod / "model.skops")
    with pytest.raises(RegistryError, match="sha256"):
        load_deployed(ws.prod)


def test_load_deployed_with_nothing_deployed_says_what_to_run(ws: Workspace) -> None:
    with pytest.raises(RegistryError, match="run `riskwatch train` then `riskwatch deploy`"):
        load_deployed(ws.prod)


# Rollback


def test_rollback_returns_to_the_previous_version(ws: Workspace) -> None:
    v = ws.versions
    deploy(ws.settings, ws.store, v.classic)
    deploy(ws.settings, ws.store, v.logistic)

    result = rollback(ws.settings, ws.store)

    assert result.changed
    assert deployed_version(ws) == v.classic
    assert result.deployed.reason == f"rollback from {v.logistic}"
    assert history(ws)[-1] == (v.classic, "rollback", v.logistic)
    assert load_deployed(ws.prod)[0].version == v.classic


def test_rollback_to_a_named_version(ws: Workspace) -> None:
    v = ws.versions
    for version in (v.classic, v.logistic, v.twin):
        deploy(ws.settings, ws.store, version)

    rollback(ws.settings, ws.store, v.classic)

    assert deployed_version(ws) == v.classic
    assert history(ws)[-1] == (v.classic, "rollback", v.twin)


def test_rollback_with_nothing_deployed_is_refused(ws: Workspace) -> None:
    with pytest.raises(
        DeploymentError, match="nothing is deployed, so there is nothing to roll back"
    ):
        rollback(ws.settings, ws.store)
    assert not ws.prod.exists()
    assert ws.store.rows(deployments) == []


def test_rollback_after_the_first_deployment_is_refused(ws: Workspace) -> None:
    v = ws.versions
    deploy(ws.settings, ws.store, v.logistic)
    target = ws.prod.readlink()
    message = f"{v.logistic} was the first deployment: no earlier version to roll back to"
    with pytest.raises(DeploymentError, match=re.escape(message)):
        rollback(ws.settings, ws.store)
    assert ws.prod.readlink() == target
    assert len(ws.store.rows(deployments)) == 1


# Crashes and leftovers


def stage_then_hang(config: str, version: str, conn: Connection) -> None:
    """Stage a deployment folder and make the temporary link as deploy does, then wait to be
    killed: a crash between staging and the switch. Runs in a forked child process."""
    settings = load_settings(Path(config), env={})
    metadata = read_metadata(settings.output_model_path, version)
    record = {
        "version": version,
        "deployed_at": "2026-01-01T00:00:00.000000Z",
        "reason": "crash test",
        "action": "deploy",
        "previous_version": None,
        "sha256": metadata["sha256"],
    }
    prod = settings.prod_deployment_path
    folder = deployment._stage(settings.output_model_path / version, prod, metadata, record)
    link = prod.parent / f".{prod.name}.link-{os.getpid()}"
    link.symlink_to(os.path.relpath(folder, prod.parent))
    conn.send(str(folder))
    time.sleep(300)


# A forked child starts at once (no second import of scikit-learn and pandas); Python 3.12+
# warns about forking a process that has threads (BLAS), which this child does not use.
@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_a_deploy_killed_between_staging_and_switch_leaves_production_whole(
    ws: Workspace,
) -> None:
    v = ws.versions
    deploy(ws.settings, ws.store, v.logistic)
    target = ws.prod.readlink()

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=stage_then_hang, args=(str(ws.settings.config_file), v.twin, sender)
    )
    child.start()
    try:
        assert receiver.poll(60), "the child did not stage a deployment"
        staged = Path(receiver.recv())
        child.kill()  # SIGKILL: no cleanup of any kind runs
        child.join(60)
    finally:
        if child.is_alive():
            child.kill()
            child.join()
        receiver.close()
        sender.close()
    assert child.exitcode == -signal.SIGKILL
    child.close()
    assert (staged / "deployment.json").is_file()  # the child got as far as a whole folder
    assert len(list(ws.path.glob(".production_deployment.link-*"))) == 1

    # Production still points at the old, complete deployment.
    assert ws.prod.readlink() == target
    assert sorted(p.name for p in ws.prod.resolve().iterdir()) == DEPLOYMENT_FILES
    deployed, _ = load_deployed(ws.prod)
    assert deployed.version == v.logistic
    assert history(ws) == [(v.logistic, "deploy", None)]

    # The next deploy works and removes the stale link; later ones prune the orphan folder.
    result = deploy(ws.settings, ws.store, v.twin)
    assert result.changed
    assert ws.prod.resolve() != staged
    assert load_deployed(ws.prod)[0].version == v.twin
    assert history(ws) == [(v.logistic, "deploy", None), (v.twin, "deploy", v.logistic)]
    assert list(ws.path.glob(".production_deployment.link-*")) == []
    for version in (v.classic, v.logistic):
        deploy(ws.settings, ws.store, version)
    assert not staged.exists()
    assert len(list(deployments_folder(ws.prod).iterdir())) == 3


def test_a_stale_temporary_link_is_removed_by_the_next_deploy(ws: Workspace) -> None:
    stale = ws.path / ".production_deployment.link-999999"
    stale.symlink_to(".production_deployment.d/gone")
    deploy(ws.settings, ws.store, ws.versions.logistic)
    assert not stale.is_symlink()
    assert deployed_version(ws) == ws.versions.logistic


def test_reconcile_records_a_deployment_missing_from_the_database(ws: Workspace) -> None:
    v = ws.versions
    deploy(ws.settings, ws.store, v.logistic)
    with ws.store.begin() as conn:
        conn.execute(deployments.delete())

    reconcile(ws.settings, ws.store)
    report = status(ws.settings, ws.store)

    rows = ws.store.rows(deployments)
    assert [(r["version"], r["action"]) for r in rows] == [(v.logistic, "recovered")]
    assert rows[0]["reason"] == "found in production without a record (manual)"
    assert (
        rows[0]["deployed_at"]
        == json.loads((ws.prod / "deployment.json").read_text())["deployed_at"]
    )
    assert f"recovered {v.logistic}" in report.summary()
    reconcile(ws.settings, ws.store)
    assert len(ws.store.rows(deployments)) == 1


def test_a_plain_production_folder_is_moved_aside_on_first_deploy(ws: Workspace) -> None:
    ws.prod.mkdir()
    (ws.prod / "trainedmodel.pkl").write_bytes(b"a classic pickle")
    (ws.prod / "latestscore.txt").write_text("0.5714285714285715\n")

    deploy(ws.settings, ws.store, ws.versions.logistic)

    assert ws.prod.is_symlink()
    assert deployed_version(ws) == ws.versions.logistic
    kept = list((ws.path / ".production_deployment.d").glob("previous-folder-*"))
    assert len(kept) == 1
    assert (kept[0] / "trainedmodel.pkl").read_bytes() == b"a classic pickle"
    assert (kept[0] / "latestscore.txt").read_text() == "0.5714285714285715\n"


def test_a_moved_aside_production_folder_survives_later_deploys(ws: Workspace) -> None:
    v = ws.versions
    ws.prod.mkdir()
    (ws.prod / "trainedmodel.pkl").write_bytes(b"a classic pickle")
    for version in (v.classic, v.logistic, v.twin, v.classic):
        deploy(ws.settings, ws.store, version)
    kept = list((ws.path / ".production_deployment.d").glob("previous-folder-*"))
    assert [(k / "trainedmodel.pkl").read_bytes() for k in kept] == [b"a classic pickle"]


# The promotion gate


def test_promote_with_nothing_deployed_deploys_the_challenger(ws: Workspace) -> None:
    v = ws.versions
    decision = promote(ws.settings, ws.store)

    assert decision.promoted
    assert decision.challenger == v.twin
    assert decision.production is None
    assert decision.reason == "initial"
    assert deployed_version(ws) == v.twin
    assert read_deployment(ws.prod) is not None
    assert ws.store.rows(deployments)[-1]["reason"] == "initial: nothing was deployed"
    [record] = ws.store.rows(promotions)
    assert (record["challenger"], record["production"], record["promoted"]) == (
        v.twin,
        None,
        True,
    )


def test_an_equal_challenger_does_not_beat_production_by_the_margin(ws: Workspace) -> None:
    v = ws.versions
    deploy(ws.settings, ws.store, v.logistic)
    target = ws.prod.readlink()

    decision = promote(ws.settings, ws.store, v.twin)

    assert not decision.promoted
    assert (decision.metric, decision.margin) == ("roc_auc", 0.01)
    assert decision.challenger_value == decision.production_value
    assert decision.reason.startswith(
        f"roc_auc {decision.challenger_value:.4f} vs production {decision.production_value:.4f}"
    )
    assert "does not beat production by the margin 0.01" in decision.reason
    assert ws.prod.readlink() == target
    assert len(ws.store.rows(deployments)) == 1
    [record] = ws.store.rows(promotions)
    assert record["challenger"] == v.twin
    assert record["production"] == v.logistic
    assert record["metric"] == "roc_auc"
    assert record["challenger_value"] == pytest.approx(decision.challenger_value)
    assert record["production_value"] == pytest.approx(decision.production_value)
    assert record["promoted"] is False
    assert record["reason"] == decision.reason


def test_a_better_challenger_is_promoted_and_deployed(ws: Workspace) -> None:
    v = ws.versions
    settings = replace(ws.settings, gate_margin=0.0)
    deploy(settings, ws.store, v.classic)

    decision = promote(settings, ws.store, v.logistic)

    assert decision.promoted
    assert decision.challenger_value is not None
    assert decision.production_value is not None
    assert decision.challenger_value > decision.production_value
    assert "beats production by the margin 0.0" in decision.reason
    assert deployed_version(ws) == v.logistic
    latest = ws.store.rows(deployments)[-1]
    assert (latest["version"], latest["previous_version"]) == (v.logistic, v.classic)
    assert latest["reason"] == f"promoted: {decision.reason}"
    assert ws.store.rows(promotions)[-1]["promoted"] is True


@pytest.mark.parametrize(
    ("metric", "production", "challenger", "promoted"),
    [
        ("roc_auc", "classic", "logistic", True),
        ("roc_auc", "logistic", "classic", False),
        ("brier", "classic", "logistic", True),
        ("brier", "logistic", "classic", False),
    ],
)
def test_the_gate_compares_each_metric_the_right_way_round(
    ws: Workspace, metric: str, production: str, challenger: str, promoted: bool
) -> None:
    # On the demo holdout, logistic beats classic: higher ROC AUC, lower Brier score. By less
    # than the default margin at the demo's 6 % monthly churn (+0.008 ROC AUC, -0.005 Brier):
    # this test is about the direction, so no margin.
    settings = replace(ws.settings, gate_metric=metric, gate_margin=0.0)
    deploy(settings, ws.store, getattr(ws.versions, production))

    decision = promote(settings, ws.store, getattr(ws.versions, challenger))

    assert decision.promoted is promoted
    assert decision.challenger_value is not None
    assert decision.production_value is not None
    gain = decision.challenger_value - decision.production_value
    assert (gain < 0 if metric == "brier" else gain > 0) is promoted
    assert decision.reason.startswith(metric)
    expected = challenger if promoted else production
    assert deployed_version(ws) == getattr(ws.versions, expected)


# The classic workspace and status


def test_classic_workspace_trains_and_deploys_to_its_production_folder(tmp_path: Path) -> None:
    shutil.copytree(CLASSIC, tmp_path / "classic")
    settings = load_settings(tmp_path / "classic" / "config.json", env={})
    settings = replace(settings, model_kind="classic", bootstrap_resamples=50)
    ingest(settings)
    store = Store(settings.database_url)
    try:
        trained = train_version(settings, store)
        # The classic model ranks the 5 holdout clients exactly backwards (ROC AUC 0.0), and
        # cross-validation cannot show it ranks either: refused unless forced.
        with pytest.raises(DeploymentError, match="ranks no better than chance"):
            deploy(settings, store)
        result = deploy(settings, store, force=True)
        rows = store.rows(deployments)
    finally:
        store.close()

    prod = tmp_path / "classic" / "production_deployment"
    assert result.deployed.version == trained.version
    assert "FORCED although it ranks no better than chance" in result.deployed.reason
    assert (tmp_path / "classic" / "practicemodels" / trained.version / "model.skops").is_file()
    assert prod.is_symlink()
    assert (prod / "latestscore.txt").read_text() == "0.5714285714285715\n"
    assert (prod / "ingestedfiles.txt").read_text().splitlines() == [
        "dataset1.csv",
        "dataset2.csv",
    ]
    assert [r["version"] for r in rows] == [trained.version]


def test_status_shows_the_deployed_version_and_the_history(ws: Workspace) -> None:
    v = ws.versions
    deploy(ws.settings, ws.store, v.classic)
    deploy(ws.settings, ws.store, v.logistic)
    rollback(ws.settings, ws.store)

    report = status(ws.settings, ws.store)
    text = report.summary()

    assert report.deployed is not None
    assert report.deployed["version"] == v.classic
    assert text.startswith(f"Deployed: {v.classic} since ")
    assert f"(rollback from {v.logistic})" in text.splitlines()[0]
    assert f"Versions saved: 3; newest {v.twin}" in text
    lines = text.split("Deployments (newest first):\n", 1)[1].splitlines()
    assert [line.split()[1:3] for line in lines] == [
        ["rollback", v.classic],
        ["deploy", v.logistic],
        ["deploy", v.classic],
    ]


def test_status_with_nothing_deployed_says_so(ws: Workspace) -> None:
    report = status(ws.settings, ws.store)
    assert report.deployed is None
    assert report.summary() == (
        f"Nothing is deployed. 3 model version(s) saved, the newest {ws.versions.twin} "
        "(list them: `riskwatch models`). "
        "Deploy one with `riskwatch deploy` (or run a cycle: `riskwatch run`)."
    )


# A model no better than chance


@pytest.fixture
def classic(tmp_path: Path) -> Path:
    """The classic workspace with its practice data (26 rows) ingested."""
    workspace = Path(shutil.copytree(CLASSIC, tmp_path / "classic"))
    ingest(load_settings(workspace / "config.json", env={}))
    return workspace


def test_deploy_refuses_a_model_no_better_than_chance_unless_forced(classic: Path) -> None:
    hgb = {"RISKWATCH_MODEL_KIND": "hgb"}  # cannot split 26 rows: one risk for everyone
    assert run("train", cwd=classic, env=hgb).returncode == 0
    refused = run("deploy", cwd=classic)
    assert refused.returncode == 1, refused.stderr
    assert "is not deployed: it ranks no better than chance (it gives every one of the 26 " in (
        refused.stderr
    )
    assert "riskwatch deploy --force" in refused.stderr
    assert not (classic / "production_deployment").exists()
    forced = run("deploy", "--force", "--json", cwd=classic)
    assert forced.returncode == 0, forced.stderr
    record = json.loads((classic / "production_deployment" / "deployment.json").read_text())
    assert record["reason"].startswith("manual; FORCED although it ranks no better than chance")


def test_a_cycle_leaves_production_empty_rather_than_deploy_a_model_that_cannot_rank(
    tmp_path: Path,
) -> None:
    classic = Path(shutil.copytree(CLASSIC, tmp_path / "classic"))
    failed = run("run", cwd=classic, env={"RISKWATCH_MODEL_KIND": "hgb"})
    assert failed.returncode == 1, failed.stdout
    assert "error: initial model:" in failed.stderr
    assert "ranks no better than chance" in failed.stderr
    assert not (classic / "production_deployment").exists()
    resumed = run("run", cwd=classic)  # auto: the cycle's work is redone with a model that ranks
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((classic / "production_deployment" / "deployment.json").read_text())


def test_the_gate_never_promotes_a_challenger_no_better_than_chance(classic: Path) -> None:
    settings = replace(load_settings(classic / "config.json", env={}), bootstrap_resamples=50)
    with Store(settings.database_url) as store:
        first = promote(settings, store, train_version(settings, store).version)
        flat = train_version(replace(settings, model_kind="hgb"), store).version
        decision = promote(settings, store, flat)
    assert first.promoted
    assert not decision.promoted
    assert decision.reason.startswith("ranks no better than chance (it gives every one")
    assert read_deployment(settings.prod_deployment_path).version == first.challenger
