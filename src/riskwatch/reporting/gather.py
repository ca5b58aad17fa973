"""What a report shows, gathered once: the deployed model, scores, clients, drift and history."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

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
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import (
    METADATA_FILE,
    MODEL_FILE,
    Deployed,
    Loaded,
    load_verified,
    read_deployment,
)
from riskwatch.monitoring.calls import CallEffect, call_effect
from riskwatch.monitoring.evidence import (
    Holdout,
    Newest,
    newest_data,
    read_reference,
    score_holdout,
)
from riskwatch.monitoring.exclusions import contacted_rows
from riskwatch.monitoring.verdict import DriftCheck, Evaluation, newest_check
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

log = logging.getLogger(__name__)
DRIFT_KIND = "drift"
REPORT_SOURCE = "report"  # drift records this module stores say so, to find the last report
HISTORY_LIMIT = 50  # drift checks and scores shown in the history plots
STORED_KINDS = ("timings", "dependencies")  # diagnostics a report shows from the last run


class ReportError(RiskwatchError):
    """A report that cannot be built; the message says what to run first."""


def drift_record(check: DriftCheck, newest: Newest) -> dict[str, Any]:
    """A drift check as a report stores it in the diagnostics table (kind drift)."""
    return {
        "source": REPORT_SOURCE,
        "batch": newest.name,
        "batch_id": newest.batch_id,
        "features": [d.to_dict() for d in check.features],
        "prediction": check.prediction.to_dict() if check.prediction else None,
        "performance": check.performance.to_dict() if check.performance else None,
        "reason": check.reason,
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
    calls: CallEffect  # the control group's comparison: what calls achieve


@dataclass(frozen=True)
class Given:
    """What a cycle computed and passes to its report, which shows these rather than its own:
    the call list it published, the models it loaded (by sha256), the diagnosis it ran, its
    evaluation of the new rows and production's holdout scores (made beside a retrain's gate)."""

    call_list: CallList | None = None
    models: Loaded | None = None
    diagnosis: Diagnosis | None = None
    evaluation: Evaluation | None = None
    holdout: Holdout | None = None


def gather(settings: Settings, store: Store, given: Given | None = None) -> Facts:
    """Read and compute what the report shows; nothing is stored but the diagnostics.

    Without a given call list the report shows the list as it would be now, compared with the
    last published one, and publishes nothing; without the other given results it makes its
    own (a given evaluation or holdout only when it is of the deployed model and newest data)."""
    given = given or Given()
    deployed, model, master = _inputs(settings, given.models)
    metadata = read_json(deployed.folder / METADATA_FILE) or {}
    newest = newest_data(master, store, metadata)
    reference = read_reference(settings, deployed)
    drift_rows = store.rows(diagnostics, newest_first=True, limit=HISTORY_LIMIT, kind=DRIFT_KIND)
    previous = next((r for r in drift_rows if r["result"].get("source") == REPORT_SOURCE), None)
    since = previous["created_at"] if previous else ""
    ingested = store.batches(status="ingested")
    new_batches = [b for b in ingested if (b.finished_at or "") > since]
    holdout = holdout_scores(settings, model, deployed, given.holdout)
    clients = score_clients(settings, model, master)
    left_out, _ = contacted_rows(store, newest.frame)
    drift = newest_check(
        settings,
        model,
        reference,
        newest,
        metadata,
        sha256=deployed.sha256,
        held=given.evaluation,
        left_out=left_out,
    )
    return Facts(
        deployed=deployed,
        metadata=metadata,
        holdout=holdout,
        clients=clients,
        newest=newest,
        reference=reference,
        drift=drift,
        call_list=_call_list(settings, store, given),
        status=status(settings, store),
        diagnosis=_diagnosis(settings, store, given),
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
        calls=call_effect(settings, store),
    )


def _call_list(settings: Settings, store: Store, given: Given) -> CallList:
    """The list the cycle published, else the list as it would be now (not published)."""
    if given.call_list is not None:
        return given.call_list
    return build_call_list(settings, store, held=given.models)


def _diagnosis(settings: Settings, store: Store, given: Given) -> Diagnosis:
    """The cycle's diagnosis, else a new one: the cheap parts fresh (they describe today's
    data); timings and the package index only from the last `riskwatch diagnose`, so a report
    stays quick and works offline."""
    if given.diagnosis is not None:
        return given.diagnosis
    return diagnose(settings, store, timings=False, dependencies=False, held=given.models)


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


def holdout_scores(
    settings: Settings, model: Any, deployed: Deployed, held: Holdout | None
) -> Holdout:
    """The deployed model's holdout scores: those a cycle held for this model, else made now."""
    if held is not None and held.sha256 == deployed.sha256:
        return held
    frame = read_labelled(settings.test_data_path)
    if frame.empty:
        raise ReportError(f"cannot build a report: no rows in {settings.test_data_path}")
    return score_holdout(settings, model, frame, deployed.sha256)


def score_clients(settings: Settings, model: Any, master: pd.DataFrame) -> pd.DataFrame:
    """Each client's latest record with its risk, band, whether that record says it left, and
    whether it left in the newest batch."""
    clients = latest_records(master)
    risk = predict_risk(model, clients)
    band = risk_band(risk, high=settings.risk_band_high, medium=settings.risk_band_medium)
    left, recently = departures(clients)
    return clients.assign(risk=risk, band=band, left=left, left_recently=recently)
