"""What a report shows, gathered once: the deployed model, scores, clients, drift and history."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.calllist.build import (
    CallList,
    build_call_list,
    departures,
    latest_records,
    risk_band,
)
from riskwatch.config import Settings
from riskwatch.diagnostics.diagnosis import Diagnosis, diagnose, history
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.datasets import read_labelled
from riskwatch.ingestion.master import read_master
from riskwatch.ingestion.quarantine import quarantined_rows
from riskwatch.model.metrics import Metric, compute_metrics, effective_resamples
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import (
    METADATA_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    Deployed,
    Loaded,
    load_verified,
    read_deployment,
)
from riskwatch.monitoring.drift import (
    FeatureDrift,
    PerformanceDrift,
    data_drift,
    performance_drift,
    prediction_drift,
)
from riskwatch.schema import BATCH_COLUMN, TARGET
from riskwatch.scoring import evaluate
from riskwatch.status import Status, status
from riskwatch.storage.files import read_json
from riskwatch.storage.store import (
    BatchRecord,
    Store,
    cycles,
    deployments,
    diagnostics,
    models,
    scores,
)

Array = np.ndarray[Any, Any]
DRIFT_KIND = "drift"
REPORT_SOURCE = "report"  # drift records this module stores say so, to find the last report
HISTORY_LIMIT = 50  # drift checks and scores shown in the history plots
STORED_KINDS = ("timings", "dependencies")  # diagnostics a report shows from the last run


class ReportError(RiskwatchError):
    """A report that cannot be built; the message says what to run first."""


@dataclass(frozen=True)
class Holdout:
    """The deployed model's predictions and metrics on the labelled holdout."""

    path: str
    labels: Array
    risks: Array
    metrics: dict[str, Metric]
    resamples: int  # bootstrap resamples behind the intervals


@dataclass(frozen=True)
class Newest:
    """The newest ingested data: the rows of the highest batch in the master dataset."""

    name: str
    batch_id: int | None
    frame: pd.DataFrame
    in_training: bool  # the deployed model was trained on these rows


@dataclass(frozen=True)
class DriftCheck:
    """Reference against newest: data drift, prediction drift, performance on new labels."""

    features: list[FeatureDrift]
    prediction: FeatureDrift | None
    performance: PerformanceDrift | None
    reason: str  # why drift was not measured; empty when it was
    newest_metrics: dict[str, Metric]  # point values on the newest rows' labels
    reference_risks: Array
    newest_risks: Array

    def record(self, newest: Newest) -> dict[str, Any]:
        """The check as stored in the diagnostics table (kind drift)."""
        return {
            "source": REPORT_SOURCE,
            "batch": newest.name,
            "batch_id": newest.batch_id,
            "features": [d.to_dict() for d in self.features],
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "performance": self.performance.to_dict() if self.performance else None,
            "reason": self.reason,
            "in_training": newest.in_training,
        }


@dataclass(frozen=True)
class Facts:
    """Everything one report shows, read or computed once."""

    deployed: Deployed
    metadata: dict[str, Any]
    holdout: Holdout
    clients: pd.DataFrame  # each client's latest record with its risk and band
    newest: Newest
    reference: pd.DataFrame | None
    drift: DriftCheck
    call_list: CallList
    status: Status
    diagnosis: Diagnosis
    stored: dict[str, dict[str, Any] | None]  # the latest timings and dependencies runs
    previous: dict[str, Any] | None  # the previous report's drift record
    drift_history: list[dict[str, Any]]  # stored drift checks, oldest first
    scores: list[dict[str, Any]]
    models: list[dict[str, Any]]
    new_batches: list[BatchRecord]
    batches: list[BatchRecord]  # every ingested batch, oldest first: the history's x-axis
    deployments: list[dict[str, Any]]  # every deployment and rollback, oldest first
    cycles: list[dict[str, Any]]  # recent cycles, oldest first: their evaluate steps' checks
    quarantined: list[dict[str, Any]]  # the newest batches' quarantined rows: count, why, file


def gather(
    settings: Settings,
    store: Store,
    call_list: CallList | None = None,
    *,
    held: Loaded | None = None,
    diagnosis: Diagnosis | None = None,
) -> Facts:
    """Read and compute what the report shows; nothing is stored but the diagnostics.

    A cycle passes the call list it published, the models it loaded (by sha256) and the
    diagnosis it ran; without the list the report shows the list as it would be now, compared
    with the last published one, and publishes nothing; without the diagnosis it runs one."""
    deployed, model, master = _inputs(settings, held)
    metadata = read_json(deployed.folder / METADATA_FILE) or {}
    newest = newest_data(master, store, metadata)
    reference = read_reference(settings, deployed)
    drift_rows = store.rows(diagnostics, newest_first=True, limit=HISTORY_LIMIT, kind=DRIFT_KIND)
    previous = next((r for r in drift_rows if r["result"].get("source") == REPORT_SOURCE), None)
    since = previous["created_at"] if previous else ""
    ingested = store.batches(status="ingested")
    new_batches = [b for b in ingested if (b.finished_at or "") > since]
    return Facts(
        deployed=deployed,
        metadata=metadata,
        holdout=score_holdout(settings, model),
        clients=score_clients(settings, model, master),
        newest=newest,
        reference=reference,
        drift=check_drift(settings, model, reference, newest, metadata),
        call_list=call_list
        if call_list is not None
        else build_call_list(settings, store, held=held),
        status=status(settings, store),
        # The cheap parts fresh (they describe today's data); timings and the package index
        # only from the last `riskwatch diagnose`, so a report stays quick and works offline.
        diagnosis=diagnosis
        if diagnosis is not None
        else diagnose(settings, store, timings=False, dependencies=False, held=held),
        stored={kind: next(iter(history(store, kind, 1)), None) for kind in STORED_KINDS},
        previous=previous,
        drift_history=drift_rows[::-1],
        scores=store.rows(scores, newest_first=True, limit=HISTORY_LIMIT)[::-1],
        models=store.rows(models),
        new_batches=new_batches,
        batches=ingested,
        deployments=store.rows(deployments),
        cycles=store.rows(cycles, newest_first=True, limit=HISTORY_LIMIT)[::-1],
        quarantined=quarantined_in(settings, new_batches or ingested[-1:]),
    )


