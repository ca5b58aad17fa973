"""Import a CSV file of the managers' calls: every line checked, then all recorded or none."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskwatch.config import Settings
from riskwatch.contacts.checks import (
    OPTIONAL,
    REQUIRED,
    ContactsRefusedError,
    Problem,
    check_contacts,
    known_clients,
)
from riskwatch.contacts.ledger import Recorded, record_contacts
from riskwatch.storage.store import Store

HEADER = ",".join(REQUIRED) + "[," + ",".join(OPTIONAL) + "]"
Lines = list[tuple[int, dict[str, str]]]


@dataclass(frozen=True)
class Imported:
    """What importing one file recorded."""

    file: str
    recorded: Recorded

    def to_dict(self) -> dict[str, Any]:
        """The import as JSON-ready values."""
        return {
            "file": self.file,
            "recorded": len(self.recorded.contacts),
            "already_recorded": self.recorded.already,
            "contacts": self.recorded.contacts,
        }

    def summary(self) -> str:
        """One line: how many contacts were recorded, and how many were there already."""
        count = len(self.recorded.contacts)
        already = f" ({self.recorded.already} already recorded)" if self.recorded.already else ""
        return f"Recorded {count} contact{'s' if count != 1 else ''} from {self.file}{already}."


def import_contacts(
    settings: Settings, store: Store, path: Path, *, now: datetime | None = None
) -> Imported:
    """Check every line of a contacts CSV file and record them all in one transaction; a file
    with any wrong line is refused whole (ContactsRefusedError lists every problem)."""
    lines, problems = read_lines(path)
    known = known_clients(settings) if lines else set()
    contacts, found = check_contacts(
        lines, known=known, now=now or datetime.now(UTC), unit="line", source=path.name
    )
    if problems or found:
        raise ContactsRefusedError(path.name, [*problems, *found], "line")
    return Imported(path.name, record_contacts(store, contacts))


def read_lines(path: Path) -> tuple[Lines, list[Problem]]:
    """The file's contacts, each with the line it starts on (the header is line 1), and the
    problems of its form: header, number of values, encoding."""
    try:
        # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte-order mark.
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [Problem(1, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    return parse_lines(text)


def parse_lines(text: str) -> tuple[Lines, list[Problem]]:
    """CSV text's contacts with their lines, and the problems of its form."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [Problem(1, None, f"not readable as CSV: {exc}")]
    if header is None:
        return [], [Problem(1, None, f"the file is empty: expected the header {HEADER}")]
    names = [name.strip().lower() for name in header]
    problems = _header_problems(names)
    if problems:
        return [], problems
    lines: Lines = []
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            return lines, [*problems, Problem(start, None, f"not readable as CSV: {exc}")]
        if cells is None:
            return lines, problems
        end = reader.line_num  # a quoted note may run over several lines
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) != len(names):
            problems.append(
                Problem(start, None, f"{len(cells)} values; the header has {len(names)}")
            )
            continue
        lines.append((start, dict(zip(names, cells, strict=True))))


def _header_problems(names: list[str]) -> list[Problem]:
    """What is wrong with the header: missing, unknown or repeated columns."""
    missing = [name for name in REQUIRED if name not in names]
    unknown = [name for name in dict.fromkeys(names) if name not in (*REQUIRED, *OPTIONAL)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    said = [
        (missing, "missing column"),
        (unknown, "unknown column"),
        (repeated, "repeated column"),
    ]
    problems = [
        Problem(
            1, None, f"{what}{'s' if len(found) > 1 else ''} {', '.join(repr(n) for n in found)}"
        )
        for found, what in said
        if found
    ]
    if problems:
        problems.append(Problem(1, None, f"expected the header {HEADER}"))
    return problems
