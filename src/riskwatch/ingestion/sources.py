"""Where new data comes from: the Source interface, its batches, and the source settings name."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from riskwatch.config import Settings
from riskwatch.storage import open_store

if TYPE_CHECKING:  # SQLAlchemy is imported only when the records are needed
    from riskwatch.ingestion.readers import RawChunk
    from riskwatch.storage.store import Store

# A progress reporter: called with a label and a total of bytes, it returns advance(n_bytes).
Progress = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class Batch:
    """One unit of new data offered by a source, named by it."""

    source: str
    name: str
    sha256: str  # a file's content hash; a table's rows get theirs as they are read
    size_bytes: int
    path: Path | None = None
    watermark_low: Any = None
    watermark_high: Any = None


@dataclass
class Check:
    """What the source offers now, compared with what was ingested."""

    source: str
    new: list[Batch] = field(default_factory=list)
    already_ingested: int = 0
    previously_quarantined: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # ingested files no longer in the source
    new_rows: int = 0  # database sources: rows past the watermark


@dataclass
class Reading:
    """One batch's chunks as they are read; its fingerprint is complete once all are read."""

    chunks: Iterable[RawChunk]
    sha256: str = ""


class Source(Protocol):
    """A place new data arrives: a folder of files or a database table."""

    key: str  # names the source in the records

    def check(self, settings: Settings, store: Store | None) -> Check:
        """What is new, each batch named and fingerprinted; store None: open it only if needed."""
        ...

    def read(self, batch: Batch, chunk_rows: int) -> Reading:
        """The rows in chunks with their line numbers; UnreadableBatchError if unreadable."""
        ...

    def advance(self, settings: Settings, store: Store) -> None:
        """Move past what the records now hold, so the next check starts there."""
        ...


def open_source(settings: Settings) -> Source:
    """The source the settings name."""
    # Each kind imports the other's module only when chosen; both are light.
    if settings.source == "database":
        from riskwatch.ingestion.database import DatabaseSource  # noqa: PLC0415

        where = settings.source_query or settings.source_table
        return DatabaseSource(
            settings.source_url,
            settings.source_table,
            settings.source_query,
            settings.source_watermark_column,
            key=f"database:{redact(settings.source_url)}:{where}",
        )
    from riskwatch.ingestion.folder import FolderSource  # noqa: PLC0415

    folder = settings.input_folder_path
    try:
        shown = folder.relative_to(settings.workspace).as_posix()
    except ValueError:
        shown = str(folder)
    return FolderSource(folder, settings.source_patterns, f"folder:{shown}")


@contextmanager
def store_for(settings: Settings, store: Store | None) -> Iterator[Store]:
    """The store given, or the metadata database opened for the moment (SQLAlchemy is heavy)."""
    if store is not None:
        yield store
        return
    with open_store(settings) as opened:
        yield opened


def redact(url: str) -> str:
    """A URL without its password, fit for records and messages."""
    # Greedy up to the last "@" before the path: a raw "@" in a password must not leak its tail.
    return re.sub(r"(//[^:/@]+):[^/?#]*@", r"\1:***@", url)
