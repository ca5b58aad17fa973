"""The checks every contact passes, from a file or the API: a known client, a real outcome,
a date that is not in the future, and no contact given twice."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from riskwatch.config import Settings
from riskwatch.contacts.ledger import OUTCOMES, Contact, utc_text
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.master import read_master
from riskwatch.schema import ID_COLUMN

REQUIRED = ("corporation", "contacted_at", "outcome")
OPTIONAL = ("note", "manager")
LONGEST = {"corporation": 200, "note": 2000, "manager": 200}  # characters
# A call logged a moment "in the future" is a clock a little ahead, not a typing error.
CLOCK_SLACK = timedelta(minutes=5)
DATE_EXAMPLE = "e.g. 2026-11-03, 2026-11-03T09:30 or 2026-11-03T09:30:00+01:00"


@dataclass(frozen=True)
class Problem:
    """What is wrong with one contact: where (a file's line, a request's position), which field."""

    at: int
    field: str | None
    message: str

    def to_dict(self, unit: str) -> dict[str, Any]:
        """The problem as JSON-ready values; unit is "line" or "position"."""
        return {unit: self.at, "field": self.field, "message": self.message}


class ContactsRefusedError(RiskwatchError):
    """Contacts refused as a whole: nothing was recorded. Lists every problem found."""

    def __init__(self, what: str, problems: Sequence[Problem], unit: str) -> None:
        self.problems, self.unit = sorted(problems, key=lambda p: p.at), unit
        lines = [
            f"  {unit} {p.at}: {p.field + ': ' if p.field else ''}{p.message}"
            for p in self.problems
        ]
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{what} refused, nothing recorded ({count}):\n" + "\n".join(lines))

    def errors(self) -> list[dict[str, Any]]:
        """Each problem as JSON-ready values."""
        return [problem.to_dict(self.unit) for problem in self.problems]


def known_clients(settings: Settings) -> set[str]:
    """The client ids of the master dataset (its id column only); an error when it has none."""
    ids = read_master(settings.output_folder_path, columns=[ID_COLUMN])[ID_COLUMN]
    known = set(ids.dropna().astype(str))
    if not known:  # else every call would be refused as an unknown client
        raise RiskwatchError(
            f"no clients in {settings.output_folder_path}: run `riskwatch ingest` first"
        )
    return known


def utc_time(text: str) -> datetime:
    """An ISO date or date-time in UTC (taken as UTC when it names no zone); ValueError if not."""
    when = datetime.fromisoformat(text.strip())
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def check_contacts(
    given: Sequence[tuple[int, Mapping[str, str | None]]],
    *,
    known: set[str],
    now: datetime,
    unit: str,
    source: str | None = None,
) -> tuple[list[Contact], list[Problem]]:
    """Each (line or position, values) checked; the contacts and every problem found.
    source names the file (each contact then says its line), else the contacts came by "api"."""
    contacts: list[Contact] = []
    problems: list[Problem] = []
    first_at: dict[tuple[str, str, str], int] = {}
    for at, values in given:
        contact, found = _check_one(values, known, now)
        problems += [Problem(at, field, message) for field, message in found]
        if contact is None:
            continue
        earlier = first_at.setdefault(contact.key(), at)
        if earlier != at:
            problems.append(Problem(at, None, f"the same contact as {unit} {earlier}"))
            continue
        where = f"{source} line {at}" if source else "api"
        contacts.append(replace(contact, source=where))
    return contacts, problems


def _check_one(
    values: Mapping[str, str | None], known: set[str], now: datetime
) -> tuple[Contact | None, list[tuple[str, str]]]:
    text = {name: (values.get(name) or "").strip() for name in (*REQUIRED, *OPTIONAL)}
    found = [
        (name, f"longer than {limit:,} characters")
        for name, limit in LONGEST.items()
        if len(text[name]) > limit
    ]
    # JSON may escape half a surrogate pair, which no database can store as text.
    found += [(name, "not valid text") for name, value in text.items() if not _encodable(value)]
    client = text["corporation"]
    if not client:
        found.append(("corporation", "no client id"))
    elif client not in known and not found:
        found.append(("corporation", f"unknown client '{client}': not in the master dataset"))
    when, problem = _check_time(text["contacted_at"], now)
    if problem:
        found.append(("contacted_at", problem))
    outcome = text["outcome"].lower()
    if outcome not in OUTCOMES:
        found.append(("outcome", _unknown_outcome(text["outcome"])))
    if found or when is None:
        return None, found
    contact = Contact(client, when, outcome, text["note"] or None, text["manager"] or None)
    return contact, []


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_time(text: str, now: datetime) -> tuple[str | None, str | None]:
    """The UTC text of a contact's time, or what is wrong with it."""
    if not text:
        return None, f"no date ({DATE_EXAMPLE})"
    try:
        when = utc_time(text)
    except (ValueError, OverflowError):  # overflow: year 9999 moved to UTC
        return None, f"'{text}' is not an ISO date or date-time ({DATE_EXAMPLE})"
    if when > now + CLOCK_SLACK:
        return None, f"'{text}' is in the future (now is {utc_text(now)})"
    return utc_text(when), None


def _unknown_outcome(given: str) -> str:
    if not given:
        return f"no outcome (one of {', '.join(OUTCOMES)})"
    near = difflib.get_close_matches(given.lower().replace(" ", "_"), OUTCOMES, n=1)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    return f"unknown outcome '{given}'{hint} (one of {', '.join(OUTCOMES)})"
