"""A batch's chunks validated: good rows typed, bad rows with line and reason, as written."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskwatch.ingestion.master import arrow_table
from riskwatch.ingestion.readers import RawChunk, raw_csv_cells, reads_as_csv
from riskwatch.schema import (
    ID_COLUMN,
    MAX_COUNT,
    MAX_ID_LENGTH,
    REQUIRED,
    TARGET,
    check_columns,
    validate,
)

log = logging.getLogger(__name__)


@dataclass
class Checked:
    """A batch read and validated, before deduplication."""

    good_rows: pa.Table  # typed as the master stores them
    bad: pd.DataFrame  # the rows as read, plus "line" and "reason"
    rows_read: int = 0
    missing: dict[str, int] = field(default_factory=dict)  # missing values a column

    @property
    def good(self) -> pd.DataFrame:
        """The good rows as a DataFrame."""
        frame: pd.DataFrame = self.good_rows.to_pandas()
        return frame


def validate_chunks(chunks: Iterable[RawChunk], extra_columns: str = "drop") -> Checked:
    """Validate every chunk; unparsable lines count as read and as bad rows."""
    goods: list[pa.Table] = []
    bads: list[pd.DataFrame] = []
    missing: dict[str, int] = {}
    rows_read = 0
    typed: dict[pa.Schema, pa.Schema | None] = {}  # clean rows' types: the master's, or None
    for chunk in chunks:
        clean = _all_good(chunk.table, extra_columns) if chunk.table is not None else None
        if clean is not None and clean.schema not in typed:
            typed[clean.schema] = _master_schema(clean)
        schema = typed.get(clean.schema) if clean is not None else None
        if clean is not None and schema is not None:  # nothing to explain: no pandas at all
            goods.append(clean.replace_schema_metadata(schema.metadata))
            counted = dict.fromkeys(REQUIRED, 0)
        else:
            checked = validate(chunk.frame, lines=chunk.lines, extra_columns=extra_columns)
            # Kept as Arrow chunk by chunk: no concatenated copy, and each DataFrame freed at once.
            goods.append(arrow_table(checked.good))
            bads.extend([checked.bad, skipped_rows(chunk.skipped)])
            counted = checked.missing
        for column, count in counted.items():
            missing[column] = missing.get(column, 0) + count
        rows_read += len(chunk.rows) + len(chunk.skipped)
    good = pa.concat_tables(goods) if goods else arrow_table(pd.DataFrame())
    nonempty = [b for b in bads if len(b)]
    bad = pd.concat(nonempty, ignore_index=True) if nonempty else pd.DataFrame()
    return Checked(good, bad, rows_read, missing)


def _all_good(table: pa.Table, extra_columns: str) -> pa.Table | None:
    """A clean CSV chunk's rows in the master's column order when every one passes; else None.

    None sends the chunk through schema.validate, which explains each bad row. The checks here
    are conservative: what they let through, validate would pass unchanged."""
    check_columns(table.column_names)
    if extra_columns == "keep" and set(table.column_names) - set(REQUIRED):
        return None  # kept extras become text: validate does that
    rows = table.select(list(REQUIRED))
    if rows.num_rows == 0 or not (_ids_pass(rows.column(ID_COLUMN)) and _counts_pass(rows)):
        return None
    return rows


def _master_schema(rows: pa.Table) -> pa.Schema | None:
    """The types and pandas metadata the pandas path gives these (good) rows; None if other."""
    first = rows.slice(0, 1).to_pandas()
    typed = arrow_table(validate(first, lines=np.zeros(1, dtype="int64")).good).schema
    return typed if typed.remove_metadata().equals(rows.schema.remove_metadata()) else None


def _ids_pass(ids: pa.ChunkedArray) -> bool:
    """Whether every id is present, short enough and has no space or other mark at either end."""
    if not pa.types.is_large_string(ids.type) or ids.null_count:
        return False
    lengths = pc.binary_length(ids)
    shortest, longest = pc.min_max(lengths).values()
    # Bytes: no fewer than characters, so a byte length within the limit is within it.
    if shortest.as_py() < 1 or longest.as_py() > MAX_ID_LENGTH:
        return False
    # str.strip() removes ASCII spaces and controls (at most 0x20) and Unicode spaces, whose
    # UTF-8 bytes are all 0x80 or more: ends without such bytes strip to themselves.
    for chunk in ids.chunks:
        if len(chunk) == 0:
            continue
        _, offsets, data = chunk.buffers()
        ends = np.frombuffer(offsets, dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
        text = np.frombuffer(data, dtype=np.uint8)
        edges = np.concatenate([text[ends[:-1]], text[ends[1:] - 1]])
        if ((edges <= 0x20) | (edges >= 0x80)).any():
            return False
    return True


def _counts_pass(rows: pa.Table) -> bool:
    """Whether every count is a present whole number in range, and every target 0 or 1."""
    for name in REQUIRED[1:]:
        column = rows.column(name)
        if not pa.types.is_int64(column.type) or column.null_count:
            return False
        low, high = (value.as_py() for value in pc.min_max(column).values())
        if low < 0 or high > (1 if name == TARGET else MAX_COUNT):
            return False
    return True


def skipped_rows(skipped: list[tuple[int, str]]) -> pd.DataFrame:
    """Lines the parser could not split into a row, as bad rows with line and reason."""
    return pd.DataFrame(
        {
            "line": [line for line, _ in skipped],
            "reason": [f"unparsable line: {why}" for _, why in skipped],
        }
    )


def as_written(path: Path | None, bad: pd.DataFrame) -> pd.DataFrame:
    """Bad rows of a CSV file with each cell's text as the file has it, not as parsed."""
    # The reader parses numbers as it reads (1e400 becomes inf, " 12 " becomes 12); the few
    # quarantined rows are read again as text so that the quarantine shows what was written.
    if bad.empty or path is None or not reads_as_csv(path):
        return bad
    header, records = raw_csv_cells(path, {int(line) for line in bad["line"]})
    raw = bad.copy()
    for index, name in enumerate(header):
        cells = [_cell(records.get(int(line)), index) for line in bad["line"]]
        raw[name] = pd.Series(cells, index=bad.index, dtype="object")
    return raw


def _cell(record: list[str] | None, index: int) -> str:
    return record[index] if record is not None and index < len(record) else ""
