"""The time as riskwatch records it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riskwatch.storage.clock import utcnow


def test_utcnow_is_iso_text_in_utc_with_microseconds() -> None:
    text = utcnow()
    assert text.endswith("Z")
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(seconds=5)
    assert len(text.split(".")[1]) == len("123456Z")


def test_utcnow_to_the_second_has_no_fraction() -> None:
    text = utcnow("seconds")
    assert text.endswith("Z")
    assert "." not in text
    assert len(text) == len("2026-11-30T03:04:05Z")
