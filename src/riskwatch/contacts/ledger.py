"""The contact ledger: whom the managers called, when, what came of it, and from which list."""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from riskwatch.storage.clock import utcnow
from riskwatch.storage.store import Store, call_list_items, call_lists, contacts

log = logging.getLogger(__name__)

OUTCOMES = ("reached", "no_answer", "saved", "lost", "declined")
# Up to this many clients are named in a query; more, and the query reads every client's rows
# and the few not asked for are dropped (SQLite refuses more than 32,766 parameters).
MAX_NAMED = 1000
ATTEMPTS = 2  # a second look when another import stored the same contact at the same moment

Key = tuple[str, str, str]
NO_LIST = {"list_id": None, "list_published_at": None, "list_rank": None, "list_version": None}


@dataclass(frozen=True)
class Contact:
    """One call, checked and ready to record; contacted_at is UTC text as utc_text writes it."""

    corporation: str
    contacted_at: str
    outcome: str
    note: str | None = None
    manager: str | None = None
    source: str = "api"

    def key(self) -> Key:
        """What makes two contacts the same contact."""
        return (self.corporation, self.contacted_at, self.outcome)


@dataclass(frozen=True)
class Recorded:
    """What one recording stored, and how many of the contacts were in the ledger already."""

    contacts: list[dict[str, Any]]
    already: int


def utc_text(when: datetime) -> str:
    """A UTC time as the ledger keeps it: the same text as utcnow(), so times sort as text."""
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def record_contacts(store: Store, calls: Sequence[Contact]) -> Recorded:
    """Record contacts in one transaction, each linked to the published list in effect when it
    was made; those already in the ledger are skipped and counted."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with store.begin() as conn:
                return _record(conn, calls, utcnow())
        except sa.exc.IntegrityError:
            # Another import stored one of these contacts since we looked: look again.
            if attempt == ATTEMPTS:
                raise
            log.info("a contact was recorded meanwhile by another import; looking again")
    raise AssertionError("unreachable")  # pragma: no cover


def _record(conn: Connection, calls: Sequence[Contact], recorded_at: str) -> Recorded:
    unique = list({call.key(): call for call in calls}.values())
    clients = {call.corporation for call in unique}
    stored = {tuple(row) for row in conn.execute(_named(_keys(), clients))}
    new = [call for call in unique if call.key() not in stored]
    links = _list_links(conn, new)
    rows = [
        {
            "corporation": call.corporation,
            "contacted_at": call.contacted_at,
            "outcome": call.outcome,
            "note": call.note,
            "manager": call.manager,
            "recorded_at": recorded_at,
            "source": call.source,
            **links.get(call.key(), NO_LIST),
        }
        for call in new
    ]
    if rows:
        conn.execute(contacts.insert(), rows)
    query = _named(sa.select(contacts), clients).where(contacts.c.recorded_at == recorded_at)
    added = {call.key() for call in new}
    found = [contact_dict(row._mapping) for row in conn.execute(query.order_by(contacts.c.id))]
    kept = [c for c in found if (c["corporation"], c["contacted_at"], c["outcome"]) in added]
    return Recorded(kept, len(unique) - len(new))


def _keys() -> sa.Select[Any]:
    return sa.select(contacts.c.corporation, contacts.c.contacted_at, contacts.c.outcome)


def _named(query: sa.Select[Any], clients: Collection[str]) -> sa.Select[Any]:
    """The query limited to these clients' contacts, when they are few enough to name."""
    if len(clients) > MAX_NAMED:
        return query
    return query.where(contacts.c.corporation.in_(sorted(clients)))


def _list_links(conn: Connection, calls: Sequence[Contact]) -> dict[Key, dict[str, Any]]:
    """For each contact, the list in effect when it was made (the newest published by then),
    with the client's rank on it; contacts whose list did not list the client are left out."""
    lists = conn.execute(
        sa.select(call_lists.c.id, call_lists.c.published_at, call_lists.c.version).order_by(
            call_lists.c.published_at, call_lists.c.id
        )
    ).all()
    times = [row.published_at for row in lists]
    in_effect = {}
    for call in calls:
        at = bisect_right(times, call.contacted_at) - 1
        if at >= 0:
            in_effect[call.key()] = lists[at]
    if not in_effect:
        return {}
    clients = {key[0] for key in in_effect}
    items = sa.select(
        call_list_items.c.list_id, call_list_items.c.corporation, call_list_items.c.rank
    ).where(call_list_items.c.list_id.in_({row.id for row in in_effect.values()}))
    if len(clients) <= MAX_NAMED:
        items = items.where(call_list_items.c.corporation.in_(sorted(clients)))
    ranks = {(row.list_id, row.corporation): row.rank for row in conn.execute(items)}
    links = {}
    for key, listed in in_effect.items():
        rank = ranks.get((listed.id, key[0]))
        if rank is not None:
            links[key] = {
                "list_id": listed.id,
                "list_published_at": listed.published_at,
                "list_rank": rank,
                "list_version": listed.version,
            }
    return links


def contact_dict(row: Any) -> dict[str, Any]:
    """A stored contact as JSON-ready values, its list as one nested record (or None)."""
    listed = None
    if row["list_published_at"] is not None:
        listed = {
            "id": row["list_id"],
            "published_at": row["list_published_at"],
            "rank": row["list_rank"],
            "version": row["list_version"],
        }
    fields = ("id", "corporation", "contacted_at", "outcome", "note", "manager")
    return {name: row[name] for name in fields} | {
        "list": listed,
        "recorded_at": row["recorded_at"],
        "source": row["source"],
    }


def list_contacts(
    store: Store, *, client: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Recorded contacts, the latest call first, optionally of one client."""
    query = sa.select(contacts).order_by(contacts.c.contacted_at.desc(), contacts.c.id.desc())
    if client is not None:
        query = query.where(contacts.c.corporation == client)
    if limit is not None:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        return [contact_dict(row._mapping) for row in conn.execute(query)]


def count_contacts(store: Store, *, client: str | None = None) -> int:
    """How many contacts the ledger holds, optionally of one client."""
    query = sa.select(sa.func.count()).select_from(contacts)
    if client is not None:
        query = query.where(contacts.c.corporation == client)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def last_contacts(store: Store, clients: Collection[str]) -> dict[str, dict[str, str]]:
    """Each client's latest contact ({"contacted_at", "outcome"}); clients never contacted are
    absent. One query, however many clients."""
    latest = sa.func.row_number().over(
        partition_by=contacts.c.corporation,
        order_by=(contacts.c.contacted_at.desc(), contacts.c.id.desc()),
    )
    ranked = _named(_keys().add_columns(latest.label("nth")), clients).subquery()
    query = sa.select(ranked.c.corporation, ranked.c.contacted_at, ranked.c.outcome).where(
        ranked.c.nth == 1
    )
    wanted = set(clients)
    with store.engine.connect() as conn:
        return {
            row.corporation: {"contacted_at": row.contacted_at, "outcome": row.outcome}
            for row in conn.execute(query)
            if row.corporation in wanted
        }
