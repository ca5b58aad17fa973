"""The metadata database's tables: the migrations create every one, in order."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from riskwatch.storage import tables
from riskwatch.storage.store import MIGRATIONS, Store


def test_the_migrations_create_every_table_and_record_each_version_in_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fresh.db"
    Store(f"sqlite:///{path}").close()

    with closing(sqlite3.connect(path)) as conn:
        found = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        versions = [
            row[0]
            for row in conn.execute(
                "SELECT version FROM riskwatch_schema_version ORDER BY applied_at, version"
            )
        ]
    assert set(tables.metadata.tables) <= found
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_every_json_column_names_a_column_of_some_table() -> None:
    columns = {c.name for table in tables.metadata.tables.values() for c in table.columns}
    assert columns >= tables.JSON_COLUMNS


def test_the_same_contact_can_be_stored_only_once(tmp_path: Path) -> None:
    path = tmp_path / "contacts.db"
    Store(f"sqlite:///{path}").close()
    row = ("c1", "2026-01-01T00:00:00", "reached", "2026-01-01T00:00:00", "api")
    insert = (
        "INSERT INTO contacts (corporation, contacted_at, outcome, recorded_at, source) "
        "VALUES (?, ?, ?, ?, ?)"
    )
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(insert, row)
        try:
            conn.execute(insert, row)
        except sqlite3.IntegrityError as exc:
            refused = str(exc)
        else:
            refused = ""
    assert "UNIQUE constraint failed" in refused
