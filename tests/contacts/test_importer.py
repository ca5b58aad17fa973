"""Importing a CSV file of calls: every bad line named, the whole file or nothing, and twice is
the same as once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from riskwatch.config import Settings
from riskwatch.contacts.checks import ContactsRefusedError
from riskwatch.contacts.importer import import_contacts
from riskwatch.contacts.ledger import list_contacts
from riskwatch.errors import RiskwatchError
from riskwatch.storage.store import Store

from .conftest import publish, write_csv

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HEADER = "corporation,contacted_at,outcome,note,manager\n"
GOOD = "".join(f"c{n},2026-11-{n:02d},reached,,Ann\n" for n in range(1, 10))


def refused(settings: Settings, store: Store, path: Path) -> list[tuple[int, str | None, str]]:
    """The problems of a refused file, as (line, field, message)."""
    with pytest.raises(ContactsRefusedError) as caught:
        import_contacts(settings, store, path, now=NOW)
    assert "nothing recorded" in str(caught.value)
    return [(e["line"], e["field"], e["message"]) for e in caught.value.errors()]


def test_a_file_of_calls_is_recorded_with_its_lines_and_utc_times(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    text = (
        HEADER + "c1,2026-11-03,reached,Asked about prices,Ann\n"
        "c2,2026-11-03T09:30,no_answer,,\n"
        'c3,2026-11-03T10:00:00+01:00,Saved,"Discount, 10 %",Ben\n'
    )
    result = import_contacts(settings, store, write_csv(tmp_path, text), now=NOW)
    assert result.summary() == "Recorded 3 contacts from calls.csv."
    stored = {c["corporation"]: c for c in list_contacts(store)}
    assert stored["c1"]["contacted_at"] == "2026-11-03T00:00:00.000000Z"
    assert stored["c2"]["contacted_at"] == "2026-11-03T09:30:00.000000Z"
    assert stored["c3"]["contacted_at"] == "2026-11-03T09:00:00.000000Z"
    assert stored["c3"]["outcome"] == "saved"
    assert stored["c3"]["note"] == "Discount, 10 %"
    assert (stored["c2"]["note"], stored["c2"]["manager"]) == (None, None)
    assert [stored[f"c{n}"]["source"] for n in (1, 2, 3)] == [
        "calls.csv line 2",
        "calls.csv line 3",
        "calls.csv line 4",
    ]


def test_importing_the_same_file_twice_adds_nothing(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, HEADER + GOOD)
    first = import_contacts(settings, store, path, now=NOW)
    again = import_contacts(settings, store, path, now=NOW)
    assert first.summary() == "Recorded 9 contacts from calls.csv."
    assert again.summary() == "Recorded 0 contacts from calls.csv (9 already recorded)."
    assert again.to_dict()["already_recorded"] == 9
    assert len(list_contacts(store)) == 9


def test_each_bad_line_is_named_and_the_file_is_refused_whole(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    text = (
        HEADER + "c1,2026-11-01,reached,,\n"
        "nobody,2026-11-01,reached,,\n"
        "c2,2026-11-01,callback,,\n"
        "c3,03/11/2026,saved,,\n"
        "c4,2027-01-01,lost,,\n"
        "c1,2026-11-01,reached,again,\n"
        "c5,2026-11-01,declined\n"
        ",,,,\n"
        "c6,2026-11-01,no answer,,\n"
    )
    problems = refused(settings, store, write_csv(tmp_path, text))
    assert problems == [
        (3, "corporation", "unknown client 'nobody': not in the master dataset"),
        (
            4,
            "outcome",
            "unknown outcome 'callback' (one of reached, no_answer, saved, lost, declined)",
        ),
        (
            5,
            "contacted_at",
            "'03/11/2026' is not an ISO date or date-time "
            "(e.g. 2026-11-03, 2026-11-03T09:30 or 2026-11-03T09:30:00+01:00)",
        ),
        (6, "contacted_at", "'2027-01-01' is in the future (now is 2026-11-30T12:00:00.000000Z)"),
        (7, None, "the same contact as line 2"),
        (8, None, "3 values; the header has 5"),
        (
            10,
            "outcome",
            "unknown outcome 'no answer'; did you mean 'no_answer'? "
            "(one of reached, no_answer, saved, lost, declined)",
        ),
    ]
    assert list_contacts(store) == []


def test_nine_good_lines_and_one_bad_record_nothing(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, HEADER + GOOD + "c10,yesterday,reached,,\n")
    assert refused(settings, store, path) == [
        (
            11,
            "contacted_at",
            "'yesterday' is not an ISO date or date-time "
            "(e.g. 2026-11-03, 2026-11-03T09:30 or 2026-11-03T09:30:00+01:00)",
        )
    ]
    assert list_contacts(store) == []


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("corporation,outcome", ["missing column 'contacted_at'"]),
        ("corporation,contacted_at,outcome,phone", ["unknown column 'phone'"]),
        ("corporation,contacted_at,outcome,note,note", ["repeated column 'note'"]),
    ],
)
def test_a_missing_unknown_or_repeated_column_is_named_on_line_1(
    settings: Settings, store: Store, tmp_path: Path, header: str, said: list[str]
) -> None:
    path = write_csv(tmp_path, header + "\nc1,2026-11-01,reached\n")
    expected = "expected the header corporation,contacted_at,outcome[,note,manager]"
    assert refused(settings, store, path) == [
        *((1, None, message) for message in said),
        (1, None, expected),
    ]


def test_an_empty_file_or_one_not_utf8_is_refused(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    empty = refused(settings, store, write_csv(tmp_path, ""))
    assert empty == [
        (
            1,
            None,
            "the file is empty: expected the header corporation,contacted_at,outcome"
            "[,note,manager]",
        )
    ]
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "c1,2026-11-01,reached,Caf\xe9,\n").encode("latin-1"))
    assert refused(settings, store, latin)[0][:2] == (1, None)


def test_a_header_in_capitals_a_byte_order_mark_and_a_note_over_lines_are_read(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    text = '\ufeffCorporation, Contacted_At ,OUTCOME,Note\nc1,2026-11-01,reached,"two\nlines"\n'
    text += "c2,2026-11-01,bad,\n"
    path = write_csv(tmp_path, text)
    assert [line for line, _, _ in refused(settings, store, path)] == [4]  # the note took 2, 3


def test_a_contact_links_to_the_list_that_listed_the_client_at_the_time(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    published = publish(store, "2026-11-01T06:00:00.000000Z", "2026-10-31T01.00.00Z", ["c4", "c7"])
    path = write_csv(tmp_path, HEADER + "c7,2026-11-02T08:00,saved,,\nc1,2026-11-02,lost,,\n")
    recorded = import_contacts(settings, store, path, now=NOW).to_dict()["contacts"]
    assert recorded[0]["list"] == {
        "id": published,
        "published_at": "2026-11-01T06:00:00.000000Z",
        "rank": 2,
        "version": "2026-10-31T01.00.00Z",
    }
    assert recorded[1]["list"] is None


def test_calls_cannot_be_checked_before_any_data_is_ingested(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    empty = make_settings()
    with Store(empty.database_url) as store, pytest.raises(RiskwatchError, match="ingest"):
        import_contacts(empty, store, write_csv(tmp_path, HEADER + GOOD), now=NOW)
