"""The metadata database read with sqlite3 alone, for quick readers such as `riskwatch status`.

SQLAlchemy costs more to import than the rest of such a command (0.6 s of CPU against 0.05 s):
a migrated SQLite file is read here with the standard library, its records decoded as
Store.rows decodes them. Any other database, or one to create or migrate, is the Store's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The store's migrations (len(store.MIGRATIONS)) and JSON columns (tables.JSON_COLUMNS), named
# here so as not to import SQLAlchemy (a test checks they agree).
SCHEMA_VERSION = 7
JSON_COLUMNS = frozenset({"params", "metrics", "result", "steps", "reasons"})
SQLITE_PREFIX = "sqlite:///"

Rows = Callable[..., list[dict[str, Any]]]


def sqlite_file(url: str) -> Path | None:
    """The file of a plain SQLite URL to an absolute path that exists, else None."""
    path = url.removeprefix(SQLITE_PREFIX)
    # Query options, escapes and dialect variants are SQLAlchemy's to read.
    if path == url or any(c in path for c in "?%") or not path.startswith("/"):
        return None
    found = Path(path)
    return found if found.is_file() else None


@contextlib.contextmanager
def read_only(url: str) -> Iterator[Rows | None]:
    """A reader of the database's records, or None when the store must open it."""
    path = sqlite_file(url)
    if path is None:
        yield None
        return
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        log.debug("%s: not read with sqlite3 (%s)", path, exc)
        yield None
        return
    with contextlib.closing(conn):
        yield _reader(conn) if _current(conn) else None


def _current(conn: sqlite3.Connection) -> bool:
    """Whether every migration this version knows was applied."""
    try:
        found = conn.execute("SELECT max(version) FROM riskwatch_schema_version").fetchone()
    except sqlite3.Error:
        return False
    return found is not None and (found[0] or 0) >= SCHEMA_VERSION


def _reader(conn: sqlite3.Connection) -> Rows:
    def rows(
        table: str, *, newest_first: bool = False, limit: int | None = None, **equal: Any
    ) -> list[dict[str, Any]]:
        """Records of a table matching column = value filters, as Store.rows gives them."""
        columns = conn.execute(f"PRAGMA table_info({_quoted(table)})").fetchall()
        names = [column[1] for column in columns]
        booleans = {column[1] for column in columns if str(column[2]).upper() == "BOOLEAN"}
        order = next(column[1] for column in columns if column[5] == 1)
        unknown = set(equal) - set(names)
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        query = f"SELECT {', '.join(map(_quoted, names))} FROM {_quoted(table)}"
        if equal:
            query += " WHERE " + " AND ".join(f"{_quoted(column)} = ?" for column in equal)
        query += f" ORDER BY {_quoted(order)}" + (" DESC" if newest_first else "")
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        found = [
            dict(zip(names, row, strict=True)) for row in conn.execute(query, [*equal.values()])
        ]
        for row in found:
            for column in booleans.intersection(row):
                row[column] = None if row[column] is None else bool(row[column])
            for column in JSON_COLUMNS.intersection(row):
                row[column] = json.loads(row[column])
        return found

    return rows


def _quoted(name: str) -> str:
    """An SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'
