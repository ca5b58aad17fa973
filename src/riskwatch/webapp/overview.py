"""The overview's view data: the verdict, what changed, the risk bands, production, the last
cycles, performance and drift over time; all read from what cycles recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from riskwatch.model.registry import Deployed, read_deployment
from riskwatch.reporting.calls import calls_lines, calls_rows
from riskwatch.storage.store import Store, call_list_items, call_lists, deployments
from riskwatch.webapp.charts import epoch, line_chart
from riskwatch.webapp.derived import Derived, kept_call_effect
from riskwatch.webapp.estimates import overview_lines
from riskwatch.webapp.ledger import CycleView, cycle_views, excluded_words
from riskwatch.webapp.render import when
from riskwatch.webapp.sources import Sources
from riskwatch.webapp.verdict import Verdict, newest_check, verdict

TIMELINE = 8  # cycles on the overview's timeline
HISTORY = 60  # cycles read for the performance and drift history
QUIET = ("no new data", "running")


@dataclass(frozen=True)
class Bands:
    """The published list's clients by risk band."""

    published_at: str
    version: str
    clients: int  # current clients scored for the list
    listed: int
    counts: dict[str, int]


def overview_view(sources: Sources, derived: Derived) -> dict[str, Any]:
    """Everything the overview shows; derived: what the app keeps from the master dataset."""
    settings, store = sources.settings, sources.store()
    history = cycle_views(store, settings.reports_path, limit=HISTORY)
    deployed = read_deployment(settings.prod_deployment_path)
    moves = store.rows(deployments)  # oldest first
    evaluated = [c for c in reversed(history) if c.evaluation and c.evaluation.get("rows")]
    return {
        "verdict": _verdict(store, history, deployed),
        "deployed": deployed,
        "changes": changes(history, moves),
        "bands": bands(store),
        "timeline": history[:TIMELINE],
        "performance": performance_rows(evaluated),
        "performance_chart": performance_chart(evaluated, moves),
        "drift": drift_rows(evaluated),
        "drift_chart": drift_chart(evaluated),
        "features": [(name, _plain(name)) for name in _features(evaluated)],
        "calls": _calls(sources, derived),
        "estimate": _estimate(history),
    }


def _calls(sources: Sources, derived: Derived) -> dict[str, Any]:
    """What calls achieve: the control group's comparison, in sentences and by band."""
    effect = kept_call_effect(sources, derived)
    return {"lines": calls_lines(effect), "rows": calls_rows(effect) if effect.lists else []}


def _estimate(history: list[CycleView]) -> list[str]:
    """The newest recorded estimate and multivariate check, in words (none before they existed)."""
    for cycle in history:  # newest first
        found = overview_lines(cycle.evaluation, cycle.id)
        if found:
            return found
    return []


def _verdict(store: Store, history: list[CycleView], deployed: Deployed | None) -> Verdict:
    last = history[0] if history else None
    return verdict(newest_check(store, history), deployed, last)


def _plain(feature: str) -> str:
    """A feature in a manager's words, as the report names it."""
    # Imported here: riskwatch.reporting brings matplotlib, which `serve` need not load to start.
    from riskwatch.reporting.words import PLAIN  # noqa: PLC0415

    return PLAIN.get(feature, feature)


def changes(history: list[CycleView], moves: list[dict[str, Any]]) -> list[str]:
    """What the last cycle with new data changed, and what happened after it."""
    judged = [c for c in history if c.outcome not in QUIET]
    if not judged:
        return ["No cycle has run on new data yet."]
    last = judged[0]
    found = [f"The last cycle with new data ran on {when(last.started_at)}: {last.words}"]
    for step in last.decisions:
        if step.name in ("ingest", "evaluate", "retrain", "call list"):
            why = f" ({step.evidence[0]})" if step.name == "retrain" and step.evidence else ""
            found.append(f"{step.name.capitalize()}: {step.outcome}{why}.")
    if last.evaluation and last.evaluation.get("performance"):
        found.extend(excluded_words(last.evaluation))
    found.extend(_drift_changes(judged))
    quiet = [c for c in history[: history.index(last)] if c.outcome == "no new data"]
    if quiet:
        found.append(
            f"Since then {len(quiet)} cycle{'' if len(quiet) == 1 else 's'} found no new data "
            f"(the latest on {when(quiet[0].started_at)})."
        )
    since = last.finished_at or last.started_at
    for move in moves:
        if str(move["deployed_at"]) > since:
            found.append(
                f"On {when(move['deployed_at'])}: {move['action']} to version "
                f"{move['version']} ({move['reason']})."
            )
    return found


