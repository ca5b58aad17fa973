"""The demo plays the managers: calls recorded, leavers kept as the truth says, and the lift
riskwatch reports matching the truth within its interval."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from riskwatch.contacts.ledger import list_contacts
from riskwatch.demo.replay import replay_demo
from riskwatch.demo.workspace import create_demo
from riskwatch.monitoring.calls import CallEffect, call_effect
from riskwatch.storage.clock import utcnow
from riskwatch.storage.store import Store

from ..conftest import workspace_settings

MONTHS = 4


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3,000-client demo replayed over four months, half of each 600-client list held out
    (so the comparison has some 900 held-out outcomes)."""
    path = tmp_path_factory.mktemp("calls") / "ws"
    create_demo(path, months=MONTHS, seed=7, clients=3000)
    with (path / "riskwatch.toml").open("a") as config:
        config.write("call_list_capacity = 600\ncall_list_holdout_share = 0.5\n")
    replay_demo(workspace_settings(path))
    return path


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"corporation": str})


def test_truth_names_the_effect_of_a_call(replayed: Path) -> None:
    truth = json.loads((replayed / "truth" / "truth.json").read_text())
    assert truth["calls"] == {"reach_rate": 0.7, "save_share": 0.4}


def test_every_listed_client_outside_the_control_group_is_called_once_per_list(
    replayed: Path,
) -> None:
    calls = read(replayed / "truth" / "calls.csv")
    settings = workspace_settings(replayed)
    with Store(settings.database_url) as store:
        recorded = list_contacts(store, limit=100_000)
    assert len(calls) == MONTHS * 600 and (calls.groupby("month")["holdout"].sum() == 300).all()
    called = calls[calls["holdout"] == 0]
    assert len(recorded) == len(called)
    assert {c["source"] for c in recorded} == {"demo"}
    assert all(c["contacted_at"] <= utcnow() for c in recorded)
    outcomes = pd.Series([c["outcome"] for c in recorded]).value_counts()
    assert outcomes["reached"] == called["reached"].sum()
    assert 0.65 < outcomes["reached"] / len(called) < 0.75  # reach_rate 0.7


def test_a_saved_client_stays_in_the_released_drop_but_not_in_the_generated_one(
    replayed: Path,
) -> None:
    saved = read(replayed / "truth" / "saved.csv")
    assert not saved.empty
    for month, clients in saved.groupby("month")["corporation"]:
        name = f"month_{month:02d}.csv"
        generated = read(replayed / "drops" / name).set_index("corporation")["exited"]
        released = read(replayed / "sourcedata" / name).set_index("corporation")["exited"]
        assert (generated[clients] == 1).all() and (released[clients] == 0).all()
        others = generated.index.difference(list(clients))
        assert generated[others].equals(released[others])


def true_lift(path: Path) -> float:
    """Expected churn of the held-out listed clients minus that of the contacted ones, from
    the true probabilities and the calls the demo made (a reached client leaves with
    p x (1 - save_share)), over the clients whose outcome arrived."""
    save = json.loads((path / "truth" / "truth.json").read_text())["calls"]["save_share"]
    calls = read(path / "truth" / "calls.csv")
    truth = read(path / "truth" / "probabilities.csv")
    known = calls.assign(month=calls["month"] + 1).merge(truth, on=["month", "corporation"])
    expected = known["true_probability"] * (1 - save * known["reached"])
    held = known["holdout"] == 1
    return float(expected[held].mean() - expected[~held].mean())


def test_the_reported_lift_matches_the_truth_within_its_interval(replayed: Path) -> None:
    settings = workspace_settings(replayed)
    with Store(settings.database_url) as store:
        effect: CallEffect = call_effect(settings, store)
    overall = effect.overall()
    assert overall.enough, overall.why_not
    assert overall.held_out.known > 800 and overall.contacted.known > 800
    assert overall.low is not None and overall.high is not None
    assert overall.low <= true_lift(replayed) <= overall.high


def test_the_reported_lift_is_near_the_truth_and_each_group_counts_every_outcome(
    replayed: Path,
) -> None:
    # Over 2,000 control groups drawn on this demo, the estimate was within 2.7 points of the
    # truth 99 times in 100 and never 4 points off (docs/control-group.md).
    settings = workspace_settings(replayed)
    with Store(settings.database_url) as store:
        overall = call_effect(settings, store).overall()
    assert overall.lift is not None
    assert abs(overall.lift - true_lift(replayed)) < 0.04
    calls = read(replayed / "truth" / "calls.csv")
    truth = read(replayed / "truth" / "probabilities.csv")
    known = calls.assign(month=calls["month"] + 1).merge(truth, on=["month", "corporation"])
    held = int((known["holdout"] == 1).sum())
    # Each listed client with a next month counts once, in its group; a few are unknown: the
    # newest month's row of a client whose figures repeat is dropped at ingestion.
    assert held - 10 <= overall.held_out.known <= held
    assert len(known) - held - 10 <= overall.contacted.known <= len(known) - held
