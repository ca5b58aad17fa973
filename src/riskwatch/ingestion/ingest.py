"""Ingestion: find new data, read, validate, quarantine, deduplicate, append, record lineage."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.config import Settings
from riskwatch.ingestion.sources import (
    Batch,
    DatabaseSource,
    FileState,
    FolderSource,
    Progress,
    open_source,
)
from riskwatch.storage import open_store
from riskwatch.storage.files import read_json, write_json_atomic

if TYPE_CHECKING:  # heavy modules load only once there is data to read
    from riskwatch.ingestion.batches import BatchResult
    from riskwatch.storage.store import Store

log = logging.getLogger(__name__)

STATE_FILE = ".riskwatch-state.json"
STATE_VERSION = 1


@dataclass
class Check:
    """What the source offers now, compared with what was ingested."""

    source: str
    new: list[Batch] = field(default_factory=list)
    already_ingested: int = 0
    previously_quarantined: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # ingested files no longer in the source
    new_rows: int = 0  # database sources: rows past the watermark


@dataclass
class IngestReport:
    """What one `riskwatch ingest` found and did."""

    source: str
    dry_run: bool
    new_data: bool
    batches: list[BatchResult] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # dry run: what would be ingested
    already_ingested: int = 0
    previously_quarantined: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    master_rows: int | None = None
    master_dataset: str = ""
    recovered: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data for --json."""
        return asdict(self)

    def summary(self) -> str:
        """The report as a few readable lines."""
        lines = []
        for name in self.missing:
            lines.append(f"Gone from the source (its rows stay in the master dataset): {name}")
        if not self.new_data:
            lines.append(
                f"No new data in {self.source}: {self.already_ingested} batch(es) already ingested"
                + (
                    f", {len(self.previously_quarantined)} quarantined before"
                    if self.previously_quarantined
                    else ""
                )
                + "."
            )
            return "\n".join(lines)
        if self.dry_run:
            lines.append(f"New in {self.source} (dry run, nothing ingested):")
            lines.extend(f"  {name}" for name in self.pending)
            return "\n".join(lines)
        lines.append(f"Ingested from {self.source}:")
        for b in self.batches:
            if b.status == "quarantined":
                lines.append(f"  {b.name}: QUARANTINED whole file: {b.reason}")
                continue
            lines.append(
                f"  {b.name}: {b.rows_read:,} read, {b.rows_added:,} added, "
                f"{b.rows_duplicate:,} duplicate, {b.rows_quarantined:,} quarantined"
            )
            if b.quarantine_file:
                lines.append(f"    bad rows with line and reason: {b.quarantine_file}")
        lines.append(f"Master dataset: {self.master_dataset} ({self.master_rows:,} rows)")
        return "\n".join(lines)


def check(settings: Settings, store: Store | None = None) -> Check:
    """Compare the source with what was ingested; the state cache spares the database."""
    source = open_source(settings)
    if isinstance(source, DatabaseSource):
        if store is not None:
            return _check_database(settings, source, store)
        with open_store(settings) as opened:
            return _check_database(settings, source, opened)
    state = _load_state(settings, source.key)
    files = source.scan(state["files"])
    done: dict[str, list[str]] = state["done"]
    if store is None and not state["stale"] and all(f.sha256 in done for f in files.values()):
        return _compare(source, files, done)  # the path cron takes most often
    # The cache may lag behind the records after a crash: the store is the authority.
    if store is not None:
        done = _done_from_store(store, source.key)
    else:
        with open_store(settings) as opened:
            done = _done_from_store(opened, source.key)
    save_state(settings, source.key, files, done)
    return _compare(source, files, done)


def _compare(
    source: FolderSource, files: dict[str, FileState], done: dict[str, list[str]]
) -> Check:
    result = Check(source=source.key)
    present = {state.sha256 for state in files.values()}
    for name, state in files.items():
        status = done.get(state.sha256, [None])[0]
        if status == "ingested":
            result.already_ingested += 1
        elif status == "quarantined":
            result.previously_quarantined.append(name)
        else:
            path = source.folder / name
            result.new.append(Batch(source.key, name, state.sha256, state.size, path))
    result.missing = sorted(
        name for sha, (status, name) in done.items() if status == "ingested" and sha not in present
    )
    return result


def _check_database(settings: Settings, source: DatabaseSource, store: Store) -> Check:
    recorded = store.batches(source=source.key, status="ingested")
    low = recorded[-1].watermark_high if recorded else None
    count, _ = source.pending(low)
    result = Check(source=source.key, new_rows=count, already_ingested=len(recorded))
    if count:
        name = f"{source.label()} rows after {low}"
        result.new.append(Batch(source.key, name, "", 0, None, watermark_low=low))
    return result


def _done_from_store(store: Store, source: str) -> dict[str, list[str]]:
    done: dict[str, list[str]] = {}
    for record in store.batches(source=source):
        if record.status in ("ingested", "quarantined"):
            done[record.sha256] = [record.status, record.name]
    return done


def _load_state(settings: Settings, key: str) -> dict[str, Any]:
    """The cache of file hashes and finished batches; stale when missing or unreadable."""
    data = read_json(settings.output_folder_path / STATE_FILE)
    entry = data.get("sources", {}).get(key) if isinstance(data, dict) else None
    if not entry or data.get("version") != STATE_VERSION:
        return {"files": {}, "done": {}, "stale": True}
    files = {name: FileState(*values) for name, values in entry["files"].items()}
    return {"files": files, "done": entry["done"], "stale": False}


def save_state(
    settings: Settings, key: str, files: dict[str, FileState], done: dict[str, list[str]]
) -> None:
    """Refresh the cache from the records: it may only ever lag behind them, never lead."""
    path = settings.output_folder_path / STATE_FILE
    data = read_json(path)
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        data = {"version": STATE_VERSION, "sources": {}}
    data["sources"][key] = {
        "files": {name: [s.size, s.mtime_ns, s.sha256] for name, s in files.items()},
        "done": done,
    }
    write_json_atomic(path, data)


def ingest(
    settings: Settings, *, dry_run: bool = False, progress: Progress | None = None
) -> IngestReport:
    """Ingest what is new in the source; with nothing new, change nothing and return fast."""
    started = time.perf_counter()
    found = check(settings)
    report = IngestReport(source=found.source, dry_run=dry_run, new_data=bool(found.new))
    if found.new and not dry_run:
        from riskwatch.ingestion.batches import load_batches, recover  # noqa: PLC0415 - pandas is heavy

        with open_store(settings) as store:
            report.recovered = recover(settings, store)
            if report.recovered:  # a crashed run may have finished some of these batches
                found = check(settings, store)
                report.new_data = bool(found.new)
            report.batches, report.master_rows = load_batches(settings, store, found.new, progress)
            if settings.source == "folder":  # only a folder source keeps a state cache
                check(settings, store)  # refreshes it from the new records
    report.pending = [batch.name for batch in found.new] if dry_run else []
    report.already_ingested = found.already_ingested
    report.previously_quarantined = found.previously_quarantined
    report.missing = found.missing
    report.master_dataset = str(settings.output_folder_path / "finaldata.csv")
    for name in found.missing:
        log.warning("%s was ingested before and is no longer in the source; its rows stay", name)
    report.seconds = round(time.perf_counter() - started, 4)
    return report
