"""Which labelled rows can judge the model: not those of clients a manager contacted meanwhile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd


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
    windows: Mapping[str, Window],
    *,
    client_column: str,
    batch_column: str,
) -> np.ndarray[Any, np.dtype[np.bool_]]:
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


def exclusion(
    rows: pd.DataFrame, mask: np.ndarray[Any, np.dtype[np.bool_]], *, client_column: str
) -> Exclusion:
    """Count the rows and clients a mask leaves out."""
    return Exclusion(int(mask.sum()), int(rows.loc[mask, client_column].nunique()))
