"""The client managers' part of the report, in plain words: health, changes, risk, whom to call."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from riskwatch.calllist.build import CallList
from riskwatch.calllist.published import reasons_line
from riskwatch.config import Settings
from riskwatch.reporting.details import when
from riskwatch.reporting.gather import DriftCheck, Facts, Newest
from riskwatch.schema import ID_COLUMN
from riskwatch.scoring import LABELS

PLAIN = {
    "lastmonth_activity": "last month's activity",
    "lastyear_activity": "activity over the last year",
    "number_of_employees": "company size",
    "predicted_risk": "predicted risk",
}
SHOWN = 10  # clients of the call list in the summary
SHOWN_BATCHES = 3
State = Literal["healthy", "attention", "not judged"]


@dataclass(frozen=True)
class ManagerSummary:
    """The report's first part: a verdict, what changed, the risk bands, the top of the list."""

    healthy: bool | None  # None: not judged yet (no data the model has not seen)
    state: State
    verdict: str
    changes: list[str]
    clients: int  # current clients: their latest record does not say they left
    left: int  # clients who left in the newest batch
    bands: dict[str, int]
    bands_sentence: str
    call_list_size: int
    call_list_path: str
    top: list[dict[str, Any]] = field(default_factory=list)
    top_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values."""
        return asdict(self)

    def text(self) -> str:
        """The summary as readable lines for a terminal."""
        lines = [self.verdict, "", "What changed:"]
        lines += [f"  - {change}" for change in self.changes]
        lines += ["", self.bands_sentence, "", self.call_first()]
        for row in self.top:
            lines.append(
                f"  {row['rank']:>3}. {row['client']:<14} {row['risk']:>6} {row['band']:<6} "
                f"{row['change']:<16} {row['reasons']}"
            )
        return "\n".join([*lines, *([self.top_note] if self.top_note else [])])

    def call_first(self) -> str:
        """The heading of the top of the call list."""
        # The file's name, not the server's path: managers get the file, not the machine.
        return (
            f"Call first: the top {len(self.top)} current clients of the call list of "
            f"{self.call_list_size} (all of them in {PurePath(self.call_list_path).name})"
        )


def count(number: int, thing: str, things: str | None = None) -> str:
    """'1 batch', '2 batches': a number with its noun in the right form."""
    return f"{number:,} {thing if number == 1 else (things or thing + 's')}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def verdict(drift: DriftCheck) -> tuple[bool, str]:
    """Healthy or needs attention, with the reasons, in one sentence."""
    problems = []
    performance = drift.performance
    if performance is not None and performance.decision == "retrain":
        problems.append(
            f"its accuracy on the {performance.rows:,} newest clients "
            f"({_metric(performance.metric)} {performance.current.value:.3f}) is worse than "
            f"when it was trained ({performance.recorded:.3f})"
        )
    moved = [PLAIN.get(d.feature, d.feature) for d in drift.features if d.drifted]
    if moved:
        problems.append(f"the clients' {_join(moved)} changed since it was trained")
    if drift.prediction is not None and drift.prediction.drifted:
        problems.append("the risks it predicts have shifted")
    if problems:
        return False, f"The model needs attention: {'; '.join(problems)}."
    data = (
        "the clients' data looks like the data it was trained on"
        if not drift.reason
        else f"data drift could not be checked ({drift.reason})"
    )
    return True, f"The model is healthy: {data}, and {_accuracy(drift)}."


def judgement(drift: DriftCheck, newest: Newest, deployed_at: str) -> tuple[State, str]:
    """The verdict on the model in production, judged only on data it was not trained on."""
    if newest.in_training:
        return "not judged", (
            "Not yet judged: no data since this model was trained. It went into production "
            f"on {when(deployed_at)}, trained on data up to the newest ({newest.name}); it "
            "will be judged on the next data that arrives."
        )
    healthy, sentence = verdict(drift)
    return ("healthy" if healthy else "attention"), sentence


def _metric(name: str) -> str:
    return LABELS.get(name, name)


def _accuracy(drift: DriftCheck) -> str:
    performance = drift.performance
    if performance is None or performance.decision != "keep" or performance.recorded is None:
        return "there are not yet enough new outcomes to check its accuracy"
    return (
        f"its accuracy on the {performance.rows:,} newest clients "
        f"({_metric(performance.metric)} {performance.current.value:.3f}) shows no clear drop "
        f"from when it was trained ({performance.recorded:.3f})"
    )


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
                f" ({_metric(gate['metric'])} {gate['challenger_value']:.3f} against "
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
    now = {d.feature: d.drifted for d in facts.drift.features}
    newly = [PLAIN[f] for f, drifted in now.items() if drifted and not before.get(f)]
    settled = [PLAIN[f] for f, drifted in now.items() if not drifted and before.get(f)]
    found = []
    if newly:
        found.append(f"Changed since the last report: {_join(newly)}.")
    if settled:
        found.append(f"Back in line with the training data: {_join(settled)}.")
    return found


def _list_changes(call_list: CallList) -> str:
    change = call_list.frame["change"].astype(str)
    new, up = int((change == "new").sum()), int(change.str.startswith("risk up").sum())
    return (
        f"On the call list of {len(call_list.frame)}: {count(new, 'client')} new to the list, "
        f"{count(up, 'client')} with a higher risk than on the previous list."
    )


def bands_sentence(bands: dict[str, int], left: int, settings: Settings) -> str:
    """How many current clients are in the high and medium bands, with the bands' edges."""
    clients = sum(bands.values())
    total = max(clients, 1)
    high, medium = bands.get("high", 0), bands.get("medium", 0)
    gone = f" ({count(left, 'other')} left in the newest data)" if left else ""
    return (
        f"Of your {count(clients, 'current client')}{gone}, {high:,} ({high / total:.1%}) "
        f"are at high risk of leaving ({settings.risk_band_high:.0%} or more) and {medium:,} "
        f"({medium / total:.1%}) at medium risk ({settings.risk_band_medium:.0%} to "
        f"{settings.risk_band_high:.0%})."
    )


