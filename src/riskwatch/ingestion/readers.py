"""Readers of data files (CSV, JSON lines, Parquet) into chunks of rows with their line numbers."""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskwatch.errors import RiskwatchError

if TYPE_CHECKING:  # pandas is imported only when data is read: the new-data check stays fast
    import pandas as pd
    import pyarrow as pa

SNIFF_BYTES = 64 * 1024
LINE_BLOCK_BYTES = 16 * 1024 * 1024
MISSING_MARKERS = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None"]


class UnreadableBatchError(RiskwatchError):
    """A batch that cannot be read at all; the message says why and is shown to the user."""


@dataclass
class RawChunk:
    """Rows of a batch as read, with each row's line (or row) number."""

    rows: Any  # a DataFrame; a clean CSV's rows stay an Arrow table until `frame` is asked for
    lines: Any  # per-row line numbers (CSV: skipped lines put rows and lines out of step)
    position: int = 0  # bytes of the file consumed so far, for progress
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason) unparsable
    first_row: int = 0  # Arrow rows: the first one's row number (the index of their frame)

    @property
    def table(self) -> pa.Table | None:
        """The rows as pyarrow read them from a clean CSV file; None from the other readers."""
        import pyarrow as pa  # noqa: PLC0415 - pyarrow is heavy

        return self.rows if isinstance(self.rows, pa.Table) else None

    @property
    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (Arrow rows converted once, on first use)."""
        table = self.table
        if table is not None:
            # Converted only when validation needs pandas: a clean chunk is checked as Arrow.
            converted = table.to_pandas()
            converted.index = range(self.first_row, self.first_row + len(converted))
            self.rows = converted
        frame: pd.DataFrame = self.rows
        return frame

    @frame.setter
    def frame(self, frame: pd.DataFrame) -> None:
        self.rows = frame


def numbered(frame: pd.DataFrame, first_line: int) -> RawChunk:
    """A chunk whose rows are numbered one a line from first_line (no line is ever skipped)."""
    import numpy as np  # noqa: PLC0415 - numpy is heavy

    return RawChunk(frame, np.arange(first_line, first_line + len(frame)))


def read_file(path: Path, chunk_rows: int, *, require_target: bool = True) -> Iterator[RawChunk]:
    """The rows of a data file in chunks, by its suffix; UnreadableBatchError if unreadable."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(path, chunk_rows, require_target)
    if suffix == ".jsonl":
        return _read_jsonl(path, chunk_rows, require_target)
    return _read_csv(path, chunk_rows, require_target)


def reads_as_csv(path: Path) -> bool:
    """Whether read_file reads the file as CSV (every suffix but .parquet and .jsonl)."""
    return path.suffix.lower() not in (".parquet", ".jsonl")


def _check_text_file(path: Path) -> list[str]:
    """Refuse an empty, binary or non-UTF-8 file; return the header's column names."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise UnreadableBatchError("empty file: no header and no rows")
    if b"\x00" in head:
        raise UnreadableBatchError(
            "binary file: it holds NUL bytes, not UTF-8 CSV text (save UTF-16 text as UTF-8)"
        )
    first_line = head.splitlines()[0]
    try:
        header_text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableBatchError(
            f"not UTF-8 text: {exc.reason} at byte {exc.start} of line 1"
        ) from exc
    return next(csv.reader([header_text]))


def schema_check(columns: list[str], require_target: bool = True) -> None:
    from riskwatch.schema import SchemaError, check_columns  # noqa: PLC0415 - pandas is heavy

    try:
        check_columns([c.strip() for c in columns], require_target=require_target)
    except SchemaError as exc:
        raise UnreadableBatchError(str(exc)) from exc


_SKIPPED = re.compile(r"Skipping line (\d+): (.*)")


class _NumericIdsError(Exception):
    """The id column came out numeric: read again keeping it as text."""


def _read_csv(path: Path, chunk_rows: int, require_target: bool) -> Iterator[RawChunk]:
    from riskwatch.ingestion.arrowcsv import clean_csv_chunks  # noqa: PLC0415 - pyarrow is heavy

    written = _check_text_file(path)
    header = [c.strip() for c in written]
    schema_check(header, require_target)
    clean = clean_csv_chunks(path, written, chunk_rows)
    if clean is not None:  # most large files: read 3-4x faster, with the same rows and lines
        yield from clean
        return
    yield from careful_csv_chunks(path, header, chunk_rows)


def careful_csv_chunks(
    path: Path, header: list[str], chunk_rows: int, after: int = 0
) -> Iterator[RawChunk]:
    """pandas' read of the rows after the first `after` (already read, one a line), numbered."""
    try:
        yield from _csv_chunks(path, header, chunk_rows, id_as_text=False, after=after)
    except _NumericIdsError:
        # Rare (ids such as 007): the slower read that keeps every id exactly as written.
        yield from _csv_chunks(path, header, chunk_rows, id_as_text=True, after=after)


