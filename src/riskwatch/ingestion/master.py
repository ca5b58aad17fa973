"""The master dataset (finaldata.parquet and the classic finaldata.csv) and ingestedfiles.txt."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch.storage.files import atomic_path

if TYPE_CHECKING:  # the file names are wanted on the no-new-data path: pandas loads on use
    from typing import Any

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from riskwatch.ingestion.stored import StoredMaster

    Hashes = list[np.ndarray[Any, Any]]  # the row hashes in parts, one after the other
    HashesFor = Callable[[pa.Schema], Hashes | None]

log = logging.getLogger(__name__)

MASTER_PARQUET = "finaldata.parquet"
MASTER_CSV = "finaldata.csv"
INGESTED_LIST = "ingestedfiles.txt"
CSV_BATCH_ROWS = 65_536  # rows formatted at a time: 25 % faster than pyarrow's default 1,024
MASTER_GROUP_ROWS = 256 * 1024  # rows in a Parquet row group (pyarrow: 1,048,576); see docs


def read_master(folder: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The master dataset; the Parquet copy is the record, the CSV its classic twin."""
    import pandas as pd  # noqa: PLC0415 - pandas is heavy

    from riskwatch.schema import REQUIRED  # noqa: PLC0415

    parquet = folder / MASTER_PARQUET
    if parquet.exists():
        return pd.read_parquet(parquet, columns=columns)
    csv = folder / MASTER_CSV
    if csv.exists():  # a classic workspace ingested by another tool
        return pd.read_csv(csv, usecols=columns)
    return pd.DataFrame({c: pd.Series(dtype="int64") for c in (columns or [*REQUIRED])})


def master_batch_ids(folder: Path) -> set[int]:
    """The batch ids present in the master dataset (for recovery after a crash)."""
    import pyarrow.parquet as pq  # noqa: PLC0415 - pyarrow is heavy

    from riskwatch.schema import BATCH_COLUMN  # noqa: PLC0415

    parquet = folder / MASTER_PARQUET
    if not parquet.exists():
        return set()
    table = pq.read_table(parquet, columns=[BATCH_COLUMN])
    return {int(v) for v in table.column(BATCH_COLUMN).unique().to_pylist() if v is not None}


@dataclass(frozen=True)
class Streamed:
    """Rows too many to hold at once: their schema, and a way to read them piece by piece."""

    schema: pa.Schema
    pieces: Callable[[], Iterator[pa.Table]]  # each call reads them afresh, from the first


def stored_master(folder: Path) -> StoredMaster | None:
    """The Parquet master record as stored (read a row group at a time), None when none yet."""
    from riskwatch.ingestion.stored import StoredMaster  # noqa: PLC0415 - pyarrow is heavy

    return StoredMaster.open(folder / MASTER_PARQUET)


def append_master(folder: Path, new_rows: pd.DataFrame) -> int:
    """Append rows to both master files, each written to a temporary file and renamed."""
    return append_table(folder, stored_master(folder), arrow_table(new_rows))


def append_table(
    folder: Path,
    old: pa.Table | StoredMaster | None,
    new: pa.Table,
    hashes_for: HashesFor | None = None,
) -> int:
    """Append a table to the master record `old` (None: none yet); return the rows in all.

    hashes_for: the row hashes of all the rows (batch column aside) over a schema's columns,
    None if unknown; kept beside the master so that the next append need not hash it again."""
    import pyarrow as pa  # noqa: PLC0415

    from riskwatch.ingestion.stored import StoredMaster  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(old, StoredMaster):
        if old.num_rows >= MASTER_GROUP_ROWS and new.schema.names == old.schema.names:
            return _append_streamed(folder, old, new.cast(old.schema), hashes_for)
        old = old.read()  # under one row group: it is rewritten with the new rows anyway
    if old is not None:
        new = new.cast(old.schema) if new.schema.names == old.schema.names else new
        combined = pa.concat_tables([old, new], promote_options="permissive")
    else:
        combined = new
    hashes = hashes_for(_plain(combined.schema)) if hashes_for is not None else None
    # The new rows as the CSV copy gets them: in every column, a missing one empty (the new
    # rows alone lacked a column only earlier rows had, and their lines were one field short).
    appended = combined.slice(old.num_rows) if old is not None else None
    _write_both(folder, combined, appended=appended, hashes=hashes)
    return int(combined.num_rows)


def _append_streamed(
    folder: Path, old: StoredMaster, new: pa.Table, hashes_for: HashesFor | None
) -> int:
    """Append to a stored master of one row group or more, never holding it whole."""
    # Parquet has no append in place: the file is written anew, but one old row group at a
    # time (the master in memory at once cost 5.5 times the new rows' frame at 2,000,000 rows).
    hashes = hashes_for(_plain(old.schema)) if hashes_for is not None else None

    def pieces() -> Iterator[pa.Table]:
        return _regrouped(chain(old.pieces(), [new]), MASTER_GROUP_ROWS)

    _write_both(folder, Streamed(old.schema, pieces), appended=new, hashes=hashes)
    return old.num_rows + int(new.num_rows)


def _regrouped(pieces: Iterable[pa.Table], size: int) -> Iterator[pa.Table]:
    """The rows in tables of `size` rows, the last one shorter: the groups write_table makes."""
    import pyarrow as pa  # noqa: PLC0415

    held: list[pa.Table] = []
    count = 0
    for piece in pieces:
        held.append(piece)
        count += piece.num_rows
        while count >= size:
            joined = pa.concat_tables(held)
            yield joined.slice(0, size)
            held, count = [joined.slice(size)], count - size
    if count:
        yield pa.concat_tables(held)


