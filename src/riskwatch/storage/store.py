"""The metadata database: ingested batches, and the records later steps add."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from riskwatch.errors import StoreError
from riskwatch.storage.clock import utcnow
from riskwatch.storage.codec import decode_watermark, encode_batch, encode_row
from riskwatch.storage.tables import (
    JSON_COLUMNS,
    batches,
    call_list_items,
    call_lists,
    contacts,
    cycles,
    deployments,
    diagnostics,
    metadata,
    models,
    promotions,
    schema_version,
    scores,
)

__all__ = [
    "BatchRecord",
    "Store",
    "batches",
    "call_list_items",
    "call_lists",
    "contacts",
    "cycles",
    "deployments",
    "diagnostics",
    "metadata",
    "models",
    "promotions",
    "schema_version",
    "scores",
]


def _create_batches(conn: Connection) -> None:
    batches.create(conn, checkfirst=True)


def _create_model_records(conn: Connection) -> None:
    for table in (models, scores, deployments, promotions):
        table.create(conn, checkfirst=True)


def _create_diagnostics(conn: Connection) -> None:
    diagnostics.create(conn, checkfirst=True)


MIGRATION_ATTEMPTS = 20  # about 10 s in all for another process to finish migrating
# The errors of another process creating the same tables at the same moment: PostgreSQL's
# duplicate table and unique violation (on the version row, or its catalogue when two create
# one table), SQLite's "already exists" and "UNIQUE constraint failed". Any other error (a
# refused connection, a wrong password) is reported at once.
RACE_SQLSTATES = frozenset({"42P07", "23505"})
RACE_MESSAGES = ("already exists", "unique constraint failed")
_migrated: set[str | None] = set()  # the databases migrated by this process (never None)


# Ordered migrations: append, never edit or reorder. The position is the schema version.
def _create_cycles(conn: Connection) -> None:
    cycles.create(conn, checkfirst=True)


def _create_call_lists(conn: Connection) -> None:
    for table in (call_lists, call_list_items):
        table.create(conn, checkfirst=True)


def _create_contacts(conn: Connection) -> None:
    contacts.create(conn, checkfirst=True)


def _add_holdout(conn: Connection) -> None:
    # Step 5 may just have created the table with the column (a new database): add it only when
    # missing. Older lists keep null: they had no control group.
    present = {column["name"] for column in sa.inspect(conn).get_columns("call_list_items")}
    if "holdout" not in present:
        conn.execute(sa.text("ALTER TABLE call_list_items ADD COLUMN holdout BOOLEAN"))


MIGRATIONS: list[Callable[[Connection], None]] = [
    _create_batches,
    _create_model_records,
    _create_diagnostics,
    _create_cycles,
    _create_call_lists,
    _create_contacts,
    _add_holdout,
]


def _is_migration_race(exc: sa.exc.DBAPIError) -> bool:
    """The error is another process migrating the same database at the same moment."""
    if getattr(exc.orig, "sqlstate", None) in RACE_SQLSTATES:
        return True
    return any(text in str(exc.orig).lower() for text in RACE_MESSAGES)


def _migration_key(engine: Engine) -> str | None:
    """What identifies a migrated database in this process; None when it may be new each
    time (an in-memory or deleted SQLite database)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or not Path(url.database).is_file():
            return None
        return f"sqlite:{Path(url.database).resolve()}"
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class BatchRecord:
    """One ingested or quarantined batch as recorded."""

    id: int
    source: str
    name: str
    sha256: str
    size_bytes: int
    status: str
    rows_read: int
    rows_valid: int
    rows_quarantined: int
    rows_duplicate: int
    rows_added: int
    missing_values: dict[str, int]
    reason: str
    started_at: str
    finished_at: str | None
    watermark_low: Any
    watermark_high: Any


