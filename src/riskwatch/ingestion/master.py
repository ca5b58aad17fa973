"""The master dataset (finaldata.parquet and the classic finaldata.csv) and ingestedfiles.txt."""

from __future__ import annotations

import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch.storage.files import atomic_path

if TYPE_CHECKING:  # the file names are wanted on the no-new-data path: pandas loads on use
    from collections.abc import Callable
    from typing import Any

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    Hashes = np.ndarray[Any, Any]
    HashesFor = Callable[[pa.Schema], Hashes | None]

log = logging.getLogger(__name__)

MASTER_PARQUET = "finaldata.parquet"
MASTER_CSV = "finaldata.csv"
INGESTED_LIST = "ingestedfiles.txt"
CSV_BATCH_ROWS = 65_536  # rows formatted at a time: 25 % faster than pyarrow's default 1,024


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


def read_master_table(folder: Path) -> pa.Table | None:
    """The Parquet master record as an Arrow table, None when there is none yet."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    parquet = folder / MASTER_PARQUET
    if not parquet.exists():
        return None
    record = pq.ParquetFile(parquet)
    parts = []
    for index in range(record.num_row_groups):
        parts.append(record.read_row_group(index))
        # The decoding buffers of each row group go back to the system: read_table kept them
        # (a 2,000,000-row master took 250 MiB of memory for 114 MiB of rows, here 160 MiB).
        pa.default_memory_pool().release_unused()
    return pa.concat_tables(parts) if parts else record.schema_arrow.empty_table()


def append_master(folder: Path, new_rows: pd.DataFrame) -> int:
    """Append rows to both master files, each written to a temporary file and renamed."""
    return append_table(folder, read_master_table(folder), arrow_table(new_rows))


def append_table(
    folder: Path, old: pa.Table | None, new: pa.Table, hashes_for: HashesFor | None = None
) -> int:
    """Append a table to the master record `old` (None: none yet); return the rows in all.

    hashes_for: the row hashes of all the rows (batch column aside) over a schema's columns,
    None if unknown; kept beside the master so that the next append need not hash it again."""
    import pyarrow as pa  # noqa: PLC0415

    from riskwatch.schema import BATCH_COLUMN  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    if old is not None:
        new = new.cast(old.schema) if new.schema.names == old.schema.names else new
        combined = pa.concat_tables([old, new], promote_options="permissive")
    else:
        combined = new
    plain = combined.schema
    if BATCH_COLUMN in plain.names:
        plain = plain.remove(plain.get_field_index(BATCH_COLUMN))
    hashes = hashes_for(plain) if hashes_for is not None else None
    _write_both(folder, combined, appended=new if old is not None else None, hashes=hashes)
    return int(combined.num_rows)


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
    """Write finaldata.csv afresh from the Parquet record."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    target = folder / MASTER_CSV
    with atomic_path(target) as temporary:
        _fill_csv(temporary, target, pq.read_table(folder / MASTER_PARQUET), appended=None)


def _write_both(
    folder: Path, table: pa.Table, appended: pa.Table | None, hashes: Hashes | None
) -> None:
    """Write both files side by side (pyarrow frees the GIL), then rename Parquet, then CSV."""
    from riskwatch.ingestion.hashfile import DIGEST_KEY, MASTER_HASHES, digest  # noqa: PLC0415

    # The Parquet file is the commit point; the CSV follows and is rebuilt from it if a crash
    # falls between the two renames (see batches.recover). The row hashes go first: the
    # Parquet file names their fingerprint, so hashes without their master are never used.
    metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != DIGEST_KEY}
    if hashes is not None:
        metadata[DIGEST_KEY] = digest(hashes)
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


def _fill_csv(temporary: Path, target: Path, table: pa.Table, appended: pa.Table | None) -> None:
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
    else:
        options = pacsv.WriteOptions(quoting_style="needed", batch_size=CSV_BATCH_ROWS)
        pacsv.write_csv(table, temporary, options)


def _write_parquet(table: pa.Table, temporary: Path) -> None:
    import pyarrow.parquet as pq  # noqa: PLC0415

    from riskwatch.schema import ID_COLUMN  # noqa: PLC0415

    # Ids are nearly all distinct: a dictionary for them is built, found useless and dropped.
    dictionary = [name for name in table.column_names if name != ID_COLUMN]
    pq.write_table(table, temporary, use_dictionary=dictionary)


def _csv_header(path: Path) -> list[str] | None:
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as handle:
        return [name.strip('"') for name in handle.readline().rstrip("\r\n").split(",")]


def write_ingested_list(folder: Path, names: list[str]) -> None:
    """The classic ingestedfiles.txt: one ingested file name a line."""
    with atomic_path(folder / INGESTED_LIST) as temporary:
        temporary.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
