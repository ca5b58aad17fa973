"""The time as riskwatch records it: light to import (the cycle's fast path uses it)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow(timespec: str = "microseconds") -> str:
    """The current UTC time as ISO-8601 text (portable across SQLite and PostgreSQL)."""
    return datetime.now(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
