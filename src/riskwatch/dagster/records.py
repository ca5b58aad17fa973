"""What a finished cycle left in riskwatch's records, as plain values for Dagster's metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from riskwatch.config import Settings
from riskwatch.fullprocess import CycleResult, Step
from riskwatch.storage import open_store
from riskwatch.storage.store import (
    BatchRecord,
    call_lists,
    cycles,
    deployments,
    models,
    promotions,
)

Values = dict[str, Any]


@dataclass
class Checked:
    """One asset check's verdict: passed, how bad a failure is (warn or error), why."""

    passed: bool
    severe: bool
    description: str
    metadata: Values = field(default_factory=dict)


@dataclass
class CycleRecords:
    """A cycle's records: its row, the batches it ingested, and each asset it changed."""

    cycle: Values
    batches: dict[str, BatchRecord] = field(default_factory=dict)
    model_version: Values | None = None
    gate: Checked | None = None
    deployment: Values | None = None
    call_list: Values | None = None
    report: Values | None = None


def step_of(result: CycleResult, name: str) -> Step | None:
    """The cycle's step of that name, if it ran."""
    return next((step for step in result.steps if step.name == name), None)


def plain(values: Values) -> Values:
    """Values Dagster's metadata takes: no None (it has no empty value for them)."""
    return {key: value for key, value in values.items() if value is not None}


def validation(record: BatchRecord) -> Checked:
    """A batch passes when every row was valid; a whole quarantined file is an error."""
    metadata = plain(
        {
            "status": record.status,
            "rows_read": record.rows_read,
            "rows_valid": record.rows_valid,
            "rows_quarantined": record.rows_quarantined,
            "rows_duplicate": record.rows_duplicate,
            "rows_added": record.rows_added,
            "reason": record.reason or None,
        }
    )
    if record.status == "quarantined":
        return Checked(False, True, f"{record.name}: quarantined whole: {record.reason}", metadata)
    if record.rows_quarantined:
        said = (
            f"{record.name}: {record.rows_quarantined:,} of {record.rows_read:,} rows quarantined"
        )
        return Checked(False, False, said, metadata)
    return Checked(True, False, f"{record.name}: all {record.rows_read:,} rows valid", metadata)


def gate(result: CycleResult) -> Checked | None:
    """The promotion gate's verdict on the version the cycle trained, if it trained one."""
    initial, retrain = step_of(result, "initial model"), step_of(result, "retrain")
    if initial is not None:
        passed = initial.outcome == "deployed"
        return Checked(passed, True, initial.detail.get("reason", ""), plain(initial.detail))
    if retrain is None:
        return None
    decision = plain(retrain.detail.get("gate") or {})
    # A rejected challenger is the gate doing its job: production stays, so a warning.
    return Checked(retrain.outcome == "promoted", False, retrain.detail["reason"], decision)


def decision(settings: Settings) -> Checked | None:
    """The promotion gate's newest recorded decision, if it made one."""
    with open_store(settings) as store:
        newest = store.rows(promotions, newest_first=True, limit=1)
    if not newest:
        return None
    row = plain(newest[0])
    return Checked(bool(row["promoted"]), False, str(row["reason"]), row)


def trained_version(result: CycleResult) -> str | None:
    """The model version the cycle trained (the first one, or a challenger), if any."""
    initial, retrain = step_of(result, "initial model"), step_of(result, "retrain")
    if initial is not None:
        return str(initial.detail["version"])
    return None if retrain is None else str(retrain.detail["challenger"])


def read_records(settings: Settings, result: CycleResult) -> CycleRecords:
    """The records of a finished cycle: what Dagster shows beside each asset."""
    with open_store(settings) as store:
        row = next(iter(store.rows(cycles, id=result.cycle_id)), {})
        found = CycleRecords(cycle=_cycle_values(row, result))
        ingest = step_of(result, "ingest")
        names = set(ingest.detail.get("batches", [])) if ingest else set()
        # The newest record of each name: a file replaced under its name is a new batch.
        found.batches = {b.name: b for b in store.batches() if b.name in names}
        version = trained_version(result)
        if version is not None:
            model = next(iter(store.rows(models, version=version)), {})
            found.model_version = _model_values(model)
            found.gate = gate(result)
        if result.outcome in ("initial", "promoted"):
            newest = store.rows(deployments, newest_first=True, limit=1)
            found.deployment = plain(newest[0]) if newest else None
        if result.cycle_id is not None and step_of(result, "call list"):
            listed = store.rows(call_lists, cycle_id=result.cycle_id)
            found.call_list = plain(listed[-1]) if listed else None
    report = step_of(result, "report")
    found.report = dict(report.detail) if report and report.outcome == "written" else None
    return found


def _cycle_values(row: Values, result: CycleResult) -> Values:
    steps = {step.name: step.outcome for step in result.steps}
    return plain(
        {
            "cycle_id": result.cycle_id,
            "trigger": row.get("trigger", result.trigger),
            "outcome": row.get("outcome", result.outcome),
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "steps": steps,
            "error": result.error,
        }
    )


def _model_values(row: Values) -> Values:
    holdout = (row.get("metrics") or {}).get("holdout") or {}
    scores = {name: (holdout.get(name) or {}).get("value") for name in ("f1", "roc_auc")}
    return plain(
        {
            "version": row.get("version"),
            "kind": row.get("kind"),
            "training_rows": row.get("training_rows"),
            "sha256": row.get("sha256"),
            "created_at": row.get("created_at"),
            "holdout_f1": scores["f1"],
            "holdout_roc_auc": scores["roc_auc"],
        }
    )
