"""What the pages derive from the master dataset, kept until the file changes: reading it takes
about 0.1 s on the 10,000-client demo, and it changes only when a cycle ingests new data."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from riskwatch.ingestion.master import MASTER_CSV, MASTER_PARQUET
from riskwatch.monitoring.calls import CallEffect, call_effect
from riskwatch.storage.store import Store, batches, call_lists, contacts
from riskwatch.webapp.sources import Sources

log = logging.getLogger(__name__)
T = TypeVar("T")
FileIdentity = tuple[str, int, int, int] | None  # path, inode, mtime_ns, size; None: none


def file_identity(path: Path) -> FileIdentity:
    """The file's identity: a rewrite (an atomic rename: a new inode) changes it."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return (str(path), found.st_ino, found.st_mtime_ns, found.st_size)


def master_identity(folder: Path) -> tuple[FileIdentity, FileIdentity]:
    """The identity of the master dataset's two files (Parquet, and its CSV twin)."""
    return (file_identity(folder / MASTER_PARQUET), file_identity(folder / MASTER_CSV))


def ledger_mark(store: Store) -> tuple[Any, ...]:
    """What changes when a list is published, a call recorded or a batch registered or
    finished: one small query, so that a call imported with a past date shows without waiting
    for data, and a batch counts once it is ingested (the master is renamed before that)."""
    query = sa.select(
        sa.select(sa.func.max(call_lists.c.id)).scalar_subquery(),
        sa.select(sa.func.max(contacts.c.id)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(contacts).scalar_subquery(),
        sa.select(sa.func.max(batches.c.id)).scalar_subquery(),
        sa.select(sa.func.count())
        .select_from(batches)
        .where(batches.c.status == "ingested")
        .scalar_subquery(),
    )
    with store.begin() as conn:
        return tuple(conn.execute(query).one())


class Derived:
    """Values derived from files, each kept under a name with the key it was derived for;
    one per app (in app.state), so each app and each test starts empty."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Hashable, Any]] = {}
        self._lock = threading.Lock()  # pages run in a thread pool

    def get(self, name: str, key: Hashable, derive: Callable[[], T]) -> T:
        """The value kept under name when derived for this key, else derived anew and kept."""
        with self._lock:
            kept = self._kept.get(name)
        if kept is not None and kept[0] == key:
            value: T = kept[1]
            return value
        log.debug("deriving %s again (its files changed)", name)
        value = derive()
        with self._lock:
            self._kept[name] = (key, value)
        return value


def kept_call_effect(sources: Sources, derived: Derived) -> CallEffect:
    """The control group's comparison, derived again only when the master dataset or the
    lists, calls and batches it rests on changed."""
    settings, store = sources.settings, sources.store()
    key = (master_identity(settings.output_folder_path), ledger_mark(store))
    return derived.get("call effect", key, lambda: call_effect(settings, store))
