"""Where cycles are written down: the metadata database, and a mark while one is under way.

A cycle with no new data is recorded with the standard library's sqlite3 when the database is
the default SQLite file: SQLAlchemy alone takes longer to import than that whole path may take.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from riskwatch.config import Settings
from riskwatch.fullprocess.result import CycleResult
from riskwatch.storage.files import read_json, write_json_atomic

MARK_FILE = ".riskwatch-cycle.json"  # in output_folder_path while a cycle with new data runs
SQLITE_PREFIX = "sqlite:///"


def mark_path(settings: Settings) -> Path:
    """The mark of a cycle under way (it stays when a cycle dies, so the next one resumes)."""
    return settings.output_folder_path / MARK_FILE


def read_mark(settings: Settings) -> dict[str, Any] | None:
    """The unfinished cycle's mark, if there is one."""
    found = read_json(mark_path(settings))
    return found if isinstance(found, dict) else None


def write_mark(settings: Settings, mark: dict[str, Any]) -> None:
    """Mark a cycle as under way, with the batches it is judging."""
    write_json_atomic(mark_path(settings), mark)


def clear_mark(settings: Settings) -> None:
    """The cycle finished its work."""
    mark_path(settings).unlink(missing_ok=True)


def row_of(result: CycleResult) -> dict[str, Any]:
    """The cycle as a record of the cycles table."""
    data = result.to_dict()
    return {
        "trigger": result.trigger,
        "outcome": result.outcome,
        "steps": data["steps"],
        "error": result.error,
        "started_at": result.started_at,
        "finished_at": result.finished_at or None,
    }


def record_quickly(settings: Settings, result: CycleResult) -> int | None:
    """Record a finished cycle with sqlite3 when that is possible; None when it is not."""
    url = settings.database_url
    if not url.startswith(SQLITE_PREFIX) or not Path(url[len(SQLITE_PREFIX) :]).is_file():
        return None
    row = row_of(result)
    row["steps"] = json.dumps(row["steps"], sort_keys=True)
    names = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    try:
        with closing(sqlite3.connect(url[len(SQLITE_PREFIX) :], timeout=30)) as conn, conn:
            cursor = conn.execute(f"INSERT INTO cycles ({names}) VALUES ({marks})", row)
            return cursor.lastrowid
    except sqlite3.OperationalError:  # no cycles table yet: the Store migrates it
        return None
