"""Where new data comes from: a folder of files or a database table; list batches, read one."""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import os
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.config import Settings

if TYPE_CHECKING:  # pandas and SQLAlchemy are imported only when data is read: the check stays fast
    import pandas as pd

SNIFF_BYTES = 64 * 1024
ID_COLUMN = "corporation"  # read as text always: an id such as "NA" or "007" is not a number
MISSING_MARKERS = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None"]
# A progress reporter: called with a label and a total of bytes, it returns advance(n_bytes).
Progress = Callable[[str, int], Callable[[int], None]]


class UnreadableBatchError(Exception):
    """A batch that cannot be read at all; the message says why and is shown to the user."""


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


@dataclass
class RawChunk:
    """Rows of a batch as text, with the line (or row) number of the first one."""

    frame: pd.DataFrame
    first_line: int
    lines: Any = None  # per-row line numbers (CSV: skipped lines put rows and lines out of step)
    position: int = 0  # bytes of the file consumed so far, for progress
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason) unparsable
    watermark_high: Any = None


def sha256_of(path: Path) -> str:
    """The sha256 of a file's content, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
                    sha = sha256_of(Path(entry.path))
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
        suffix = batch.path.suffix.lower()
        if suffix == ".parquet":
            return _read_parquet(batch.path, chunk_rows)
        if suffix == ".jsonl":
            return _read_jsonl(batch.path, chunk_rows)
        return _read_csv(batch.path, chunk_rows)


def _check_text_file(path: Path) -> list[str]:
    """Refuse an empty, binary or non-UTF-8 file; return the header's column names."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise UnreadableBatchError("empty file: no header and no rows")
    if b"\x00" in head:
        raise UnreadableBatchError("binary file: it holds NUL bytes, not CSV text")
    first_line = head.splitlines()[0]
    try:
        header_text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableBatchError(
            f"not UTF-8 text: {exc.reason} at byte {exc.start} of line 1"
        ) from exc
    return next(csv.reader([header_text]))


def _schema_check(columns: list[str]) -> None:
    from riskwatch.schema import SchemaError, check_columns  # noqa: PLC0415 - pandas is heavy

    try:
        check_columns([c.strip() for c in columns])
    except SchemaError as exc:
        raise UnreadableBatchError(str(exc)) from exc


_SKIPPED = re.compile(r"Skipping line (\d+): (.*)")


def _read_csv(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415 - pandas is heavy

    header = [c.strip() for c in _check_text_file(path)]
    _schema_check(header)
    next_row = 0
    all_skipped: list[int] = []
    try:
        with warnings.catch_warnings(record=True) as caught, path.open("rb") as handle:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            reader = pd.read_csv(
                handle,
                # Numbers are parsed as the file is read (as fast as a bare read_csv); a column
                # with text in it stays text and schema.validate explains its bad rows.
                dtype={ID_COLUMN: "str"},
                keep_default_na=False,
                na_values={c: MISSING_MARKERS for c in header if c != ID_COLUMN},
                low_memory=False,
                skip_blank_lines=False,  # keeps row numbers equal to line numbers
                on_bad_lines="warn",
                encoding="utf-8-sig",
                chunksize=chunk_rows,
            )
            with reader:
                for frame in reader:
                    frame.columns = [str(c).strip() for c in frame.columns]
                    skipped = _skipped_lines(caught)
                    all_skipped.extend(line for line, _ in skipped)
                    rows = np.arange(next_row, next_row + len(frame))
                    lines = _row_lines(rows, np.array(sorted(all_skipped), dtype="int64"))
                    first = int(lines[0]) if len(lines) else next_row + 2
                    yield RawChunk(
                        frame, first, lines=lines, skipped=skipped, position=handle.tell()
                    )
                    next_row += len(frame)
    except UnicodeDecodeError as exc:
        raise UnreadableBatchError(
            f"not UTF-8 text: {exc.reason} (byte 0x{exc.object[exc.start]:02x})"
        ) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise UnreadableBatchError(f"not a readable CSV file: {exc}") from exc


def _row_lines(rows: Any, skipped: Any) -> Any:
    """Line numbers of data rows (header on line 1), given the lines the parser skipped."""
    import numpy as np  # noqa: PLC0415

    # The j-th skipped line s would have been row s - 2 - j; rows at or past it move down a line.
    would_be_rows = skipped - 2 - np.arange(len(skipped))
    return rows + 2 + np.searchsorted(would_be_rows, rows, side="right")


def _skipped_lines(caught: list[warnings.WarningMessage]) -> list[tuple[int, str]]:
    """Lines the CSV parser skipped (too many fields), taken from its warnings."""
    lines = []
    for message in caught:
        for match in _SKIPPED.finditer(str(message.message)):
            lines.append((int(match.group(1)), match.group(2).strip()))
    caught.clear()
    return lines


def _read_jsonl(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    import pandas as pd  # noqa: PLC0415 - pandas is heavy

    _check_text_file(path)
    line = 1
    try:
        with pd.read_json(path, lines=True, dtype=False, chunksize=chunk_rows) as reader:
            for frame in reader:
                _schema_check([str(c) for c in frame.columns])
                yield RawChunk(frame, line)
                line += len(frame)
    except UnicodeDecodeError as exc:
        raise UnreadableBatchError(f"not UTF-8 text: {exc.reason}") from exc
    except ValueError as exc:
        raise UnreadableBatchError(f"not valid JSON lines near line {line}: {exc}") from exc


def _read_parquet(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    import pyarrow as pa  # noqa: PLC0415 - pyarrow is heavy
    import pyarrow.parquet as pq  # noqa: PLC0415

    row = 1
    try:
        parquet = pq.ParquetFile(path)
        _schema_check(parquet.schema_arrow.names)
        for record_batch in parquet.iter_batches(batch_size=chunk_rows):
            frame = record_batch.to_pandas()
            yield RawChunk(frame, row)
            row += len(frame)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableBatchError(f"not a readable Parquet file: {exc}") from exc


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
                    _schema_check([str(c) for c in frame.columns])
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


def csv_text(frame: pd.DataFrame) -> str:
    """A frame as CSV text (used for quarantine records)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue()
