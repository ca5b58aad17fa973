"""Load new batches: read, validate, quarantine, deduplicate, append to the master data, record."""

from __future__ import annotations

import contextlib
import ctypes
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from riskwatch.config import Settings
from riskwatch.ingestion.dedup import Seen
from riskwatch.ingestion.hashfile import stored_hashes
from riskwatch.ingestion.master import (
    append_table,
    master_batch_ids,
    read_master,
    rebuild_csv,
    stored_master,
    write_ingested_list,
)
from riskwatch.ingestion.quarantine import forget_rows, quarantine_file, quarantine_rows
from riskwatch.ingestion.readers import RawChunk, UnreadableBatchError
from riskwatch.ingestion.sources import Batch, Progress, Source
from riskwatch.ingestion.validation import Checked, as_written, validate_chunks
from riskwatch.schema import BATCH_COLUMN, ID_COLUMN
from riskwatch.storage.store import Store

log = logging.getLogger(__name__)

PROGRESS_MIN_BYTES = 20 * 1024 * 1024  # smaller files read in well under a second


@dataclass
class BatchResult:
    """The outcome of one batch."""

    name: str
    status: str  # ingested | quarantined
    sha256: str
    rows_read: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_added: int = 0
    missing_values: dict[str, int] = field(default_factory=dict)
    reason: str = ""
    quarantine_file: str = ""
    batch_id: int | None = None


@dataclass
class _Loading:
    """What one load shares between its batches: where, the store, and the rows seen so far."""

    settings: Settings
    store: Store
    source: Source
    seen: Seen
    progress: Progress | None


def load_batches(
    settings: Settings,
    store: Store,
    source: Source,
    batches: list[Batch],
    progress: Progress | None = None,
) -> tuple[list[BatchResult], int]:
    """Load batches into the master dataset in one atomic append; return results and master rows."""
    folder = settings.output_folder_path
    old = stored_master(folder)
    # The stored master is read only where a new row's hash repeats one of its rows' (and
    # hashed a row group at a time if its kept hashes are lost): it is never held whole.
    master = old if old is not None else _classic_master(folder)
    prior = master.select([c for c in master.schema.names if c != BATCH_COLUMN])
    seen = Seen()
    # The master's row hashes, kept beside it: an append hashes the new rows only.
    seen.add(prior, stored_hashes(folder, prior) if old is not None else None)
    loading = _Loading(settings, store, source, seen, progress)
    results: list[BatchResult] = []
    frames: list[pa.Table] = []
    for batch in batches:
        result, rows = _load_one(loading, batch)
        results.append(result)
        if rows is not None:
            frames.append(rows)
    total = master.num_rows
    if frames:
        # One rename commits every batch; each stays "pending" in the store until it lands.
        new_rows = pa.concat_tables(frames, promote_options="permissive")
        _return_freed_memory()
        # A classic finaldata.csv alone is the master too: its rows are kept, not replaced;
        # its rows' hashes are not stored (taken anew next time, from the Parquet record).
        classic = old is None and master.num_rows > 0
        kept = master if classic else old
        hashes_for = None if classic else seen.all_hashes
        total = append_table(folder, kept, new_rows, hashes_for=hashes_for)
        finished = [r.batch_id for r in results if r.status == "ingested" and r.batch_id]
        store.finish_batches({batch_id: {} for batch_id in finished})
    _write_ingested_list(folder, store)
    return results, total


def _load_one(loading: _Loading, batch: Batch) -> tuple[BatchResult, pa.Table | None]:
    """Read, validate and deduplicate one batch, and record it as pending."""
    try:
        checked, sha256 = _read_batch(loading, batch)
    except UnreadableBatchError as exc:
        return _quarantine_whole(loading, batch, str(exc)), None
    duplicate, hashes = loading.seen.check(checked.good_rows)
    rows_valid = checked.good_rows.num_rows
    rows = _kept(checked, ~duplicate) if duplicate.any() else checked.good_rows
    loading.seen.add(rows, hashes[~duplicate] if duplicate.any() else hashes)
    result = BatchResult(
        batch.name,
        "ingested",
        sha256,
        rows_read=checked.rows_read,
        rows_valid=rows_valid,
        rows_quarantined=len(checked.bad),
        rows_duplicate=int(duplicate.sum()),
        rows_added=len(rows),
        missing_values=checked.missing,
    )
    result.batch_id = loading.store.begin_batch(
        source=batch.source,
        name=batch.name,
        sha256=sha256,
        size_bytes=batch.size_bytes,
        watermark_low=batch.watermark_low,
        watermark_high=batch.watermark_high,
        **_counts(result),
    )
    if len(checked.bad):
        folder = loading.settings.output_folder_path
        where = quarantine_rows(folder, result.batch_id, batch.name, checked.bad)
        result.quarantine_file = str(where)
    batch_ids = pa.array(np.full(rows.num_rows, result.batch_id, dtype="int64"))
    return result, rows.append_column(BATCH_COLUMN, batch_ids)


