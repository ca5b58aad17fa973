"""The deployed model as the API serves it, swapped in when production changes."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskwatch.errors import RiskwatchError
from riskwatch.model.fastpath import FastModel, prepare
from riskwatch.model.registry import METADATA_FILE, Deployed, load_deployed, read_deployment
from riskwatch.storage.files import read_json

log = logging.getLogger(__name__)


class NotReadyError(RiskwatchError):
    """No model can be served; the message says why."""


@dataclass(frozen=True)
class Served:
    """One loaded deployment: its record, its model and the reference its reasons compare
    with, and what is derived from them at load time so that no request reads a file."""

    deployed: Deployed
    model: Any
    reference: dict[str, Any]
    fast: FastModel  # the model's predictions without the Pipeline's fixed cost per call
    metadata: dict[str, Any]  # the version's metadata.json, as loaded


@dataclass(frozen=True)
class LoadFailure:
    """A deployment that would not load: what went wrong, and when it is tried again."""

    target: str  # the folder production resolved to
    version: str | None
    error: str
    attempts: int
    retry_at: float  # time.monotonic()
    pointer: str = ""  # what production pointed at (ModelHolder.pointer())

    def retry_in(self) -> float:
        """Seconds until the next try."""
        return max(0.0, self.retry_at - time.monotonic())


class ModelHolder:
    """The model production points at, reloaded when the pointer changes (no restart)."""

    def __init__(self, prod_path: Path, *, first_retry: float = 1.0, last_retry: float = 60.0):
        self.prod_path = prod_path
        # A deployment that failed to load is tried again after first_retry seconds, then
        # twice as long each time up to last_retry: a file fixed in place gets served.
        self.first_retry, self.last_retry = first_retry, last_retry
        # What the pointer named and the model loaded from it, swapped as one tuple: two
        # attributes could be read half old, half new by a request in another thread.
        self._current: tuple[str, Served] | None = None
        self._failed: LoadFailure | None = None
        self._lock = threading.Lock()

    def current(self) -> Served:
        """The model to answer this request with; NotReadyError when there is none."""
        # A deployment switches the pointer with one rename to a new, complete folder, so a
        # changed target means a new deployment and an unchanged one means nothing to do.
        served = self.loaded()
        if served is not None:
            return served
        with self._lock:
            return self._reload(self.pointer())

    def pointer(self) -> str:
        """What production points at now: the link's text and the folder it reaches."""
        # Asked on every request: two system calls, where resolving the path (realpath) made one
        # per component. The link's text names a deployment (a new one writes a new link); the
        # folder's identity catches a switch elsewhere on the path (a parent that is a link).
        try:
            found = self.prod_path.stat()
        except OSError:  # nothing deployed yet, or a link to nothing
            return os.path.realpath(self.prod_path)
        try:
            link = os.readlink(self.prod_path)  # noqa: PTH115 (a str, no Path made per request)
        except OSError:  # a plain folder from another tool
            link = ""
        return f"{link}|{found.st_dev}:{found.st_ino}"

    def loaded(self) -> Served | None:
        """The model of the deployment production points at, if it is loaded already (None:
        current() must load it first, or answer with the last good one)."""
        current = self._current
        if current is not None and current[0] == self.pointer():
            return current[1]
        return None

    def failure(self) -> LoadFailure | None:
        """Why the deployment production points at now is not the one served, if it failed."""
        failed = self._failed
        return failed if failed and failed.pointer == self.pointer() else None

    def _reload(self, pointer: str) -> Served:
        current, failed = self._current, self._failed
        if current is not None and current[0] == pointer:
            return current[1]  # another request loaded it meanwhile
        if failed is not None and failed.pointer == pointer and failed.retry_in() > 0:
            return self._instead(failed, current)  # not yet time to try again
        try:
            # The pointer was read before this load: were production switched meanwhile,
            # the next request reads another pointer and loads again.
            served = load_served(self.prod_path)
        except (RiskwatchError, OSError, ValueError) as exc:
            attempts = failed.attempts + 1 if failed and failed.pointer == pointer else 1
            wait = min(self.first_retry * 2 ** (attempts - 1), self.last_retry)
            target = os.path.realpath(self.prod_path)
            self._failed = LoadFailure(
                target, _version_at(target), str(exc), attempts, time.monotonic() + wait, pointer
            )
            log.error(
                "cannot load the deployment in %s (%s); next try in %.0f s", target, exc, wait
            )
            return self._instead(self._failed, current)
        if current is None or served.deployed.version != current[1].deployed.version:
            log.info("serving model %s", served.deployed.version)
        self._current, self._failed = (pointer, served), None
        # Everything alive now (the model, the imported modules) moves out of the collector's
        # sight, so its full collections no longer walk it (a request's p99). A model swapped
        # out later has no reference cycles and is still freed by its reference count.
        gc.collect()
        gc.freeze()
        return served

    def _instead(self, failed: LoadFailure, current: tuple[str, Served] | None) -> Served:
        """The last good model while production's cannot be loaded; NotReadyError if none."""
        if current is None:
            raise NotReadyError(f"{failed.error} (next try in {failed.retry_in():.0f} s)")
        # A bad deployment must not take the service down: the last good one answers.
        return current[1]


def _version_at(folder: str) -> str | None:
    """The version a deployment folder records, if it can be read."""
    try:
        deployed = read_deployment(Path(folder))
    except (RiskwatchError, OSError, ValueError, KeyError):
        return None
    return deployed.version if deployed else None


def load_served(prod_path: Path) -> Served:
    """Load the deployment production holds, with the reference its reasons need."""
    deployed, model = load_deployed(prod_path)
    metadata = read_json(deployed.folder / METADATA_FILE) or {}
    reference = metadata.get("reference")
    if not isinstance(reference, dict):
        raise NotReadyError(f"{deployed.folder}: the deployed model's metadata has no reference")
    return Served(deployed, model, reference, prepare(model), metadata)
