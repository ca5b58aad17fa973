"""The policy benchmark on a small demo and on a user's workspace with a known twist."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.backtest.history import BacktestError, load_history
from riskwatch.backtest.run import Backtest, backtest
from riskwatch.config import load_settings
from riskwatch.demo.workspace import create_demo
from riskwatch.ingestion import ingest

from ..conftest import run as riskwatch_command
from ..conftest import workspace_settings

MONTHS = 4


def _fingerprints(folder: Path) -> dict[str, str]:
    """Every file under the folder, with its content's sha256."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Backtest, dict[str, str], Path]:
    """A small demo backtested once, and its files before the backtest."""
    folder = tmp_path_factory.mktemp("demo") / "ws"
    create_demo(folder, months=MONTHS, clients=300, scenario="concept", drift_month=3, seed=5)
    before = _fingerprints(folder)
    return backtest(workspace_settings(folder), windows=(1,)), before, folder


def _run(found: Backtest, policy: str) -> dict[str, object]:
    return next(r.to_dict() for r in found.runs if r.policy == policy)


def test_never_retrain_deploys_nothing_after_the_first(
    demo_run: tuple[Backtest, dict[str, str], Path],
) -> None:
    found = demo_run[0]
    assert _run(found, "never retrain")["deployments_after_first"] == 0


def test_monthly_schedules_deploy_after_every_drop_but_the_last(
    demo_run: tuple[Backtest, dict[str, str], Path],
) -> None:
    found = demo_run[0]
    for policy in ("retrain monthly on all data", "retrain monthly on the last drop"):
        assert _run(found, policy)["deployments_after_first"] == MONTHS - 2


def test_every_policy_scores_every_drop_after_the_first_against_the_oracle(
    demo_run: tuple[Backtest, dict[str, str], Path],
) -> None:
    found = demo_run[0]
    assert found.truth_known
    assert [r.policy for r in found.runs][-1] == "riskwatch"
    for run in found.runs:
        assert [m.drop for m in run.months] == found.drops[1:]
        assert all(m.of_oracle is not None and m.of_oracle > 0 for m in run.months)
    riskwatch = found.runs[-1]
    assert riskwatch.decisions[0] == "initial"
    assert len(riskwatch.decisions) == MONTHS - 1
    assert "mean p@100 / oracle" in found.table()[0]


def test_backtest_leaves_the_workspace_untouched(
    demo_run: tuple[Backtest, dict[str, str], Path],
) -> None:
    _, before, folder = demo_run
    assert _fingerprints(folder) == before


def _twisted_drops(workspace: Path) -> None:
    """Three drops and a holdout: in the first (and the holdout) a quiet last month means
    leaving; from the second on, a busy one does."""
    rng = np.random.default_rng(0)
    (workspace / "testdata").mkdir()
    for index, name in enumerate(
        ("testdata/testdata.csv", "sourcedata/a.csv", "sourcedata/b.csv", "sourcedata/c.csv")
    ):
        activity = rng.integers(0, 21, 400)
        busy_leave = index >= 2
        exited = (activity > 14) if busy_leave else (activity < 6)
        frame = pd.DataFrame(
            {
                "corporation": [f"c{index}_{i}" for i in range(400)],
                "lastmonth_activity": activity,
                "lastyear_activity": 120,
                "number_of_employees": rng.integers(5, 50, 400),
                "exited": exited.astype(int),
            }
        )
        frame.to_csv(workspace / name, index=False)


def test_each_drop_is_scored_by_the_model_deployed_before_it(workspace: Path) -> None:
    _twisted_drops(workspace)
    settings = load_settings(
        workspace / "riskwatch.toml", env={}, overrides={"call_list_capacity": 50}
    )
    ingest(settings)
    found = backtest(settings, windows=(1,))
    assert not found.truth_known
    assert "oracle" not in found.table()[0]
    # The second drop turned the rule around: every model trained on the first alone lists
    # only stayers (the first 50 of the list), and one trained on the second lists leavers.
    for run in found.runs:
        assert run.months[0].precision_at_k == 0.0, run.policy
    last_drop = _run(found, "retrain monthly on the last drop")["months"]
    assert last_drop[1]["precision_at_k"] > 0.9
    assert _run(found, "never retrain")["months"][1]["precision_at_k"] == 0.0


def test_backtest_refuses_a_workspace_with_nothing_ingested(workspace: Path) -> None:
    settings = load_settings(workspace / "riskwatch.toml", env={})
    with pytest.raises(BacktestError, match="no ingested data"):
        load_history(settings)


def test_backtest_refuses_too_few_drops(workspace: Path) -> None:
    _twisted_drops(workspace)
    (workspace / "sourcedata" / "c.csv").unlink()
    settings = load_settings(workspace / "riskwatch.toml", env={})
    ingest(settings)
    with pytest.raises(BacktestError, match=r"2 labelled drop.*at least 3"):
        load_history(settings)


def test_backtest_command_says_why_it_cannot_run(workspace: Path) -> None:
    result = riskwatch_command(
        "--config", str(workspace / "riskwatch.toml"), "backtest", timeout=600
    )
    assert result.returncode == 1, result.stderr
    assert "no ingested data" in result.stderr
