"""The steps of a cycle with new data; each returns what it found or decided, with numbers."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.calllist.build import CallList, build_call_list, publish_call_list
from riskwatch.config import Settings
from riskwatch.deployment import promote
from riskwatch.diagnostics.diagnosis import Diagnosis, diagnose
from riskwatch.fullprocess.result import Step
from riskwatch.ingestion.master import read_master
from riskwatch.model.registry import (
    Loaded,
    load_deployed,
    read_deployment,
    read_metadata,
)
from riskwatch.monitoring.calibrations import Calibrations, unavailable
from riskwatch.monitoring.challenger import (
    Shadow,
    refit_batches,
    shadow_challenger,
    shadow_gate,
)
from riskwatch.monitoring.estimate import Expected, expected_leavers
from riskwatch.monitoring.evidence import Holdout, holdout_evidence, judged_rows
from riskwatch.monitoring.exclusions import contacted_rows
from riskwatch.monitoring.verdict import Evaluation, beside, judge
from riskwatch.reporting import Given, build_report
from riskwatch.schema import BATCH_COLUMN, ID_COLUMN
from riskwatch.storage.store import Store
from riskwatch.training import TrainResult, train_version

CHANGES = ("new", "risk up", "risk down", "unchanged")  # a call list row's change, by kind
log = logging.getLogger(__name__)
EVALUATION_SHARE = 0.5  # of the new rows' clients, kept out of a retrain to judge it on


@dataclass
class Held:
    """What a cycle computed, passed to the steps after: each model file loaded once (by its
    sha256: production, and a challenger); the evaluation of the new rows, the holdout scores
    of the model deployed after the cycle (production's beside a retrain, or a newly deployed
    version's from its training), and the diagnosis, all of which the report shows; each
    model's holdout calibration (by sha256), made once for the estimate and the call list."""

    models: Loaded = field(default_factory=dict)
    evaluation: Evaluation | None = None
    holdout: Holdout | None = None
    diagnosis: Diagnosis | None = None
    shadow: Shadow | None = None
    calibrations: Calibrations = field(default_factory=Calibrations)


def deployed(settings: Settings) -> bool:
    """Whether production holds a model."""
    return read_deployment(settings.prod_deployment_path) is not None


def initial_step(settings: Settings, store: Store, held: Held) -> Step:
    """Nothing deployed yet: train on the master data, score on the holdout, deploy."""
    trained = train_version(settings, store)
    version = trained.version
    decision = promote(settings, store, version, held=held.models)
    _hold_if_deployed(held, trained, decision.promoted)
    holdout = _holdout_metrics(settings, version)
    detail = {"version": version, "holdout": holdout, "reason": "initial: nothing was deployed"}
    return Step("initial model", "deployed" if decision.promoted else "not deployed", detail)


def _hold_if_deployed(held: Held, trained: TrainResult, deployed: bool) -> None:
    """Hold a deployed version's holdout scores from its training for the report: the same
    model on the same rows, so the report need not score it again."""
    if deployed and trained.holdout is not None:
        held.holdout = trained.holdout


def _holdout_metrics(settings: Settings, version: str) -> dict[str, Any]:
    """A version's holdout scores, as recorded when it was trained."""
    metadata = read_metadata(settings.output_model_path, version)
    holdout = (metadata.get("metrics") or {}).get("holdout") or {}
    return {name: (holdout.get(name) or {}).get("value") for name in ("f1", "roc_auc")}


def evaluate_step(settings: Settings, store: Store, batch_ids: list[int], held: Held) -> Step:
    """Score the deployed model on the new labelled rows of clients nobody contacted before
    their outcome was known, check drift on all of them; retrain or keep."""
    rows = judged_rows(settings, batch_ids)
    if rows.empty:
        return Step("evaluate", "keep", {"rows": 0, "reason": "no new labelled rows to judge"})
    found, model = load_deployed(settings.prod_deployment_path, held.models)
    left_out, _ = contacted_rows(store, rows)
    # The report's own check: the same tests, thresholds and evidence; held for the report.
    judged = held.evaluation = judge(
        settings, found, model, rows, batch_ids, left_out=left_out, calibrations=held.calibrations
    )
    # Every cycle, whatever the check says: a concept drift can keep ROC AUC and still change
    # who belongs on the list, and only a model of the new world shows it.
    master = read_master(settings.output_folder_path)
    shadow = held.shadow = shadow_challenger(settings, master, batch_ids, model, left_out)
    detail = judged.to_dict() | beside(judged.check)
    detail["shadow"] = shadow.to_dict() if shadow else None
    retrain = judged.retrain or (shadow is not None and shadow.better)
    if shadow is not None and shadow.better:
        detail["reason"] = "; ".join(r for r in (judged.reason, shadow.evidence) if r)
    return Step("evaluate", "retrain" if retrain else "keep", detail)


def split_for_judging(rows: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    """A seeded share of the new rows' clients to judge a retrain on, and their mask."""
    clients = np.sort(rows[ID_COLUMN].astype(str).unique())
    rng = np.random.default_rng(seed)
    chosen = rng.choice(clients, size=int(len(clients) * EVALUATION_SHARE), replace=False)
    mask = rows[ID_COLUMN].astype(str).isin(chosen).to_numpy()
    return rows[mask].reset_index(drop=True), mask


def retrain_step(settings: Settings, store: Store, batch_ids: list[int], held: Held) -> Step:
    """Refit the evaluation's shadow challenger through the newest batches and deploy it when
    it beat production on their rows beyond noise; without one (no older batches), the
    challenger of the retrain window gated on half the new clients."""
    shadow = held.shadow
    if shadow is None:
        return _retrain_on_half(settings, store, batch_ids, held)
    batches = refit_batches(shadow.best.window, shadow.newest_batches)
    # The window judged slides forward: its older batches and every batch this cycle judged,
    # the rows the shadow fit on and refit_rows counted.
    tuned = dataclasses.replace(settings, training_recent_batches=batches or 1)
    # Deploy the kind that was judged; a set kind chooses itself (with its CV on small data).
    choice = shadow.choice if settings.model_kind == "auto" else None
    trained = train_version(
        tuned, store, window="all" if batches is None else "recent", choice=choice
    )
    challenger = trained.version
    production = read_deployment(settings.prod_deployment_path)
    decision = shadow_gate(settings, store, challenger, shadow, held=held.models)
    holdout, held.holdout = holdout_evidence(
        settings, challenger, decision.production, held.models, replaced=decision.promoted
    )
    _hold_if_deployed(held, trained, decision.promoted)
    detail = {
        "challenger": challenger,
        "window": shadow.best.name,
        "judged_on_rows": shadow.rows,
        "shadow": shadow.to_dict(),
        "gate": decision.to_dict(),
        "holdout": holdout,
        "reason": decision.reason,
        "previous": production.version if production else None,
    }
    return Step("retrain", "promoted" if decision.promoted else "rejected", detail)


def _retrain_on_half(settings: Settings, store: Store, batch_ids: list[int], held: Held) -> Step:
    """Train a challenger on the retrain window, without the judging clients' new rows, and
    promote it only if it beats production on those rows (the world as it is now)."""
    models = held.models
    master = read_master(settings.output_folder_path)
    is_new = master[BATCH_COLUMN].isin(batch_ids).to_numpy()
    judging, chosen = split_for_judging(master[is_new].reset_index(drop=True), settings.model_seed)
    kept_out = np.zeros(len(master), dtype=bool)
    kept_out[np.flatnonzero(is_new)[chosen]] = True
    trained = train_version(
        settings, store, master=master[~kept_out], window=settings.retrain_window
    )
    challenger = trained.version
    # The gate compares the models on clients nobody called: a saved client is no model's error.
    contacted, excluded = contacted_rows(store, judging)
    judging = judging[~contacted].reset_index(drop=True)
    decision = promote(
        settings, store, challenger, judging, data_name="newly labelled", held=models
    )
    holdout, held.holdout = holdout_evidence(
        settings, challenger, decision.production, models, replaced=decision.promoted
    )
    _hold_if_deployed(held, trained, decision.promoted)
    detail = {
        "challenger": challenger,
        "window": settings.retrain_window,
        "judged_on_rows": len(judging),
        "excluded": {"rows": excluded.rows, "clients": excluded.clients},
        "gate": decision.to_dict(),
        "holdout": holdout,
        "reason": decision.reason,
    }
    return Step("retrain", "promoted" if decision.promoted else "rejected", detail)


def diagnose_step(settings: Settings, store: Store, held: Held) -> Step:
    """Predictions, statistics, missing data and dependencies (timings train: not here)."""
    found = held.diagnosis = diagnose(settings, store, timings=False, held=held.models)
    return Step("diagnose", "recorded", {"parts": sorted(found.parts)})


def report_step(settings: Settings, store: Store, call_list: CallList, held: Held) -> Step:
    """The HTML and PDF report of the model now deployed, showing the list just published
    (and the cycle's diagnosis, evaluation and holdout scores, not second ones)."""
    given = Given(call_list, held.models, held.diagnosis, held.evaluation, held.holdout)
    written = build_report(settings, store, given=given)
    return Step("report", "written", {"html": str(written.html), "pdf": str(written.pdf)})


def calllist_step(
    settings: Settings, store: Store, cycle_id: int | None, held: Held
) -> tuple[Step, CallList]:
    """The managers' call list from the model now deployed: built once, published, recorded."""
    built = build_call_list(settings, store, held=held.models)
    found = publish_call_list(settings, store, built, cycle_id=cycle_id)
    top = found.frame.head(3)[[ID_COLUMN, "probability"]].to_dict(orient="records")
    expected, missing = _expected_leavers(settings, found, held)
    kinds = found.frame["change"].str.extract(f"^({'|'.join(CHANGES)})")[0]
    detail = {
        "path": found.path,
        "list": found.published.to_dict() if found.published else None,
        "compared_with": found.compared_with.to_dict() if found.compared_with else None,
        "clients": found.clients,
        "changes": {kind: int((kinds == kind).sum()) for kind in CHANGES},
        "top": top,
        "expected_leavers": expected.to_dict() if expected else None,
    }
    if missing:
        detail["estimate_unavailable"] = detail["reason"] = missing
    if expected:
        detail["reason"] = (
            f"expected to leave: {expected.leavers:.0f} of the {len(found.frame)} listed "
            f"(95 % band {expected.low:.0f} to {expected.high:.0f}; from calibrated risks, "
            "blind to concept drift)"
        )
    return Step("call list", f"{len(found.frame)} clients listed and published", detail), found


def _expected_leavers(
    settings: Settings, found: CallList, held: Held
) -> tuple[Expected | None, str]:
    """How many listed clients are expected to leave, by the deployed model's calibration (the
    evaluate step's when the model is the same); on an error, None and why (an extra, not a
    reason for the cycle to fail)."""
    deployed_now, model = load_deployed(settings.prod_deployment_path, held.models)
    try:
        calibration = held.calibrations.of(settings, model, deployed_now.sha256)
        if calibration is None:
            return None, ""
        return expected_leavers(calibration, found.frame["probability"].to_numpy()), ""
    except Exception as error:
        log.warning("expected leavers: %s", unavailable(error), exc_info=True)
        return None, unavailable(error)


def api_step(settings: Settings) -> Step:
    """Call the running API; a failure is reported here, not fatal to the cycle."""
    # Imported here: most cycles call no API, and its HTTP client is slow to import.
    from riskwatch.apicalls import call_api  # noqa: PLC0415

    returns = call_api(settings)
    failure = returns.failure()
    detail = {"url": returns.url, "paths": list(returns.paths)}
    if failure:
        return Step("api", "failed", detail | {"reason": failure})
    return Step("api", f"{len(returns.calls)} calls answered", detail)
