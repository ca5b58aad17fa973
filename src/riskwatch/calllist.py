"""The call list: every client's latest record scored, ranked by risk, with reasons in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.errors import RiskwatchError
from riskwatch.files import atomic_path, read_json
from riskwatch.masterdata import neutralise, read_master
from riskwatch.models import predict_risk
from riskwatch.registry import METADATA_FILE, load_deployed
from riskwatch.schema import BATCH_COLUMN, FEATURES, ID_COLUMN, TARGET

CALL_LIST = "calllist.csv"
MIN_PUSH = 0.01  # a feature must move the risk by a percentage point to be named as a reason
MAX_REASONS = 3
NO_REASON = "no single feature stands out"
UNCHANGED = 0.005  # risk moves smaller than half a point are "unchanged"
COLUMNS = ["rank", ID_COLUMN, "probability", "risk_band", "reasons", "change", "previous_rank"]


@dataclass(frozen=True)
class CallList:
    """The ranked clients, the model that scored them, and where the list was written."""

    version: str
    clients: int
    frame: pd.DataFrame
    path: str
    departed: int = 0  # clients who left in the newest data (earlier leavers are not counted)

    def to_dict(self) -> dict[str, Any]:
        """The call list as JSON-ready values."""
        rows = self.frame.replace({np.nan: None}).to_dict(orient="records")
        return {
            "version": self.version,
            "clients": self.clients,
            "departed": self.departed,
            "path": self.path,
            "top": rows,
        }

    def summary(self, shown: int = 10) -> str:
        """The top of the list as readable lines."""
        lines = [
            f"Call list: {len(self.frame)} of {self.clients:,} current clients "
            f"(model {self.version}; {self.departed:,} who left in the newest data are not listed)"
        ]
        for row in self.frame.head(shown).itertuples(index=False):
            lines.append(
                f"{row.rank:>4}. {row.corporation:<14} {row.probability:6.1%} {row.risk_band:<6} "
                f"{row.change:<14} {row.reasons}"
            )
        if len(self.frame) > shown:
            lines.append(f"  … {len(self.frame) - shown} more in {self.path}")
        return "\n".join(lines)


def latest_records(master: pd.DataFrame) -> pd.DataFrame:
    """Each client's most recent record (the master dataset is in ingestion order)."""
    return master.drop_duplicates(ID_COLUMN, keep="last").reset_index(drop=True)


def departures(records: pd.DataFrame) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Of each client's latest record: whether it says the client left, and whether it did so
    in the newest batch (every leaver when the master has no batches)."""
    if TARGET not in records.columns:
        return np.zeros(len(records), bool), np.zeros(len(records), bool)
    gone = (records[TARGET] == 1).to_numpy()
    if BATCH_COLUMN not in records.columns or records.empty:
        return gone, gone
    # A drop is a snapshot of the current clients: those who left before the newest one are
    # in no later drop, and counting them all would grow by a month's leavers every month.
    newest = (records[BATCH_COLUMN] == records[BATCH_COLUMN].max()).to_numpy()
    return gone, gone & newest


def risk_band(risk: np.ndarray[Any, Any], *, high: float, medium: float) -> np.ndarray[Any, Any]:
    """high, medium or low for each risk."""
    return np.where(risk >= high, "high", np.where(risk >= medium, "medium", "low"))


def risks_and_pushes(
    model: Any, frame: pd.DataFrame, medians: dict[str, float]
) -> tuple[np.ndarray[Any, Any], pd.DataFrame]:
    """Each client's risk, and how much each feature raises it against a typical value."""
    month, year = frame["lastmonth_activity"], frame["lastyear_activity"]
    variants = [frame]
    for feature in FEATURES:
        typical = frame.copy()
        if feature == "lastmonth_activity":  # typical for this client: its own monthly pace
            typical[feature] = (year / 12).round().astype("int64")
        else:  # typical for clients: the training data's median
            typical[feature] = round(medians[feature])
        if feature == "lastyear_activity":
            # Keep last month in step with the year, so this names the client's scale of
            # activity and leaves last month's drop to the lastmonth_activity reason.
            scale = typical[feature] / year.where(year > 0, np.nan)
            typical["lastmonth_activity"] = (month * scale).fillna(month).round().astype("int64")
        variants.append(typical)
    # One call for the clients and their variants: a call has a fixed cost that a single
    # client's request would otherwise pay four times.
    risks = predict_risk(model, pd.concat(variants, ignore_index=True)).reshape(len(variants), -1)
    push = {feature: risks[0] - risks[i + 1] for i, feature in enumerate(FEATURES)}
    return risks[0], pd.DataFrame(push, index=frame.index)


def pushes(model: Any, frame: pd.DataFrame, medians: dict[str, float]) -> pd.DataFrame:
    """How much each feature raises each client's risk against a typical value of it."""
    return risks_and_pushes(model, frame, medians)[1]


def describe(feature: str, row: Any, percentiles: dict[str, list[float]]) -> str:
    """A feature's value in plain words, for a manager."""
    if feature == "lastmonth_activity":
        pace = row.lastyear_activity / 12
        if pace == 0:
            return "no activity over the last year"
        if row.lastmonth_activity == 0:
            return f"no activity last month (its monthly average is {pace:,.0f})"
        change = row.lastmonth_activity / pace - 1
        direction = "below" if change < 0 else "above"
        return f"last month's activity is {abs(change):.0%} {direction} its monthly average"
    value = getattr(row, feature)
    # The reference's 101 percentile points: the share of clients strictly below and above.
    points = percentiles[feature]
    below = min(max(float(np.searchsorted(points, value, side="left")) - 1, 0.0), 100.0)
    above = min(max(101 - float(np.searchsorted(points, value, side="right")), 0.0), 100.0)
    low = above >= below
    if feature == "lastyear_activity":
        level, than = (
            ("low", f"lower than {above:.0f}") if low else ("high", f"higher than {below:.0f}")
        )
        return f"{level} activity over the last year ({value:,}, {than} % of clients)"
    people = "employee" if value == 1 else "employees"
    than = f"smaller than {above:.0f}" if low else f"larger than {below:.0f}"
    return f"a {'small' if low else 'large'} company ({value:,} {people}, {than} % of clients)"


