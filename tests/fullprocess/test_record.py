"""Where a cycle is written down: the mark while one runs, and its row in the cycles table."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from riskwatch.config import Settings
from riskwatch.fullprocess.record import (
    MARK_FILE,
    clear_mark,
    mark_path,
    read_mark,
    record_quickly,
    write_mark,
)
from riskwatch.fullprocess.result import CycleResult, Step
from riskwatch.storage.store import Store


def test_a_mark_is_written_whole_read_back_and_cleared(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    assert read_mark(settings) is None

    write_mark(settings, {"judged_batch_ids": [3, 4]})
    assert mark_path(settings) == settings.output_folder_path / MARK_FILE
    assert read_mark(settings) == {"judged_batch_ids": [3, 4]}
    # Written by a rename: no temporary file is left beside the mark.
    assert [p.name for p in settings.output_folder_path.iterdir()] == [MARK_FILE]

    clear_mark(settings)
    assert read_mark(settings) is None
    clear_mark(settings)  # clearing twice is no error


def test_a_mark_that_is_no_json_object_counts_as_no_mark(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    settings.output_folder_path.mkdir(parents=True, exist_ok=True)
    mark_path(settings).write_text("[1, 2]")
    assert read_mark(settings) is None
    mark_path(settings).write_text("{half")
    assert read_mark(settings) is None


def test_a_finished_cycle_is_recorded_quickly_in_an_existing_sqlite_database(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    path = tmp_path / "meta.db"
    settings = make_settings(database_url=f"sqlite:///{path}")
    Store(settings.database_url).close()
    result = CycleResult("schedule", "2026-01-01T00:00:00", "2026-01-01T00:00:01", "no new data")
    result.steps.append(Step("ingest", "no new data", {"reason": "nothing new"}, 0.01))

    cycle_id = record_quickly(settings, result)

    with closing(sqlite3.connect(path)) as conn:
        row = conn.execute(
            "SELECT id, trigger, outcome, steps, error FROM cycles WHERE id = ?", (cycle_id,)
        ).fetchone()
    assert row[:3] == (cycle_id, "schedule", "no new data")
    assert json.loads(row[3])[0]["detail"] == {"reason": "nothing new"}
    assert row[4] is None


def test_no_quick_record_without_a_database_file_or_its_cycles_table(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    result = CycleResult("manual", "2026-01-01T00:00:00")
    missing = make_settings(database_url=f"sqlite:///{tmp_path / 'none.db'}")
    assert record_quickly(missing, result) is None
    assert not (tmp_path / "none.db").exists()
    bare = tmp_path / "bare.db"
    sqlite3.connect(bare).close()
    assert record_quickly(make_settings(database_url=f"sqlite:///{bare}"), result) is None
