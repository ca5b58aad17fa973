"""The cycle judges the model only on clients nobody contacted before their outcome was known."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.contacts.ledger import Contact, record_contacts, utc_text
from riskwatch.fullprocess.steps import Held, evaluate_step
from riskwatch.ingestion.master import MASTER_PARQUET, read_master
from riskwatch.reporting import Given, build_report
from riskwatch.schema import BATCH_COLUMN, ID_COLUMN, TARGET
from riskwatch.storage.store import Store

from ..conftest import Workspace, copy_workspace

SAVED_SHARE = 0.4  # of the new month's clients: called, and their outcome turned by the call


@pytest.fixture(scope="module")
def template(deployed_template: Callable[..., Path]) -> Path:
    """A 2,000-client demo deployed on month 1 with month 2 ingested (copied by each test)."""
    return deployed_template(months=3, seed=3, later=1)


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Iterator[Workspace]:
    """Month 2 where the called clients' outcomes are the opposite of what they would have been."""
    found = copy_workspace(template, tmp_path)
    folder = found.settings.output_folder_path
    master = read_master(folder)
    new = master[BATCH_COLUMN] == 2
    clients = np.sort(master.loc[new, ID_COLUMN].astype(str).unique())
    called = np.random.default_rng(7).choice(clients, int(len(clients) * SAVED_SHARE), False)
    turned = new & master[ID_COLUMN].astype(str).isin(called)
    master.loc[turned, TARGET] = 1 - master.loc[turned, TARGET]
    master.to_parquet(folder / MASTER_PARQUET, index=False)
    (found.path / "called.txt").write_text("\n".join(called))
    yield found


def _called(ws: Workspace) -> list[str]:
    return (ws.path / "called.txt").read_text().split("\n")


def _record_calls(ws: Workspace, store: Store) -> None:
    """The managers' calls, made between month 1's arrival and month 2's (its window)."""
    first, second = (pd.Timestamp(str(b.finished_at)) for b in store.batches(status="ingested"))
    when = utc_text((first + (second - first) / 2).to_pydatetime())
    record_contacts(store, [Contact(c, when, "saved", source="test") for c in _called(ws)])


def test_turned_outcomes_of_uncontacted_clients_count_as_model_errors(ws: Workspace) -> None:
    with Store(ws.settings.database_url) as store:
        step = evaluate_step(ws.settings, store, [2], Held())
    assert step.detail["performance"]["decision"] == "retrain"
    assert step.detail["excluded"] == {"rows": 0, "clients": 0}


def test_the_verdict_ignores_contacted_clients_and_the_count_is_reported(ws: Workspace) -> None:
    rows = read_master(ws.settings.output_folder_path)
    new = rows[rows[BATCH_COLUMN] == 2]
    called = _called(ws)
    with Store(ws.settings.database_url) as store:
        _record_calls(ws, store)
        step = evaluate_step(ws.settings, store, [2], Held())
    left_out = int(new[ID_COLUMN].astype(str).isin(called).sum())
    assert step.detail["excluded"] == {"rows": left_out, "clients": len(called)}
    assert step.detail["performance"]["decision"] != "retrain"
    assert step.detail["performance"]["rows"] == len(new) - left_out
    assert step.detail["rows"] == len(new)  # drift still sees every row


def test_a_call_made_before_the_previous_month_arrived_leaves_nothing_out(ws: Workspace) -> None:
    with Store(ws.settings.database_url) as store:
        first = pd.Timestamp(str(store.batches(status="ingested")[0].finished_at))
        when = utc_text((first - timedelta(days=1)).to_pydatetime())
        record_contacts(store, [Contact(c, when, "saved", source="test") for c in _called(ws)])
        step = evaluate_step(ws.settings, store, [2], Held())
    assert step.detail["excluded"] == {"rows": 0, "clients": 0}
    assert step.detail["performance"]["decision"] == "retrain"


def test_the_report_says_how_many_rows_were_left_out_and_why(ws: Workspace) -> None:
    held = Held()
    with Store(ws.settings.database_url) as store:
        _record_calls(ws, store)
        step = evaluate_step(ws.settings, store, [2], held)
        written = build_report(ws.settings, store, given=Given(evaluation=held.evaluation))
    rows = step.detail["excluded"]["rows"]
    html = Path(written.html).read_text(encoding="utf-8")
    assert f"{rows:,} labelled rows ({rows:,} clients) were left out: a manager contacted" in html
