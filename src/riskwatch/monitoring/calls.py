"""What calls achieve: the held-out and contacted clients of each list, once outcomes arrive."""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from riskwatch.config import Settings
from riskwatch.ingestion.master import read_master
from riskwatch.monitoring.uplift import GroupComparison, Outcome, compare_by_band
from riskwatch.schema import BATCH_COLUMN, ID_COLUMN, TARGET
from riskwatch.storage.store import Store, call_list_items, call_lists, contacts

log = logging.getLogger(__name__)

BANDS = ("high", "medium", "low")


@dataclass(frozen=True)
class CallEffect:
    """The comparison by band (then "all"), and how many lists and listed clients it rests on."""

    comparisons: list[GroupComparison]
    lists: int  # lists published with a control group
    lists_with_outcomes: int  # of those, lists with at least one client's outcome known
    listed: int  # listed clients (one per list and client) in those lists
    known: int  # of them, those whose outcome is known

    def overall(self) -> GroupComparison:
        """The comparison over every band."""
        return self.comparisons[-1]


@dataclass(frozen=True)
class _Listed:
    list_id: int
    published_at: str
    client: str
    band: str
    held_out: bool


def _listed(store: Store) -> list[_Listed]:
    """Every client of every list published with a control group (step 7 on)."""
    items, lists = call_list_items.c, call_lists.c
    query = (
        sa.select(
            items.list_id, lists.published_at, items[ID_COLUMN], items.risk_band, items.holdout
        )
        .join(call_lists, lists.id == items.list_id)
        .where(items.holdout.is_not(None))
        .order_by(items.list_id, items.rank)
    )
    with store.begin() as conn:
        return [
            _Listed(int(r[0]), str(r[1]), str(r[2]), str(r[3]), bool(r[4]))
            for r in conn.execute(query)
        ]


def _contact_times(store: Store, clients: set[str]) -> dict[str, list[str]]:
    """Each listed client's recorded contacts, as sorted UTC times."""
    found: dict[str, list[str]] = defaultdict(list)
    query = sa.select(contacts.c[ID_COLUMN], contacts.c.contacted_at)
    with store.begin() as conn:
        for client, when in conn.execute(query):
            if client in clients:
                found[str(client)].append(str(when))
    return {client: sorted(times) for client, times in found.items()}


def _batch_starts(store: Store) -> dict[int, str]:
    """When each ingested batch began to be ingested (the time its outcomes arrived)."""
    return {batch.id: batch.started_at for batch in store.batches(status="ingested")}


def _first_rows(master: pd.DataFrame, starts: dict[int, str]) -> pd.DataFrame:
    """Master rows with the time their batch arrived, oldest first."""
    rows = master.assign(arrived=master[BATCH_COLUMN].map(starts)).dropna(subset=["arrived"])
    return rows.sort_values(["arrived", BATCH_COLUMN], kind="stable")


def _outcome(item: _Listed, rows: pd.DataFrame | None, times: list[str]) -> Outcome | None:
    """The client's outcome after the list: its row in the first later batch, if any yet."""
    if rows is None:
        return None
    later = rows[rows["arrived"] > item.published_at]
    if later.empty:
        return None
    arrived, left = str(later["arrived"].iloc[0]), int(later[TARGET].iloc[0]) == 1
    # A contact after the list was published and before the outcome arrived.
    first_after = bisect_right(times, item.published_at)
    contacted = first_after < len(times) and times[first_after] <= arrived
    return Outcome(item.band, item.held_out, contacted, left)


def call_effect(settings: Settings, store: Store) -> CallEffect:
    """Churn among held-out and contacted listed clients, by band, for every published list."""
    listed = _listed(store)
    if not listed:
        return CallEffect(compare_by_band([], BANDS), 0, 0, 0, 0)
    master = read_master(settings.output_folder_path, columns=[ID_COLUMN, TARGET, BATCH_COLUMN])
    master = master[master[ID_COLUMN].astype(str).isin({item.client for item in listed})]
    rows = _first_rows(
        master.assign(**{ID_COLUMN: master[ID_COLUMN].astype(str)}), _batch_starts(store)
    )
    by_client = {str(client): group for client, group in rows.groupby(ID_COLUMN, sort=False)}
    times = _contact_times(store, {item.client for item in listed})
    outcomes: list[Outcome] = []
    with_outcomes: set[int] = set()
    for item in listed:
        found = _outcome(item, by_client.get(item.client), times.get(item.client, []))
        if found is not None:
            outcomes.append(found)
            with_outcomes.add(item.list_id)
    lists = len({item.list_id for item in listed})
    log.debug("call effect: %d of %d listed clients have an outcome", len(outcomes), len(listed))
    return CallEffect(
        compare_by_band(outcomes, BANDS), lists, len(with_outcomes), len(listed), len(outcomes)
    )