def _plain(schema: pa.Schema) -> pa.Schema:
    """The schema without the batch column: what the row hashes are taken over."""
    from riskwatch.schema import BATCH_COLUMN  # noqa: PLC0415

    if BATCH_COLUMN in schema.names:
        return schema.remove(schema.get_field_index(BATCH_COLUMN))
    return schema


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The rows with fixed column types, so an empty first batch cannot fix a wrong type."""
    import pyarrow as pa  # noqa: PLC0415

    from riskwatch.schema import BATCH_COLUMN, REQUIRED  # noqa: PLC0415

    numbers = {*REQUIRED[1:], BATCH_COLUMN}
    schema = pa.schema(
        [(c, pa.int64() if c in numbers else pa.large_string()) for c in frame.columns]
    )
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def rebuild_csv(folder: Path) -> None:
    """Write finaldata.csv afresh from the Parquet record, a row group at a time."""
    stored = stored_master(folder)
    if stored is None:
        return
    target = folder / MASTER_CSV
    with atomic_path(target) as temporary:
        _fill_csv(temporary, target, Streamed(stored.schema, stored.pieces), appended=None)


def _write_both(
    folder: Path, table: pa.Table | Streamed, appended: pa.Table | None, hashes: Hashes | None
) -> None:
    """Write both files side by side (pyarrow frees the GIL), then rename Parquet, then CSV."""
    from riskwatch.ingestion.hashfile import DIGEST_KEY, MASTER_HASHES, digest  # noqa: PLC0415

    # The Parquet file is the commit point; the CSV follows and is rebuilt from it if a crash
    # falls between the two renames (see batches.recover). The row hashes go first: the
    # Parquet file names their fingerprint, so hashes without their master are never used.
    metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != DIGEST_KEY}
    if hashes is not None:
        metadata[DIGEST_KEY] = digest(hashes)
    if isinstance(table, Streamed):
        table = Streamed(table.schema.with_metadata(metadata), table.pieces)
    else:
        table = table.replace_schema_metadata(metadata)
    csv = folder / MASTER_CSV
    with ExitStack() as renames:  # renamed in the reverse order: hashes, Parquet, CSV
        csv_temporary = renames.enter_context(atomic_path(csv))
        temporary = renames.enter_context(atomic_path(folder / MASTER_PARQUET))
        with ThreadPoolExecutor(max_workers=2) as pool:
            writes = [
                pool.submit(_write_parquet, table, temporary),
                pool.submit(_fill_csv, csv_temporary, csv, table, appended),
            ]
            if hashes is not None:
                hashes_temporary = renames.enter_context(atomic_path(folder / MASTER_HASHES))
                _write_hashes(hashes_temporary, hashes, metadata[DIGEST_KEY])
        for write in writes:
            write.result()
    if hashes is None:
        (folder / MASTER_HASHES).unlink(missing_ok=True)  # they were another master's


def _write_hashes(temporary: Path, hashes: Hashes, fingerprint: bytes) -> None:
    from riskwatch.ingestion.hashfile import write_hashes  # noqa: PLC0415

    write_hashes(temporary, hashes, fingerprint)


def _fill_csv(
    temporary: Path, target: Path, table: pa.Table | Streamed, appended: pa.Table | None
) -> None:
    import pyarrow.csv as pacsv  # noqa: PLC0415

    same_columns = appended is not None and _csv_header(target) == table.schema.names
    if same_columns and appended is not None:
        # Appending costs the new rows only; copying bytes is far cheaper than re-encoding.
        shutil.copyfile(target, temporary)
        with temporary.open("ab") as handle:
            no_header = pacsv.WriteOptions(
                quoting_style="needed", include_header=False, batch_size=CSV_BATCH_ROWS
            )
            pacsv.write_csv(appended, handle, no_header)
        return
    options = pacsv.WriteOptions(quoting_style="needed", batch_size=CSV_BATCH_ROWS)
    if not isinstance(table, Streamed):
        pacsv.write_csv(table, temporary, options)
        return
    with pacsv.CSVWriter(temporary, table.schema, write_options=options) as writer:
        for piece in table.pieces():
            writer.write_table(piece)


def _write_parquet(table: pa.Table | Streamed, temporary: Path) -> None:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    from riskwatch.schema import ID_COLUMN  # noqa: PLC0415

    # Ids are nearly all distinct: a dictionary for them is built, found useless and dropped.
    dictionary = [name for name in table.schema.names if name != ID_COLUMN]
    if not isinstance(table, Streamed):
        pq.write_table(
            table, temporary, use_dictionary=dictionary, row_group_size=MASTER_GROUP_ROWS
        )
        return
    with pq.ParquetWriter(temporary, table.schema, use_dictionary=dictionary) as writer:
        for piece in table.pieces():
            writer.write_table(piece, row_group_size=MASTER_GROUP_ROWS)
            del piece  # its buffers go back to the system before the next group is read
            pa.default_memory_pool().release_unused()


def _csv_header(path: Path) -> list[str] | None:
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as handle:
        return [name.strip('"') for name in handle.readline().rstrip("\r\n").split(",")]


def write_ingested_list(folder: Path, names: list[str]) -> None:
    """The classic ingestedfiles.txt: one ingested file name a line."""
    with atomic_path(folder / INGESTED_LIST) as temporary:
        temporary.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
