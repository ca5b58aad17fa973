"""The client managers' part of the report, in plain words: health, changes, risk, whom to call."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from riskwatch.calllist.published import reasons_line
from riskwatch.config import Settings
from riskwatch.monitoring.evidence import Newest
from riskwatch.monitoring.verdict import DriftCheck
from riskwatch.reporting.calls import calls_lines, calls_rows
from riskwatch.reporting.changes import changes
from riskwatch.reporting.details import when
from riskwatch.reporting.gather import Facts
from riskwatch.reporting.words import PLAIN, count, join, metric_name
from riskwatch.schema import ID_COLUMN

SHOWN = 10  # clients of the call list in the summary
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
    calls: list[str] = field(default_factory=list)  # what calls achieve, in sentences
    calls_rows: list[dict[str, Any]] = field(default_factory=list)  # by band, then all

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
        lines += [self.top_note] if self.top_note else []
        return "\n".join([*lines, "", "What calls achieve:", *(f"  {c}" for c in self.calls)])

    def call_first(self) -> str:
        """The heading of the top of the call list."""
        # The file's name, not the server's path: managers get the file, not the machine.
        return (
            f"Call first: the top {len(self.top)} current clients of the call list of "
            f"{self.call_list_size} (all of them in {PurePath(self.call_list_path).name})"
        )


def verdict(drift: DriftCheck) -> tuple[bool, str]:
    """Healthy or needs attention, with the reasons, in one sentence."""
    problems = []
    performance = drift.performance
    if performance is not None and performance.decision == "retrain":
        problems.append(
            f"its accuracy on the {performance.rows:,} newest clients "
            f"({metric_name(performance.metric)} {performance.current.value:.3f}) is worse than "
            f"when it was trained ({performance.recorded:.3f})"
        )
    moved = [PLAIN.get(d.feature, d.feature) for d in drift.features if d.drifted]
    if moved:
        problems.append(f"the clients' {join(moved)} changed since it was trained")
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


def _accuracy(drift: DriftCheck) -> str:
    performance = drift.performance
    if performance is None or performance.decision != "keep" or performance.recorded is None:
        return "there are not yet enough new outcomes to check its accuracy"
    return (
        f"its accuracy on the {performance.rows:,} newest clients "
        f"({metric_name(performance.metric)} {performance.current.value:.3f}) shows no clear drop "
        f"from when it was trained ({performance.recorded:.3f})"
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
        calls=calls_lines(facts.calls),
        calls_rows=calls_rows(facts.calls) if facts.calls.lists else [],
    )
