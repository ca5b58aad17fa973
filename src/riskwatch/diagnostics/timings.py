"""How long one ingestion and one training take on the workspace's data, measured on a copy."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from riskwatch.config import Settings
from riskwatch.diagnostics.statistics import number, read_master_or_stop
from riskwatch.ingestion.ingest import ingest
from riskwatch.ingestion.master import MASTER_CSV, MASTER_PARQUET
from riskwatch.training import TrainingError, fit_chosen, select_training_rows


def measure_timings(settings: Settings, master: pd.DataFrame | None = None) -> dict[str, Any]:
    """Time one ingestion of the master's data and one training on it; the workspace is kept."""
    master = read_master_or_stop(settings) if master is None else master
    return {"ingestion": _time_ingestion(settings), "training": _time_training(settings, master)}


def _time_ingestion(settings: Settings) -> dict[str, Any]:
    """Ingest a copy of the master dataset's file into a throwaway workspace, once."""
    folder = settings.output_folder_path
    original = folder / MASTER_CSV if (folder / MASTER_CSV).exists() else folder / MASTER_PARQUET
    with tempfile.TemporaryDirectory(prefix="riskwatch-timing-") as scratch:
        root = Path(scratch)
        (root / "source").mkdir()
        shutil.copyfile(original, root / "source" / original.name)
        trial = dataclasses.replace(
            settings,
            source="folder",
            input_folder_path=root / "source",
            source_patterns=(original.name,),
            output_folder_path=root / "ingested",
            database_url=f"sqlite:///{root / 'timing.db'}",
            extra_columns="drop",  # the master's lineage column is not source data
        )
        started = time.perf_counter()
        rows = ingest(trial).master_rows
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 4), "rows": rows, "file_bytes": original.stat().st_size}


def _time_training(settings: Settings, master: pd.DataFrame) -> dict[str, Any]:
    """Train the configured model on the master dataset once, as `riskwatch train` would."""
    try:
        rows, weights = select_training_rows(
            master,
            window=settings.training_window,
            recent_batches=settings.training_recent_batches,
            half_life=settings.training_half_life_batches,
        )
        started = time.perf_counter()
        _, choice = fit_chosen(settings, rows, weights)  # not saved: only the time matters
    except TrainingError as exc:
        return {
            "seconds": None,
            "rows": len(master),
            "kind": settings.model_kind,
            "reason": str(exc),
        }
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 4), "rows": len(rows), "kind": choice.kind}


def timings_text(part: dict[str, Any]) -> list[str]:
    """Stored timings as one line."""

    def took(step: dict[str, Any]) -> str:
        why = f": {step['reason']}" if step.get("reason") else ""
        return f"{number(step['seconds'], '.2f')} s on {step['rows']:,} rows{why}"

    trained = part["deployed_model_training"]
    return [
        f"Timings: ingestion {took(part['ingestion'])}; training {took(part['training'])}"
        + ("" if trained is None else f" (the deployed model took {trained} s)")
    ]
