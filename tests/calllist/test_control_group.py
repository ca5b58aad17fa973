"""The control group: each published list holds out a seeded share, recorded and marked."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest
import sqlalchemy as sa

from riskwatch.calllist.build import build_call_list, publish_call_list
from riskwatch.calllist.holdout import held_out
from riskwatch.calllist.published import list_seed
from riskwatch.config import Settings
from riskwatch.storage.store import MIGRATIONS, Store, call_list_items, call_lists

from ..conftest import Workspace, run


def publish(settings: Settings, store: Store) -> pd.DataFrame:
    published = publish_call_list(settings, store, build_call_list(settings, store))
    assert published.published is not None
    return published.frame


def test_a_published_list_holds_out_its_share_recorded_and_in_the_csv(ws: Workspace) -> None:
    with Store(ws.settings.database_url) as store:
        frame = publish(ws.settings, store)
        lists = store.rows(call_list_items)

    assert int(frame["holdout"].sum()) == 10  # 10 % of 100
    recorded = {row["corporation"]: row["holdout"] for row in lists}
    assert recorded == dict(zip(frame["corporation"], frame["holdout"], strict=True))
    # The record can be checked: the seed comes from what is recorded, and gives the same clients.
    stored = pd.DataFrame(lists)
    clients = frame["corporation"].tolist()
    assert held_out(clients, 0.10, list_seed(stored)) == frame["holdout"].tolist()
    written = pd.read_csv(ws.path / "reports" / "calllist.csv", dtype={"corporation": str})
    assert written["holdout"].tolist() == frame["holdout"].tolist()


def test_the_same_list_published_again_holds_out_the_same_clients(ws: Workspace) -> None:
    # A replay of the same drops publishes the same lists: it must draw the same control group.
    with Store(ws.settings.database_url) as store:
        first = publish(ws.settings, store)
        again = publish(ws.settings, store)
        published = store.rows(call_lists)

    assert len(published) == 2 and published[0]["published_at"] != published[1]["published_at"]
    assert again["holdout"].tolist() == first["holdout"].tolist()


def test_a_share_of_zero_holds_out_nobody(ws: Workspace) -> None:
    settings = dataclasses.replace(ws.settings, call_list_holdout_share=0.0)
    with Store(settings.database_url) as store:
        frame = publish(settings, store)
    assert not frame["holdout"].any()


def test_a_look_marks_the_control_group_of_the_list_the_managers_have(ws: Workspace) -> None:
    with Store(ws.settings.database_url) as store:
        published = publish(ws.settings, store)
        seen = build_call_list(ws.settings, store)

    control = set(published.loc[published["holdout"], "corporation"])
    assert set(seen.frame.loc[seen.frame["holdout"], "corporation"]) == control
    rows = seen.to_dict()["top"]
    assert {row["corporation"] for row in rows if row["holdout"]} == control


def test_the_terminal_list_marks_the_control_group(ws: Workspace) -> None:
    result = run("calllist", "--publish", cwd=ws.path)
    assert result.returncode == 0, result.stderr
    shown = {
        found.group(1): "[control group: do not call]" in line
        for line in result.stdout.splitlines()
        if (found := re.match(r"^\s*\d+\. (\S+)", line))
    }
    written = pd.read_csv(ws.path / "reports" / "calllist.csv", dtype={"corporation": str})
    expected = dict(zip(written["corporation"], written["holdout"], strict=True))
    assert shown and shown == {client: expected[client] for client in shown}


def _downgrade_to_step_6(url: str) -> None:
    """A database as step 6 left it: call_list_items without the holdout column."""
    with Store(url) as store, store.begin() as conn:
        conn.execute(sa.text("ALTER TABLE call_list_items DROP COLUMN holdout"))
        conn.execute(sa.text("DELETE FROM riskwatch_schema_version WHERE version = 7"))


def _check_step_7(settings: Settings, url: str) -> None:
    _downgrade_to_step_6(url)
    with Store(url) as store:
        # As the next process to open it would (this one has migrated it already).
        assert store._migrate_once() == len(MIGRATIONS) == 7
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("call_list_items")}
        assert "holdout" in columns
        frame = publish(settings, store)
        kept = store.rows(call_list_items)
    assert sum(bool(row["holdout"]) for row in kept) == int(frame["holdout"].sum()) > 0


def test_migration_step_7_adds_the_holdout_column_on_sqlite(ws: Workspace) -> None:
    with Store(ws.settings.database_url) as store:
        store.migrate()
    _check_step_7(ws.settings, ws.settings.database_url)


@pytest.mark.postgres
def test_migration_step_7_adds_the_holdout_column_on_postgresql(
    ws: Workspace, postgres_url: str
) -> None:
    with Store(postgres_url) as store:
        store.migrate()
    _check_step_7(dataclasses.replace(ws.settings, database_url=postgres_url), postgres_url)


def test_a_list_from_before_the_control_group_marks_nobody(ws: Workspace) -> None:
    with Store(ws.settings.database_url) as store:
        publish(ws.settings, store)
        with store.begin() as conn:  # as step 7 leaves a list published before it
            conn.execute(call_list_items.update().values(holdout=None))
        seen = build_call_list(ws.settings, store)
    assert not seen.frame["holdout"].any()