def _drift_changes(judged: list[CycleView]) -> list[str]:
    # A batch too small to judge says nothing of whether a column settled or moved.
    evaluated = [c for c in judged if _judged_drift(c)]
    if len(evaluated) < 2:
        return []
    now, before = (_drifted(c) for c in evaluated[:2])
    newly = [_plain(f) for f in sorted(now - before)]
    settled = [_plain(f) for f in sorted(before - now)]
    found = []
    if newly:
        found.append(f"Newly drifted since the cycle before: {', '.join(newly)}.")
    if settled:
        found.append(f"Back in line with the training data: {', '.join(settled)}.")
    return found


def _judged_drift(cycle: CycleView) -> bool:
    drift = (cycle.evaluation or {}).get("data_drift") or []
    return any(d.get("judged", True) for d in drift)


def _drifted(cycle: CycleView) -> set[str]:
    drift = (cycle.evaluation or {}).get("data_drift") or []
    return {str(d["feature"]) for d in drift if d.get("drifted")}


def bands(store: Store) -> Bands | None:
    """The newest published list's clients counted by band (one small query)."""
    newest = store.rows(call_lists, newest_first=True, limit=1)
    if not newest:
        return None
    listed = newest[0]
    query = (
        sa.select(call_list_items.c.risk_band, sa.func.count())
        .where(call_list_items.c.list_id == listed["id"])
        .group_by(call_list_items.c.risk_band)
    )
    with store.begin() as conn:
        found = {str(band): int(n) for band, n in conn.execute(query)}
    counts = {band: found.get(band, 0) for band in ("high", "medium", "low")}
    return Bands(
        listed["published_at"], listed["version"], int(listed["clients"]), listed["size"], counts
    )


def performance_rows(evaluated: list[CycleView]) -> list[dict[str, Any]]:
    """The production model's score on each cycle's new labels, against its recorded score."""
    rows = []
    for cycle in evaluated:
        found = (cycle.evaluation or {}).get("performance")
        if not found:
            continue
        current = found["current"]
        rows.append(
            {
                "cycle": cycle.id,
                "at": cycle.started_at,
                "version": (cycle.evaluation or {}).get("version"),
                "metric": found["metric"],
                "value": current.get("value"),
                "low": current.get("low"),
                "high": current.get("high"),
                "recorded": found.get("recorded"),
                "rows": found.get("rows"),
                "decision": found.get("decision"),
                "changed": cycle.outcome in ("initial", "promoted"),
            }
        )
    return rows


def performance_chart(evaluated: list[CycleView], moves: list[dict[str, Any]]) -> dict[str, Any]:
    """Performance per cycle, with each change of the production model marked."""
    rows = performance_rows(evaluated)
    metric = rows[0]["metric"] if rows else "score"
    markers = [
        {"x": epoch(str(m["deployed_at"])), "label": f"{m['action']} {str(m['version'])[:16]}"}
        for m in moves
    ]
    return line_chart(
        [epoch(r["at"]) for r in rows],
        [
            (f"{metric} on the new labelled rows", [r["value"] for r in rows]),
            (f"{metric} recorded at training", [r["recorded"] for r in rows]),
        ],
        y_label=metric,
        markers=markers,
    )


def _features(evaluated: list[CycleView]) -> list[str]:
    names: list[str] = []
    for cycle in evaluated:
        for drift in (cycle.evaluation or {}).get("data_drift") or []:
            if drift["feature"] not in names:
                names.append(str(drift["feature"]))
    return names


def drift_rows(evaluated: list[CycleView]) -> list[dict[str, Any]]:
    """Each judged batch with each feature's drift test, verdict and PSI."""
    rows = []
    for cycle in evaluated:
        drift = (cycle.evaluation or {}).get("data_drift") or []
        if drift:
            features = {str(d["feature"]): d for d in drift}
            rows.append(
                {
                    "cycle": cycle.id,
                    "at": cycle.started_at,
                    "batches": cycle.batches,
                    "features": features,
                }
            )
    return rows


def drift_chart(evaluated: list[CycleView]) -> dict[str, Any]:
    """PSI per feature per judged batch (one scale for every feature and test)."""
    rows = drift_rows(evaluated)
    names = _features(evaluated)
    series = [
        (_plain(name), [r["features"].get(name, {}).get("psi") for r in rows]) for name in names
    ]
    threshold = next((d["psi_threshold"] for r in rows for d in r["features"].values()), None)
    return line_chart([epoch(r["at"]) for r in rows], series, y_label="PSI", threshold=threshold)
