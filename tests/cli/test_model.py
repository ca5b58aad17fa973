"""The model commands through the real `riskwatch` entry point: train, deploy, score, status,
rollback and calllist on a demo workspace, with --json, and their exit codes on errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import run
from .conftest import rw


def test_train_deploy_score_status_rollback_and_calllist(ws: Path) -> None:
    first = rw(ws, "train")["version"]
    second = rw(ws, "train", "--quiet")["version"]
    assert rw(ws, "deploy", first)["version"] == first
    deployed = rw(ws, "deploy")  # the newest by default
    assert (deployed["version"], deployed["previous_version"]) == (second, first)
    scored = rw(ws, "score")
    assert scored["version"] == second
    assert next(iter(scored["metrics"])) == "f1"
    status = rw(ws, "status")
    assert status["deployed"]["version"] == second
    assert [h["version"] for h in status["history"]] == [second, first]
    assert rw(ws, "rollback")["version"] == first
    calls = rw(ws, "calllist", "--top", "7", "--publish")
    assert calls["version"] == first
    assert [row["rank"] for row in calls["top"]] == list(range(1, 8))
    assert (ws / "reports" / "calllist.csv").read_text().startswith("rank,corporation,probability")
    text = run("status", cwd=ws)
    assert f"Deployed: {first}" in text.stdout
    assert "rollback" in text.stdout


def test_calllist_is_a_look_unless_published_and_quiet_prints_only_the_clients(ws: Path) -> None:
    rw(ws, "train")
    rw(ws, "deploy")
    path = ws / "reports" / "calllist.csv"
    look = rw(ws, "calllist", "--top", "5")
    assert not path.exists()
    assert look["published"] is None and look["compared_with"] is None
    assert all(row["change"] == "new" for row in look["top"])

    published = run("calllist", "--publish", cwd=ws)
    assert published.returncode == 0, published.stderr
    assert "Published at " in published.stdout and str(path) in published.stdout
    written = path.read_bytes()
    assert len(written.decode().splitlines()) == 101

    peek = rw(ws, "calllist", "--top", "5")  # looking leaves the managers' list as it is
    assert path.read_bytes() == written
    assert [row["change"] for row in peek["top"]] == ["unchanged"] * 5
    assert [row["previous_rank"] for row in peek["top"]] == [1, 2, 3, 4, 5]
    text = run("calllist", "--top", "3", cwd=ws).stdout
    assert "Not published (a look only)" in text and "--publish" in text

    quiet = run("calllist", "--top", "3", "-q", cwd=ws)
    assert quiet.returncode == 0, quiet.stderr
    lines = quiet.stdout.splitlines()
    assert [line.split(".")[0].strip() for line in lines] == ["1", "2", "3"]
    assert quiet.stderr == ""
    silent = run("calllist", "--publish", "--quiet", cwd=ws)
    assert (silent.returncode, silent.stdout, silent.stderr) == (0, "", "")


def test_deploy_gate_keeps_production_when_the_challenger_is_no_better(ws: Path) -> None:
    rw(ws, "train")
    rw(ws, "deploy")
    rw(ws, "train")
    decision = rw(ws, "deploy", "--gate")
    assert decision["promoted"] is False
    assert "does not beat production by the margin 0.01" in decision["reason"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("deploy",), 1, "no model version in .*models: run `riskwatch train` first"),
        (("deploy", "../../etc"), 1, "not a model version: '../../etc'"),
        (("rollback",), 1, "nothing is deployed"),
        (("score",), 1, "no model is deployed"),
        (("calllist",), 1, "no model is deployed"),
        (("calllist", "--top", "0"), 2, "must be a positive whole number"),
        (
            ("score", "--data", "missing.csv", "--version", "2026-01-01T00.00.00.000000Z"),
            1,
            "no model version 2026-01-01T00.00.00.000000Z",
        ),
    ],
)
def test_model_command_errors_exit_with_a_message(
    ingested: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    result = run(*args, cwd=ingested)
    assert result.returncode == code, result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_train_on_an_empty_workspace_exits_1(tmp_path: Path) -> None:
    (tmp_path / "riskwatch.toml").write_text("")
    result = run("train", cwd=tmp_path)
    assert result.returncode == 1
    assert "run `riskwatch ingest` first" in result.stderr


def test_models_lists_every_version_with_scores_gate_and_production(ws: Path) -> None:
    first, second = rw(ws, "train")["version"], rw(ws, "train")["version"]
    rw(ws, "deploy", first)
    gate = rw(ws, "deploy", "--gate", second)
    listed = rw(ws, "models")
    assert [v["version"] for v in listed["versions"]] == [second, first]  # newest first
    assert listed["production"]["version"] == first
    newest, oldest = listed["versions"]
    assert (newest["in_production"], oldest["in_production"]) == (False, True)
    assert oldest["training_rows"] == 1500
    metadata = json.loads((ws / "models" / first / "metadata.json").read_text())
    assert oldest["holdout"]["roc_auc"] == metadata["metrics"]["holdout"]["roc_auc"]["value"]
    assert newest["gate"]["reason"] == gate["reason"]
    assert oldest["deployments"][0]["until"] is None  # still in production
    text = run("models", cwd=ws).stdout
    assert f"In production: {first} since " in text
    assert re.search(rf"^\* {first} .* 1,500 ", text, re.MULTILINE), text
    assert "riskwatch models" in run("status", cwd=ws).stdout


def test_models_imports_neither_scikit_learn_nor_pandas(ingested: Path) -> None:
    probe = (
        "import sys\n"
        "from riskwatch.cli import main\n"
        "code = main(['models', '--json'])\n"
        "heavy = sorted(m for m in ('sklearn', 'pandas', 'skops') if m in sys.modules)\n"
        "sys.stderr.write(f'HEAVY={heavy} CODE={code}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ingested, capture_output=True, text=True, check=False
    )
    assert "HEAVY=[] CODE=0" in result.stderr, result.stderr
    assert json.loads(result.stdout)["versions"] == []