def _csv_chunks(
    path: Path, header: list[str], chunk_rows: int, *, id_as_text: bool, after: int = 0
) -> Iterator[RawChunk]:
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415 - pandas is heavy

    from riskwatch.schema import ID_COLUMN  # noqa: PLC0415 - the schema imports pandas

    # After rows already read, the read starts on the last of them (a clean line, dropped
    # again), so that pandas sees a well-formed first line as it does after the header.
    next_row, first = max(after - 1, 0), True
    all_skipped: list[int] = []
    try:
        with warnings.catch_warnings(record=True) as caught, path.open("rb") as handle:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            handle.seek(line_offset(path, after + 1) if after else 0)
            reader = _csv_reader(handle, header, chunk_rows, id_as_text=id_as_text, after=after)
            with reader:
                for frame in reader:
                    frame.columns = [str(c).strip() for c in frame.columns]
                    if not pd.api.types.is_string_dtype(frame[ID_COLUMN].dtype):
                        if first and not id_as_text:
                            raise _NumericIdsError
                        frame[ID_COLUMN] = frame[ID_COLUMN].astype(str)
                    skipped = _skipped_lines(caught, shift=after)
                    all_skipped.extend(line for line, _ in skipped)
                    rows = np.arange(next_row, next_row + len(frame))
                    lines = _row_lines(rows, np.array(sorted(all_skipped), dtype="int64"))
                    next_row += len(frame)
                    chunk = RawChunk(frame, lines, skipped=skipped, position=handle.tell())
                    yield _numbered_on(chunk, rows, drop_first=first) if after else chunk
                    first = False
    except UnicodeDecodeError as exc:
        raise UnreadableBatchError(
            f"not UTF-8 text: {exc.reason} (byte 0x{exc.object[exc.start]:02x})"
        ) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise UnreadableBatchError(f"not a readable CSV file: {exc}") from exc


def _numbered_on(chunk: RawChunk, rows: Any, *, drop_first: bool) -> RawChunk:
    """A chunk read mid-file, indexed on from the rows before; the first drops the row re-read."""
    chunk.frame.index = rows
    if drop_first:
        chunk.frame, chunk.lines = chunk.frame.iloc[1:], chunk.lines[1:]
    return chunk


def _csv_reader(
    handle: Any, header: list[str], chunk_rows: int, *, id_as_text: bool, after: int
) -> Any:
    """pandas' chunked CSV reader, set to keep line numbers and the missing-value markers."""
    import pandas as pd  # noqa: PLC0415

    from riskwatch.schema import ID_COLUMN  # noqa: PLC0415

    return pd.read_csv(
        handle,
        # Mid-file (after rows already read) the header is not there: its names are given.
        header=None if after else "infer",
        names=header if after else None,
        # Numbers are parsed as the file is read (as fast as a bare read_csv); a column with
        # text in it stays text and schema.validate explains its bad rows. The id is left to
        # inference too: forcing text costs 4x the whole read.
        dtype={ID_COLUMN: "str"} if id_as_text else None,
        keep_default_na=False,
        na_values={c: MISSING_MARKERS for c in header if c != ID_COLUMN},
        low_memory=False,
        skip_blank_lines=False,  # keeps row numbers equal to line numbers
        on_bad_lines="warn",
        encoding="utf-8-sig",
        chunksize=chunk_rows,
    )


def _row_lines(rows: Any, skipped: Any) -> Any:
    """Line numbers of data rows (header on line 1), given the lines the parser skipped."""
    import numpy as np  # noqa: PLC0415

    # The j-th skipped line s would have been row s - 2 - j; rows at or past it move down a line.
    would_be_rows = skipped - 2 - np.arange(len(skipped))
    return rows + 2 + np.searchsorted(would_be_rows, rows, side="right")


