"""What the pages read: given by the app that mounts them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from fastapi import Request

from riskwatch.config import Settings
from riskwatch.storage.store import Store


@dataclass(frozen=True)
class Sources:
    """The workspace as the pages see it; the API passes its own held parts, so a page never
    opens a second database pool or loads the model from disk per request."""

    settings: Settings
    store: Callable[[], Store]
    # The served model's answer, as the API's /prediction gives it: {"version", "clients":
    # [{probability, risk_band, reasons...}]}, so the pages show the same numbers. Raises a
    # RiskwatchError when no model is served.
    score: Callable[[pd.DataFrame], dict[str, Any]]


def sources_of(request: Request) -> Sources:
    """The workspace the pages read."""
    found: Sources = request.app.state.webapp
    return found
