"""What production holds, since when, with what scores, and how it got there.

Read-only and quick: the deployment and metadata files and the database's records, never a
model file; a current SQLite database is read with sqlite3 (storage/readonly.py), so that neither
SQLAlchemy nor scikit-learn nor pandas is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskwatch.config import Settings
from riskwatch.model.layout import (
    METADATA_FILE,
    Deployed,
    read_deployment,
    saved_versions,
    unrecorded_record,
)
from riskwatch.storage.files import read_json
from riskwatch.storage.readonly import read_only

if TYPE_CHECKING:
    from riskwatch.storage.store import Store

# A table's records by its name: (table, *, newest_first, limit, **column = value).
Rows = Callable[..., list[dict[str, Any]]]
HISTORY = 10
CYCLES = 5
SHOWN_METRICS = ("f1", "roc_auc", "precision_at_k", "brier")


@dataclass(frozen=True)
class Status:
    """The deployed model, its scores and the recent history."""

    deployed: dict[str, Any] | None
    holdout_metrics: dict[str, Any]
    latest_score: dict[str, Any] | None
    versions: int
    newest_version: str | None
    history: list[dict[str, Any]] = field(default_factory=list)
    promotions: list[dict[str, Any]] = field(default_factory=list)
    cycles: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The status as JSON-ready values."""
        return dict(vars(self))

    def summary(self) -> str:
        """The status as readable lines."""
        if self.deployed is None:
            return (
                f"Nothing is deployed. {self.versions} model version(s) saved"
                + (f", the newest {self.newest_version}" if self.newest_version else "")
                + " (list them: `riskwatch models`). Deploy one with `riskwatch deploy` "
                "(or run a cycle: `riskwatch run`)." + _cycles_text(self.cycles)
            )
        d = self.deployed
        lines = [
            f"Deployed: {d['version']} since {d['deployed_at']} ({d['reason']})",
            "  at training, on the holdout: " + _metrics_line(self.holdout_metrics),
        ]
        if self.latest_score:
            s = self.latest_score
            lines.append(
                f"  latest score, {s['scored_at']} on {s['dataset']} ({s['rows']:,} rows): "
                + _metrics_line(s["metrics"])
            )
        newer = "" if self.newest_version == d["version"] else f"; newest {self.newest_version}"
        lines.append(f"Versions saved: {self.versions}{newer} (list them: riskwatch models)")
        lines.append("Deployments (newest first):")
        for row in self.history:
            lines.append(
                f"  {row['deployed_at']}  {row['action']:<9} {row['version']}  {row['reason']}"
            )
        for row in self.promotions:
            verdict = "promoted" if row["promoted"] else "kept production"
            lines.append(
                f"Gate {row['decided_at']}: {row['challenger']} {verdict}: {row['reason']}"
            )
        return "\n".join(lines) + _cycles_text(self.cycles)


def _cycles_text(cycles: list[dict[str, Any]]) -> str:
    """The last cycles, one line each with its decisions."""
    if not cycles:
        return ""
    lines = ["", "Cycles (newest first):"]
    for row in cycles:
        decided = ", ".join(
            f"{step['name']}: {step['outcome']}"
            for step in row["steps"]
            if step["name"] in ("new data", "initial model", "evaluate", "retrain")
        )
        ending = f" ({row['error']})" if row["error"] else ""
        lines.append(
            f"  {row['started_at']}  {row['trigger']:<8} {row['outcome']:<12} {decided}{ending}"
        )
    return "\n".join(lines)


def _metrics_line(metrics: dict[str, Any]) -> str:
    parts = []
    for name in SHOWN_METRICS:
        value = (metrics.get(name) or {}).get("value")
        parts.append(f"{name} {'undefined' if value is None else f'{value:.4f}'}")
    return ", ".join(parts)


def read_status(settings: Settings) -> Status:
    """The status of the workspace settings name: read-only with sqlite3 when the database
    allows it (a migrated SQLite file), else through the store (which creates or migrates it)."""
    with read_only(settings.database_url) as rows:
        if rows is not None:
            return _status(settings, rows)
    from riskwatch.storage import open_store  # noqa: PLC0415 - SQLAlchemy only when needed

    with open_store(settings) as store:
        return status(settings, store)


def status(settings: Settings, store: Store) -> Status:
    """Read what is deployed and the recorded history; writes nothing."""
    from riskwatch.storage import tables  # noqa: PLC0415 - the store has loaded SQLAlchemy

    def rows(table: str, **query: Any) -> list[dict[str, Any]]:
        return store.rows(getattr(tables, table), **query)

    return _status(settings, rows)


def _status(settings: Settings, rows: Rows) -> Status:
    deployed = read_deployment(settings.prod_deployment_path)
    known = saved_versions(settings.output_model_path)
    holdout: dict[str, Any] = {}
    latest = None
    if deployed is not None:
        metadata = read_json(deployed.folder / METADATA_FILE) or {}
        holdout = metadata.get("metrics", {}).get("holdout", {})
        found = rows("scores", newest_first=True, limit=1, version=deployed.version)
        latest = found[0] if found else None
    return Status(
        deployed=deployed.to_dict() if deployed else None,
        holdout_metrics=holdout,
        latest_score=latest,
        versions=len(known),
        newest_version=known[-1] if known else None,
        history=_history(deployed, rows),
        promotions=rows("promotions", newest_first=True, limit=3),
        cycles=rows("cycles", newest_first=True, limit=CYCLES),
    )


def _history(deployed: Deployed | None, rows: Rows) -> list[dict[str, Any]]:
    """The recorded deployments, newest first, after the one production holds unrecorded."""
    # A crash between the switch and its record: shown as the next cycle or deploy records it.
    recorded = rows("deployments", newest_first=True, limit=HISTORY)
    missing = None if deployed is None else unrecorded_record(deployed, next(iter(recorded), None))
    return recorded if missing is None else [{"id": None, **missing}, *recorded][:HISTORY]
