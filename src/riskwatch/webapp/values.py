"""The value and expected loss of a list ranked by value, as published in its CSV file."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from riskwatch.calllist.value import VALUE_COLUMNS
from riskwatch.schema import ID_COLUMN
from riskwatch.storage.store import Store, call_lists
from riskwatch.webapp.calllist import Item

log = logging.getLogger(__name__)


def with_values(store: Store, items: list[Item]) -> list[Item]:
    """The items of the newest published list with the value and expected loss its file gives
    them; unchanged when the list was ranked by risk, or the file is no longer this list (then
    the page says less rather than something of another list)."""
    newest = store.rows(call_lists, newest_first=True, limit=1)
    if not newest or not items:
        return items
    path = Path(newest[0]["path"])
    try:
        shown = pd.read_csv(path, dtype={ID_COLUMN: str}, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError):
        return items
    if not set(VALUE_COLUMNS) <= set(shown.columns):
        return items
    # The file's ids were neutralised for spreadsheets: a leading quote may have been added.
    clients = shown[ID_COLUMN].str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)
    if clients.tolist() != [item.client for item in sorted(items, key=lambda i: i.rank)]:
        log.info("%s is not the newest published list: its values are not shown", path)
        return items
    found = dict(zip(clients, shown[VALUE_COLUMNS].to_numpy(dtype=float).tolist(), strict=True))
    return [
        replace(item, value=found[item.client][0], expected_loss=found[item.client][1])
        for item in items
    ]