def top_rows(facts: Facts) -> tuple[list[dict[str, Any]], int]:
    """The first clients of the call list who have not left, and how many who left came first."""
    left = set(facts.clients.loc[facts.clients["left"], ID_COLUMN].astype(str))
    rows: list[dict[str, Any]] = []
    skipped = 0
    for row in facts.call_list.frame.to_dict(orient="records"):
        if len(rows) == SHOWN:
            break
        if str(row[ID_COLUMN]) in left:  # a client who left cannot be called to stay
            skipped += 1
            continue
        rows.append(
            {
                "rank": int(row["rank"]),
                "client": str(row[ID_COLUMN]),
                "risk": f"{row['probability']:.1%}",
                "band": str(row["risk_band"]),
                "change": str(row["change"]),
                "reasons": reasons_line(row["reasons"]),
            }
        )
    return rows, skipped


def _top_note(shown: int, skipped: int, path: str) -> str:
    if not skipped:
        return ""
    where = "above these" if shown else "on the list"
    return (
        f"Not shown: {count(skipped, 'client')} {where} whose latest record says they already "
        f"left (the call list, {PurePath(path).name}, still ranks them)."
    )


def summarise(facts: Facts, settings: Settings) -> ManagerSummary:
    """The managers' summary of the gathered facts."""
    state, sentence = judgement(facts.drift, facts.newest, facts.deployed.deployed_at)
    current = facts.clients.loc[~facts.clients["left"], "band"]
    bands = {name: int((current == name).sum()) for name in ("high", "medium", "low")}
    left = int(facts.clients["left_recently"].sum())  # earlier leavers are in no recent drop
    top, skipped = top_rows(facts)
    return ManagerSummary(
        healthy=None if state == "not judged" else state == "healthy",
        state=state,
        verdict=sentence,
        changes=changes(facts),
        clients=len(current),
        left=left,
        bands=bands,
        bands_sentence=bands_sentence(bands, left, settings),
        call_list_size=len(facts.call_list.frame),
        call_list_path=facts.call_list.path,
        top=top,
        top_note=_top_note(len(top), skipped, facts.call_list.path),
    )