def reason_lists(model: Any, frame: pd.DataFrame, reference: dict[str, Any]) -> list[list[str]]:
    """For each client, the features that push its risk up most, in plain words."""
    push = pushes(model, frame, reference["medians"])
    return reason_words(push.to_numpy(), frame, reference["percentiles"])


def reason_words(
    push: np.ndarray[Any, Any], frame: pd.DataFrame, percentiles: dict[str, list[float]]
) -> list[list[str]]:
    """The features with the largest pushes (at least MIN_PUSH) of each client, in words."""
    order = np.argsort(-push, axis=1, kind="stable")[:, :MAX_REASONS]
    named = np.take_along_axis(push, order, axis=1) >= MIN_PUSH
    texts = []
    for row, features, keep in zip(frame.itertuples(index=False), order, named, strict=True):
        texts.append([describe(FEATURES[f], row, percentiles) for f in features[keep]])
    return texts


def reasons(model: Any, frame: pd.DataFrame, reference: dict[str, Any]) -> list[str]:
    """Each client's reasons as one line, as the call list shows them."""
    return [
        "; ".join(words) if words else NO_REASON for words in reason_lists(model, frame, reference)
    ]


def rank_clients(
    model: Any, records: pd.DataFrame, reference: dict[str, Any], *, top: int, settings: Settings
) -> pd.DataFrame:
    """The top clients by risk with band and reasons (reasons computed for the top only)."""
    risk = predict_risk(model, records)
    order = np.argsort(-risk, kind="stable")[:top]
    chosen = records.iloc[order].reset_index(drop=True)
    probability = risk[order]
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1),
            ID_COLUMN: chosen[ID_COLUMN].astype(str),
            "probability": probability.round(4),
            "risk_band": risk_band(
                probability, high=settings.risk_band_high, medium=settings.risk_band_medium
            ),
            "reasons": reasons(model, chosen, reference),
        }
    )


def compare(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Add each client's change since the previous list: new, risk up or down, unchanged."""
    out = current.copy()
    if previous is None or previous.empty:
        out["change"], out["previous_rank"] = "new", None
        return out
    before = previous.drop_duplicates(ID_COLUMN).set_index(ID_COLUMN)
    old_risk = out[ID_COLUMN].map(before["probability"])
    # Both lists hold risks rounded to 4 decimals; round the difference the same way so an
    # exact half-point move is not lost to binary floating point (0.2050 - 0.2000 < 0.005).
    delta = (out["probability"] - old_risk).round(4)
    out["change"] = np.select(
        [old_risk.isna(), delta >= UNCHANGED, delta <= -UNCHANGED],
        [
            "new",
            "risk up " + (delta * 100).round(1).astype(str) + " pts",
            "risk down " + (-delta * 100).round(1).astype(str) + " pts",
        ],
        default="unchanged",
    )
    out["previous_rank"] = out[ID_COLUMN].map(before["rank"]).astype("Int64")
    return out


def build_call_list(settings: Settings, top: int | None = None, *, write: bool = True) -> CallList:
    """Score every client's latest record with the deployed model; write calllist.csv.

    With write=False the list is compared with the last written one but not written, so a
    reader (the API) does not reset the managers' "change since the previous list".
    """
    deployed, model = load_deployed(settings.prod_deployment_path)
    metadata = read_json(deployed.folder / METADATA_FILE) or {}
    reference = metadata.get("reference")
    if not isinstance(reference, dict):
        raise RiskwatchError(f"{deployed.folder}: the deployed model's metadata has no reference")
    records = latest_records(read_master(settings.output_folder_path))
    # A client whose latest record says it left is gone: there is no one to call.
    gone, recent = departures(records)
    departed, records = int(recent.sum()), records[~gone].reset_index(drop=True)
    if records.empty:
        raise RiskwatchError(
            f"no clients in {settings.output_folder_path}: run `riskwatch ingest` first"
        )
    size = top if top is not None else settings.call_list_capacity
    ranked = rank_clients(model, records, reference, top=size, settings=settings)
    path = settings.reports_path / CALL_LIST
    listed = compare(ranked, _previous(path))
    if write:
        with atomic_path(path) as temporary:
            shown = listed.assign(**{c: neutralise(listed[c]) for c in (ID_COLUMN, "reasons")})
            shown.to_csv(temporary, index=False, columns=COLUMNS)
    return CallList(deployed.version, len(records), listed[COLUMNS], str(path), departed)


def _previous(path: Any) -> pd.DataFrame | None:
    try:
        # Ids such as "NA" are ids, as ingestion keeps them: no missing-value markers here.
        previous = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    if not {ID_COLUMN, "probability", "rank"} <= set(previous.columns):
        return None
    previous["probability"] = pd.to_numeric(previous["probability"], errors="coerce")
    previous["rank"] = pd.to_numeric(previous["rank"], errors="coerce")
    # Undo neutralise(): only a quote it added, before a formula character.
    previous[ID_COLUMN] = previous[ID_COLUMN].str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)
    return previous
