"""The models page's view data, and its two writes: deploy a version, roll production back."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from riskwatch.catalog import catalog
from riskwatch.config import Settings
from riskwatch.deployment import DeployResult, deploy, rollback
from riskwatch.model.layout import VERSION_PATTERN
from riskwatch.scoring import LABELS
from riskwatch.storage.store import models
from riskwatch.webapp.charts import line_chart
from riskwatch.webapp.sources import Sources

# The workspace's run lock (scheduler.run_lock): the API passes it in, since the web app may
# not import the scheduler (the import contract keeps the two apart).
RunLock = Callable[[Settings], AbstractContextManager[None]]
METRICS = ("roc_auc", "pr_auc", "f1", "precision_at_k", "recall_at_k", "brier")


@dataclass(frozen=True)
class Action:
    """A deploy or rollback the reader asked for, as the confirmation page states it."""

    kind: str  # deploy | rollback
    version: str | None  # None: rollback to the previous version
    current: str | None


DONE = {
    "deploy": "Deployed: version {} is now in production.",
    "rollback": "Rolled back: version {} is now in production.",
    "unchanged": "Version {} was already in production: nothing changed.",
}


def done_message(done: str | None, version: str | None) -> str:
    """What the last write did, said after the redirect (built here, never from the URL's text)."""
    if done not in DONE or not version or not VERSION_PATTERN.fullmatch(version):
        return ""
    return DONE[done].format(version)


def metric_of(asked: str | None, settings: Settings) -> str:
    """The metric the chart follows: the one asked for, else the promotion gate's."""
    return asked if asked in METRICS else settings.gate_metric


def models_view(sources: Sources, metric: str) -> dict[str, Any]:
    """The saved versions, newest first, with holdout metrics, gate verdicts and times in
    production; the chosen metric across versions as a chart."""
    settings, store = sources.settings, sources.store()
    found = catalog(settings, store)
    recorded = {row["version"]: row["metrics"].get("holdout") or {} for row in store.rows(models)}
    versions = []
    for entry in found.versions:
        holdout = recorded.get(entry["version"], {})
        values = {name: (holdout.get(name) or {}).get("value") for name in METRICS}
        versions.append(entry | {"metrics": values})
    oldest_first = versions[::-1]
    chart = line_chart(
        list(range(len(oldest_first))),
        [
            (
                f"{LABELS.get(metric, metric)} on the holdout",
                [v["metrics"][metric] for v in oldest_first],
            )
        ],
        y_label=LABELS.get(metric, metric),
        time=False,
        x_labels=[
            f"v{n} · {v['version'][5:16].replace('T', ' ')}" for n, v in enumerate(oldest_first, 1)
        ],
    )
    return {
        "production": found.production,
        "versions": versions,
        "metrics": [(name, LABELS.get(name, name)) for name in METRICS],
        "metric": metric,
        "versions_chart": chart,
        "folder": found.folder,
    }


def _label(number: int, version: str) -> str:
    """A version as the chart's axis names it: v3 · 11-30 02:58."""
    return f"v{number} · {version[5:16].replace('T', ' ').replace('.', ':')}"


def asked_action(kind: str, version: str | None, sources: Sources) -> Action | None:
    """The action a request names, when it is one this workspace can do: a saved version
    to deploy, or a rollback while something is in production."""
    found = catalog(sources.settings, sources.store())
    current = found.production["version"] if found.production else None
    known = {entry["version"] for entry in found.versions}
    if kind == "deploy":
        if not version or not VERSION_PATTERN.fullmatch(version) or version not in known:
            return None
        return Action("deploy", version, current)
    if kind == "rollback" and found.production is not None:
        previous = found.production.get("previous_version")
        target = version if version and version in known else previous
        return Action("rollback", target, current) if target else None
    return None


def carry_out(action: Action, sources: Sources, lock: RunLock) -> DeployResult:
    """Deploy or roll back as `riskwatch deploy` / `rollback` do, holding the run lock so no
    cycle switches production meanwhile; a RiskwatchError says why it could not be done."""
    settings = sources.settings
    with lock(settings):
        store = sources.store()
        if action.kind == "deploy":
            return deploy(settings, store, action.version)
        return rollback(settings, store, action.version)
