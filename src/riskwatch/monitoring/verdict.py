"""The deployed model judged on new rows: data drift, prediction drift and performance together,
and the verdict, keep or retrain, with its reasons."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.model.metrics import Metric, compute_metrics
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import METADATA_FILE, Deployed
from riskwatch.monitoring.calibrations import Calibrations, estimate_or_reason
from riskwatch.monitoring.drift import FeatureDrift, data_drift, prediction_drift
from riskwatch.monitoring.estimate import Estimate
from riskwatch.monitoring.evidence import Newest, read_reference
from riskwatch.monitoring.exclusions import Exclusion, Mask, exclusion
from riskwatch.monitoring.multivariate import DomainDrift, judged_domain_drift
from riskwatch.monitoring.performance import PerformanceDrift, performance_drift
from riskwatch.schema import FEATURES, ID_COLUMN, TARGET
from riskwatch.storage.files import read_json

log = logging.getLogger(__name__)
Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class DriftCheck:
    """Reference against newest: data drift, prediction drift, performance on new labels."""

    features: list[FeatureDrift]
    prediction: FeatureDrift | None
    performance: PerformanceDrift | None
    reason: str  # why drift was not measured; empty when it was
    newest_metrics: dict[str, Metric]  # point values on the newest rows' labels
    reference_risks: Array
    newest_risks: Array
    # the rows left out of performance (contacted before their outcome was known); None when
    # the ledger was not consulted
    excluded: Exclusion | None = None
    # the label-free estimate on the rows performance judges, and the domain classifier's
    # verdict on all the newest rows; None when there was nothing to compute them from
    estimated: Estimate | None = None
    multivariate: DomainDrift | None = None
    estimate_unavailable: str = ""  # "estimate unavailable: <reason>" when the estimate failed


@dataclass(frozen=True)
class Evaluation:
    """The deployed model judged on the rows of the batches a cycle judges, and the verdict."""

    version: str
    sha256: str  # of the model file judged
    batch_ids: tuple[int, ...]
    rows: int
    check: DriftCheck
    retrain: bool
    reason: str  # the evidence and the drifted columns, in words

    def to_dict(self) -> dict[str, Any]:
        """The evaluation as the cycle records it (JSON-ready values)."""
        check = self.check
        return {
            "version": self.version,
            "rows": self.rows,
            "performance": check.performance.to_dict() if check.performance else None,
            "data_drift": [f.to_dict() for f in check.features],
            "prediction_drift": check.prediction.to_dict() if check.prediction else None,
            "reason": self.reason,
        } | _excluded(self.check.excluded)

    def covers(self, sha256: str, newest: Newest) -> bool:
        """Whether this check is the one to show for newest: the same model on exactly its rows
        (so a second check would find the same numbers)."""
        return (
            not newest.in_training
            and newest.batch_id is not None
            and self.sha256 == sha256
            and self.batch_ids == (newest.batch_id,)
        )


def beside(check: DriftCheck) -> dict[str, Any]:
    """The checks the verdict does not use, as a cycle records them: the label-free estimate
    (with the realized figures on the same rows, or why it is unavailable) and the multivariate
    drift check."""
    found: dict[str, Any] = {
        "estimated": _estimated(check),
        "multivariate_drift": check.multivariate.to_dict() if check.multivariate else None,
    }
    if check.estimate_unavailable:
        found["estimate_unavailable"] = check.estimate_unavailable
    return found


def _estimated(check: DriftCheck) -> dict[str, Any] | None:
    if check.estimated is None:
        return None
    realized = {
        name: check.newest_metrics[name].value if name in check.newest_metrics else None
        for name in ("roc_auc", "precision_at_k")
    }
    return check.estimated.to_dict() | {"realized": realized}


def _excluded(excluded: Exclusion | None) -> dict[str, Any]:
    if excluded is None:
        return {}
    return {"excluded": {"rows": excluded.rows, "clients": excluded.clients}}


NO_REFERENCE = "the deployed model has no reference sample of its training data"


def check_drift(
    settings: Settings,
    model: Any,
    reference: pd.DataFrame | None,
    newest: Newest,
    metadata: dict[str, Any],
    *,
    left_out: Mask | None = None,
    sha256: str = "",
    calibrations: Calibrations | None = None,
) -> DriftCheck:
    """Data and prediction drift of the newest rows against the reference; performance on them
    but those left out (nothing, with the reason, when the model was trained on those rows).

    Drift keeps every row: a call cannot change the features a batch reports, and leaving the
    called clients out would take the riskiest away and show a drift that is not there.
    The label-free estimate uses the calibration held for sha256 in calibrations, if any."""
    if newest.in_training:
        # Scores on its own training rows say nothing of how the model does on data it has not
        # seen, and those rows are its drift reference's source: there is nothing to judge yet.
        reason = f"the newest data ({newest.name}) was part of this model's training"
        return DriftCheck([], None, None, reason, {}, np.empty(0), np.empty(0))
    risks = predict_risk(model, newest.frame)
    found = _performance_check(settings, newest.frame, risks, metadata, left_out)
    kept = _kept(left_out, len(risks))
    held = calibrations if calibrations is not None else Calibrations()
    estimated, unavailable = estimate_or_reason(settings, model, sha256, risks[kept], held)
    found = dataclasses.replace(found, estimated=estimated, estimate_unavailable=unavailable)
    if reference is None or reference.empty:
        return dataclasses.replace(found, reason=NO_REFERENCE)
    return _against_reference(settings, model, reference, newest.frame, found)


def _performance_check(
    settings: Settings,
    frame: pd.DataFrame,
    risks: Array,
    metadata: dict[str, Any],
    left_out: Mask | None,
) -> DriftCheck:
    """A check holding performance on the rows not left out (against the holdout score
    recorded at training), their point metrics and who was left out; no drift yet."""
    holdout = (metadata.get("metrics") or {}).get("holdout") or {}
    recorded = {name: Metric(**m) for name, m in holdout.items() if isinstance(m, dict)}
    excluded = None
    if left_out is not None:
        excluded = exclusion(frame, left_out, client_column=ID_COLUMN)
    kept = _kept(left_out, len(risks))
    labels = frame[TARGET].to_numpy()[kept]
    performance = performance_drift(recorded, labels, risks[kept], settings)
    # Point values only: the performance check above already bootstraps the metric it decides on.
    newest_metrics = compute_metrics(
        labels,
        risks[kept],
        threshold=settings.decision_threshold,
        k=settings.call_list_capacity,
        resamples=0,
    )
    return DriftCheck([], None, performance, "", newest_metrics, np.empty(0), risks, excluded)


def _kept(left_out: Mask | None, rows: int) -> Array:
    """The rows performance judges: all but those left out."""
    return np.ones(rows, dtype=bool) if left_out is None else ~left_out


def _against_reference(
    settings: Settings, model: Any, reference: pd.DataFrame, frame: pd.DataFrame, found: DriftCheck
) -> DriftCheck:
    """The check with drift per feature, of the predicted risk and of all features together
    (each not judged on a batch below drift_min_batch_rows)."""
    reference_risks = predict_risk(model, reference)
    return dataclasses.replace(
        found,
        features=data_drift(reference, frame, settings),
        prediction=prediction_drift(reference_risks, found.newest_risks, settings),
        reference_risks=reference_risks,
        multivariate=judged_domain_drift(
            reference,
            frame,
            FEATURES,
            min_rows=settings.drift_min_batch_rows,
            seed=settings.model_seed,
        ),
    )


def decide(check: DriftCheck) -> tuple[bool, str]:
    """Retrain when the score dropped beyond noise or any feature drifted; the reasons in words."""
    performance = check.performance
    drifted = [f.feature for f in check.features if f.drifted]
    worse = performance is not None and performance.decision == "retrain"
    reasons = [performance.evidence if performance else "", check.reason]
    if drifted:
        reasons.append(f"data drift in {', '.join(drifted)}")
    return worse or bool(drifted), "; ".join(r.rstrip(".") for r in reasons if r)


def judge(
    settings: Settings,
    deployed: Deployed,
    model: Any,
    rows: pd.DataFrame,
    batch_ids: list[int],
    *,
    left_out: Mask | None = None,
    calibrations: Calibrations | None = None,
) -> Evaluation:
    """The deployed model on the judged batches' rows: the drift check and the verdict
    (performance without the rows left out)."""
    metadata = read_json(deployed.folder / METADATA_FILE) or {}
    judged = Newest(f"{len(batch_ids)} new batch(es)", max(batch_ids), rows, in_training=False)
    reference = read_reference(settings, deployed)
    check = check_drift(
        settings,
        model,
        reference,
        judged,
        metadata,
        left_out=left_out,
        sha256=deployed.sha256,
        calibrations=calibrations,
    )
    retrain, reason = decide(check)
    log.debug(
        "version %s on %d rows: retrain %s (%s)", deployed.version, len(rows), retrain, reason
    )
    return Evaluation(
        deployed.version, deployed.sha256, tuple(batch_ids), len(rows), check, retrain, reason
    )


def newest_check(
    settings: Settings,
    model: Any,
    reference: pd.DataFrame | None,
    newest: Newest,
    metadata: dict[str, Any],
    *,
    sha256: str,
    held: Evaluation | None = None,
    left_out: Mask | None = None,
    calibrations: Calibrations | None = None,
) -> DriftCheck:
    """The check of the newest rows by the model whose file has this sha256: a cycle's own
    check when it covers them, else one made now."""
    if held is not None and held.covers(sha256, newest):
        return held.check
    return check_drift(
        settings,
        model,
        reference,
        newest,
        metadata,
        left_out=left_out,
        sha256=sha256,
        calibrations=calibrations,
    )
