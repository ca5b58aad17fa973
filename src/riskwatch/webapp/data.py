"""The data page's view data: every batch ingested, the rows it added, what was quarantined."""

from __future__ import annotations

from typing import Any

from riskwatch.webapp.ingested import quarantine_sample, quarantine_summary
from riskwatch.webapp.sources import Sources

SAMPLED_BATCHES = 5  # the newest batches with quarantined rows whose rows the page shows


def data_view(sources: Sources) -> dict[str, Any]:
    """The batches, newest first, with totals and the quarantined rows' reasons."""
    settings = sources.settings
    batches = sources.store().batches()[::-1]
    quarantined = []
    for batch in batches:
        if batch.status == "quarantined":
            quarantined.append(
                {
                    "batch": batch.name,
                    "whole_file": True,
                    "rows": None,
                    "reasons": {batch.reason: 1},
                    "file": None,
                    "sample": [],
                }
            )
        elif batch.rows_quarantined:
            found = quarantine_summary(
                settings, batch=batch.name, batch_id=batch.id, rows=batch.rows_quarantined
            )
            sampled = sum(1 for q in quarantined if q["sample"]) < SAMPLED_BATCHES
            sample = (
                quarantine_sample(settings, batch=batch.name, batch_id=batch.id) if sampled else []
            )
            quarantined.append(found | {"sample": sample})
    ingested = [b for b in batches if b.status == "ingested"]
    totals = {
        "batches": len(batches),
        "ingested": len(ingested),
        "rows_read": sum(b.rows_read for b in batches),
        "rows_added": sum(b.rows_added for b in batches),
        "rows_quarantined": sum(b.rows_quarantined for b in batches),
        "rows_duplicate": sum(b.rows_duplicate for b in batches),
        "files_quarantined": sum(b.status == "quarantined" for b in batches),
    }
    return {
        "batches": batches,
        "totals": totals,
        "quarantined": quarantined,
        "source": settings.source,
    }
