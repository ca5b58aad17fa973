"""Ingestion: find new data, read, validate, quarantine, deduplicate, append, record lineage."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.config import Settings
from riskwatch.ingestion.sources import Check, Progress, open_source, store_for

if TYPE_CHECKING:  # heavy modules load only once there is data to read
    from riskwatch.ingestion.batches import BatchResult
    from riskwatch.storage.store import Store

log = logging.getLogger(__name__)


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
    """Compare the source with what was ingested; with no store, open one only if needed."""
    return open_source(settings).check(settings, store)


def ingest(
    settings: Settings,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    found: Check | None = None,
    store: Store | None = None,
) -> IngestReport:
    """Ingest what is new in the source; with nothing new, change nothing and return fast.

    found: what a check just found (a cycle checks first), so the source is not listed twice;
    store: the records, when the caller has them open."""
    started = time.perf_counter()
    source = open_source(settings)
    found = found if found is not None else source.check(settings, store)
    report = IngestReport(source=found.source, dry_run=dry_run, new_data=bool(found.new))
    if found.new and not dry_run:
        from riskwatch.ingestion.batches import load_batches, recover  # noqa: PLC0415 - pandas is heavy

        with store_for(settings, store) as records:
            report.recovered = recover(settings, records)
            if report.recovered:  # a crashed run had finished some of these: the records moved
                found = source.check(settings, records)
                report.new_data = bool(found.new)
            report.batches, report.master_rows = load_batches(
                settings, records, source, found.new, progress
            )
            source.advance(settings, records)
    report.pending = [batch.name for batch in found.new] if dry_run else []
    report.already_ingested = found.already_ingested
    report.previously_quarantined = found.previously_quarantined
    report.missing = found.missing
    # Here, not at the top: the no-new-data check imports this module and needs no master.
    from riskwatch.ingestion.master import MASTER_CSV  # noqa: PLC0415

    report.master_dataset = str(settings.output_folder_path / MASTER_CSV)
    for name in found.missing:
        log.warning("%s was ingested before and is no longer in the source; its rows stay", name)
    report.seconds = round(time.perf_counter() - started, 4)
    return report
