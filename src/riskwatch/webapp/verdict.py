"""The overview's verdict, in the report's own words, from the last recorded check: nothing is
scored again per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskwatch.model.metrics import Metric
from riskwatch.model.registry import Deployed
from riskwatch.monitoring.drift import FeatureDrift
from riskwatch.monitoring.performance import PerformanceDrift
from riskwatch.storage.store import Store, diagnostics
from riskwatch.webapp.ledger import CycleView
from riskwatch.webapp.render import when

if TYPE_CHECKING:
    from riskwatch.monitoring.verdict import DriftCheck

# riskwatch.reporting is imported in the functions that use it: it brings matplotlib, which
# `serve` need not load to start (the first overview loads it once).
# ruff: noqa: PLC0415


@dataclass(frozen=True)
class Verdict:
    """Healthy, needs attention or not judged, the sentence why, and where that comes from."""

    state: str  # healthy | attention | not judged
    sentence: str
    checked: str  # what the verdict rests on, with its time
    extra: list[str]  # further reasons for attention: a failed cycle, a version change


@dataclass(frozen=True)
class Check:
    """The newest recorded drift check: who was judged, when, and the check itself."""

    at: str
    version: str | None
    batch: str
    in_training: bool
    drift: DriftCheck
    source: str


def feature(found: dict[str, Any]) -> FeatureDrift:
    """A recorded feature drift back as the monitoring's own result."""
    return FeatureDrift(**found)


def performance(found: dict[str, Any] | None) -> PerformanceDrift | None:
    """A recorded performance check back as the monitoring's own result."""
    if not found:
        return None
    return PerformanceDrift(**(found | {"current": Metric(**found["current"])}))


def _drift(features: list[Any], prediction: Any, perf: Any, reason: str) -> DriftCheck:
    from riskwatch.monitoring.verdict import DriftCheck

    empty = np.empty(0)
    predicted = feature(prediction) if prediction else None
    shown = [feature(f) for f in features]
    return DriftCheck(shown, predicted, performance(perf), reason, {}, empty, empty)


def newest_check(store: Store, cycles: list[CycleView]) -> Check | None:
    """The newest of the last report's drift record and the last cycle's evaluation."""
    from riskwatch.reporting.gather import DRIFT_KIND

    found: list[Check] = []
    record = next(iter(store.rows(diagnostics, newest_first=True, limit=1, kind=DRIFT_KIND)), None)
    if record is not None:
        result = record["result"]
        drift = _drift(
            result.get("features") or [],
            result.get("prediction"),
            result.get("performance"),
            result.get("reason") or "",
        )
        batch, trained = str(result.get("batch")), bool(result.get("in_training"))
        found.append(
            Check(record["created_at"], record["version"], batch, trained, drift, "report")
        )
    for cycle in cycles:  # newest first
        evaluated = _evaluation(cycle)
        if evaluated is not None:
            found.append(evaluated)
            break
    return max(found, key=lambda check: check.at) if found else None


def _evaluation(cycle: CycleView) -> Check | None:
    raw = cycle.evaluation
    if not raw or not raw.get("rows"):
        return None
    drift = _drift(
        raw.get("data_drift") or [],
        raw.get("prediction_drift"),
        raw.get("performance"),
        "",
    )
    at = cycle.finished_at or cycle.started_at
    return Check(at, raw.get("version"), f"cycle {cycle.id}", False, drift, f"cycle {cycle.id}")


def verdict(check: Check | None, deployed: Deployed | None, last: CycleView | None) -> Verdict:
    """The verdict on production: the report's sentence from the newest check, unless
    production changed since (then not yet judged); a failed last cycle needs attention."""
    extra = []
    if last is not None and last.outcome == "failed":
        extra.append(f"The last cycle ({when(last.started_at)}) failed: {last.error}.")
    if deployed is None:
        return Verdict("attention", "No model is in production.", "", extra)
    if check is None:
        sentence = "Not yet judged: no cycle has checked this model on new data."
        return Verdict("attention" if extra else "not judged", sentence, "", extra)
    where = (
        f"{'the report' if check.source == 'report' else check.source}'s check of {when(check.at)}"
    )
    if check.version is not None and check.version != deployed.version:
        sentence = (
            f"Not yet judged: version {deployed.version} went into production on "
            f"{when(deployed.deployed_at)}, after the last check (which was of version "
            f"{check.version}); the next cycle with new data judges it."
        )
        return Verdict("attention" if extra else "not judged", sentence, where, extra)
    from riskwatch.monitoring.evidence import Newest
    from riskwatch.reporting.summary import judgement

    newest = Newest(check.batch, None, pd.DataFrame(), in_training=check.in_training)
    state, sentence = judgement(check.drift, newest, deployed.deployed_at)
    return Verdict("attention" if extra else state, sentence, where, extra)
