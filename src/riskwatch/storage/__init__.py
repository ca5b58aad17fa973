"""Storage: the metadata database, its tables, and atomic file writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from riskwatch.config import Settings
    from riskwatch.storage.store import Store


def open_store(settings: Settings) -> Store:
    """The workspace's metadata database, migrated (use in a with block, which closes it)."""
    # Imported here: SQLAlchemy is heavy, and the cycle's fast path never opens the database.
    from riskwatch.storage.store import Store  # noqa: PLC0415

    return Store(settings.database_url)
