"""Load new batches: read, validate, quarantine, deduplicate, append to the master data, record."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.ingestion.master import (
    QUARANTINE,
    append_master,
    master_batch_ids,
    quarantine_file,
    quarantine_rows,
    read_master,
    rebuild_csv,
    write_ingested_list,
)
from riskwatch.ingestion.readers import UnreadableBatchError, raw_csv_cells, reads_as_csv
from riskwatch.ingestion.sources import (
    Batch,
    DatabaseSource,
    FolderSource,
    Progress,
    open_source,
)
from riskwatch.schema import BATCH_COLUMN, validate
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
class _Read:
    """A batch read and validated, before deduplication."""

    good: pd.DataFrame
    bad: pd.DataFrame
    rows_read: int
    missing: dict[str, int]
    sha256: str
    watermark_high: Any


def load_batches(
    settings: Settings, store: Store, batches: list[Batch], progress: Progress | None
) -> tuple[list[BatchResult], int]:
    """Load batches into the master dataset in one atomic append; return results and master rows."""
    folder = settings.output_folder_path
    source = open_source(settings)
    master = read_master(folder)
    seen = [master.drop(columns=[BATCH_COLUMN], errors="ignore")]
    results: list[BatchResult] = []
    frames: list[pd.DataFrame] = []
    for batch in batches:
        result, rows = _load_one(settings, source, store, batch, seen=seen, progress=progress)
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


def _load_one(
    settings: Settings,
    source: FolderSource | DatabaseSource,
    store: Store,
    batch: Batch,
    *,
    seen: list[pd.DataFrame],
    progress: Progress | None,
) -> tuple[BatchResult, pd.DataFrame | None]:
    folder = settings.output_folder_path
    try:
        read = _read_batch(settings, source, batch, progress)
    except UnreadableBatchError as exc:
        log.warning("quarantined %s: %s", batch.name, exc)
        where = quarantine_file(folder, batch.name, batch.path, batch.sha256, str(exc))
        store.record_quarantined(
            source=batch.source,
            name=batch.name,
            sha256=batch.sha256,
            size_bytes=batch.size_bytes,
            reason=str(exc),
        )
        return BatchResult(
            batch.name, "quarantined", batch.sha256, reason=str(exc), quarantine_file=str(where)
        ), None
    name = batch.name
    if isinstance(source, DatabaseSource):
        name = f"{source.label()}[{batch.watermark_low}..{read.watermark_high}]"
    duplicate = _duplicates(seen, read.good)
    rows = read.good[~duplicate].reset_index(drop=True) if duplicate.any() else read.good
    seen.append(rows)
    result = BatchResult(
        name,
        "ingested",
        read.sha256,
        rows_read=read.rows_read,
        rows_valid=len(read.good),
        rows_quarantined=len(read.bad),
        rows_duplicate=int(duplicate.sum()),
        rows_added=len(rows),
        missing_values=read.missing,
    )
    result.batch_id = store.begin_batch(
        source=batch.source,
        name=name,
        sha256=read.sha256,
        size_bytes=batch.size_bytes,
        watermark_low=batch.watermark_low,
        watermark_high=read.watermark_high,
        **_counts(result),
    )
    if len(read.bad):
        result.quarantine_file = str(quarantine_rows(folder, result.batch_id, name, read.bad))
    rows[BATCH_COLUMN] = np.int64(result.batch_id)
    return result, rows


def _write_ingested_list(folder: Path, store: Store) -> None:
    """The classic ingestedfiles.txt, from the records."""
    write_ingested_list(folder, [record.name for record in store.batches(status="ingested")])


def _counts(result: BatchResult) -> dict[str, Any]:
    keys = ("rows_read", "rows_valid", "rows_quarantined", "rows_duplicate", "rows_added")
    return {key: getattr(result, key) for key in keys} | {"missing_values": result.missing_values}


def _read_batch(
    settings: Settings,
    source: FolderSource | DatabaseSource,
    batch: Batch,
    progress: Progress | None,
) -> _Read:
    """Read and validate every chunk of a batch; UnreadableBatchError if any part is unreadable."""
    advance = None
    if progress is not None and batch.size_bytes >= PROGRESS_MIN_BYTES:
        advance = progress(batch.name, batch.size_bytes)
    goods: list[pd.DataFrame] = []
    bads: list[pd.DataFrame] = []
    missing: dict[str, int] = {}
    rows_read, done = 0, 0
    digest, high = hashlib.sha256(), None
    for chunk in source.read(batch, settings.read_chunk_rows):
        lines = chunk.lines
        if lines is None:
            lines = np.arange(chunk.first_line, chunk.first_line + len(chunk.frame))
        checked = validate(chunk.frame, lines=lines, extra_columns=settings.extra_columns)
        goods.append(checked.good)
        bads.append(checked.bad)
        bads.append(_skipped_rows(chunk.skipped))
        for column, count in checked.missing.items():
            missing[column] = missing.get(column, 0) + count
        rows_read += len(chunk.frame) + len(chunk.skipped)
        if isinstance(source, DatabaseSource):
            digest.update(pd.util.hash_pandas_object(chunk.frame, index=False).to_numpy().tobytes())
            high = chunk.watermark_high if chunk.watermark_high is not None else high
        if advance is not None:
            advance(chunk.position - done)
            done = chunk.position
    good = pd.concat(goods, ignore_index=True) if goods else pd.DataFrame()
    nonempty = [b for b in bads if len(b)]
    bad = pd.concat(nonempty, ignore_index=True) if nonempty else pd.DataFrame()
    sha = batch.sha256 or digest.hexdigest()
    return _Read(good, _as_written(batch, bad), rows_read, missing, sha, high)


def _as_written(batch: Batch, bad: pd.DataFrame) -> pd.DataFrame:
    """Bad rows of a CSV file with each cell's text as the file has it, not as parsed."""
    # The reader parses numbers as it reads (1e400 becomes inf, " 12 " becomes 12); the few
    # quarantined rows are read again as text so that the quarantine shows what was written.
    if bad.empty or batch.path is None or not reads_as_csv(batch.path):
        return bad
    header, records = raw_csv_cells(batch.path, {int(line) for line in bad["line"]})
    raw = bad.copy()
    for index, name in enumerate(header):
        cells = [_cell(records.get(int(line)), index) for line in bad["line"]]
        raw[name] = pd.Series(cells, index=bad.index, dtype="object")
    return raw


def _cell(record: list[str] | None, index: int) -> str:
    return record[index] if record is not None and index < len(record) else ""


def _skipped_rows(skipped: list[tuple[int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "line": [line for line, _ in skipped],
            "reason": [f"unparsable line: {why}" for _, why in skipped],
        }
    )


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
            for leftover in (folder / QUARANTINE).glob(f"batch{record.id:06d}-*"):
                leftover.unlink()
            store.forget_batch(record.id)
    if finished:
        rebuild_csv(folder)  # the crash may have come between the Parquet and the CSV rename
        store.finish_batches({batch_id: {} for batch_id in finished})
        log.warning("finished %d batch(es) a crashed run had written: %s", len(finished), finished)
    _write_ingested_list(folder, store)
    return finished
