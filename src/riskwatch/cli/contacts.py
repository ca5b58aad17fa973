"""Commands about the contact ledger: contacts import, contacts list."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from riskwatch.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    emit,
    log,
    positive_int,
    settings_of,
)
from riskwatch.storage import open_store

# Each command imports the ledger inside the function: SQLAlchemy and pandas load per command.
# ruff: noqa: PLC0415

SHOWN = 50  # contacts `contacts list` prints unless --limit says otherwise


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the contacts command and its actions."""
    contacts = commands.add_parser(
        "contacts", parents=[common], help="record the managers' calls, and list them"
    )
    actions = contacts.add_subparsers(title="actions", required=True, metavar="ACTION")
    imported = actions.add_parser(
        "import",
        parents=[common],
        help="record the calls of a CSV file (corporation,contacted_at,outcome[,note,manager]); "
        "a file with any wrong line records nothing",
    )
    imported.add_argument("file", type=Path, help="the CSV file of calls")
    imported.set_defaults(command=_import)
    listed = actions.add_parser("list", parents=[common], help="the recorded calls, latest first")
    listed.add_argument("--client", help="only this client's calls (its corporation id)")
    listed.add_argument(
        "--limit", type=positive_int, default=SHOWN, help=f"calls shown (default {SHOWN})"
    )
    listed.set_defaults(command=_list)
    for action in (imported, listed):
        action.add_argument("--json", action="store_true", help="print the result as JSON")


def _import(args: argparse.Namespace) -> int:
    from riskwatch.contacts.checks import ContactsRefusedError
    from riskwatch.contacts.importer import import_contacts

    settings = settings_of(args)
    with open_store(settings) as store:
        try:
            result = import_contacts(settings, store, args.file)
        except ContactsRefusedError as exc:
            log.error("error: %s", exc)
            if args.json:  # the error document, with every problem by line
                words = {"exit_code": EXIT_FAILED, "command": "contacts import"}
                emit(args, {"error": str(exc), **words, "errors": exc.errors()}, "")
            return EXIT_FAILED
    emit(args, result.to_dict(), result.summary())
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from riskwatch.contacts.ledger import count_contacts, list_contacts

    settings = settings_of(args)
    with open_store(settings) as store:
        found = list_contacts(store, client=args.client, limit=args.limit)
        total = count_contacts(store, client=args.client)
    emit(args, {"total": total, "contacts": found}, _list_text(found, total, args.client))
    return EXIT_OK


def _list_text(found: list[dict[str, Any]], total: int, client: str | None) -> str:
    whose = f" with {client}" if client else ""
    if not found:
        return f"No contacts recorded{whose}: `riskwatch contacts import FILE.csv` records them."
    lines = [f"{total:,} contact{'s' if total != 1 else ''} recorded{whose}, latest first:"]
    for call in found:
        listed = call["list"]
        where = (
            f"rank {listed['rank']} on the list of {listed['published_at'][:10]}"
            if listed
            else "on no published list"
        )
        by = f" by {call['manager']}" if call["manager"] else ""
        note = f": {call['note']}" if call["note"] else ""
        lines.append(
            f"  {call['contacted_at'][:16].replace('T', ' ')}  {call['corporation']:<14} "
            f"{call['outcome']:<9} ({where}){by}{note}"
        )
    if total > len(found):
        lines.append(f"  … {total - len(found):,} more (--limit)")
    return "\n".join(lines)
