"""Where new data comes from: a folder of files or a database table; list batches, read one."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskwatch.config import Settings
from riskwatch.ingestion.readers import (
    RawChunk,
    UnreadableBatchError,
    read_file,
    schema_check,
)
from riskwatch.storage.files import sha256_file

# A progress reporter: called with a label and a total of bytes, it returns advance(n_bytes).
Progress = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class FileState:
    """What we know of a file: its size and mtime (the cache key) and its content hash."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class Batch:
    """One unit of new data offered by a source."""

    source: str
    name: str
    sha256: str
    size_bytes: int
    path: Path | None = None
    watermark_low: Any = None


class FolderSource:
    """CSV, Parquet and JSON-lines files in a folder; a file is new when its content is new."""

    def __init__(self, folder: Path, patterns: tuple[str, ...], key: str) -> None:
        self.folder = folder
        self.patterns = patterns
        self.key = key

    def scan(self, cache: dict[str, FileState]) -> dict[str, FileState]:
        """The data files now in the folder with their hashes; unchanged files are not re-read."""
        if not self.folder.is_dir():
            raise FileNotFoundError(f"the source folder {self.folder} does not exist")
        found: dict[str, FileState] = {}
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if not entry.is_file() or not self._wanted(entry.name):
                    continue
                stat = entry.stat()
                known = cache.get(entry.name)
                if known and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                    found[entry.name] = known
                else:
                    sha = sha256_file(Path(entry.path))
                    found[entry.name] = FileState(stat.st_size, stat.st_mtime_ns, sha)
        return dict(sorted(found.items()))

    def _wanted(self, name: str) -> bool:
        # Hidden and temporary names are how writers stage a file before renaming it into place.
        if name.startswith((".", "~")):
            return False
        return any(fnmatch.fnmatch(name, pattern) for pattern in self.patterns)

    def read(self, batch: Batch, chunk_rows: int) -> Iterator[RawChunk]:
        """The rows of one file as text, in chunks; UnreadableBatchError if it cannot be read."""
        if batch.path is None:
            raise ValueError("a folder batch needs a path")
        return read_file(batch.path, chunk_rows)


class DatabaseSource:
    """A table or query at a SQLAlchemy URL; rows past the recorded watermark are new."""

    def __init__(self, url: str, table: str, query: str, watermark: str, key: str) -> None:
        self.url = url
        self.table = table
        self.query = query
        self.watermark = watermark
        self.key = key

    def label(self) -> str:
        """A short name of what is read, for batch names and messages."""
        return f"{self.table if not self.query else 'query'}.{self.watermark}"

    def _selectable(self) -> Any:
        import sqlalchemy as sa  # noqa: PLC0415 - SQLAlchemy is heavy

        if self.query:
            return sa.text(self.query).columns(sa.column(self.watermark)).subquery("source")
        return sa.table(self.table, sa.column(self.watermark))

    def pending(self, after: Any) -> tuple[int, Any]:
        """How many rows are past the watermark, and the highest watermark now."""
        import sqlalchemy as sa  # noqa: PLC0415

        source = self._selectable()
        mark = source.c[self.watermark]
        query = sa.select(sa.func.count(), sa.func.max(mark)).select_from(source)
        if after is not None:
            query = query.where(mark > after)
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                count, highest = conn.execute(query).one()
        except sa.exc.SQLAlchemyError as exc:
            raise UnreadableBatchError(
                f"cannot query the source database: {exc.__cause__ or exc}"
            ) from exc
        finally:
            engine.dispose()
        return int(count), highest

    def read(self, batch: Batch, chunk_rows: int) -> Iterator[RawChunk]:
        """The rows past the batch's low watermark, in watermark order, as text."""
        import pandas as pd  # noqa: PLC0415
        import sqlalchemy as sa  # noqa: PLC0415

        source = self._selectable()
        mark: Any = sa.column(self.watermark)
        query = sa.select(sa.text("*")).select_from(source).order_by(mark)
        if batch.watermark_low is not None:
            query = query.where(mark > batch.watermark_low)
        engine = sa.create_engine(self.url)
        row = 1
        try:
            with engine.connect() as conn:
                for frame in pd.read_sql(query, conn, chunksize=chunk_rows):
                    schema_check([str(c) for c in frame.columns])
                    high = frame[self.watermark].max() if len(frame) else None
                    yield RawChunk(frame, row, watermark_high=high)
                    row += len(frame)
        except sa.exc.SQLAlchemyError as exc:
            raise UnreadableBatchError(
                f"cannot read the source database: {exc.__cause__ or exc}"
            ) from exc
        finally:
            engine.dispose()


def open_source(settings: Settings) -> FolderSource | DatabaseSource:
    """The source the settings name."""
    if settings.source == "database":
        where = settings.source_query or settings.source_table
        key = f"database:{_redact(settings.source_url)}:{where}"
        return DatabaseSource(
            settings.source_url,
            settings.source_table,
            settings.source_query,
            settings.source_watermark_column,
            key,
        )
    folder = settings.input_folder_path
    try:
        shown = folder.relative_to(settings.workspace).as_posix()
    except ValueError:
        shown = str(folder)
    return FolderSource(folder, settings.source_patterns, f"folder:{shown}")


def _redact(url: str) -> str:
    """A URL without its password, fit for records and messages."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)
