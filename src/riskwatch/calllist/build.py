"""The call list: every client's latest record scored, ranked by risk, with reasons in words."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.calllist.published import (
    COLUMNS,
    CONTACT_COLUMNS,
    HOLDOUT,
    ListRef,
    last_published,
    reasons_line,
    record,
)
from riskwatch.calllist.value import VALUE_COLUMNS, ranking, value_columns
from riskwatch.config import Settings
from riskwatch.contacts.ledger import last_contacts
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.master import read_master
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.reasons import reasons
from riskwatch.model.registry import METADATA_FILE, Deployed, Loaded, load_deployed
from riskwatch.schema import BATCH_COLUMN, ID_COLUMN, TARGET
from riskwatch.storage.files import read_json
from riskwatch.storage.store import Store

CALL_LIST = "calllist.csv"
UNCHANGED = 0.005  # risk moves smaller than half a point are "unchanged"


@dataclass(frozen=True)
class CallList:
    """The ranked clients, the model that scored them, and the published list they compare with."""

    version: str
    clients: int
    # COLUMNS, CONTACT_COLUMNS, HOLDOUT; reasons: a list of phrases for each client
    frame: pd.DataFrame
    path: str  # the managers' published list, reports/calllist.csv (this one once published)
    departed: int = 0  # clients who left in the newest data (earlier leavers are not counted)
    compared_with: ListRef | None = None  # the published list "change" is measured against
    published: ListRef | None = None  # this list, once published

    def to_dict(self) -> dict[str, Any]:
        """The call list as JSON-ready values (no server paths: the API answers with this)."""
        return {
            "version": self.version,
            "clients": self.clients,
            "departed": self.departed,
            "published": self.published.to_dict() if self.published else None,
            "compared_with": self.compared_with.to_dict() if self.compared_with else None,
            "top": [_json_row(row) for row in self.frame.to_dict(orient="records")],
        }

    def lines(self, shown: int | None = None) -> list[str]:
        """The clients, one readable line each."""
        rows = self.frame.to_dict(orient="records")
        return [
            f"{row['rank']:>4}. {row[ID_COLUMN]:<14} {row['probability']:6.1%} "
            f"{row['risk_band']:<6} {row['change']:<14} {reasons_line(row['reasons'])}"
            f"{_contact_note(row)}{_holdout_note(row)}"
            for row in rows[:shown]
        ]

    def summary(self, shown: int = 10) -> str:
        """The top of the list as readable lines, then whether it was published."""
        since = self.compared_with.published_at if self.compared_with else None
        heading = [
            f"Call list: {len(self.frame)} of {self.clients:,} current clients "
            f"(model {self.version}; {self.departed:,} who left in the newest data are not listed)",
            f"Change: since the list published at {since}"
            if since
            else "Change: no list was published before, so every client is new",
        ]
        more = len(self.frame) - shown
        rest = [f"  … {more} more" + (f" in {self.path}" if self.published else "")]
        return "\n".join([*heading, *self.lines(shown), *(rest if more > 0 else []), self.where()])

    def where(self) -> str:
        """Whether this list was published, and where the managers' list is."""
        if self.published:
            return f"Published at {self.published.published_at} to {self.path}"
        still = f": the managers' list is still {self.path}" if self.compared_with else ""
        return f"Not published (a look only){still}; `riskwatch calllist --publish` publishes it"


def _json_row(row: dict[Any, Any]) -> dict[Any, Any]:
    previous = row["previous_rank"]
    when, outcome = (row.pop(column, None) for column in CONTACT_COLUMNS)
    return (
        row
        | {
            "rank": int(row["rank"]),
            "probability": float(row["probability"]),
            "reasons": list(row["reasons"]),
            "previous_rank": None if pd.isna(previous) else int(previous),
            HOLDOUT: bool(row.get(HOLDOUT, False)),
            "last_contact": {"contacted_at": when, "outcome": outcome}
            if isinstance(when, str)
            else None,
        }
        | {column: float(row[column]) for column in VALUE_COLUMNS if column in row}
    )


