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
    # The served model's answer per client (risk, band, reasons), as the API's /prediction
    # gives it: the pages show the same numbers. Raises a RiskwatchError when none is served.
    score: Callable[[pd.DataFrame], list[dict[str, Any]]]


def sources_of(request: Request) -> Sources:
    """The workspace the pages read."""
    found: Sources = request.app.state.webapp
    return found
