"""Which labelled rows can judge the model: not those of clients a manager contacted meanwhile."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from riskwatch.schema import BATCH_COLUMN, ID_COLUMN
from riskwatch.storage.store import BatchRecord, Store, contacts

Mask = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True)
class Window:
    """The time in which a contact could change a batch's labels: after the batch before it
    arrived, up to this batch's arrival."""

    start: datetime | None
    end: datetime


@dataclass(frozen=True)
class Exclusion:
    """How many labelled rows were left out of the model's judgement, and why."""

    rows: int
    clients: int

    def sentence(self) -> str:
        """The exclusion in words, for reports and pages."""
        if not self.rows:
            return "No labelled client was contacted before its outcome was known."
        noun = "client" if self.clients == 1 else "clients"
        return (
            f"{self.rows:,} labelled rows ({self.clients:,} {noun}) were left out: a manager "
            "contacted them before their outcome was known, so a client who stayed may have "
            "been saved by the call rather than misjudged by the model."
        )


def _utc(moment: datetime) -> pd.Timestamp:
    """A timestamp in UTC; a naive one is taken as UTC, as the metadata database stores them."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def contacted_mask(
    rows: pd.DataFrame,
    contacts: pd.DataFrame,
    windows: Mapping[Hashable, Window],
    *,
    client_column: str,
    batch_column: str,
) -> Mask:
    """True for each row whose client was contacted within its batch's window.

    ``contacts`` has one row per contact with ``client`` and ``contacted_at`` (UTC). A row of a
    batch without a window (one that arrived before any contact could matter) is kept.
    """
    mask = np.zeros(len(rows), dtype=bool)
    if contacts.empty or rows.empty:
        return mask
    when = pd.to_datetime(contacts["contacted_at"], utc=True)
    for batch, window in windows.items():
        in_window = when <= _utc(window.end)
        if window.start is not None:
            in_window &= when > _utc(window.start)
        called = set(contacts.loc[in_window, "client"])
        if called:
            mask |= (rows[batch_column] == batch).to_numpy() & rows[client_column].isin(
                called
            ).to_numpy()
    return mask


def exclusion(rows: pd.DataFrame, mask: Mask, *, client_column: str) -> Exclusion:
    """Count the rows and clients a mask leaves out."""
    return Exclusion(int(mask.sum()), int(rows.loc[mask, client_column].nunique()))


def batch_windows(batches: list[BatchRecord]) -> dict[Hashable, Window]:
    """Each ingested batch's window, by batch id: from the arrival of the batch before it (none
    for the first) to its own arrival (when it finished ingesting)."""
    windows: dict[Hashable, Window] = {}
    previous: datetime | None = None
    for batch in sorted(batches, key=lambda b: b.id):
        arrived = batch.finished_at or batch.started_at
        if not arrived:
            continue
        end = pd.Timestamp(arrived).to_pydatetime()
        windows[batch.id] = Window(previous, end)
        previous = end
    return windows


def read_contacts(store: Store) -> pd.DataFrame:
    """Every recorded contact's client and time (``client``, ``contacted_at``)."""
    query = sa.select(contacts.c.corporation, contacts.c.contacted_at)
    with store.engine.connect() as conn:
        found = conn.execute(query).all()
    return pd.DataFrame(
        [(row.corporation, row.contacted_at) for row in found], columns=["client", "contacted_at"]
    )


def contacted_rows(store: Store, rows: pd.DataFrame) -> tuple[Mask, Exclusion]:
    """Which master rows a manager's contact could have changed the label of, and their count;
    nothing when the ledger is empty or the rows have no batch lineage."""
    if BATCH_COLUMN not in rows.columns:
        mask = np.zeros(len(rows), dtype=bool)
    else:
        keyed = rows[[ID_COLUMN, BATCH_COLUMN]].astype({ID_COLUMN: str})  # as the ledger keys
        mask = contacted_mask(
            keyed,
            read_contacts(store),
            batch_windows(store.batches(status="ingested")),
            client_column=ID_COLUMN,
            batch_column=BATCH_COLUMN,
        )
    return mask, exclusion(rows, mask, client_column=ID_COLUMN)