def _skipped_lines(caught: list[warnings.WarningMessage], shift: int) -> list[tuple[int, str]]:
    """Lines the CSV parser skipped (too many fields), from its warnings, `shift` lines on."""
    lines = []
    for message in caught:
        for match in _SKIPPED.finditer(str(message.message)):
            lines.append((int(match.group(1)) + shift, match.group(2).strip()))
    caught.clear()
    return lines


def line_offset(path: Path, line: int) -> int:
    """The byte offset where a line (the first is 1) starts: lines end at LF, CRLF or a lone CR."""
    import numpy as np  # noqa: PLC0415

    wanted, base = line - 1, 0
    with path.open("rb") as handle:
        while wanted and (block := handle.read(LINE_BLOCK_BYTES)):
            if block.endswith(b"\r"):  # its \n, if any, belongs to the same line end
                block += handle.read(1)
            data = np.frombuffer(block, dtype=np.uint8)
            ends = data == ord("\n")
            lone = data == ord("\r")
            lone[:-1] &= ~ends[1:]
            where = np.flatnonzero(ends | lone)
            if len(where) >= wanted:
                return base + int(where[wanted - 1]) + 1
            wanted, base = wanted - len(where), base + len(block)
    return base


def raw_csv_cells(path: Path, lines: set[int]) -> tuple[list[str], dict[int, list[str]]]:
    """The header and the cells of the given lines of a CSV file, exactly as written."""
    # Line numbers here count records as the pandas reader does (a blank line is a record),
    # so a quarantined row's line finds its own record. Reading stops at the last one wanted.
    last = max(lines, default=0)
    found: dict[int, list[str]] = {}
    header: list[str] = []
    # A quarantined cell may be longer than the csv module's default field limit (128 KiB);
    # no cell can be longer than the file. The limit is put back afterwards.
    limit = csv.field_size_limit(max(csv.field_size_limit(), path.stat().st_size))
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for number, record in enumerate(csv.reader(handle), start=1):
                if number == 1:
                    header = [name.strip() for name in record]
                elif number in lines:
                    found[number] = record
                if number >= last:
                    break
    finally:
        csv.field_size_limit(limit)
    return header, found


def _read_jsonl(path: Path, chunk_rows: int, require_target: bool) -> Iterator[RawChunk]:
    import pandas as pd  # noqa: PLC0415 - pandas is heavy

    _check_text_file(path)
    line = 1
    try:
        with pd.read_json(path, lines=True, dtype=False, chunksize=chunk_rows) as reader:
            for frame in reader:
                if not all(isinstance(c, str) for c in frame.columns):  # lines of lists or values
                    raise TypeError("a line is not a JSON object")
                schema_check([str(c) for c in frame.columns], require_target)
                yield numbered(frame, line)
                line += len(frame)
    except UnicodeDecodeError as exc:
        raise UnreadableBatchError(f"not UTF-8 text: {exc.reason}") from exc
    except (ValueError, TypeError) as exc:  # TypeError: objects mixed with lists or values
        raise UnreadableBatchError(
            f"not valid JSON lines{_json_problem(path) or f': {exc}'}"
        ) from exc


def _json_problem(path: Path) -> str:
    """' on line N: why' for the first line that is not one JSON object, '' if none is found."""
    import json  # noqa: PLC0415

    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except ValueError as exc:
                return f" on line {number}: {exc}"
            if not isinstance(value, dict):
                return f" on line {number}: each line must be one JSON object"
    return ""


def _read_parquet(path: Path, chunk_rows: int, require_target: bool) -> Iterator[RawChunk]:
    import pyarrow as pa  # noqa: PLC0415 - pyarrow is heavy
    import pyarrow.parquet as pq  # noqa: PLC0415

    row = 1
    try:
        parquet = pq.ParquetFile(path)
        schema_check(parquet.schema_arrow.names, require_target)
        for record_batch in parquet.iter_batches(batch_size=chunk_rows):
            frame = record_batch.to_pandas()
            yield numbered(frame, row)
            row += len(frame)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableBatchError(f"not a readable Parquet file: {exc}") from exc