def _contact_note(row: dict[Any, Any]) -> str:
    """The client's last contact, for a readable line; nothing when never contacted."""
    when = row.get("last_contacted_at")
    return (
        f"  [last contact: {row['last_outcome']} on {when[:10]}]" if isinstance(when, str) else ""
    )


def _holdout_note(row: dict[Any, Any]) -> str:
    """The control-group mark, for a readable line; nothing for a client to call."""
    return "  [control group: do not call]" if row.get(HOLDOUT) else ""


def with_last_contacts(frame: pd.DataFrame, last: dict[str, dict[str, str]]) -> pd.DataFrame:
    """The list with each client's last contact (time and outcome; None when never contacted)."""
    found = [last.get(client) for client in frame[ID_COLUMN]]
    return frame.assign(
        **{
            column: pd.Series(
                [c[field] if c else None for c in found], index=frame.index, dtype=object
            )
            for column, field in zip(CONTACT_COLUMNS, ("contacted_at", "outcome"), strict=True)
        }
    )


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


def rank_clients(
    model: Any, records: pd.DataFrame, reference: dict[str, Any], *, top: int, settings: Settings
) -> pd.DataFrame:
    """The top clients by risk (or expected loss) with band and reasons (reasons computed for
    the top only); with value and expected loss when ranked by value."""
    risk = predict_risk(model, records)
    score, value = ranking(settings, records, risk)
    order = np.argsort(-score, kind="stable")[:top]
    chosen = records.iloc[order].reset_index(drop=True)
    probability = risk[order]
    ranked = pd.DataFrame(
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
    if value is None:
        return ranked
    return ranked.assign(value=value[order].round(2), expected_loss=score[order].round(2))


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


def build_call_list(
    settings: Settings,
    store: Store,
    top: int | None = None,
    held: Loaded | None = None,
    served: tuple[Deployed, Any, dict[str, Any]] | None = None,
) -> CallList:
    """Score every client's latest record with the deployed model, ranked, with the change
    since the list the managers last received. Writes nothing: see publish_call_list.
    served: the deployment, its model and reference already loaded (the API's)."""
    deployed, model, reference = served or deployed_model(settings, held)
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
    listed, ref = against_published(settings, store, ranked)
    path = settings.reports_path / CALL_LIST
    return CallList(deployed.version, len(records), listed, str(path), departed, ref)


def against_published(
    settings: Settings, store: Store, ranked: pd.DataFrame
) -> tuple[pd.DataFrame, ListRef | None]:
    """Ranked clients with their change since the managers' list, last contact and control
    group mark (a look: the published list's); the published list compared with."""
    previous = last_published(store, settings.reports_path / CALL_LIST)
    listed = compare(ranked, previous.frame if previous else None)
    listed = listed[[*COLUMNS, *value_columns(listed)]]
    listed = with_last_contacts(listed, last_contacts(store, set(listed[ID_COLUMN])))
    # A look marks the control group of the list the managers have; publishing draws a new one.
    control = set(previous.frame[ID_COLUMN][previous.frame[HOLDOUT]]) if previous else set()
    listed[HOLDOUT] = listed[ID_COLUMN].isin(control)
    return listed, previous.ref if previous else None


def deployed_model(
    settings: Settings, held: Loaded | None = None
) -> tuple[Deployed, Any, dict[str, Any]]:
    """The deployment, its model and the reference profile its reasons compare with."""
    deployed, model = load_deployed(settings.prod_deployment_path, held)
    metadata = read_json(deployed.folder / METADATA_FILE) or {}
    reference = metadata.get("reference")
    if not isinstance(reference, dict):
        raise RiskwatchError(f"{deployed.folder}: the deployed model's metadata has no reference")
    return deployed, model, reference


def publish_call_list(
    settings: Settings, store: Store, call_list: CallList, *, cycle_id: int | None = None
) -> CallList:
    """Give the managers this list: kept in the database with its time, written to calllist.csv."""
    values = {
        "version": call_list.version,
        "cycle_id": cycle_id,
        "clients": call_list.clients,
        "departed": call_list.departed,
    }
    path = settings.reports_path / CALL_LIST
    share = settings.call_list_holdout_share
    ref, frame = record(store, call_list.frame, path, list_values=values, share=share)
    return replace(call_list, frame=frame, path=str(path), published=ref)
