"""Published call lists: each one kept in the database with its time, the latest also as CSV."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from riskwatch.calllist.holdout import held_out
from riskwatch.calllist.value import value_columns
from riskwatch.ingestion.quarantine import neutralise
from riskwatch.schema import ID_COLUMN
from riskwatch.storage.clock import utcnow
from riskwatch.storage.files import atomic_path
from riskwatch.storage.store import Store, call_list_items, call_lists

COLUMNS = ["rank", ID_COLUMN, "probability", "risk_band", "reasons", "change", "previous_rank"]
# Each client's last contact from the ledger (empty when never contacted), after the classic ones.
CONTACT_COLUMNS = ["last_contacted_at", "last_outcome"]
HOLDOUT = "holdout"  # true: in the control group, not to be called (docs/control-group.md)
SEPARATOR = "; "  # between a client's reasons on one line (the CSV, the report, the terminal)


@dataclass(frozen=True)
class ListRef:
    """A published list: its id in the database (None when known only from the file) and time."""

    id: int | None
    published_at: str

    def to_dict(self) -> dict[str, Any]:
        """The reference as JSON-ready values."""
        return {"id": self.id, "published_at": self.published_at}


@dataclass(frozen=True)
class Previous:
    """The list the managers last received: rank, client and probability of each row."""

    ref: ListRef
    frame: pd.DataFrame


def reasons_line(words: list[str]) -> str:
    """A client's reasons as one readable line."""
    return SEPARATOR.join(words)


def with_holdout(frame: pd.DataFrame, share: float, seed: str) -> pd.DataFrame:
    """The list with its control group marked: share of its clients, chosen by the seed."""
    chosen = held_out([str(client) for client in frame[ID_COLUMN]], share, seed)
    return frame.assign(**{HOLDOUT: pd.Series(chosen, index=frame.index, dtype=bool)})


def list_seed(frame: pd.DataFrame) -> str:
    """The control group's seed: the listed clients with their risks, as recorded with the list,
    so a replay draws the same group and anyone can check the draw. (Not the model version: its
    name is the time it was trained.)"""
    pairs = sorted(zip(frame[ID_COLUMN].astype(str), frame["probability"], strict=True))
    text = "\n".join(f"{client}\t{probability:.12g}" for client, probability in pairs)
    return hashlib.sha256(text.encode()).hexdigest()


def record(
    store: Store, frame: pd.DataFrame, path: Path, *, list_values: dict[str, Any], share: float
) -> tuple[ListRef, pd.DataFrame]:
    """Keep the list in the database and write it to path, both or neither, with its control
    group drawn (seeded by the list itself, recorded with it: fixed for the list's lifetime)."""
    published_at = utcnow()
    frame = with_holdout(frame, share, list_seed(frame))
    items = [
        {
            "rank": int(row["rank"]),
            ID_COLUMN: str(row[ID_COLUMN]),
            "probability": float(row["probability"]),
            "risk_band": str(row["risk_band"]),
            "reasons": json.dumps(list(row["reasons"])),
            "change": str(row["change"]),
            "previous_rank": None if pd.isna(row["previous_rank"]) else int(row["previous_rank"]),
            HOLDOUT: bool(row[HOLDOUT]),
        }
        for row in frame.to_dict(orient="records")
    ]
    values = list_values | {"published_at": published_at, "size": len(items), "path": str(path)}
    with store.begin() as conn:
        key = conn.execute(call_lists.insert().values(**values)).inserted_primary_key
        if key is None:
            raise RuntimeError("the database returned no id for the new call list")
        if items:
            conn.execute(call_list_items.insert(), [item | {"list_id": key[0]} for item in items])
        # Written last, inside the transaction: if the file cannot be replaced, nothing is kept.
        write_csv(frame, path)
    return ListRef(int(key[0]), published_at), frame


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """The list as CSV, replaced atomically; text a spreadsheet would run is neutralised."""
    shown = frame.assign(reasons=frame["reasons"].map(reasons_line))
    shown = shown.assign(**{c: neutralise(shown[c]) for c in (ID_COLUMN, "reasons")})
    # A frame built before the ledger existed has no contact columns: nobody was called.
    shown = shown.assign(**{c: shown.get(c) for c in CONTACT_COLUMNS})
    shown = shown.assign(**{HOLDOUT: shown.get(HOLDOUT, False)})
    with atomic_path(path) as temporary:
        columns = [
            *COLUMNS,
            *CONTACT_COLUMNS,
            HOLDOUT,
            *value_columns(shown),
        ]  # value: when ranked by it
        shown.to_csv(temporary, index=False, columns=columns)


def last_published(store: Store, path: Path) -> Previous | None:
    """The newest list in the database; else the CSV file (a workspace that recorded none)."""
    found = store.rows(call_lists, newest_first=True, limit=1)
    if not found:
        return _from_file(path)
    items = call_list_items.c
    query = (
        sa.select(items.rank, items[ID_COLUMN], items.probability, items[HOLDOUT])
        .where(items.list_id == found[0]["id"])
        .order_by(items.rank)
    )
    with store.begin() as conn:
        rows = [tuple(row) for row in conn.execute(query)]
    frame = pd.DataFrame(rows, columns=["rank", ID_COLUMN, "probability", HOLDOUT])
    frame[HOLDOUT] = frame[HOLDOUT].eq(True)  # null (a list from before step 7): not held out
    return Previous(ListRef(found[0]["id"], found[0]["published_at"]), frame)


def _from_file(path: Path) -> Previous | None:
    try:
        # Ids such as "NA" are ids, as ingestion keeps them: no missing-value markers here.
        previous = pd.read_csv(path, dtype=str, keep_default_na=False)
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    if not {ID_COLUMN, "probability", "rank"} <= set(previous.columns):
        return None
    previous["probability"] = pd.to_numeric(previous["probability"], errors="coerce")
    previous["rank"] = pd.to_numeric(previous["rank"], errors="coerce")
    previous[HOLDOUT] = previous.get(HOLDOUT, pd.Series("", index=previous.index)).eq("True")
    # Undo neutralise(): only a quote it added, before a formula character.
    previous[ID_COLUMN] = previous[ID_COLUMN].str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)
    when = modified.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return Previous(ListRef(None, when), previous)
