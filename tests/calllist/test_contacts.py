"""The call list carries each client's last contact: in its frame, its JSON and calllist.csv."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from riskwatch.calllist.build import build_call_list, publish_call_list
from riskwatch.contacts.ledger import Contact, list_contacts, record_contacts
from riskwatch.storage.store import Store

from ..conftest import Workspace

CLASSIC = ["rank", "corporation", "probability", "risk_band", "reasons", "change", "previous_rank"]


def test_published_csv_and_list_carry_each_clients_last_contact(ws: Workspace) -> None:
    with Store(ws.settings.database_url) as store:
        first = publish_call_list(ws.settings, store, build_call_list(ws.settings, store, 5))
        top, second = first.frame["corporation"].tolist()[:2]
        record_contacts(
            store,
            [
                Contact(top, "2026-01-05T09:00:00.000000Z", "no_answer"),
                Contact(top, "2026-01-07T09:00:00.000000Z", "saved"),
            ],
        )
        again = publish_call_list(ws.settings, store, build_call_list(ws.settings, store, 5))
    written = pd.read_csv(ws.settings.reports_path / "calllist.csv", dtype={"corporation": str})
    assert list(written.columns) == [*CLASSIC, "last_contacted_at", "last_outcome", "holdout"]
    assert written.loc[0, ["corporation", "last_contacted_at", "last_outcome"]].tolist() == [
        top,
        "2026-01-07T09:00:00.000000Z",
        "saved",
    ]
    assert written.loc[1:, "last_outcome"].isna().all()
    rows = again.to_dict()["top"]
    assert rows[0]["last_contact"] == {
        "contacted_at": "2026-01-07T09:00:00.000000Z",
        "outcome": "saved",
    }
    assert rows[1]["corporation"] == second and rows[1]["last_contact"] is None
    assert "[last contact: saved on 2026-01-07]" in again.lines(1)[0]


def test_the_last_contacts_of_all_listed_clients_take_one_query(ws: Workspace) -> None:
    asked: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "FROM contacts" in statement:
            asked.append(statement)

    with Store(ws.settings.database_url) as store:
        sa.event.listen(store.engine, "before_cursor_execute", count)
        calls = build_call_list(ws.settings, store, 100)
    assert len(calls.frame) == 100
    assert len(asked) == 1


@pytest.mark.postgres
def test_contacts_are_kept_in_postgresql_too(ws: Workspace, postgres_url: str) -> None:
    with Store(postgres_url) as store:
        published = publish_call_list(ws.settings, store, build_call_list(ws.settings, store, 20))
        client = published.frame["corporation"].iloc[3]
        when = "2099-01-01T00:00:00.000000Z"  # after the list: the list in effect then
        recorded = record_contacts(store, [Contact(client, when, "reached", manager="Ann")])
        again = record_contacts(store, [Contact(client, when, "reached")])
        looked = build_call_list(ws.settings, store, 20)
        kept = list_contacts(store)
    assert recorded.contacts[0]["list"] == {
        "id": published.published.id if published.published else None,
        "published_at": published.published.published_at if published.published else None,
        "rank": 4,
        "version": published.version,
    }
    assert again.already == 1 and len(kept) == 1
    assert looked.to_dict()["top"][3]["last_contact"] == {
        "contacted_at": when,
        "outcome": "reached",
    }
