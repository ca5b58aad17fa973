"""A client file (CSV or Parquet) read in chunks of rows, each row with its line in the file."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.readers import MISSING_MARKERS, schema_check
from riskwatch.schema import ID_COLUMN

BLOCK_BYTES = 4 * 1024 * 1024  # a CSV chunk: about 100,000 clients of the demo's shape
PARQUET_ROWS = 100_000
# Read as one text column per line: a delimiter no CSV text holds, and no quoting, so that
# every physical line is one record and its line number is exact.
WHOLE_LINE = "\x1f"


@dataclass
class Chunk:
    """Rows as read (text, or whole numbers where a column held only those) with their lines."""

    frame: pd.DataFrame
    lines: np.ndarray[Any, Any]
    done: int  # bytes (CSV) or rows (Parquet) of the file consumed by this chunk, for progress
    unparsable: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


@dataclass(frozen=True)
class ClientFile:
    """A client file opened: its columns, its size in progress units, and its chunks."""

    columns: list[str]
    total: int
    unit: str  # "B" or "rows"
    chunks: Iterator[Chunk]


def open_client_file(path: Path, *, block_bytes: int = BLOCK_BYTES) -> ClientFile:
    """The file's chunks by its suffix (.parquet, else CSV); RiskwatchError if unreadable."""
    if not path.is_file():
        raise RiskwatchError(f"{path}: no such file")
    if path.suffix.lower() == ".parquet":
        return _parquet(path, max(1, block_bytes // 40))
    if path.suffix.lower() == ".jsonl":
        raise RiskwatchError(f"{path}: a client file is CSV or Parquet")
    return _csv(path, block_bytes)


def _parquet(path: Path, rows: int) -> ClientFile:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise RiskwatchError(f"{path}: not a readable Parquet file: {exc}") from exc
    columns = [name.strip() for name in parquet.schema_arrow.names]
    _check_header(path, columns)
    return ClientFile(columns, parquet.metadata.num_rows, "rows", _parquet_chunks(parquet, rows))


def _parquet_chunks(parquet: pq.ParquetFile, rows: int) -> Iterator[Chunk]:
    row = 1  # a Parquet file has no lines: its rows are numbered from 1, as ingestion does
    for batch in parquet.iter_batches(batch_size=rows):
        frame = batch.to_pandas()
        frame.columns = [str(name).strip() for name in frame.columns]
        yield Chunk(frame, np.arange(row, row + len(frame)), len(frame))
        row += len(frame)


def _check_header(path: Path, columns: list[str]) -> None:
    try:
        schema_check(columns, require_target=False)
    except RiskwatchError as exc:
        raise RiskwatchError(f"{path}: {exc}") from exc


def _csv(path: Path, block_bytes: int) -> ClientFile:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = [name.strip() for name in next(csv.reader([handle.readline()]), [])]
    except UnicodeDecodeError as exc:
        raise RiskwatchError(f"{path}: not UTF-8 text: {exc.reason} on line 1") from exc
    _check_header(path, header)
    return ClientFile(header, path.stat().st_size, "B", _csv_chunks(path, header, block_bytes))


def _csv_chunks(path: Path, header: list[str], block_bytes: int) -> Iterator[Chunk]:
    reading = pacsv.ReadOptions(block_size=block_bytes, skip_rows=1, column_names=["text"])
    parsing = pacsv.ParseOptions(
        delimiter=WHOLE_LINE, quote_char=False, escape_char=False, ignore_empty_lines=False
    )
    converting = pacsv.ConvertOptions(
        column_types={"text": pa.large_string()},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    line = 2  # the header is line 1
    try:
        # The system allocator gives freed chunks back at once (pyarrow's default pool keeps them).
        with pacsv.open_csv(
            path,
            read_options=reading,
            parse_options=parsing,
            convert_options=converting,
            memory_pool=pa.system_memory_pool(),
        ) as reader:
            for batch in reader:
                yield split_lines(batch.column(0), header, line)
                line += batch.num_rows
    except pa.ArrowInvalid as exc:
        raise RiskwatchError(f"{path}: not a readable CSV file near line {line}: {exc}") from exc


def split_lines(texts: pa.Array, header: list[str], first_line: int) -> Chunk:
    """Lines of CSV text split into the header's columns; lines that do not split are named."""
    lines = np.arange(first_line, first_line + len(texts))
    done = int(pc.sum(pc.binary_length(texts)).as_py() or 0) + len(texts)
    parts = pc.split_pattern(texts, ",")
    quoted = pc.match_substring(texts, '"')
    plain = pc.and_(pc.equal(pc.list_value_length(parts), len(header)), pc.invert(quoted))
    simple = pc.filter(parts, plain)
    frame = pd.DataFrame(
        {name: _column(pc.list_element(simple, i), name) for i, name in enumerate(header)}
    )
    kept = lines[plain.to_numpy(zero_copy_only=False)]
    # Rare lines (quoted cells, a wrong count of cells) go through the csv module one by one.
    rows, rows_lines, unparsable = [], [], []
    for index in np.flatnonzero(~plain.to_numpy(zero_copy_only=False)):
        record = next(csv.reader([texts[int(index)].as_py()]), [])
        if len(record) == len(header):
            rows.append(record)
            rows_lines.append(lines[index])
        else:
            why = f"{len(record)} cells where the header has {len(header)}"
            unparsable.append((int(lines[index]), f"unparsable line: {why}"))
    if rows:
        frame = pd.concat([frame, _text_rows(rows, header)], ignore_index=True)
        kept = np.concatenate([kept, np.asarray(rows_lines, dtype=kept.dtype)])
    return Chunk(frame, kept, done, unparsable)


def _column(cells: pa.Array, name: str) -> pd.Series:
    """A column's cells: whole numbers when all are, else text with missing markers emptied."""
    if name != ID_COLUMN:
        try:
            numbers: pd.Series = pc.cast(cells, pa.int64()).to_pandas()
            return numbers
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # text, blanks, decimals: the ingestion rules explain the bad ones
    text: pd.Series = cells.to_pandas().astype(object)
    return text if name == ID_COLUMN else text.where(~text.isin(MISSING_MARKERS), "")


def _text_rows(rows: list[list[str]], header: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    for name in header:
        if name != ID_COLUMN:
            frame[name] = frame[name].where(~frame[name].isin(MISSING_MARKERS), "")
    return frame
