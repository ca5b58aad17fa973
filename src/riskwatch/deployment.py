"""Deployment: switch production to a version atomically, keep the history, roll back, gate."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from riskwatch.config import Settings
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.datasets import read_labelled
from riskwatch.ingestion.master import INGESTED_LIST
from riskwatch.model.layout import unrecorded_record
from riskwatch.model.metrics import better
from riskwatch.model.registry import (
    DEPLOYMENT_FILE,
    METADATA_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    Deployed,
    Loaded,
    load_model,
    load_verified,
    read_deployment,
    read_metadata,
    versions,
)
from riskwatch.scoring import LATEST_SCORE, metric_value, score_text
from riskwatch.storage.clock import utcnow
from riskwatch.storage.files import (
    fsync_file,
    fsync_folder,
    write_json_atomic,
    write_text_atomic,
)
from riskwatch.storage.store import Store, deployments, promotions

MOVED_ASIDE = "previous-folder-"
KEEP_FOLDERS = 3  # deployment folders kept beside production: current and recent ones


class DeploymentError(RiskwatchError):
    """A deployment or rollback that cannot be done; production is unchanged."""


@dataclass(frozen=True)
class DeployResult:
    """What production holds after a deploy or rollback, and whether it changed."""

    deployed: Deployed
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return {**self.deployed.to_dict(), "changed": self.changed}


@dataclass(frozen=True)
class GateDecision:
    """The promotion gate's verdict on a challenger, with its numbers."""

    challenger: str
    production: str | None
    metric: str
    margin: float
    challenger_value: float | None
    production_value: float | None
    promoted: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready values."""
        return dict(vars(self))


def deployments_folder(prod_path: Path) -> Path:
    """Where the deployment folders live; production is a link to one of them."""
    return prod_path.parent / f".{prod_path.name}.d"


def newest_version(settings: Settings) -> str:
    """The most recently trained version."""
    known = versions(settings.output_model_path)
    if not known:
        raise DeploymentError(
            f"no model version in {settings.output_model_path}: run `riskwatch train` first"
        )
    return known[-1]


def deploy(
    settings: Settings,
    store: Store,
    version: str | None = None,
    *,
    reason: str = "manual",
    action: str = "deploy",
    force: bool = False,
    held: Loaded | None = None,
) -> DeployResult:
    """Make a version (default: the newest) the production model, atomically, and record it;
    a model that ranks no better than chance only with force; held: models already loaded."""
    root, prod = settings.output_model_path, settings.prod_deployment_path
    reconcile(settings, store)
    version = version or newest_version(settings)
    metadata = read_metadata(root, version)
    load_model(root, version, held)  # a tampered or foreign model never reaches production
    current = read_deployment(prod)
    if current is not None and current.version == version:
        return DeployResult(current, changed=False)
    chance = chance_level(metadata)
    if chance is not None and not force:
        raise DeploymentError(
            f"{version} is not deployed: it ranks no better than chance ({chance}). Train on "
            f"more data, or deploy it anyway with `riskwatch deploy --force {version}`"
        )
    if chance is not None:
        reason = f"{reason}; FORCED although it ranks no better than chance ({chance})"
    record = {
        "version": version,
        "deployed_at": utcnow(),
        "reason": reason,
        "action": action,
        "previous_version": current.version if current else None,
        "sha256": metadata["sha256"],
    }
    folder = _stage(root / version, prod, metadata, record)
    _switch(prod, folder)
    store.add(deployments, **{k: v for k, v in record.items() if k != "sha256"})
    _prune(prod)
    deployed = read_deployment(prod)
    if deployed is None:  # the switch was made above; only a concurrent change could do this
        raise DeploymentError(f"{prod}: the deployment disappeared after the switch")
    return DeployResult(deployed, changed=True)


def chance_level(metadata: dict[str, Any]) -> str | None:
    """Why a version ranks no better than chance, or None if it does (or was never checked)."""
    ranking = metadata.get("ranking")  # versions trained before the check have none
    if not ranking or ranking.get("better_than_chance", True):
        return None
    return str(ranking.get("reason", "no reason recorded"))


def _stage(source: Path, prod: Path, metadata: dict[str, Any], record: dict[str, Any]) -> Path:
    """A complete deployment folder, written and synced before production points at it."""
    parent = deployments_folder(prod)
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{record['version']}-", dir=parent))
    folder.chmod(0o755)  # mkdtemp makes it private; an API server may run as another user
    shutil.copy2(source / MODEL_FILE, folder / MODEL_FILE)
    shutil.copy2(source / METADATA_FILE, folder / METADATA_FILE)
    if (source / REFERENCE_FILE).exists():  # the drift reference travels with the model
        shutil.copy2(source / REFERENCE_FILE, folder / REFERENCE_FILE)
    f1 = metadata.get("metrics", {}).get("holdout", {}).get("f1", {}).get("value")
    write_text_atomic(folder / LATEST_SCORE, score_text(f1))
    batches = metadata.get("training", {}).get("batches", [])
    write_text_atomic(folder / INGESTED_LIST, "".join(f"{name}\n" for name in batches))
    write_json_atomic(folder / DEPLOYMENT_FILE, record)  # written last: it marks the folder whole
    fsync_file(folder / MODEL_FILE)
    fsync_folder(folder)
    return folder


def _switch(prod: Path, folder: Path) -> None:
    """Point production at the folder with one rename of a symbolic link."""
    if prod.is_dir() and not prod.is_symlink():
        # A plain folder from another tool or an older layout: keep it beside the others.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        prod.rename(deployments_folder(prod) / f"{MOVED_ASIDE}{stamp}")
    link = prod.parent / f".{prod.name}.link-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(folder, prod.parent))
    link.replace(prod)  # rename(2) is atomic: readers see the old target or the new one
    fsync_folder(prod.parent)


def _prune(prod: Path) -> None:
    """Remove deployment folders beyond the most recent few, never the one in production."""
    parent = deployments_folder(prod)
    current = Path(os.path.realpath(prod))
    # A folder moved aside from an older layout holds the user's files: it is never pruned.
    ours = [p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(MOVED_ASIDE)]
    for old in sorted(ours, key=lambda p: p.stat().st_mtime, reverse=True)[KEEP_FOLDERS:]:
        if old.resolve() != current:
            shutil.rmtree(old, ignore_errors=True)
    for link in prod.parent.glob(f".{prod.name}.link-*"):  # a switch killed before its rename
        if not _alive(link.name.rsplit("-", 1)[-1]):
            with contextlib.suppress(OSError):
                link.unlink()


def _alive(pid: str) -> bool:
    """Whether a process id names a running process (so its link is still in use)."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # another user's process exists
        return True
    return True