def quarantined_in(settings: Settings, batches: list[BatchRecord]) -> list[dict[str, Any]]:
    """The quarantined rows of these batches: how many, why, and where their file is."""
    return [
        quarantined_rows(
            settings.output_folder_path,
            settings.workspace,
            batch=b.name,
            batch_id=b.id,
            rows=b.rows_quarantined,
        )
        for b in batches
        if b.rows_quarantined
    ]


def _inputs(settings: Settings, held: Loaded | None) -> tuple[Deployed, Any, pd.DataFrame]:
    """The deployment, its model and the master dataset; ReportError when one is missing."""
    # Read the pointer once, so the version, model, metadata and reference match.
    deployed = read_deployment(settings.prod_deployment_path)
    if deployed is None:
        raise ReportError(
            f"cannot build a report: no model is deployed in {settings.prod_deployment_path}: "
            "run `riskwatch train` then `riskwatch deploy`"
        )
    master = read_master(settings.output_folder_path)
    if master.empty:
        raise ReportError(
            f"cannot build a report: no data in {settings.output_folder_path}: "
            "run `riskwatch ingest` first"
        )
    return deployed, load_verified(deployed.folder / MODEL_FILE, deployed.sha256, held), master


def score_holdout(settings: Settings, model: Any) -> Holdout:
    """The deployed model's predictions and metrics (with intervals) on the holdout."""
    frame = read_labelled(settings.test_data_path)
    if frame.empty:
        raise ReportError(f"cannot build a report: no rows in {settings.test_data_path}")
    return Holdout(
        path=str(settings.test_data_path),
        labels=frame[TARGET].to_numpy(),
        risks=predict_risk(model, frame),
        metrics=evaluate(model, frame, settings),
        resamples=effective_resamples(len(frame), settings.bootstrap_resamples),
    )


def score_clients(settings: Settings, model: Any, master: pd.DataFrame) -> pd.DataFrame:
    """Each client's latest record with its risk, band, whether that record says it left, and
    whether it left in the newest batch."""
    clients = latest_records(master)
    risk = predict_risk(model, clients)
    band = risk_band(risk, high=settings.risk_band_high, medium=settings.risk_band_medium)
    left, recently = departures(clients)
    return clients.assign(risk=risk, band=band, left=left, left_recently=recently)


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


def read_reference(settings: Settings, deployed: Deployed) -> pd.DataFrame | None:
    """The deployed model's training sample, from its deployment or else its version folder."""
    for folder in (deployed.folder, settings.output_model_path / deployed.version):
        path = Path(folder) / REFERENCE_FILE
        if path.is_file():
            return pd.read_parquet(path)
    return None


def check_drift(
    settings: Settings,
    model: Any,
    reference: pd.DataFrame | None,
    newest: Newest,
    metadata: dict[str, Any],
) -> DriftCheck:
    """Data and prediction drift of the newest rows against the reference; performance on them
    (nothing, with the reason, when the deployed model was trained on those rows)."""
    if newest.in_training:
        # Scores on its own training rows say nothing of how the model does on data it has not
        # seen, and those rows are its drift reference's source: there is nothing to judge yet.
        reason = f"the newest data ({newest.name}) was part of this model's training"
        return DriftCheck([], None, None, reason, {}, np.empty(0), np.empty(0))
    holdout = (metadata.get("metrics") or {}).get("holdout") or {}
    recorded = {name: Metric(**m) for name, m in holdout.items() if isinstance(m, dict)}
    risks = predict_risk(model, newest.frame)
    labels = newest.frame[TARGET].to_numpy()
    performance = performance_drift(recorded, labels, risks, settings)
    # Point values only: the performance check above already bootstraps the metric it decides on.
    newest_metrics = compute_metrics(
        labels,
        risks,
        threshold=settings.decision_threshold,
        k=settings.call_list_capacity,
        resamples=0,
    )
    if reference is None or reference.empty:
        reason = "the deployed model has no reference sample of its training data"
        return DriftCheck([], None, performance, reason, newest_metrics, np.empty(0), risks)
    reference_risks = predict_risk(model, reference)
    return DriftCheck(
        data_drift(reference, newest.frame, settings),
        prediction_drift(reference_risks, risks, settings),
        performance,
        "",
        newest_metrics,
        reference_risks,
        risks,
    )
