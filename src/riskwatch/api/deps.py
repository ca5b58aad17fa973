"""What routes are given: the settings, the served model, the metadata store, the token check."""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from riskwatch.api.served import ModelHolder, Served
from riskwatch.config import Settings
from riskwatch.storage import open_store
from riskwatch.storage.store import Store

bearer = HTTPBearer(auto_error=False, description="The API token (setting api_token).")


class Resources:
    """The app's long-lived parts, made once from its settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.models = ModelHolder(settings.prod_deployment_path)
        self._store: Store | None = None
        self._lock = threading.Lock()

    def store(self) -> Store:
        """The metadata database, opened (and migrated) on first use."""
        with self._lock:
            if self._store is None:
                self._store = open_store(self.settings)
            return self._store

    def close(self) -> None:
        """Release the database connections."""
        if self._store is not None:
            self._store.close()


def resources(request: Request) -> Resources:
    """The app's resources."""
    found: Resources = request.app.state.resources
    return found


# The dependencies a prediction needs are async: FastAPI runs a plain `def` dependency in its
# thread pool, and those hand-offs cost more than a single client's whole prediction.


async def settings_of(request: Request) -> Settings:
    """The app's settings."""
    return resources(request).settings


async def served_model(request: Request) -> Served:
    """The deployed model (503 through NotReadyError when there is none)."""
    models = resources(request).models
    served = models.loaded()
    # Loading a model takes seconds: in the thread pool, so other requests go on meanwhile.
    return served if served is not None else await run_in_threadpool(models.current)


def store_of(request: Request) -> Store:
    """The metadata database."""
    return resources(request).store()


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Refuse the request unless it carries the configured bearer token (if one is set)."""
    token = resources(request).settings.api_token
    if not token:
        return
    given = credentials.credentials if credentials is not None else ""
    # Compare digests in constant time: neither the token nor its length leaks through timing.
    expected = hashlib.sha256(token.encode()).digest()
    if not hmac.compare_digest(hashlib.sha256(given.encode()).digest(), expected):
        raise HTTPException(
            401,
            "a valid bearer token is required: Authorization: Bearer <api_token>",
            headers={"WWW-Authenticate": "Bearer"},
        )


SettingsDep = Annotated[Settings, Depends(settings_of)]
ServedDep = Annotated[Served, Depends(served_model)]
StoreDep = Annotated[Store, Depends(store_of)]
