"""Exact duplicate rows of Arrow tables, found by row hashes and confirmed by comparison."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HASH_ROWS = 65_536  # rows hashed at a time: bounds the per-byte temporaries of text columns
_MIX = np.uint64(0x9E3779B97F4A7C15)
_NULL = np.uint64(0x5BD1E9955BD1E995)


def duplicates(earlier: list[pa.Table], rows: pa.Table) -> np.ndarray[Any, Any]:
    """Which rows repeat an earlier row exactly, in this batch or in what came before it."""
    if rows.num_rows == 0 or rows.num_columns == 0:
        return np.zeros(rows.num_rows, dtype=bool)
    prior = [aligned(table, rows.schema) for table in earlier if table.num_rows]
    stacked = pa.concat_tables([*prior, rows]) if prior else rows
    # Hashing and sorting 64-bit row keys costs a fraction of pandas' duplicated() (which
    # factorizes every column); rows whose hashes repeat are few and are compared exactly.
    keys = row_hashes(stacked)
    ordered = np.sort(keys)  # a sort of the keys alone: twice as fast as an argsort
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    candidate = np.isin(keys, repeated)
    result = np.zeros(len(keys), dtype=bool)
    if candidate.any():
        where = np.flatnonzero(candidate)
        result[where] = stacked.take(pa.array(where)).to_pandas().duplicated().to_numpy()
    return result[stacked.num_rows - rows.num_rows :]


def aligned(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The table with the schema's columns and types; a column it lacks is all missing."""
    columns = [
        table.column(field.name).cast(field.type)
        if field.name in table.column_names
        else pa.nulls(table.num_rows, field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def row_hashes(table: pa.Table) -> np.ndarray[Any, Any]:
    """A 64-bit hash of every row (equal rows, equal hashes)."""
    result = np.zeros(table.num_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in table.column_names:
            column = table.column(name)
            parts = [
                _column_hashes(column.slice(i, HASH_ROWS)) for i in range(0, len(column), HASH_ROWS)
            ]
            result = (result ^ np.concatenate(parts)) * _MIX
            result ^= result >> np.uint64(29)
    return result


def _column_hashes(column: pa.ChunkedArray) -> np.ndarray[Any, Any]:
    """A hash of each value of a column; missing values share one hash."""
    array = column.combine_chunks()
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        values = pc.fill_null(array, 0).to_numpy(zero_copy_only=False)
        # + 0.0 makes -0.0 equal to 0.0, as pandas compares them.
        number = values + 0.0 if values.dtype.kind == "f" else values.astype(np.int64)
        hashes: np.ndarray[Any, Any] = number.view(np.uint64)
    else:
        hashes = _text_hashes(pc.fill_null(array.cast(pa.large_string()), ""))
    if array.null_count:
        hashes = np.where(array.is_null().to_numpy(zero_copy_only=False), _NULL, hashes)
    return hashes


def _text_hashes(array: pa.LargeStringArray) -> np.ndarray[Any, Any]:
    """Each string's bytes weighted by position and summed: one vectorised pass, no Python loop."""
    _, offset_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    start, lengths = offsets[:-1] - offsets[0], np.diff(offsets)
    raw = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.zeros(0, np.uint8)
    data = raw[offsets[0] : offsets[-1]]
    position = np.arange(len(data), dtype=np.int64) - np.repeat(start, lengths)
    weighted = (data.astype(np.uint64) + np.uint64(1)) * _weights(int(lengths.max(initial=0)))[
        position
    ]
    hashes = np.zeros(len(array), dtype=np.uint64)
    filled = lengths > 0
    if filled.any():
        hashes[filled] = np.add.reduceat(weighted, start[filled])
    return hashes ^ (lengths.astype(np.uint64) * _MIX)


def _weights(length: int) -> np.ndarray[Any, Any]:
    """An odd pseudo-random weight for each position in a string, the same on every call."""
    mixed = np.arange(1, length + 2, dtype=np.uint64) * _MIX
    mixed ^= mixed >> np.uint64(31)
    mixed *= np.uint64(0xBF58476D1CE4E5B9)
    mixed ^= mixed >> np.uint64(32)
    return mixed | np.uint64(1)
