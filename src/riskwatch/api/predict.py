"""Predictions for clients sent to the API: risk, label, band and reasons, client by client."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.api.schemas import Client
from riskwatch.api.served import Served
from riskwatch.calllist.build import risk_band
from riskwatch.config import Settings
from riskwatch.model.reasons import NO_REASON, reason_texts, risk_and_push
from riskwatch.schema import FEATURES, ID_COLUMN


def predict_clients(
    served: Served,
    clients: pd.DataFrame | Sequence[Client],
    settings: Settings,
    *,
    reasons: bool = True,
) -> list[dict[str, Any]]:
    """One answer per client, in the order given (position is its index in the request):
    the rows of a frame, or the clients a JSON request sent, used as parsed."""
    if isinstance(clients, pd.DataFrame):
        ids = clients[ID_COLUMN].astype(str).tolist()
        counts = clients[list(FEATURES)].to_numpy()
        rows: Iterable[Any] = clients.itertuples(index=False)
    else:  # no DataFrame: its fixed cost is most of a single client's request
        ids = [client.corporation for client in clients]
        counts = np.array(list(map(attrgetter(*FEATURES), clients)), dtype=np.int64)
        counts = counts.reshape(len(ids), len(FEATURES))
        rows = clients
    return answers(served, ids, counts, rows if reasons else None, settings)


def answers(
    served: Served,
    ids: list[str],
    counts: np.ndarray[Any, Any],
    rows: Iterable[Any] | None,
    settings: Settings,
) -> list[dict[str, Any]]:
    """The answers for clients given by id, counts (FEATURES order) and rows with the
    features as attributes for the reasons' words (None: no reasons)."""
    words = None
    if rows is not None:
        medians = served.reference["medians"]
        risk, push = risk_and_push(served.fast.predict_repeated, counts, medians)
        words = reason_texts(push, rows, served.reference["percentiles"])
    else:
        risk = served.fast.predict(counts)
    bands = risk_band(risk, high=settings.risk_band_high, medium=settings.risk_band_medium)
    labels = risk >= settings.decision_threshold
    found = []
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
        found.append(answer)
    return found
