"""The fast read of a clean CSV file by pyarrow in blocks: one record a line, whole numbers."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch.ingestion.readers import MISSING_MARKERS, RawChunk, careful_csv_chunks

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.csv as pacsv

END = object()  # what _next_clean returns after the last block
NOT_CLEAN = object()


def clean_csv_chunks(path: Path, written: list[str], chunk_rows: int) -> Iterator[RawChunk] | None:
    """The file's rows in chunks when its first block is clean, else None: the careful reader.

    Clean: every record on its own line (no blank line, no line break inside quotes, no line
    with too many or too few fields), valid UTF-8, and every column but the id whole numbers
    with no missing value. pyarrow then reads exactly what pandas would, one block (about a
    megabyte) at a time, and each row's line is its row number + 2. At the first block that is
    not clean the careful pandas reader takes over from that block's first line, so it numbers
    skipped lines and keeps the values a bad row is explained with; the rows before are never
    held whole (reading the whole file with pyarrow first cost 2.5 times the frame's memory)."""
    opened = _open(path, written)
    if opened is None:
        return None
    reader, source = opened
    first = _next_clean(reader)
    if first is None or first is END:
        source.close()
        return None if first is None else iter(())  # a header alone: no rows, as pandas reads
    return _chunks(path, written, chunk_rows, reader=reader, blocks=deque([first]), source=source)


def _open(path: Path, written: list[str]) -> tuple[pacsv.CSVStreamingReader, pa.NativeFile] | None:
    """A block-by-block pyarrow reader of the file, with the id as text and numbers as int64."""
    import pyarrow as pa  # noqa: PLC0415 - pyarrow is heavy
    import pyarrow.csv as pacsv  # noqa: PLC0415

    from riskwatch.schema import ID_COLUMN  # noqa: PLC0415

    types = {
        name: pa.large_string() if name.strip() == ID_COLUMN else pa.int64() for name in written
    }
    convert = pacsv.ConvertOptions(
        column_types=types, null_values=MISSING_MARKERS, strings_can_be_null=False
    )
    # A blank line must not be skipped silently: kept, it is a row of missing numbers (not clean).
    parse = pacsv.ParseOptions(ignore_empty_lines=False)
    source = pa.OSFile(str(path))  # a native file: its position tells the progress
    try:
        # The system allocator hands freed memory back at once (pyarrow's default pool keeps it).
        reader = pacsv.open_csv(
            source,
            parse_options=parse,
            convert_options=convert,
            memory_pool=pa.system_memory_pool(),
        )
    except (pa.ArrowInvalid, OSError):
        source.close()
        return None
    names = [name.strip() for name in reader.schema.names]
    if names != [name.strip() for name in written] or ID_COLUMN not in names:
        source.close()
        return None
    return reader, source


def _next_clean(reader: pacsv.CSVStreamingReader) -> pa.RecordBatch | object | None:
    """The next block of rows if it is clean; None if it is not; END after the last."""
    import pyarrow as pa  # noqa: PLC0415

    from riskwatch.schema import ID_COLUMN  # noqa: PLC0415

    try:
        block = reader.read_next_batch()
    except StopIteration:
        return END
    except (pa.ArrowInvalid, OSError):
        return None
    for name, column in zip(block.schema.names, block.columns, strict=True):
        if name.strip() == ID_COLUMN:
            # A line break inside a quoted id would put rows and lines out of step.
            if _has_line_break(column):
                return None
        elif column.null_count:
            return None
    return block


def _has_line_break(column: pa.Array) -> bool:
    """Whether any text of the column holds a line break (its bytes, searched at once)."""
    import numpy as np  # noqa: PLC0415

    data = column.buffers()[2]
    if data is None:
        return False
    text = np.frombuffer(data, dtype=np.uint8)
    return bool((text == ord("\n")).any() or (text == ord("\r")).any())


def _chunks(
    path: Path,
    written: list[str],
    chunk_rows: int,
    *,
    reader: pacsv.CSVStreamingReader,
    blocks: deque[pa.RecordBatch],
    source: pa.NativeFile,
) -> Iterator[RawChunk]:
    """Chunks numbered from line 2; from a block that is not clean on, the careful reader's."""
    import pyarrow as pa  # noqa: PLC0415

    size, start, last = path.stat().st_size, 0, None
    try:
        while True:
            # Blocks are read just ahead of the chunk they fill: the file is never held whole.
            while last is None and sum(len(block) for block in blocks) < chunk_rows:
                block = _next_clean(reader)
                if isinstance(block, pa.RecordBatch):
                    blocks.append(block)
                else:
                    last = END if block is END else NOT_CLEAN
            if not blocks:
                break
            chunk = _take(blocks, chunk_rows, start)
            start += len(chunk.rows)
            ended = last is END and not blocks
            chunk.position = size if ended else min(source.tell(), size)
            yield chunk
            # Freed blocks go back to the system (malloc keeps them otherwise: ~150 MiB).
            pa.system_memory_pool().release_unused()
    finally:
        source.close()
    if last is NOT_CLEAN:
        header = [name.strip() for name in written]
        yield from careful_csv_chunks(path, header, chunk_rows, after=start)


def _take(blocks: deque[pa.RecordBatch], wanted: int, start: int) -> RawChunk:
    """Up to `wanted` rows from the front blocks as an Arrow chunk whose first row is `start`."""
    import numpy as np  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415

    taken = []
    while blocks and wanted > 0:
        block = blocks.popleft()
        if len(block) > wanted:  # the rest of the block starts the next chunk
            blocks.appendleft(block.slice(wanted))
            block = block.slice(0, wanted)
        taken.append(block)
        wanted -= len(block)
    # Kept as Arrow (no copy): validation checks a clean chunk without pandas.
    table = pa.Table.from_batches(taken)
    table = table.rename_columns([str(name).strip() for name in table.column_names])
    lines = np.arange(start + 2, start + 2 + table.num_rows)
    return RawChunk(table, lines, first_row=start)
