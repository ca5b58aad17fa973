"""The one place the pages read ingestion's records: a thin adapter over its public functions,
so a rename in riskwatch.ingestion is a one-line fix here."""

from __future__ import annotations

from typing import Any

import pandas as pd

from riskwatch.config import Settings
from riskwatch.ingestion.quarantine import quarantined_rows, rows_quarantine_path

SAMPLE = 20  # quarantined rows shown per batch


def quarantine_summary(
    settings: Settings, *, batch: str, batch_id: int, rows: int
) -> dict[str, Any]:
    """A batch's quarantined rows: how many, why (counted by rule), and their file."""
    return quarantined_rows(
        settings.output_folder_path, settings.workspace, batch=batch, batch_id=batch_id, rows=rows
    )


def quarantine_sample(settings: Settings, *, batch: str, batch_id: int) -> list[dict[str, str]]:
    """The first quarantined rows of a batch as written (line, reason and the raw values)."""
    path = rows_quarantine_path(settings.output_folder_path, batch_id, batch)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=SAMPLE)
    except (OSError, ValueError, pd.errors.ParserError):
        return []
    return [{str(k): str(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