def reconcile(settings: Settings, store: Store) -> None:
    """Record a deployment that reached disk but not the database (a crash in between)."""
    missing = unrecorded(settings, store)
    if missing is not None:
        store.add(deployments, **missing)


def unrecorded(settings: Settings, store: Store) -> dict[str, Any] | None:
    """The record of the deployment in production when the database lacks it, else None."""
    deployed = read_deployment(settings.prod_deployment_path)
    if deployed is None:
        return None
    last = store.rows(deployments, newest_first=True, limit=1)
    return unrecorded_record(deployed, last[0] if last else None)


def rollback(settings: Settings, store: Store, version: str | None = None) -> DeployResult:
    """Return production to the version before the current one (or a named one)."""
    current = read_deployment(settings.prod_deployment_path)
    if current is None:
        raise DeploymentError("nothing is deployed, so there is nothing to roll back")
    target = version or current.previous_version
    if target is None:
        raise DeploymentError(
            f"{current.version} was the first deployment: no earlier version to roll back to"
        )
    # The target was in production before: it goes back as it was, checked or not then.
    return deploy(
        settings,
        store,
        target,
        reason=f"rollback from {current.version}",
        action="rollback",
        force=True,
    )


def promote(
    settings: Settings,
    store: Store,
    challenger: str | None = None,
    holdout: pd.DataFrame | None = None,
    data_name: str = "holdout",
    *,
    held: Loaded | None = None,
) -> GateDecision:
    """Deploy the challenger (default: the newest) only if it beats production by the margin
    on the holdout (or on the labelled rows given, called data_name in the reason)."""
    challenger = challenger or newest_version(settings)
    metric, margin = settings.gate_metric, settings.gate_margin
    current = read_deployment(settings.prod_deployment_path)
    chance = chance_level(read_metadata(settings.output_model_path, challenger))
    if current is None:
        if chance is not None:  # production stays empty, loudly: an arbitrary call list is worse
            decision = GateDecision(challenger, None, metric, margin, None, None, False, "")
            _record(store, _with(decision, False, f"ranks no better than chance ({chance})"))
        deploy(settings, store, challenger, reason="initial: nothing was deployed", held=held)
        decision = GateDecision(challenger, None, metric, margin, None, None, True, "initial")
        return _record(store, decision)
    if chance is not None and challenger != current.version:
        decision = GateDecision(challenger, current.version, metric, margin, None, None, False, "")
        return _record(store, _with(decision, False, f"ranks no better than chance ({chance})"))
    frame = holdout if holdout is not None else read_labelled(settings.test_data_path)
    challenger_model = load_model(settings.output_model_path, challenger, held)
    production_model = load_verified(current.folder / MODEL_FILE, current.sha256, held)
    # The gate compares values: the bootstrap of every metric's interval is not drawn here.
    new = metric_value(challenger_model, frame, settings, metric)
    old = metric_value(production_model, frame, settings, metric)
    decision = GateDecision(challenger, current.version, metric, margin, new, old, False, "")
    if challenger == current.version:
        return _record(store, _with(decision, False, "the challenger is already in production"))
    if new is None or old is None:
        undefined = f"{metric} is undefined on the {data_name} rows"
        return _record(store, _with(decision, False, undefined))
    promoted = better(metric, new, old, margin)
    verdict = "beats" if promoted else "does not beat"
    reason = (
        f"{metric} {new:.4f} vs production {old:.4f} ({new - old:+.4f}) on {len(frame):,} "
        f"{data_name} rows: {verdict} production by the margin {margin}"
    )
    if promoted:
        deploy(settings, store, challenger, reason=f"promoted: {reason}", held=held)
    return _record(store, _with(decision, promoted, reason))


def _with(decision: GateDecision, promoted: bool, reason: str) -> GateDecision:
    return GateDecision(**{**vars(decision), "promoted": promoted, "reason": reason})


def _record(store: Store, decision: GateDecision) -> GateDecision:
    store.add(promotions, decided_at=utcnow(), **decision.to_dict())
    return decision
