"""The ledger: contacts recorded once, in one transaction, linked to the list they came from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from riskwatch.contacts.ledger import (
    Contact,
    last_contacts,
    list_contacts,
    record_contacts,
    utc_text,
)
from riskwatch.storage.store import Store, contacts, schema_version

from .conftest import publish

OCT_1 = "2026-10-01T06:00:00.000000Z"
NOV_1 = "2026-11-01T06:00:00.000000Z"


def call(client: str, when: str, outcome: str = "reached", **more: str) -> Contact:
    return Contact(client, when, outcome, **more)


def test_the_migration_adds_the_contacts_table_as_schema_version_6(store: Store) -> None:
    with store.engine.connect() as conn:
        version = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
    assert version is not None and version >= 6  # later steps follow it
    assert "contacts" in sa.inspect(store.engine).get_table_names()


def test_a_contact_is_linked_to_the_list_in_effect_with_its_rank_and_model(store: Store) -> None:
    october = publish(store, OCT_1, "v-oct", ["c1", "c2", "c3"])
    november = publish(store, NOV_1, "v-nov", ["c3", "c1"])
    recorded = record_contacts(
        store,
        [
            call("c1", "2026-10-15T09:00:00.000000Z"),  # October's list: rank 1
            call("c1", "2026-11-02T09:00:00.000000Z"),  # November's list: rank 2
            call("c2", "2026-11-02T09:00:00.000000Z"),  # not on November's list
            call("c3", "2026-09-30T09:00:00.000000Z"),  # before any list
            call("c3", NOV_1),  # at the very moment November's list was published
        ],
    ).contacts
    links = [(c["corporation"], c["list"]) for c in recorded]
    assert links == [
        ("c1", {"id": october, "published_at": OCT_1, "rank": 1, "version": "v-oct"}),
        ("c1", {"id": november, "published_at": NOV_1, "rank": 2, "version": "v-nov"}),
        ("c2", None),
        ("c3", None),
        ("c3", {"id": november, "published_at": NOV_1, "rank": 1, "version": "v-nov"}),
    ]


def test_recording_the_same_contact_twice_stores_it_once_and_counts_it(store: Store) -> None:
    calls = [call("c1", OCT_1, note="first"), call("c2", OCT_1, "no_answer")]
    first = record_contacts(store, calls)
    again = record_contacts(store, [*calls, call("c1", NOV_1)])
    assert (len(first.contacts), first.already) == (2, 0)
    assert [c["contacted_at"] for c in again.contacts] == [NOV_1]
    assert again.already == 2
    assert len(list_contacts(store)) == 3


def test_the_database_refuses_a_second_copy_of_a_contact(store: Store) -> None:
    record_contacts(store, [call("c1", OCT_1)])
    row = {"corporation": "c1", "contacted_at": OCT_1, "outcome": "reached"}
    with pytest.raises(sa.exc.IntegrityError), store.begin() as conn:
        conn.execute(contacts.insert().values(**row, recorded_at=OCT_1, source="api"))


def test_a_crash_while_recording_leaves_the_ledger_unchanged(store: Store) -> None:
    record_contacts(store, [call("c1", OCT_1)])

    def crash(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("INSERT INTO contacts"):
            raise OSError("the disk is gone")  # after the rows were written, before the commit

    sa.event.listen(store.engine, "after_cursor_execute", crash)
    try:
        with pytest.raises(OSError, match="the disk is gone"):
            record_contacts(store, [call(f"c{n}", NOV_1) for n in range(2, 12)])
    finally:
        sa.event.remove(store.engine, "after_cursor_execute", crash)
    assert [c["corporation"] for c in list_contacts(store)] == ["c1"]


def test_contacts_are_listed_latest_first_per_client_and_limited(store: Store) -> None:
    record_contacts(
        store,
        [
            call("c1", OCT_1, manager="Ann"),
            call("c2", NOV_1, "saved"),
            call("c1", NOV_1, "lost"),
        ],
    )
    assert [(c["corporation"], c["outcome"]) for c in list_contacts(store)] == [
        ("c1", "lost"),
        ("c2", "saved"),
        ("c1", "reached"),
    ]
    assert [c["outcome"] for c in list_contacts(store, client="c1")] == ["lost", "reached"]
    assert len(list_contacts(store, limit=1)) == 1
    assert list_contacts(store, client="c1")[1]["manager"] == "Ann"


def test_last_contacts_gives_each_clients_latest_call_only(store: Store) -> None:
    record_contacts(
        store,
        [call("c1", OCT_1, "no_answer"), call("c1", NOV_1, "saved"), call("c2", OCT_1)],
    )
    assert last_contacts(store, ["c1", "c2", "c3"]) == {
        "c1": {"contacted_at": NOV_1, "outcome": "saved"},
        "c2": {"contacted_at": OCT_1, "outcome": "reached"},
    }
    many = {f"x{n}" for n in range(5000)} | {"c2"}  # too many to name in one query
    assert last_contacts(store, many) == {"c2": {"contacted_at": OCT_1, "outcome": "reached"}}


def test_utc_text_sorts_like_the_published_lists_times() -> None:
    when = datetime(2026, 11, 1, 6, tzinfo=UTC)
    assert utc_text(when) == NOV_1
