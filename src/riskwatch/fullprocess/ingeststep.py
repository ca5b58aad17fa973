"""The cycle's ingest step: what was added and quarantined, and the batches left to judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskwatch.config import Settings
from riskwatch.fullprocess.result import Step
from riskwatch.ingestion import ingest
from riskwatch.ingestion.batches import BatchResult
from riskwatch.ingestion.quarantine import quarantined_rows
from riskwatch.ingestion.sources import Check
from riskwatch.reporting.words import count
from riskwatch.storage.files import shown_path
from riskwatch.storage.store import Store, cycles

JUDGED = ("initial", "kept", "promoted", "rejected")  # outcomes of cycles that judged batches


def ingest_step(settings: Settings, store: Store, found: Check) -> Step:
    """Ingest what the cycle's check found; the batches to judge are all those no finished
    cycle judged."""
    report = ingest(settings, found=found, store=store)
    judged_before = _last_judged(store)
    batch_ids = [b.id for b in store.batches(status="ingested") if b.id > judged_before]
    quarantined = [_quarantined(settings, b) for b in report.batches if b.quarantine_file]
    detail: dict[str, Any] = {
        "batches": [b.name for b in report.batches],
        "rows_added": sum(b.rows_added for b in report.batches),
        "rows_quarantined": sum(b.rows_quarantined for b in report.batches),
        "quarantined": quarantined,
        "master_rows": report.master_rows,
        "judged_batch_ids": batch_ids,
    }
    if quarantined:  # the cycle's summary prints a step's reason under its outcome
        detail["reason"] = "quarantined: " + "; ".join(_quarantine_words(q) for q in quarantined)
    return Step("ingest", _ingest_outcome(detail, quarantined), detail)


def _quarantined(settings: Settings, batch: BatchResult) -> dict[str, Any]:
    """What of a batch was quarantined, why, and where (relative to the workspace)."""
    if batch.status != "quarantined":
        return quarantined_rows(
            settings.output_folder_path,
            settings.workspace,
            batch=batch.name,
            batch_id=batch.batch_id or 0,
            rows=batch.rows_quarantined,
        )
    return {
        "batch": batch.name,
        "whole_file": True,
        "rows": None,
        "reasons": {batch.reason: 1},
        "file": shown_path(Path(batch.quarantine_file), settings.workspace),
    }


def _quarantine_words(entry: dict[str, Any]) -> str:
    if entry["whole_file"]:
        return f"{entry['batch']}: the whole file ({'; '.join(entry['reasons'])})"
    why = ", ".join(f"{kind}: {n:,}" for kind, n in entry["reasons"].items())
    rows = count(entry["rows"], "row")
    return f"{entry['batch']}: {rows} ({why})" if why else f"{entry['batch']}: {rows}"


def _ingest_outcome(detail: dict[str, Any], quarantined: list[dict[str, Any]]) -> str:
    """One line: batches, rows added, and rows or files quarantined with where they are."""
    parts = [
        count(len(detail["batches"]), "batch", "batches"),
        f"{count(detail['rows_added'], 'row')} added",
    ]
    if detail["rows_quarantined"]:
        parts.append(f"{count(detail['rows_quarantined'], 'row')} quarantined")
    wholes = sum(q["whole_file"] for q in quarantined)
    if wholes:
        parts.append(f"{count(wholes, 'file')} quarantined whole")
    files = sorted({q["file"] for q in quarantined})
    if not files:
        return ", ".join(parts)
    where = files[0] if len(files) == 1 else str(Path(files[0]).parent) + "/"
    return f"{', '.join(parts)} (see {where})"


def _last_judged(store: Store) -> int:
    for row in store.rows(cycles, newest_first=True):
        if row["outcome"] in JUDGED:
            for step in row["steps"]:
                if step["name"] == "ingest":
                    return int(max(step["detail"].get("judged_batch_ids") or [0]))
    return 0
