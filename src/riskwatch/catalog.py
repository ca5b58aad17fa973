"""Every saved model version: what it was trained on, how it scored, when it was in production.

Read-only and quick: metadata.json files and the database's records, never a model file, so
neither scikit-learn nor pandas is imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskwatch.config import Settings
from riskwatch.model.layout import DEPLOYMENT_FILE, METADATA_FILE, saved_versions
from riskwatch.storage.files import read_json
from riskwatch.storage.store import Store, deployments, promotions

SHOWN = (("f1", "F1"), ("roc_auc", "ROC AUC"))


@dataclass(frozen=True)
class Catalog:
    """The saved versions, newest first, and the one in production."""

    folder: str
    production: dict[str, Any] | None
    versions: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The catalog as JSON-ready values."""
        return {"folder": self.folder, "production": self.production, "versions": self.versions}

    def text(self) -> str:
        """One line per version (newest first), its gate verdict below it when there was one."""
        if not self.versions:
            return f"No model version saved in {self.folder}: `riskwatch train` saves one"
        lines = [_production_line(self.production), ""]
        lines.append(f"  {'version':<28} {'created (UTC)':<17} {'rows':>9}   F1      ROC AUC")
        for entry in self.versions:
            mark = "*" if entry["in_production"] else " "
            scores = "  ".join(_score(entry["holdout"].get(name)) for name, _ in SHOWN)
            created = (entry["created_at"] or "?")[:16].replace("T", " ")
            rows = f"{entry['training_rows']:,}" if entry["training_rows"] is not None else "?"
            lines.append(f"{mark} {entry['version']:<28} {created:<17} {rows:>9}   {scores}")
            if entry["gate"]:
                lines.append(f"    gate: {entry['gate']['verdict']}: {entry['gate']['reason']}")
            for span in entry["deployments"]:
                until = span["until"] or "now"
                lines.append(f"    in production {span['from']} to {until} ({span['action']})")
        lines.append("")
        lines.append("* in production; holdout scores at training. Deploy one: riskwatch deploy V")
        return "\n".join(lines)


def _production_line(production: dict[str, Any] | None) -> str:
    if production is None:
        return "Nothing is in production: `riskwatch deploy VERSION` puts a version there"
    return (
        f"In production: {production['version']} since {production['deployed_at']} "
        f"({production['reason']})"
    )


def _score(value: float | None) -> str:
    return f"{value:.4f}" if value is not None else "  n/a "


def catalog(settings: Settings, store: Store) -> Catalog:
    """The saved versions with their metadata, gate verdicts and times in production."""
    root = settings.output_model_path
    production = _production(settings.prod_deployment_path)
    history = store.rows(deployments)  # oldest first: each entry lasts until the next one
    gates = {row["challenger"]: row for row in store.rows(promotions)}  # the last verdict wins
    versions = []
    for version in reversed(saved_versions(root)):
        metadata = read_json(root / version / METADATA_FILE)
        versions.append(
            _entry(version, metadata if isinstance(metadata, dict) else {}, production)
            | {"gate": _gate(gates.get(version)), "deployments": _spans(version, history)}
        )
    return Catalog(str(root), production, versions)


def _production(prod_path: Path) -> dict[str, Any] | None:
    """What the deployment pointer says is in production (the pointer, not the database)."""
    document = read_json(Path(os.path.realpath(prod_path)) / DEPLOYMENT_FILE)
    if not isinstance(document, dict) or "version" not in document:
        return None
    keys = ("version", "deployed_at", "reason", "previous_version")
    return {key: document.get(key) for key in keys}


def _entry(
    version: str, metadata: dict[str, Any], production: dict[str, Any] | None
) -> dict[str, Any]:
    holdout = (metadata.get("metrics") or {}).get("holdout") or {}
    return {
        "version": version,
        "created_at": metadata.get("created_at"),
        "kind": metadata.get("kind"),
        "training_rows": (metadata.get("training") or {}).get("rows"),
        "holdout": {name: (holdout.get(name) or {}).get("value") for name, _ in SHOWN},
        "in_production": production is not None and production["version"] == version,
    }


def _gate(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    verdict = "promoted" if row["promoted"] else "not promoted"
    return {"verdict": verdict, "reason": row["reason"], "decided_at": row["decided_at"]}


def _spans(version: str, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """When the version went into production, how, and until when (None: still there)."""
    spans = []
    for at, row in enumerate(history):
        if row["version"] == version:
            until = history[at + 1]["deployed_at"] if at + 1 < len(history) else None
            spans.append({"from": row["deployed_at"], "until": until, "action": row["action"]})
    return spans