class Store:
    """The metadata database at a SQLAlchemy URL, migrated to the current schema on open."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = sa.create_engine(url)
            self.migrate()
        except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:
            shown = sa.make_url(url).render_as_string(hide_password=True) if "://" in url else url
            raise StoreError(f"cannot open the metadata database {shown}: {exc}") from exc

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    def migrate(self) -> int:
        """Apply the migrations not yet applied (once per process and database); return the
        schema version."""
        if _migration_key(self.engine) in _migrated:
            return len(MIGRATIONS)
        for attempt in range(1, MIGRATION_ATTEMPTS):
            try:
                version = self._migrate_once()
                break
            except sa.exc.DBAPIError as exc:
                if not _is_migration_race(exc):
                    raise
                # Another process (the API, a cycle) is creating the same tables at this
                # moment: wait for it to finish, then look again.
                time.sleep(0.05 * attempt)
        else:
            version = self._migrate_once()
        key = _migration_key(self.engine)
        if key is not None:
            _migrated.add(key)
        return version

    def _migrate_once(self) -> int:
        with self.begin() as conn:
            schema_version.create(conn, checkfirst=True)
            current = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
            current = current or 0
            for version, step in enumerate(MIGRATIONS[current:], start=current + 1):
                step(conn)
                conn.execute(schema_version.insert().values(version=version, applied_at=utcnow()))
        return len(MIGRATIONS)

    def begin_batch(
        self, *, source: str, name: str, sha256: str, size_bytes: int, **values: Any
    ) -> int:
        """Record a batch as pending before its rows reach the master dataset; return its id."""
        with self.begin() as conn:
            result = conn.execute(
                batches.insert().values(
                    source=source,
                    name=name,
                    sha256=sha256,
                    size_bytes=size_bytes,
                    status="pending",
                    started_at=utcnow(),
                    **encode_batch(values),
                )
            )
            key = result.inserted_primary_key
            if key is None:
                raise RuntimeError("the database returned no id for the new batch")
            return int(key[0])

    def finish_batches(self, finished: dict[int, dict[str, Any]], status: str = "ingested") -> None:
        """Mark pending batches finished with their counts, in one transaction."""
        with self.begin() as conn:
            for batch_id, values in finished.items():
                conn.execute(
                    batches.update()
                    .where(batches.c.id == batch_id)
                    .values(status=status, finished_at=utcnow(), **encode_batch(values))
                )

    def record_quarantined(
        self, *, source: str, name: str, sha256: str, size_bytes: int, reason: str, **counts: Any
    ) -> int:
        """Record a batch that could not be read at all."""
        batch_id = self.begin_batch(source=source, name=name, sha256=sha256, size_bytes=size_bytes)
        self.finish_batches({batch_id: {"reason": reason, **counts}}, status="quarantined")
        return batch_id

    def forget_batch(self, batch_id: int) -> None:
        """Delete a pending batch whose rows never reached the master dataset."""
        with self.begin() as conn:
            conn.execute(
                batches.delete().where(batches.c.id == batch_id, batches.c.status == "pending")
            )

    def add(self, table: sa.Table, **values: Any) -> Any:
        """Insert one record (JSON columns encoded); return its primary key."""
        with self.begin() as conn:
            key = conn.execute(table.insert().values(**encode_row(values))).inserted_primary_key
        return None if key is None else key[0]

    def update(self, table: sa.Table, key: Any, **values: Any) -> None:
        """Change one record, found by its primary key (JSON columns encoded)."""
        primary = next(iter(table.primary_key.columns))
        with self.begin() as conn:
            conn.execute(table.update().where(primary == key).values(**encode_row(values)))

    def rows(
        self,
        table: sa.Table,
        *,
        newest_first: bool = False,
        limit: int | None = None,
        **equal: Any,
    ) -> list[dict[str, Any]]:
        """Records of a table matching column = value filters, in insertion order."""
        order = next(iter(table.primary_key.columns))
        query = sa.select(table).order_by(order.desc() if newest_first else order)
        for column, value in equal.items():
            query = query.where(table.c[column] == value)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            found = [dict(row._mapping) for row in conn.execute(query)]
        for row in found:
            for column in JSON_COLUMNS.intersection(row):
                row[column] = json.loads(row[column])
        return found

    def batches(self, *, source: str | None = None, status: str | None = None) -> list[BatchRecord]:
        """Recorded batches, oldest first, optionally of one source or status."""
        query = sa.select(batches).order_by(batches.c.id)
        if source is not None:
            query = query.where(batches.c.source == source)
        if status is not None:
            query = query.where(batches.c.status == status)
        with self.engine.connect() as conn:
            return [_decode(row._mapping) for row in conn.execute(query)]


def _decode(row: Any) -> BatchRecord:
    values = dict(row)
    values["missing_values"] = json.loads(values["missing_values"] or "{}")
    for key in ("watermark_low", "watermark_high"):
        values[key] = decode_watermark(values[key])
    return BatchRecord(**values)
