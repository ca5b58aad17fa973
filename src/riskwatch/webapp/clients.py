"""One client as its page shows it: risk on each published list, risk now, activity per drop."""

from __future__ import annotations

import logging
from calendar import timegm
from dataclasses import dataclass, field
from time import strptime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.master import read_master
from riskwatch.schema import BATCH_COLUMN, FEATURES, ID_COLUMN, TARGET
from riskwatch.storage.store import Store, batches, call_list_items, call_lists
from riskwatch.webapp.sources import Sources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listed:
    """The client on one published list."""

    published_at: str
    version: str
    rank: int
    risk: float
    band: str
    change: str


@dataclass(frozen=True)
class Drop:
    """The client's record in one ingested drop."""

    batch_id: int
    name: str
    lastmonth_activity: int
    lastyear_activity: int
    number_of_employees: int
    left: bool


@dataclass(frozen=True)
class Now:
    """The client's risk now, by the served model on its latest record."""

    version: str
    risk: float
    band: str
    reasons: list[str]


@dataclass(frozen=True)
class ClientView:
    """Everything the client's page shows."""

    client: str
    listed: list[Listed]
    drops: list[Drop]
    now: Now | None
    why_not_now: str = ""  # why there is no current risk
    charts: dict[str, Any] = field(default_factory=dict)


def risk_on_lists(store: Store, client: str) -> list[Listed]:
    """The client's row on each published list it appears on, oldest list first."""
    query = (
        sa.select(
            call_lists.c.published_at,
            call_lists.c.version,
            call_list_items.c.rank,
            call_list_items.c.probability,
            call_list_items.c.risk_band,
            call_list_items.c.change,
        )
        .join(call_lists, call_lists.c.id == call_list_items.c.list_id)
        .where(call_list_items.c[ID_COLUMN] == client)
        .order_by(call_lists.c.id)
    )
    with store.begin() as conn:
        return [Listed(*row) for row in conn.execute(query)]


def drops_of(store: Store, records: pd.DataFrame) -> list[Drop]:
    """The client's records, one per drop, with each drop's file name."""
    ids = [int(batch) for batch in records[BATCH_COLUMN]] if BATCH_COLUMN in records else []
    with store.begin() as conn:
        names = dict(
            conn.execute(sa.select(batches.c.id, batches.c.name).where(batches.c.id.in_(ids)))
            .tuples()
            .all()
        )
    return [
        Drop(
            batch_id=int(row.get(BATCH_COLUMN, 0)),
            name=str(names.get(row.get(BATCH_COLUMN), "")),
            lastmonth_activity=int(row["lastmonth_activity"]),
            lastyear_activity=int(row["lastyear_activity"]),
            number_of_employees=int(row["number_of_employees"]),
            left=bool(row.get(TARGET, 0) == 1),
        )
        for row in records.to_dict(orient="records")
    ]


def risk_now(sources: Sources, latest: pd.DataFrame) -> tuple[Now | None, str]:
    """The served model's answer for the client's latest record, or why there is none."""
    try:
        answer = sources.score(latest[[ID_COLUMN, *FEATURES]])
    except RiskwatchError as exc:
        log.warning("no current risk for the client page: %s", exc)
        return None, f"No model answers now: {exc}"
    scored = answer["clients"][0]
    now = Now(answer["version"], scored["probability"], scored["risk_band"], scored["reasons"])
    return now, ""


def client_view(sources: Sources, client: str) -> ClientView | None:
    """The client's page data; None when the workspace never saw the client."""
    store = sources.store()
    master = read_master(sources.settings.output_folder_path)
    records = master[master[ID_COLUMN].astype(str) == client]
    listed = risk_on_lists(store, client)
    if records.empty and not listed:
        return None
    drops = drops_of(store, records)
    now, why = risk_now(sources, records.tail(1)) if not records.empty else (None, "")
    return ClientView(client, listed, drops, now, why, charts(listed, drops))


def charts(listed: list[Listed], drops: list[Drop]) -> dict[str, Any]:
    """The data of the page's two charts, as uPlot takes it (x values, then each series)."""
    return {
        "risk": {
            "x": [_epoch(item.published_at) for item in listed],
            "time": True,
            "y_label": "risk (%)",
            "y_range": [0, 100],
            "series": [{"label": "risk", "values": [round(i.risk * 100, 1) for i in listed]}],
        },
        "activity": {
            "x": [drop.batch_id for drop in drops],
            "time": False,
            "x_label": "drop",
            "y_label": "activity",
            "series": [
                {"label": "last month", "values": [d.lastmonth_activity for d in drops]},
                {
                    "label": "monthly average over the last year",
                    "values": [round(d.lastyear_activity / 12, 1) for d in drops],
                },
            ],
        },
    }


def _epoch(stamp: str) -> int:
    """Seconds since 1970 of a stored UTC time (2026-11-30T02:48:17.839016Z)."""
    return timegm(strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
