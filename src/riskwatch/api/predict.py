"""Predictions for clients sent to the API: risk, label, band and reasons, client by client."""

from __future__ import annotations

from typing import Any

import pandas as pd

from riskwatch.api.served import Served
from riskwatch.calllist.build import risk_band
from riskwatch.config import Settings
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.reasons import NO_REASON, reason_words, risks_and_pushes
from riskwatch.schema import ID_COLUMN


def predict_clients(
    served: Served, frame: pd.DataFrame, settings: Settings, *, reasons: bool = True
) -> list[dict[str, Any]]:
    """One answer per client, in the order sent (position is its index in the request)."""
    if reasons:
        risk, push = risks_and_pushes(served.model, frame, served.reference["medians"])
        words = reason_words(push.to_numpy(), frame, served.reference["percentiles"])
    else:
        risk, words = predict_risk(served.model, frame), None
    bands = risk_band(risk, high=settings.risk_band_high, medium=settings.risk_band_medium)
    labels = risk >= settings.decision_threshold
    ids = frame[ID_COLUMN].astype(str).tolist()
    answers = []
    for position, (client, probability, label, band) in enumerate(
        zip(ids, risk.tolist(), labels.tolist(), bands.tolist(), strict=True)
    ):
        answer: dict[str, Any] = {
            "position": position,
            ID_COLUMN: client,
            "probability": round(probability, 6),
            "label": int(label),
            "risk_band": band,
        }
        if words is not None:
            answer["reasons"] = words[position] or [NO_REASON]
        answers.append(answer)
    return answers
