"""Exact duplicate rows of Arrow tables, found by row hashes and confirmed by comparison."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskwatch.ingestion.stored import StoredMaster

Rows: TypeAlias = pa.Table | StoredMaster  # in memory, or the stored master read piece by piece
HASH_ROWS = 65_536  # rows hashed at a time: bounds the per-byte temporaries of text columns
_MIX = np.uint64(0x9E3779B97F4A7C15)
_NULL = np.uint64(0x5BD1E9955BD1E995)


def duplicates(earlier: list[pa.Table], rows: pa.Table) -> np.ndarray[Any, Any]:
    """Which rows repeat an earlier row exactly, in this batch or in what came before it."""
    seen = Seen()
    for table in earlier:
        seen.add(table)
    return seen.check(rows)[0]


@dataclass
class Seen:
    """The rows kept so far (the master's first), each table with its row hashes once known."""

    tables: list[Rows] = field(default_factory=list)
    hashes: list[tuple[pa.Schema, np.ndarray[Any, Any]] | None] = field(default_factory=list)

    def add(self, table: Rows, hashes: np.ndarray[Any, Any] | None = None) -> None:
        """Rows kept, with their hashes over their own columns when known."""
        self.tables.append(table)
        self.hashes.append(None if hashes is None else (table.schema, hashes))

    def check(self, rows: pa.Table) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Which rows repeat a row seen or an earlier one of theirs, and every row's hash."""
        if rows.num_rows == 0 or rows.num_columns == 0:
            return np.zeros(rows.num_rows, dtype=bool), np.zeros(rows.num_rows, dtype=np.uint64)
        earlier = [i for i, table in enumerate(self.tables) if table.num_rows]
        new = row_hashes(rows)
        keys = np.concatenate([*(self._hashes(i, rows.schema) for i in earlier), new])
        # Hashing and sorting 64-bit row keys costs a fraction of pandas' duplicated() (which
        # factorizes every column); rows whose hashes repeat are few and are compared exactly.
        candidate = _repeated(keys)
        result = np.zeros(len(keys), dtype=bool)
        if candidate.any():
            # Only the candidates' rows are taken: the stored master is never read whole.
            stacked = [*(self.tables[i] for i in earlier), rows]
            where = np.flatnonzero(candidate)
            result[where] = _confirmed(stacked, keys, where)
            # The master's row groups read for the comparison go back to the system at once
            # (pyarrow's pool kept 130 MiB of them at 2,000,000 rows).
            pa.default_memory_pool().release_unused()
        return result[len(keys) - rows.num_rows :], new

    def all_hashes(self, schema: pa.Schema) -> list[np.ndarray[Any, Any]] | None:
        """The hashes of every row kept over the schema's columns, in parts; None if any unknown."""
        parts = []
        for table, known in zip(self.tables, self.hashes, strict=True):
            if table.num_rows == 0:
                continue
            if known is None or not known[0].equals(schema):
                return None
            parts.append(known[1])
        return parts

    def _hashes(self, index: int, schema: pa.Schema) -> np.ndarray[Any, Any]:
        """A table's row hashes over the schema's columns, kept for the next batch."""
        known = self.hashes[index]
        if known is None or not known[0].equals(schema):
            table = self.tables[index]
            pieces = [table] if isinstance(table, pa.Table) else table.pieces()
            known = (schema, np.concatenate([row_hashes(aligned(p, schema)) for p in pieces]))
            self.hashes[index] = known
        return known[1]


def _repeated(keys: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Which keys occur more than once: a sort says whether any does and which values repeat."""
    # Most batches repeat nothing, and a sort of the keys alone answers that. With repeats, a
    # hash set of the repeated values (pandas' isin) marks their rows in one pass: an argsort
    # of 4,000,000 keys cost 1.2-1.6 s, the set 0.2 s; a binary search back into the sorted
    # repeats (np.searchsorted) missed the cache on every key and cost more than the argsort.
    ordered = np.sort(keys)
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return np.zeros(len(keys), dtype=bool)
    repeats = ordered[1:][same]
    return pd.Series(keys, copy=False).isin(repeats).to_numpy()


def _confirmed(
    stacked: pa.Table | list[Rows], keys: np.ndarray[Any, Any], where: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Which rows at `where` (in order; their keys repeat) equal an earlier row exactly.

    stacked: the rows one after the other (the new ones last, whose columns are compared)."""
    stacked = [stacked] if isinstance(stacked, pa.Table) else stacked
    schema = stacked[-1].schema
    # Each row is compared with the first row of its key, in Arrow: pandas' duplicated() on
    # the candidates converted every text cell to a Python object (400,000 rows: ~200 MiB).
    order = np.argsort(keys[where], kind="stable")
    ranked = where[order]
    starts = np.ones(len(ranked), dtype=bool)
    starts[1:] = keys[ranked[1:]] != keys[ranked[:-1]]
    first = ranked[np.maximum.accumulate(np.where(starts, np.arange(len(ranked)), 0))]
    later = ~starts
    if not _rows_equal(stacked, schema, first[later], ranked[later]).all():
        # Two different rows with one 64-bit hash (about once in 10^12 ingests of this size):
        # the exact comparison of every candidate with every earlier one.
        exact = _rows_at(stacked, schema, where).to_pandas().duplicated().to_numpy()
        return np.asarray(exact, dtype=bool)
    found = np.zeros(len(keys), dtype=bool)
    found[ranked[later]] = True
    confirmed: np.ndarray[Any, Any] = found[where]
    return confirmed


def _rows_equal(
    stacked: list[Rows],
    schema: pa.Schema,
    left: np.ndarray[Any, Any],
    right: np.ndarray[Any, Any],
) -> np.ndarray[Any, Any]:
    """Whether each left row equals its right row in every column, missing equal to missing."""
    # A column at a time, both sides at once: the stored master's pieces are decoded once in
    # all, and only one column of the rows compared is held (all of them: 90 MiB more at a
    # 2,000,000-row append, which set its peak).
    positions = np.concatenate([left, right])
    equal = np.ones(len(left), dtype=bool)
    for column in schema:
        both = _rows_at(stacked, pa.schema([column]), positions).column(0)
        x, y = both.slice(0, len(left)), both.slice(len(left))
        same = pc.fill_null(pc.equal(x, y), False)
        both_missing = pc.and_(pc.is_null(x, nan_is_null=True), pc.is_null(y, nan_is_null=True))
        equal &= pc.or_(same, both_missing).to_numpy(zero_copy_only=False)
    return equal


def _rows_at(stacked: list[Rows], schema: pa.Schema, positions: np.ndarray[Any, Any]) -> pa.Table:
    """The rows at the positions of the tables one after the other, in the schema's columns."""
    # Piece by piece: Table.take joins each column's chunks first (a copy of the whole
    # master, ~100 MiB), and the stored master is read only where a position falls.
    order = np.argsort(positions, kind="stable")
    ordered = positions[order]
    parts, start = [], 0
    for rows in stacked:
        end = start + rows.num_rows
        wanted = ordered[np.searchsorted(ordered, start) : np.searchsorted(ordered, end)]
        at = start
        for piece in _pieces(_narrowed(rows, schema)) if len(wanted) else ():
            if at > wanted[-1]:  # the rest of the master is not read
                break
            low, high = np.searchsorted(wanted, [at, at + piece.num_rows])
            if high > low:
                parts.append(_taken(piece, wanted[low:high] - at, schema))
            at += piece.num_rows
        start = end
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return pa.concat_tables(parts).take(pa.array(inverse)) if parts else schema.empty_table()


def _taken(
    piece: pa.Table | pa.RecordBatch, rows: np.ndarray[Any, Any], schema: pa.Schema
) -> pa.Table:
    """The piece's rows at those positions, in the schema's columns."""
    if piece.num_columns == 0:  # it lacks them all: a take of no columns would keep no rows
        return pa.Table.from_arrays([pa.nulls(len(rows), f.type) for f in schema], schema=schema)
    return aligned(piece.take(pa.array(rows)), schema)


def _narrowed(rows: Rows, schema: pa.Schema) -> Rows:
    """The rows with only those of the schema's columns they have (the others are missing)."""
    return rows.select([name for name in schema.names if name in rows.schema.names])


def _pieces(rows: Rows) -> list[pa.RecordBatch] | Iterator[pa.Table]:
    """The rows in consecutive pieces: record batches in memory, or stored row groups."""
    if isinstance(rows, pa.Table):
        batches: list[pa.RecordBatch] = rows.to_batches()
        return batches
    return rows.pieces()


def aligned(table: pa.Table | pa.RecordBatch, schema: pa.Schema) -> pa.Table:
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
    columns = [table.column(name) for name in table.column_names]
    with np.errstate(over="ignore"):
        # Slice by slice, every column: the temporaries stay the size of a slice (whole-column
        # passes held 4 arrays of the table's length at once: 60 MiB more at 2,000,000 rows).
        for start in range(0, table.num_rows, HASH_ROWS):
            part = np.zeros(min(HASH_ROWS, table.num_rows - start), dtype=np.uint64)
            for column in columns:
                part = (part ^ _column_hashes(column.slice(start, HASH_ROWS))) * _MIX
                part ^= part >> np.uint64(29)
            result[start : start + len(part)] = part
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
    if len(array) and lengths.min() == lengths.max() > 0:
        return _same_length_hashes(data.reshape(len(array), -1), lengths)
    position = np.arange(len(data), dtype=np.int64) - np.repeat(start, lengths)
    weighted = (data.astype(np.uint64) + np.uint64(1)) * _weights(int(lengths.max(initial=0)))[
        position
    ]
    hashes = np.zeros(len(array), dtype=np.uint64)
    filled = lengths > 0
    if filled.any():
        hashes[filled] = np.add.reduceat(weighted, start[filled])
    return hashes ^ (lengths.astype(np.uint64) * _MIX)


def _same_length_hashes(
    data: np.ndarray[Any, Any], lengths: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """_text_hashes of strings all one length (a row of bytes each): the same sums, 5x faster."""
    # Ids are often of one length (codes, numbers with leading zeros): a pass per position
    # needs none of the per-byte positions and weights the general case builds.
    weights = _weights(data.shape[1])
    hashes = np.zeros(len(data), dtype=np.uint64)
    for position in range(data.shape[1]):
        hashes += (data[:, position].astype(np.uint64) + np.uint64(1)) * weights[position]
    return hashes ^ (lengths.astype(np.uint64) * _MIX)


def _weights(length: int) -> np.ndarray[Any, Any]:
    """An odd pseudo-random weight for each position in a string, the same on every call."""
    mixed = np.arange(1, length + 2, dtype=np.uint64) * _MIX
    mixed ^= mixed >> np.uint64(31)
    mixed *= np.uint64(0xBF58476D1CE4E5B9)
    mixed ^= mixed >> np.uint64(32)
    return mixed | np.uint64(1)