def _kept(checked: Checked, keep: np.ndarray[Any, Any]) -> pa.Table:
    """The good rows where keep is true; the checked rows are given up, a record batch at a time."""
    # Each batch is freed once its kept rows are copied: a copy of the whole table beside it
    # set an append's peak memory (another 90 MiB at 2,000,000 rows).
    batches = checked.good_rows.to_batches()
    schema = checked.good_rows.schema
    checked.good_rows = schema.empty_table()
    kept, start = [], 0
    while batches:
        batch = batches.pop(0)
        kept.append(batch.filter(pa.array(keep[start : start + batch.num_rows])))
        start += batch.num_rows
        del batch
        if len(kept) % 8 == 0:
            _return_freed_memory()
    return pa.Table.from_batches(kept, schema=schema)


def _read_batch(loading: _Loading, batch: Batch) -> tuple[Checked, str]:
    """A batch read and validated, with its fingerprint; UnreadableBatchError if unreadable."""
    reading = loading.source.read(batch, loading.settings.read_chunk_rows)
    chunks = _reported(reading.chunks, batch, loading.progress)
    checked = validate_chunks(chunks, loading.settings.extra_columns)
    checked.bad = as_written(batch.path, checked.bad)
    return checked, reading.sha256


def _reported(
    chunks: Iterable[RawChunk], batch: Batch, progress: Progress | None
) -> Iterator[RawChunk]:
    """The chunks, telling the progress reporter how far into a large file each one is."""
    if progress is None or batch.size_bytes < PROGRESS_MIN_BYTES:
        yield from chunks
        return
    advance, done = progress(batch.name, batch.size_bytes), 0
    for chunk in chunks:
        yield chunk
        advance(chunk.position - done)
        done = chunk.position


def _quarantine_whole(loading: _Loading, batch: Batch, reason: str) -> BatchResult:
    """Quarantine and record a batch that cannot be read at all."""
    log.warning("quarantined %s: %s", batch.name, reason)
    folder = loading.settings.output_folder_path
    where = quarantine_file(folder, batch.name, batch.path, batch.sha256, reason)
    loading.store.record_quarantined(
        source=batch.source,
        name=batch.name,
        sha256=batch.sha256,
        size_bytes=batch.size_bytes,
        reason=reason,
    )
    return BatchResult(
        batch.name, "quarantined", batch.sha256, reason=reason, quarantine_file=str(where)
    )


def _return_freed_memory() -> None:
    """Give the memory of the rows read and dropped back to the system before writing."""
    # The file's rows were read with the system allocator and copied without their duplicates;
    # glibc kept the freed originals (125 MiB of a 2,000,000-row append: the write's peak went
    # from 4.3 to 3.3 times the frame), and pyarrow's release_unused does not trim it.
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _write_ingested_list(folder: Path, store: Store) -> None:
    """The classic ingested-files list, from the records."""
    write_ingested_list(folder, [record.name for record in store.batches(status="ingested")])


def _counts(result: BatchResult) -> dict[str, Any]:
    keys = ("rows_read", "rows_valid", "rows_quarantined", "rows_duplicate", "rows_added")
    return {key: getattr(result, key) for key in keys} | {"missing_values": result.missing_values}


def _classic_master(folder: Path) -> pa.Table:
    """A classic finaldata.csv without its Parquet record (or no rows): compared with the new
    rows, and kept with them. Ids are text, as in every batch, whatever the file held."""
    frame = read_master(folder)
    frame[ID_COLUMN] = frame[ID_COLUMN].astype(str)
    return pa.Table.from_pandas(frame, preserve_index=False)


def recover(settings: Settings, store: Store) -> list[int]:
    """Finish or forget batches a crashed run left pending; return the ids finished."""
    pending = store.batches(status="pending")
    if not pending:
        return []
    folder = settings.output_folder_path
    landed = master_batch_ids(folder)
    finished = [record.id for record in pending if record.id in landed]
    for record in pending:
        if record.id not in landed:
            log.warning(
                "batch %s (%s) never reached the master dataset; it will be read again",
                record.id,
                record.name,
            )
            forget_rows(folder, record.id)
            store.forget_batch(record.id)
    if finished:
        rebuild_csv(folder)  # the crash may have come between the Parquet and the CSV rename
        store.finish_batches({batch_id: {} for batch_id in finished})
        log.warning("finished %d batch(es) a crashed run had written: %s", len(finished), finished)
    _write_ingested_list(folder, store)
    return finished
