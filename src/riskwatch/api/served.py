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
        # The folder the pointer named and the model loaded from it, swapped as one tuple:
        # two attributes could be read half old, half new by a request in another thread.
        self._current: tuple[str, Served] | None = None
        self._failed: str | None = None  # a target that would not load: not tried again
        self._lock = threading.Lock()

    def current(self) -> Served:
        """The model to answer this request with; NotReadyError when there is none."""
        # A deployment switches the pointer with one rename to a new, complete folder, so a
        # changed target means a new deployment and an unchanged one means nothing to do.
        target = os.path.realpath(self.prod_path)
        current = self._current
        if current is not None and current[0] == target:
            return current[1]
        with self._lock:
            return self._reload(target)

    def _reload(self, target: str) -> Served:
        current = self._current
        if current is not None and current[0] == target:
            return current[1]  # another request loaded it meanwhile
        if current is not None and self._failed == target:
            return current[1]  # known bad: keep serving the last good model
        try:
            served = load_served(self.prod_path)
        except (RiskwatchError, OSError, ValueError) as exc:
            if current is None:
                raise NotReadyError(str(exc)) from exc
            # A bad deployment must not take the service down: say so, serve the last good one.
            log.error(
                "cannot load the new deployment in %s (%s); still serving %s",
                target,
                exc,
                current[1].deployed.version,
            )
            self._failed = target
            return current[1]
        if current is None or served.deployed.version != current[1].deployed.version:
            log.info("serving model %s", served.deployed.version)
        self._current, self._failed = (str(served.deployed.folder), served), None
        return served


def load_served(prod_path: Path) -> Served:
    """Load the deployment production holds, with the reference its reasons need."""
    deployed, model = load_deployed(prod_path)
    metadata = read_json(deployed.folder / METADATA_FILE) or {}
    reference = metadata.get("reference")
    if not isinstance(reference, dict):
        raise NotReadyError(f"{deployed.folder}: the deployed model's metadata has no reference")
    return Served(deployed, model, reference)
