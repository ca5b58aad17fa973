"""The no-new-data cache: what it keeps, and when it is stale."""

from __future__ import annotations

import json
from pathlib import Path

from riskwatch.ingestion.state import STATE_FILE, FileState, load_state, save_state


def test_a_saved_entry_reads_back_for_its_source(tmp_path: Path) -> None:
    files = {"a.csv": FileState(10, 123, "f" * 64)}
    save_state(tmp_path, "folder:in", files, {"f" * 64: ["ingested", "a.csv"]})
    cached = load_state(tmp_path, "folder:in")
    assert not cached.stale
    assert cached.files == files
    assert cached.done == {"f" * 64: ["ingested", "a.csv"]}
    assert load_state(tmp_path, "folder:other").stale


def test_two_sources_keep_their_own_entries(tmp_path: Path) -> None:
    save_state(tmp_path, "folder:one", {}, {"1" * 64: ["ingested", "a.csv"]})
    save_state(tmp_path, "folder:two", {}, {})
    assert load_state(tmp_path, "folder:one").done == {"1" * 64: ["ingested", "a.csv"]}


def test_a_missing_unreadable_or_older_cache_is_stale(tmp_path: Path) -> None:
    assert load_state(tmp_path, "folder:in").stale
    (tmp_path / STATE_FILE).write_text("{not json")
    assert load_state(tmp_path, "folder:in").stale
    (tmp_path / STATE_FILE).write_text(json.dumps({"version": 0, "sources": {"folder:in": {}}}))
    assert load_state(tmp_path, "folder:in").stale
