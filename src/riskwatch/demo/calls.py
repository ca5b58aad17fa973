"""The demo plays the managers: it calls each published list and the calls keep some clients.

A listed client outside the control group is called once per list and reached with probability
``reach_rate``; a reached client who would leave the next month stays with probability
``save_share``, so P(leave | reached) = p x (1 - save_share). The effect is kept in
truth/truth.json ("calls"), whom the demo reached in truth/calls.csv and whom a call kept in
truth/saved.csv; the pre-generated drops/ stay as generated.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from riskwatch.contacts.ledger import Contact, record_contacts
from riskwatch.storage.clock import utcnow
from riskwatch.storage.store import Store, call_list_items, call_lists

CALLS = {"reach_rate": 0.7, "save_share": 0.4}  # the true effect of a call, in truth.json
CALLS_FILE, SAVED_FILE = "calls.csv", "saved.csv"
CALLS_HEADER = ["month", "list_id", "corporation", "holdout", "reached"]
SAVED_HEADER = ["month", "corporation"]


def draw(seed: int, month: int, client: str, what: str) -> float:
    """A reproducible uniform draw in [0, 1) for one client, month and purpose."""
    digest = hashlib.sha256(f"{seed}\0{month}\0{client}\0{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _truth(workspace: Path) -> dict[str, Any]:
    truth: dict[str, Any] = json.loads((workspace / "truth" / "truth.json").read_text())
    return truth


def _newest_list(store: Store) -> tuple[int, list[tuple[str, bool]]] | None:
    """The newest published list with a control group: its id, and its clients in rank order."""
    newest = store.rows(call_lists, newest_first=True, limit=1)
    if not newest:
        return None
    items = call_list_items.c
    query = (
        sa.select(items.corporation, items.holdout)
        .where(items.list_id == newest[0]["id"])
        .order_by(items.rank)
    )
    with store.begin() as conn:
        rows = [(str(client), bool(held)) for client, held in conn.execute(query)]
    return int(newest[0]["id"]), rows


def _append_rows(path: Path, header: list[str], rows: Iterable[list[Any]]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        if new:
            writer.writerow(header)
        writer.writerows(rows)


def call_the_list(workspace: Path, store: Store, month: int, played: int | None) -> int | None:
    """Call the newest published list's clients outside its control group (once per list),
    recorded in the ledger as the demo's; the list's id, or None when there is none."""
    found = _newest_list(store)
    if found is None or found[0] == played:
        return None if found is None else found[0]
    list_id, clients = found
    truth = _truth(workspace)
    effect, seed = truth.get("calls", CALLS), int(truth["seed"])
    now = utcnow()  # the wall clock: a contact is never in the future
    reached = {
        client: draw(seed, month, client, "reach") < float(effect["reach_rate"])
        for client, held in clients
        if not held
    }
    calls = [
        Contact(client, now, "reached" if answered else "no_answer", source="demo")
        for client, answered in reached.items()
    ]
    record_contacts(store, calls)
    _append_rows(
        workspace / "truth" / CALLS_FILE,
        CALLS_HEADER,
        ([month, list_id, c, int(h), int(reached.get(c, False))] for c, h in clients),
    )
    return list_id


def _reached_after(workspace: Path, month: int) -> set[str]:
    """The clients the demo reached after the list published in the month before."""
    path = workspace / "truth" / CALLS_FILE
    if not path.exists():
        return set()
    with path.open(newline="") as source:
        return {
            row["corporation"]
            for row in csv.DictReader(source)
            if int(row["month"]) == month - 1 and row["reached"] == "1"
        }


def with_calls(workspace: Path, month: int, text: str) -> str:
    """A drop's text as the calls changed it: a reached client who would leave stays with
    probability save_share. The text unchanged when nobody was reached; saves in saved.csv."""
    reached = _reached_after(workspace, month)
    if not reached:
        return text
    truth = _truth(workspace)
    share, seed = float(truth.get("calls", CALLS)["save_share"]), int(truth["seed"])
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    client_at, exited_at = header.index("corporation"), header.index("exited")
    saved = []
    for row in rows[1:]:
        client = row[client_at]
        if (
            client in reached
            and row[exited_at] == "1"
            and draw(seed, month, client, "save") < share
        ):
            row[exited_at] = "0"
            saved.append([month, client])
    _record_saved(workspace / "truth" / SAVED_FILE, month, saved)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _record_saved(path: Path, month: int, saved: list[list[Any]]) -> None:
    """The month's saves in truth/saved.csv, replacing any written by an earlier release."""
    kept: list[list[Any]] = []
    if path.exists():
        with path.open(newline="") as source:
            kept = [row for row in list(csv.reader(source))[1:] if int(row[0]) != month]
    path.unlink(missing_ok=True)
    _append_rows(path, SAVED_HEADER, [*kept, *saved])
