"""The published call list as the page shows it: filtered, sorted, paged, and as CSV."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import sqlalchemy as sa

from riskwatch.calllist.published import reasons_line
from riskwatch.contacts.ledger import OUTCOMES, last_contacts
from riskwatch.ingestion.quarantine import neutralise
from riskwatch.schema import ID_COLUMN
from riskwatch.storage.store import Store, call_list_items, call_lists

BANDS = ("high", "medium", "low")
CHANGES = ("new", "risk up", "risk down", "unchanged")
PER_PAGE = (25, 50, 100, 200)
# The contact-status filter: never contacted, contacted at all, or by the last call's outcome.
CONTACTED = ("none", "any", *OUTCOMES)
OUTCOME_CHOICES = [(outcome, outcome.replace("_", " ")) for outcome in OUTCOMES]  # (value, label)
# The control-group filter: the held-out clients (not to be called) or the clients to call.
GROUPS = ("control", "to call")
CSV_COLUMNS = ["rank", ID_COLUMN, "probability", "risk_band", "reasons", "change"]


@dataclass(frozen=True)
class Item:
    """One row of a published list."""

    rank: int
    client: str
    risk: float
    band: str
    reasons: list[str]
    change: str
    last_contacted_at: str | None = None  # the client's latest call in the ledger
    last_outcome: str | None = None
    value: float | None = None  # when the list is ranked by value (expected loss)
    expected_loss: float | None = None

    def contact_status(self) -> str:
        """none when never contacted, else the last call's outcome."""
        return self.last_outcome or "none"

    holdout: bool = False  # in the list's control group: not to be called


@dataclass(frozen=True)
class Published:
    """The newest published list: when, by which model, and its rows in rank order."""

    id: int
    published_at: str
    version: str
    clients: int
    items: list[Item]
    cycle_id: int | None = None  # the cycle that published it; None for `calllist --publish`


def _points(change: str) -> float:
    """The signed risk move a change names, in points (0 when it names none)."""
    found = re.search(r"([\d.]+) pts", change)
    moved = float(found.group(1)) if found else 0.0
    return -moved if change.startswith("risk down") else moved


def reason_kind(reason: str) -> str:
    """A reason without its client's own figures: "a small company (1 employee, ...)" is
    "a small company"; "activity is 25% below its monthly average" is "activity is below..."."""
    kind = re.sub(r" \(.*\)$", "", reason)
    return re.sub(r" is \d+% (below|above) ", r" is \1 ", kind)


def change_kind(change: str) -> str:
    """new, risk up, risk down or unchanged."""
    return next((kind for kind in CHANGES if change.startswith(kind)), change)


# Each column the table sorts by: its key, and the order a first click gives.
SORTS: dict[str, tuple[Callable[[Item], Any], str]] = {
    "rank": (lambda item: item.rank, "asc"),
    "client": (lambda item: item.client, "asc"),
    "risk": (lambda item: item.risk, "desc"),
    "band": (lambda item: -BANDS.index(item.band) if item.band in BANDS else -9, "desc"),
    "change": (
        lambda item: (CHANGES.index(change_kind(item.change)), -_points(item.change)),
        "asc",
    ),
    "value": (lambda item: item.value or 0.0, "desc"),
    "expected_loss": (lambda item: item.expected_loss or 0.0, "desc"),
    # The latest call first; never contacted last.
    "contact": (lambda item: item.last_contacted_at or "", "desc"),
}


@dataclass(frozen=True)
class ListQuery:
    """What the reader asked for: filters, sort and page (each from the URL's query string)."""

    band: str = ""
    reason: str = ""
    change: str = ""
    contact: str = ""  # CONTACTED
    group: str = ""  # "control" or "to call" (GROUPS); empty: both
    sort: str = "rank"
    order: str = "asc"
    page: int = 1
    per_page: int = 50

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ListQuery:
        """The query a URL asks for; a value the page does not offer is ignored, not refused."""
        sort = params.get("sort", "rank")
        sort = sort if sort in SORTS else "rank"
        order = params.get("order", SORTS[sort][1])
        return cls(
            band=_one_of(params.get("band", ""), BANDS),
            reason=params.get("reason", "").strip()[:200],
            change=_one_of(params.get("change", ""), CHANGES),
            contact=_one_of(params.get("contact", ""), CONTACTED),
            group=_one_of(params.get("group", ""), GROUPS),
            sort=sort,
            order=order if order in ("asc", "desc") else SORTS[sort][1],
            page=max(1, _number(params.get("page"), 1)),
            per_page=_one_of(_number(params.get("per_page"), 50), PER_PAGE) or 50,
        )

    def link(self, **changes: Any) -> str:
        """The query string of this query with changes, leaving out default values; parsed
        again it gives the same query."""
        changed, default = replace(self, **changes), ListQuery()
        # The order is left out only when it is "asc" and so is the column's first order:
        # elsewhere a missing order reads as descending, and a click could not turn it round.
        implied = {"order": "asc" if SORTS[changed.sort][1] == "asc" else None}
        kept = {
            f.name: getattr(changed, f.name)
            for f in fields(self)
            if getattr(changed, f.name) != implied.get(f.name, getattr(default, f.name))
        }
        return "?" + urlencode(kept) if kept else ""

    def sort_link(self, column: str) -> str:
        """The link a column header gives: sort by it, or turn its order round; first page."""
        if column == self.sort:
            return self.link(order="desc" if self.order == "asc" else "asc", page=1)
        return self.link(sort=column, order=SORTS[column][1], page=1)

    def filtered(self) -> bool:
        """Whether any filter is set."""
        return bool(self.band or self.reason or self.change or self.contact or self.group)


