"""What changed since the last report, in words: the model, the data, drift and the call list."""

from __future__ import annotations

import itertools
from typing import Any

from riskwatch.calllist.build import CallList
from riskwatch.reporting.details import when
from riskwatch.reporting.gather import Facts
from riskwatch.reporting.words import PLAIN, count, join, metric_name

SHOWN_BATCHES = 3


def changes(facts: Facts) -> list[str]:
    """What changed since the last report (or, for the first one, what the model is)."""
    since = facts.previous["created_at"] if facts.previous else None
    found = [] if since else ["This is the first report of this workspace."]
    found.append(model_change(facts, since))
    found.append(_new_data(facts, since))
    found.extend(_drift_changes(facts))
    found.append(_list_changes(facts.call_list))
    return found


def model_change(facts: Facts, since: str | None) -> str:
    """What happened to the production model since the last report, in words."""
    d = facts.deployed
    if since is not None and d.deployed_at <= since:
        return (
            f"The same model has been in production since {when(d.deployed_at)} "
            f"(version {d.version})."
        )
    before = earlier_period(facts.deployments, d.version, d.deployed_at)
    if before is not None:
        how = "Rolled back" if d.reason.startswith("rollback") else "Went back"
        away = f" from version {d.previous_version}" if d.previous_version else ""
        return (
            f"{how}{away} to version {d.version} on {when(d.deployed_at)}: the model that was "
            f"in production before, from {when(before[0])} to {when(before[1])}."
        )
    replaced = f", replacing version {d.previous_version}" if d.previous_version else ""
    return (
        f"A new model went into production on {when(d.deployed_at)} (version {d.version}"
        f"{replaced}): {_why(facts)}."
    )


def earlier_period(
    deployments: list[dict[str, Any]], version: str, deployed_at: str
) -> tuple[str, str] | None:
    """When the version was last in production before deployed_at: (from, to), or None."""
    rows = sorted(deployments, key=lambda row: str(row["deployed_at"]))
    found = None
    for row, after in itertools.pairwise(rows):
        if row["version"] == version and after["deployed_at"] <= deployed_at:
            found = (str(row["deployed_at"]), str(after["deployed_at"]))
    return found


def _why(facts: Facts) -> str:
    """Why the deployed model went into production, in words (the numbers are in the details)."""
    d = facts.deployed
    if d.reason.startswith("initial"):
        return "the first model of this workspace"
    if d.reason.startswith("promoted"):
        gate = next(
            (p for p in facts.status.promotions if p["challenger"] == d.version and p["promoted"]),
            None,
        )
        scores = ""
        if gate and gate["challenger_value"] is not None and gate["production_value"] is not None:
            scores = (
                f" ({metric_name(gate['metric'])} {gate['challenger_value']:.3f} against "
                f"{gate['production_value']:.3f})"
            )
        return (
            "retrained with the newest data, it predicted recent clients' outcomes better "
            f"than the model it replaces{scores}"
        )
    if d.reason == "manual":
        return "deployed by hand"
    return f"reason: {d.reason}"


def _new_data(facts: Facts, since: str | None) -> str:
    batches = facts.new_batches
    when_text = "since the last report" if since else "so far"
    if not batches:
        return f"No new data arrived {when_text}."
    names = [b.name for b in batches[-SHOWN_BATCHES:]]
    more = f" and {len(batches) - len(names)} earlier" if len(batches) > len(names) else ""
    rows = sum(b.rows_added for b in batches)
    return (
        f"{count(len(batches), 'data batch', 'data batches')} arrived {when_text} "
        f"({count(rows, 'new row')}): {', '.join(names)}{more}."
    )


def _drift_changes(facts: Facts) -> list[str]:
    if facts.previous is None:
        return []
    before = {f["feature"]: f["drifted"] for f in facts.previous["result"].get("features", [])}
    # A batch too small to judge says nothing of whether a column settled or moved.
    now = {d.feature: d.drifted for d in facts.drift.features if d.judged}
    newly = [PLAIN[f] for f, drifted in now.items() if drifted and not before.get(f)]
    settled = [PLAIN[f] for f, drifted in now.items() if not drifted and before.get(f)]
    found = []
    if newly:
        found.append(f"Changed since the last report: {join(newly)}.")
    if settled:
        found.append(f"Back in line with the training data: {join(settled)}.")
    return found


def _list_changes(call_list: CallList) -> str:
    change = call_list.frame["change"].astype(str)
    new, up = int((change == "new").sum()), int(change.str.startswith("risk up").sum())
    return (
        f"On the call list of {len(call_list.frame)}: {count(new, 'client')} new to the list, "
        f"{count(up, 'client')} with a higher risk than on the previous list."
    )
