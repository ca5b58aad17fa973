"""The run ledger: each recorded cycle's trigger, steps, decisions with evidence, and report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from riskwatch.model.layout import VERSION_FORMAT, VERSION_PATTERN
from riskwatch.monitoring.exclusions import Exclusion
from riskwatch.storage.store import Store, cycles

# A cycle's outcome in a manager's words, and how it reads: good, attention or quiet.
OUTCOMES = {
    "no new data": ("No new data: nothing to judge.", "quiet"),
    "initial": ("First model trained and put into production.", "good"),
    "kept": ("The model held up on the new data and was kept.", "good"),
    "promoted": ("A retrained model beat production and replaced it.", "good"),
    "rejected": ("A retrained model did not beat production: production was kept.", "attention"),
    "failed": ("The cycle failed.", "attention"),
    "running": ("Running now (or stopped before it could record its end).", "quiet"),
}
DECIDING = ("new data", "ingest", "initial model", "evaluate", "retrain", "call list")


@dataclass(frozen=True)
class StepView:
    """One step as the ledger shows it."""

    name: str
    outcome: str
    seconds: float
    evidence: list[str]


@dataclass(frozen=True)
class CycleView:
    """One cycle as the ledger shows it."""

    id: int
    trigger: str
    outcome: str
    words: str
    tone: str
    started_at: str
    finished_at: str | None
    seconds: float | None
    steps: list[StepView]
    decisions: list[StepView]  # the steps that decided something, for the timeline
    error: str | None
    report: str | None  # the name of its report folder in reports/, when it wrote one
    evaluation: dict[str, Any] | None  # the evaluate step's record: performance and drift
    batches: list[str]  # the data batches it ingested


def cycle_views(store: Store, reports: Path, limit: int | None = None) -> list[CycleView]:
    """The recorded cycles, newest first, each with its report folder when it has one."""
    rows = store.rows(cycles, newest_first=True, limit=limit)
    folders = report_folders(reports)
    return [cycle_view(row, folders) for row in rows]


def report_folders(reports: Path) -> list[str]:
    """The kept reports' folder names (their UTC times), oldest first."""
    if not reports.is_dir():
        return []
    return sorted(
        p.name for p in reports.iterdir() if VERSION_PATTERN.fullmatch(p.name) and p.is_dir()
    )


def folder_time(name: str) -> str:
    """A report folder's name as an ISO time comparable with the database's times."""
    moment = datetime.strptime(name, VERSION_FORMAT)
    return moment.isoformat(timespec="microseconds") + "Z"


def cycle_view(row: dict[str, Any], folders: list[str]) -> CycleView:
    """One cycles row in words; its report is the folder written while it ran."""
    words, tone = OUTCOMES.get(row["outcome"], (row["outcome"], "quiet"))
    started, finished = str(row["started_at"]), row["finished_at"]
    steps = [step_view(step) for step in row["steps"] or []]
    recorded = {step.get("name"): step.get("detail") or {} for step in row["steps"] or []}
    report = None
    if finished and any(step.name == "report" for step in steps):
        report = next((f for f in folders if started <= folder_time(f) <= finished), None)
    return CycleView(
        id=int(row["id"]),
        trigger=str(row["trigger"]),
        outcome=str(row["outcome"]),
        words=words,
        tone=tone,
        started_at=started,
        finished_at=finished,
        seconds=_seconds(started, finished),
        steps=steps,
        decisions=[s for s in steps if s.name in DECIDING and s.outcome != "none"],
        error=row["error"],
        report=report,
        evaluation=recorded.get("evaluate"),
        batches=list(recorded.get("ingest", {}).get("batches") or []),
    )


def _seconds(started: str, finished: str | None) -> float | None:
    if not finished:
        return None
    begin = datetime.fromisoformat(started.replace("Z", "+00:00"))
    end = datetime.fromisoformat(finished.replace("Z", "+00:00"))
    return round((end - begin).total_seconds(), 1)


def step_view(step: dict[str, Any]) -> StepView:
    """A recorded step with its evidence in words."""
    detail = step.get("detail") or {}
    name = str(step.get("name", "?"))
    return StepView(
        name, str(step.get("outcome", "")), float(step.get("seconds") or 0), evidence(name, detail)
    )


def evidence(name: str, detail: dict[str, Any]) -> list[str]:
    """What a step's record says, sentence by sentence."""
    if name == "evaluate":
        return _evaluate_evidence(detail)
    if name == "retrain":
        return _retrain_evidence(detail)
    if name == "initial model":
        scores = detail.get("holdout") or {}
        shown = ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if v is not None)
        return [f"Version {detail.get('version')}" + (f": on the holdout {shown}" if shown else "")]
    if name == "call list":
        changes = detail.get("changes") or {}
        said = ", ".join(f"{n:,} {kind}" for kind, n in changes.items() if n)
        clients = detail.get("clients")
        scored = f"{clients:,} current clients scored" if isinstance(clients, int) else ""
        return [s for s in (scored, f"Since the last list: {said}" if said else "") if s]
    if name in ("new data", "ingest") and detail.get("batches"):
        found = [f"Batches: {', '.join(detail['batches'])}"]
        return found + ([str(detail["reason"])] if detail.get("reason") else [])
    return [str(detail["reason"])] if detail.get("reason") else []


def _evaluate_evidence(detail: dict[str, Any]) -> list[str]:
    found = []
    performance = detail.get("performance")
    if performance:
        found.append(str(performance["evidence"]))
        found.extend(excluded_words(detail))
    drifted = [d for d in detail.get("data_drift") or [] if d.get("drifted")]
    for drift in drifted:
        found.append(
            f"Data drift in {drift['feature']}: {drift['test']} {drift['statistic']:.3g} "
            f"(threshold {drift['threshold']:g}), PSI {drift['psi']:.3f}"
        )
    if not found and detail.get("reason"):
        found.append(str(detail["reason"]))
    return found


def _retrain_evidence(detail: dict[str, Any]) -> list[str]:
    found = [f"Challenger {detail.get('challenger')}: {detail.get('reason', '')}"]
    found.extend(excluded_words(detail))
    holdout = detail.get("holdout") or {}
    if holdout.get("challenger") is not None and holdout.get("production") is not None:
        found.append(
            f"On the fixed holdout ({holdout.get('rows') or '?'} rows): {holdout['metric']} "
            f"{holdout['challenger']:.3f} against production's {holdout['production']:.3f}"
        )
    return found


def excluded_words(detail: dict[str, Any]) -> list[str]:
    """The rows a judgement left out because a manager contacted their clients, in words."""
    excluded = detail.get("excluded")
    if not excluded:
        return []
    rows, clients = (int(excluded.get(key) or 0) for key in ("rows", "clients"))
    return [Exclusion(rows, clients).sentence()]
