"""Endpoints for the classic metrics: scores, summary statistics and diagnostics.

They answer with the latest recorded results; ?refresh=true computes them anew (and records
them). No GET trains or deploys anything: a refreshed /diagnostics leaves out the timings,
which train a model, and shows the last ones `riskwatch diagnose` recorded; only a refreshed
one asks the package index (within package_index_timeout), otherwise the dependencies shown
are the last recorded check's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from riskwatch.api.deps import ServedDep, SettingsDep, StoreDep
from riskwatch.api.schemas import PROBLEMS
from riskwatch.config import Settings
from riskwatch.diagnostics.diagnosis import RECORDED_KINDS, diagnose, history
from riskwatch.diagnostics.statistics import read_master_or_stop, summary_statistics
from riskwatch.model.metrics import METRIC_NAMES
from riskwatch.model.registry import read_deployment
from riskwatch.scoring import score
from riskwatch.storage.clock import utcnow
from riskwatch.storage.store import diagnostics, scores

router = APIRouter()
Refresh = Annotated[bool, Query(description="compute anew (and record) instead of reading")]


@router.get("/scoring", responses=PROBLEMS)
def scoring(
    served: ServedDep, settings: SettingsDep, store: StoreDep, refresh: Refresh = False
) -> dict[str, Any]:
    """The deployed model's metrics on the holdout, F1 first, with 95 % intervals."""
    version, holdout = served.deployed.version, str(settings.test_data_path)
    if refresh:
        found = score(settings, store).to_dict()
        return {"source": "computed", "f1": found["metrics"]["f1"]["value"], **found}
    rows = store.rows(scores, newest_first=True, limit=1, version=version, dataset=holdout)
    if rows:
        row = rows[0]
        fields = ("version", "dataset", "rows", "scored_at", "metrics")
        found = {name: row[name] for name in fields} | {"metrics": _f1_first(row["metrics"])}
        return {"source": "recorded", "f1": row["metrics"]["f1"]["value"]} | found
    # Not scored since it was deployed: the holdout score recorded when it was trained.
    metadata = served.metadata
    metrics = (metadata.get("metrics") or {}).get("holdout") or {}
    return {
        "source": "training",
        "f1": (metrics.get("f1") or {}).get("value"),
        "version": version,
        "dataset": holdout,
        "rows": (metadata.get("holdout") or {}).get("rows"),
        "scored_at": metadata.get("created_at"),
        "metrics": _f1_first(metrics),
    }


def _f1_first(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics in the order reports use: F1 first, as the classic asks."""
    return {name: metrics[name] for name in METRIC_NAMES if name in metrics}


@router.get("/summarystats", responses=PROBLEMS)
def summarystats(
    settings: SettingsDep, store: StoreDep, refresh: Refresh = False
) -> dict[str, Any]:
    """Count, mean, median, std, min, quartiles and max of each column of the master data."""
    latest = history(store, "summary_statistics", limit=1)
    if refresh or not latest:
        result = summary_statistics(read_master_or_stop(settings))
        version = _deployed_version(settings)
        store.add(
            diagnostics,
            kind="summary_statistics",
            version=version,
            result=result,
            created_at=utcnow(),
        )
        latest = history(store, "summary_statistics", limit=1)
        return {"source": "computed", **latest[0]}
    return {"source": "recorded", **latest[0]}


@router.get("/diagnostics", responses=PROBLEMS)
def diagnostics_(
    served: ServedDep, settings: SettingsDep, store: StoreDep, refresh: Refresh = False
) -> dict[str, Any]:
    """The latest of each diagnostic (predictions, statistics, missing data, timings,
    dependencies and drift); version is the model served, and predictions are its own."""
    version = served.deployed.version
    latest = history(store, "predictions", limit=1)
    source = "recorded"
    # Predictions recorded for another model (before a deployment) are not this one's.
    if refresh or not latest or latest[0]["version"] != version:
        # Timings train a model: not on a GET. The package index is asked only when asked
        # for (refresh): otherwise the dependencies are the last recorded check's.
        held = {served.deployed.sha256: served.model}  # the served model: no load from disk
        diagnose(settings, store, timings=False, dependencies=refresh, held=held)
        source = "computed"
    parts = {}
    for kind in RECORDED_KINDS:
        found = history(store, kind, limit=1)
        parts[kind] = found[0] if found else None
    answer: dict[str, Any] = {"source": source, "version": version, "parts": parts}
    predicted = (parts["predictions"] or {}).get("version")
    if predicted != version:  # production moved while this request ran
        answer["warning"] = f"the predictions are model {predicted}'s, not the served {version}'s"
    return answer


def _deployed_version(settings: Settings) -> str | None:
    deployed = read_deployment(settings.prod_deployment_path)
    return deployed.version if deployed else None
