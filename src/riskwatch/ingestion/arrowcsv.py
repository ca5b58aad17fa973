"""The fast read of a clean CSV file with pyarrow: one record a line, whole numbers only."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch.ingestion.readers import MISSING_MARKERS, RawChunk, numbered

if TYPE_CHECKING:
    import pyarrow as pa

COUNT_BLOCK_BYTES = 16 * 1024 * 1024


def clean_csv_chunks(path: Path, written: list[str], chunk_rows: int) -> Iterator[RawChunk] | None:
    """The file's rows in chunks when it is clean, else None: the careful reader takes it.

    Clean: every record on its own line (no blank lines, no line breaks inside quotes, no
    line with too many or too few fields), valid UTF-8, and every column but the id whole
    numbers with no missing value. Then pyarrow (multithreaded) reads exactly what pandas
    would, and each row's line is its row number + 2; anything else takes the pandas reader,
    which numbers skipped lines and keeps the values a bad row is explained with."""
    table = _arrow_read(path, written)
    if table is None or table.num_rows != _records(path):
        return None
    return _chunks(table, path.stat().st_size, chunk_rows)


def _arrow_read(path: Path, written: list[str]) -> pa.Table | None:
    """The file read by pyarrow with the id as text; None unless the numbers are all clean."""
    import pyarrow as pa  # noqa: PLC0415 - pyarrow is heavy
    import pyarrow.csv as pacsv  # noqa: PLC0415

    from riskwatch.schema import ID_COLUMN  # noqa: PLC0415

    raw_id = next((name for name in written if name.strip() == ID_COLUMN), ID_COLUMN)
    convert = pacsv.ConvertOptions(
        column_types={raw_id: pa.large_string()},
        null_values=MISSING_MARKERS,
        strings_can_be_null=False,
    )
    try:
        # The system allocator hands freed memory back at once (pyarrow's default pool keeps
        # it), so the file's parse buffers and the chunks already validated do not add up.
        table = pacsv.read_csv(path, convert_options=convert, memory_pool=pa.system_memory_pool())
    except (pa.ArrowInvalid, OSError):
        return None
    table = table.rename_columns([name.strip() for name in table.column_names])
    numbers = [table.column(name) for name in table.column_names if name != ID_COLUMN]
    clean = all(pa.types.is_int64(c.type) and c.null_count == 0 for c in numbers)
    return table if clean and table.column_names == [name.strip() for name in written] else None


def _records(path: Path) -> int:
    """Data lines in the file (lines after the header, a last line without its newline too)."""
    breaks, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(COUNT_BLOCK_BYTES):
            breaks += block.count(b"\n")
            last = block[-1:]
    return breaks - 1 + (last != b"\n")


def _chunks(table: pa.Table, size_bytes: int, chunk_rows: int) -> Iterator[RawChunk]:
    """The table as pandas chunks numbered from line 2, with an estimate of bytes consumed."""
    import pyarrow as pa  # noqa: PLC0415

    # The table's blocks are let go one by one as they are handed on, so the rows read and the
    # rows validated are not held twice.
    rows, blocks = table.num_rows, deque(table.to_batches())
    del table
    start = 0
    while blocks:
        taken, wanted = [], chunk_rows
        while blocks and wanted > 0:
            block = blocks.popleft()
            if len(block) > wanted:  # the rest of the block starts the next chunk
                blocks.appendleft(block.slice(wanted))
                block = block.slice(0, wanted)
            taken.append(block)
            wanted -= len(block)
        frame = pa.Table.from_batches(taken).to_pandas()
        del taken
        frame.index = range(start, start + len(frame))  # numbered on as pandas' chunks are
        chunk = numbered(frame, start + 2)
        start += len(frame)
        chunk.position = size_bytes * start // rows
        yield chunk
