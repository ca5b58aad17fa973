"""The deployed model as the API serves it, swapped in when production changes."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskwatch.errors import RiskwatchError
from riskwatch.files import read_json
from riskwatch.registry import METADATA_FILE, Deployed, load_deployed

log = logging.getLogger("riskwatch.api")


class NotReadyError(RiskwatchError):
    """No model can be served; the message says why."""


@dataclass(frozen=True)
class Served:
    """One loaded deployment: its record, its model and the reference its reasons compare with."""

    deployed: Deployed
    model: Any
    reference: dict[str, Any]


class ModelHolder:
    """The model production points at, reloaded when the pointer changes (no restart)."""

    def __init__(self, prod_path: Path) -> None:
        self.prod_path = prod_path
        self._served: Served | None = None
        self._target: str | None = None  # the folder the pointer named when _served was loaded
        self._failed: str | None = None  # a target that would not load: not tried again
        self._lock = threading.Lock()

    def current(self) -> Served:
        """The model to answer this request with; NotReadyError when there is none."""
        # A deployment switches the pointer with one rename to a new, complete folder, so a
        # changed target means a new deployment and an unchanged one means nothing to do.
        target = os.path.realpath(self.prod_path)
        served = self._served
        if served is not None and target == self._target:
            return served
        with self._lock:
            return self._reload(target)

    def _reload(self, target: str) -> Served:
        if self._served is not None and target == self._target:
            return self._served  # another request loaded it meanwhile
        if self._served is not None and self._failed == target:
            return self._served  # known bad: keep serving the last good model
        try:
            served = load_served(self.prod_path)
        except (RiskwatchError, OSError, ValueError) as exc:
            if self._served is None:
                raise NotReadyError(str(exc)) from exc
            # A bad deployment must not take the service down: say so, serve the last good one.
            log.error(
                "cannot load the new deployment in %s (%s); still serving %s",
                target,
                exc,
                self._served.deployed.version,
            )
            self._failed = target
            return self._served
        if self._served is None or served.deployed.version != self._served.deployed.version:
            log.info("serving model %s", served.deployed.version)
        self._served, self._target, self._failed = served, str(served.deployed.folder), None
        return served


def load_served(prod_path: Path) -> Served:
    """Load the deployment production holds, with the reference its reasons need."""
    deployed, model = load_deployed(prod_path)
    metadata = read_json(deployed.folder / METADATA_FILE) or {}
    reference = metadata.get("reference")
    if not isinstance(reference, dict):
        raise NotReadyError(f"{deployed.folder}: the deployed model's metadata has no reference")
    return Served(deployed, model, reference)
