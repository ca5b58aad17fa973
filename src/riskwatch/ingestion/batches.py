"""Load new batches: read, validate, quarantine, deduplicate, append to the master data, record."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.ingestion.master import (
    append_master,
    master_batch_ids,
    read_master,
    rebuild_csv,
    write_ingested_list,
)
from riskwatch.ingestion.quarantine import forget_rows, quarantine_file, quarantine_rows
from riskwatch.ingestion.readers import RawChunk, UnreadableBatchError
from riskwatch.ingestion.sources import Batch, Progress, Source
from riskwatch.ingestion.validation import Checked, as_written, validate_chunks
from riskwatch.schema import BATCH_COLUMN
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
    seen: list[pd.DataFrame]
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
    master = read_master(folder)
    loading = _Loading(
        settings, store, source, [master.drop(columns=[BATCH_COLUMN], errors="ignore")], progress
    )
    results: list[BatchResult] = []
    frames: list[pd.DataFrame] = []
    for batch in batches:
        result, rows = _load_one(loading, batch)
        results.append(result)
        if rows is not None:
            frames.append(rows)
    total = len(master)
    if frames:
        # One rename commits every batch; each stays "pending" in the store until it lands.
        new_rows = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        total = append_master(folder, new_rows)
        finished = [r.batch_id for r in results if r.status == "ingested" and r.batch_id]
        store.finish_batches({batch_id: {} for batch_id in finished})
    _write_ingested_list(folder, store)
    return results, total


def _load_one(loading: _Loading, batch: Batch) -> tuple[BatchResult, pd.DataFrame | None]:
    """Read, validate and deduplicate one batch, and record it as pending."""
    try:
        checked, sha256 = _read_batch(loading, batch)
    except UnreadableBatchError as exc:
        return _quarantine_whole(loading, batch, str(exc)), None
    duplicate = _duplicates(loading.seen, checked.good)
    rows = checked.good[~duplicate].reset_index(drop=True) if duplicate.any() else checked.good
    loading.seen.append(rows)
    result = BatchResult(
        batch.name,
        "ingested",
        sha256,
        rows_read=checked.rows_read,
        rows_valid=len(checked.good),
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
    rows[BATCH_COLUMN] = np.int64(result.batch_id)
    return result, rows


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


def _write_ingested_list(folder: Path, store: Store) -> None:
    """The classic ingested-files list, from the records."""
    write_ingested_list(folder, [record.name for record in store.batches(status="ingested")])


def _counts(result: BatchResult) -> dict[str, Any]:
    keys = ("rows_read", "rows_valid", "rows_quarantined", "rows_duplicate", "rows_added")
    return {key: getattr(result, key) for key in keys} | {"missing_values": result.missing_values}


def _duplicates(earlier: list[pd.DataFrame], rows: pd.DataFrame) -> np.ndarray[Any, Any]:
    """Which rows repeat an earlier row exactly, in this batch or in what came before it."""
    prior = [frame.reindex(columns=rows.columns) for frame in earlier if len(frame)]
    if not prior:
        return _duplicated(rows)
    stacked = pd.concat([*prior, rows], ignore_index=True)
    return _duplicated(stacked)[-len(rows) :]


def _duplicated(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    """frame.duplicated(), computed on text columns only where the numbers already repeat."""
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if not numeric or len(numeric) == len(frame.columns):
        return frame.duplicated().to_numpy()
    # Factorizing millions of ids costs 5x the numbers; only rows whose numbers repeat can be
    # exact duplicates, and those are few.
    candidates = frame.duplicated(subset=numeric, keep=False).to_numpy()
    result = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        result[candidates] = frame[candidates].duplicated().to_numpy()
    return result


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
