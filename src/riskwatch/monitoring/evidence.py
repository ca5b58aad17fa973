"""What monitoring judges on: the newest batches' rows, the deployed model's reference sample,
and a model's scores on the labelled holdout."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.ingestion.datasets import read_labelled
from riskwatch.ingestion.master import read_master
from riskwatch.model.metrics import Metric, effective_resamples
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import REFERENCE_FILE, Deployed, Loaded, load_model, read_metadata
from riskwatch.schema import BATCH_COLUMN, TARGET
from riskwatch.scoring import evaluate, metric_value
from riskwatch.storage.store import Store

log = logging.getLogger(__name__)
Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Newest:
    """The newest ingested data: the rows of the highest batch in the master dataset."""

    name: str
    batch_id: int | None
    frame: pd.DataFrame
    in_training: bool  # the deployed model was trained on these rows


@dataclass(frozen=True)
class Holdout:
    """A model's predictions and metrics on the labelled holdout."""

    path: str
    labels: Array
    risks: Array
    metrics: dict[str, Metric]
    resamples: int  # bootstrap resamples behind the intervals
    sha256: str = ""  # of the model file scored: a later step knows whose scores these are


def newest_data(master: pd.DataFrame, store: Store, metadata: dict[str, Any]) -> Newest:
    """The rows of the newest batch (all rows when the master has no batch column)."""
    trained_on = set((metadata.get("training") or {}).get("batch_ids") or [])
    if BATCH_COLUMN not in master.columns:  # a classic master written by another tool
        return Newest("the master dataset", None, master, in_training=True)
    batch_id = int(master[BATCH_COLUMN].max())
    names = {b.id: b.name for b in store.batches()}
    frame = master[master[BATCH_COLUMN] == batch_id].reset_index(drop=True)
    name = names.get(batch_id, f"batch {batch_id}")
    return Newest(name, batch_id, frame, in_training=batch_id in trained_on)


def judged_rows(settings: Settings, batch_ids: list[int]) -> pd.DataFrame:
    """The master rows of the batches a cycle judges."""
    master = read_master(settings.output_folder_path)
    return master[master[BATCH_COLUMN].isin(batch_ids)].reset_index(drop=True)


def read_reference(settings: Settings, deployed: Deployed) -> pd.DataFrame | None:
    """The deployed model's training sample, from its deployment or else its version folder."""
    for folder in (deployed.folder, settings.output_model_path / deployed.version):
        path = Path(folder) / REFERENCE_FILE
        if path.is_file():
            return pd.read_parquet(path)
    return None


def score_holdout(settings: Settings, model: Any, frame: pd.DataFrame, sha256: str = "") -> Holdout:
    """A model's predictions and metrics (with intervals) on the holdout's rows."""
    return Holdout(
        path=str(settings.test_data_path),
        labels=frame[TARGET].to_numpy(),
        risks=predict_risk(model, frame),
        metrics=evaluate(model, frame, settings),
        resamples=effective_resamples(len(frame), settings.bootstrap_resamples),
        sha256=sha256,
    )


def holdout_evidence(
    settings: Settings,
    challenger: str,
    production: str | None,
    held: Loaded,
    *,
    replaced: bool = False,
) -> tuple[dict[str, Any], Holdout | None]:
    """Both models on the fixed holdout: evidence beside the gate, which judged on new rows;
    and production's holdout scores, which a report of production then shows (none when
    production was replaced: only its value of the gate's metric is needed then)."""
    metric = settings.gate_metric
    metadata = read_metadata(settings.output_model_path, challenger)
    recorded = (metadata.get("metrics") or {}).get("holdout") or {}
    # The challenger was scored on this holdout when it was trained, moments ago.
    values: dict[str, Any] = {
        "metric": metric,
        "rows": (metadata.get("holdout") or {}).get("rows"),
        "challenger": (recorded.get(metric) or {}).get("value"),
    }
    if production is None:
        return values, None
    # Production's record may be of an older holdout: score it now.
    model = load_model(settings.output_model_path, production, held)
    frame = read_labelled(settings.test_data_path)
    if replaced:  # no report shows it: its value, without the bootstrap of every metric
        return {**values, "production": metric_value(model, frame, settings, metric)}, None
    sha256 = read_metadata(settings.output_model_path, production).get("sha256", "")
    scored = score_holdout(settings, model, frame, sha256)
    values["production"] = scored.metrics[metric].value
    return values, scored