def _one_of(value: Any, allowed: tuple[Any, ...]) -> Any:
    return value if value in allowed else type(value)()


def _number(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def read_published(store: Store) -> Published | None:
    """The newest published list from the database, or None when none was published."""
    newest = store.rows(call_lists, newest_first=True, limit=1)
    if not newest:
        return None
    query = (
        sa.select(call_list_items)
        .where(call_list_items.c.list_id == newest[0]["id"])
        .order_by(call_list_items.c.rank)
    )
    with store.begin() as conn:
        rows = conn.execute(query).mappings().all()
    last = last_contacts(store, {str(row[ID_COLUMN]) for row in rows})
    items = [
        Item(
            rank=int(row["rank"]),
            client=str(row[ID_COLUMN]),
            risk=float(row["probability"]),
            band=str(row["risk_band"]),
            reasons=list(json.loads(row["reasons"])),
            change=str(row["change"]),
            last_contacted_at=(last.get(str(row[ID_COLUMN])) or {}).get("contacted_at"),
            last_outcome=(last.get(str(row[ID_COLUMN])) or {}).get("outcome"),
            holdout=bool(row["holdout"]),
        )
        for row in rows
    ]
    listed = newest[0]
    return Published(
        listed["id"],
        listed["published_at"],
        listed["version"],
        listed["clients"],
        items,
        listed["cycle_id"],
    )


def contact_matches(item: Item, wanted: str) -> bool:
    """Whether a row's contact status is the one the filter asks for (any: contacted at all)."""
    if not wanted:
        return True
    if wanted == "any":
        return item.last_outcome is not None
    return item.contact_status() == wanted


def select(items: list[Item], query: ListQuery) -> list[Item]:
    """The items the filters keep, in the asked order."""
    kept = [
        item
        for item in items
        if (not query.band or item.band == query.band)
        and (not query.reason or query.reason in {reason_kind(r) for r in item.reasons})
        and (not query.change or change_kind(item.change) == query.change)
        and contact_matches(item, query.contact)
        and (not query.group or item.holdout == (query.group == "control"))
    ]
    key = SORTS[query.sort][0]
    # Ties keep rank order whichever way the column is sorted.
    ordered = sorted(kept, key=lambda item: item.rank)
    return sorted(ordered, key=key, reverse=query.order == "desc")


def reason_choices(items: list[Item]) -> list[str]:
    """Every kind of reason in the list, the most frequent first."""
    counts = Counter(kind for item in items for kind in {reason_kind(r) for r in item.reasons})
    return [reason for reason, _ in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))]


@dataclass(frozen=True)
class Page:
    """One page of the selected rows."""

    rows: list[Item]
    number: int
    pages: int
    total: int
    first: int  # the position of the page's first row in the selection, from 1


def page_of(selected: list[Item], query: ListQuery) -> Page:
    """The query's page of the selection (the last one when it asks past the end)."""
    pages = max(1, math.ceil(len(selected) / query.per_page))
    number = min(query.page, pages)
    start = (number - 1) * query.per_page
    rows = selected[start : start + query.per_page]
    return Page(rows, number, pages, len(selected), start + 1)


def csv_text(selected: list[Item]) -> str:
    """The selection as CSV, the published list's columns; formula-like text neutralised."""
    frame = pd.DataFrame(
        [asdict(item) | {"reasons": reasons_line(item.reasons)} for item in selected],
        columns=["rank", "client", "risk", "band", "reasons", "change"],
    ).rename(columns={"client": ID_COLUMN, "risk": "probability", "band": "risk_band"})
    frame = frame.assign(**{c: neutralise(frame[c]) for c in (ID_COLUMN, "reasons")})
    by_value = any(item.expected_loss is not None for item in selected)
    extra = [(i.value, i.expected_loss) for i in selected] if by_value else []
    if extra:  # ranked by value: its columns after the classic ones, as in calllist.csv
        frame[["value", "expected_loss"]] = pd.DataFrame(extra, index=frame.index)
    text: str = frame.to_csv(
        index=False, columns=CSV_COLUMNS + ["value", "expected_loss"][: 2 * by_value]
    )
    return text
