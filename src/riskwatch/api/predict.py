"""Predictions for clients sent to the API: risk, label, band and reasons, client by client."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
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

DECIMALS = 6  # of the probability answered


def to_json(document: Any) -> str:
    """A document as starlette's JSONResponse renders it (before its UTF-8 encoding)."""
    return json.dumps(
        document, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    )


@dataclass(frozen=True)
class Predictions:
    """Each client's answer, in the order given (position is its index in the request)."""

    ids: list[str]
    probabilities: list[float]  # rounded to DECIMALS, as answered
    labels: list[int]
    bands: list[str]
    words: list[list[str]] | None  # each client's reasons (None: not asked for)

    def answers(self) -> list[dict[str, Any]]:
        """One dict per client: position, id, probability, label, band (and reasons)."""
        found = []
        for position, (client, probability, label, band) in enumerate(
            zip(self.ids, self.probabilities, self.labels, self.bands, strict=True)
        ):
            answer: dict[str, Any] = {
                "position": position,
                ID_COLUMN: client,
                "probability": probability,
                "label": label,
                "risk_band": band,
            }
            if self.words is not None:
                answer["reasons"] = self.words[position] or [NO_REASON]
            found.append(answer)
        return found

    def document(self, head: dict[str, Any]) -> bytes:
        """The answer document, head's fields then "clients", as JSONResponse renders it,
        written client by client: a dict per client and the general encoder cost more than
        the model (10,000 clients)."""
        if not all(map(math.isfinite, self.probabilities)):
            # As JSONResponse does: refused by json.dumps (allow_nan=False).
            return to_json({**head, "clients": self.answers()}).encode()
        said: dict[tuple[str, ...], str] = {}  # clients share reasons: each list written once
        reasons = [""] * len(self.ids)
        if self.words is not None:
            for position, words in enumerate(self.words):
                key = tuple(words or [NO_REASON])
                text = said.get(key)
                if text is None:
                    text = said[key] = ',"reasons":' + to_json(list(key))
                reasons[position] = text
        rows = [
            f'{{"position":{position},"{ID_COLUMN}":{encode_basestring(client)},'
            f'"probability":{probability!r},"label":{label},"risk_band":"{band}"{reasoned}}}'
            for position, (client, probability, label, band, reasoned) in enumerate(
                zip(self.ids, self.probabilities, self.labels, self.bands, reasons, strict=True)
            )
        ]
        return f'{to_json(head)[:-1]},"clients":[{",".join(rows)}]}}'.encode()


def predict_clients(
    served: Served,
    clients: pd.DataFrame | Sequence[Client],
    settings: Settings,
    *,
    reasons: bool = True,
) -> list[dict[str, Any]]:
    """One answer per client, in the order given (position is its index in the request):
    the rows of a frame, or the clients a JSON request sent, used as parsed."""
    return predictions(served, clients, settings, reasons=reasons).answers()


def predictions(
    served: Served,
    clients: pd.DataFrame | Sequence[Client],
    settings: Settings,
    *,
    reasons: bool = True,
) -> Predictions:
    """predict_clients' answers, before they are dicts or JSON."""
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
) -> Predictions:
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
    labels = (risk >= settings.decision_threshold).astype(int)
    probabilities = [round(probability, DECIMALS) for probability in risk.tolist()]
    return Predictions(ids, probabilities, labels.tolist(), bands.tolist(), words)
