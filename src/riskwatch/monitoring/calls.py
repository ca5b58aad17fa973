"""What calls achieve: the held-out and contacted clients of each list, once outcomes arrive."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
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


def _listed(store: Store) -> pd.DataFrame:
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
        rows = [tuple(row) for row in conn.execute(query)]
    frame = pd.DataFrame(rows, columns=["list_id", "published_at", ID_COLUMN, "band", "held_out"])
    return frame.astype({ID_COLUMN: str, "published_at": str, "band": str, "held_out": bool})


def _contacts(store: Store) -> pd.DataFrame:
    """Every recorded contact: client and time."""
    with store.begin() as conn:
        rows = [
            tuple(row)
            for row in conn.execute(sa.select(contacts.c[ID_COLUMN], contacts.c.contacted_at))
        ]
    return pd.DataFrame(rows, columns=[ID_COLUMN, "contacted_at"]).astype(str)


def _batch_arrivals(store: Store) -> dict[int, str]:
    """When each ingested batch arrived (started ingesting), by batch id."""
    return {batch.id: str(batch.started_at) for batch in store.batches(status="ingested")}


def _arrivals(settings: Settings, starts: dict[int, str], clients: pd.Series) -> pd.DataFrame:
    """The listed clients' master rows with the time their batch arrived, oldest first."""
    master = read_master(settings.output_folder_path, columns=[ID_COLUMN, TARGET, BATCH_COLUMN])
    master = master.assign(**{ID_COLUMN: master[ID_COLUMN].astype(str)})
    rows = master[master[ID_COLUMN].isin(set(clients))]
    rows = rows.assign(arrived=rows[BATCH_COLUMN].map(starts)).dropna(subset=["arrived"])
    return rows.sort_values(["arrived", BATCH_COLUMN], kind="stable")


def _next_batch(published: pd.Series, arrivals: Iterable[str]) -> pd.Series:
    """For each publication time, when the first batch after it arrived (None: none yet)."""
    times = sorted(set(arrivals))
    after = np.searchsorted(np.array(times, dtype=object), published.to_numpy(), side="right")
    return pd.Series(
        [times[i] if i < len(times) else None for i in after], index=published.index, dtype=object
    )


def _labels_at(known: pd.DataFrame, rows: pd.DataFrame) -> pd.Series:
    """Each listed client's label in the list's next batch: its row there, else 0 (stayed)
    when it has a row in a later batch, else missing (unknown)."""
    there = rows.drop_duplicates([ID_COLUMN, "arrived"]).set_index([ID_COLUMN, "arrived"])
    keys = pd.MultiIndex.from_frame(known[[ID_COLUMN, "arrived"]])
    label = pd.Series(there[TARGET].reindex(keys).to_numpy(), index=known.index, dtype=float)
    # Ingestion drops a row equal to one it already holds, and a leaver's row never is (its
    # earlier rows say it stayed): a client missing from the batch but seen later stayed.
    # (object: with no rows at all the map gives floats, and pandas refuses text in a float column)
    latest = rows.groupby(ID_COLUMN)["arrived"].max()
    last_seen = known[ID_COLUMN].map(latest).astype(object).fillna("")
    return label.mask(label.isna() & (last_seen > known["arrived"]), 0.0)


def outcomes_of(
    listed: pd.DataFrame, rows: pd.DataFrame, called: pd.DataFrame, arrivals: Iterable[str]
) -> pd.DataFrame:
    """Each listed client's outcome over one horizon, the same for every client of a list: the
    first batch that arrived after the list (none yet, or no sign of the client: left out), and
    whether a contact fell between the list's publication and that batch."""
    due = _next_batch(listed["published_at"], arrivals)
    known = listed.assign(arrived=due).dropna(subset=["arrived"])
    known = known.assign(**{TARGET: _labels_at(known, rows)}).dropna(subset=[TARGET])
    known = known.astype({TARGET: int})
    between = known.merge(called, on=ID_COLUMN)
    between = between[
        (between["contacted_at"] > between["published_at"])
        & (between["contacted_at"] <= between["arrived"])
    ]
    contacted = set(zip(between["list_id"], between[ID_COLUMN], strict=True))
    keys = zip(known["list_id"], known[ID_COLUMN], strict=True)
    return known.assign(contacted=[key in contacted for key in keys])


def call_effect(settings: Settings, store: Store) -> CallEffect:
    """Churn among held-out and contacted listed clients, by band, for every published list."""
    listed = _listed(store)
    if listed.empty:
        return CallEffect(compare_by_band([], BANDS), 0, 0, 0, 0)
    starts = _batch_arrivals(store)
    rows = _arrivals(settings, starts, listed[ID_COLUMN])
    known = outcomes_of(listed, rows, _contacts(store), starts.values())
    outcomes = [
        Outcome(str(band), bool(held), bool(contacted), int(left) == 1)
        for band, held, contacted, left in zip(
            known["band"], known["held_out"], known["contacted"], known[TARGET], strict=True
        )
    ]
    log.debug("call effect: %d of %d listed clients have an outcome", len(known), len(listed))
    return CallEffect(
        compare_by_band(outcomes, BANDS),
        int(listed["list_id"].nunique()),
        int(known["list_id"].nunique()),
        len(listed),
        len(known),
    )
