"""The no-new-data cache (.riskwatch-state.json): a folder's file hashes and finished batches."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from riskwatch.storage.files import read_json, write_json_atomic

log = logging.getLogger(__name__)

STATE_FILE = ".riskwatch-state.json"
STATE_VERSION = 1

# A finished batch by its content hash: [status, name], status "ingested" or "quarantined".
Done = dict[str, list[str]]


@dataclass(frozen=True)
class FileState:
    """What we know of a file: its size and mtime (the cache key) and its content hash."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass
class Cached:
    """A source's entry in the cache; stale when missing or unreadable."""

    files: dict[str, FileState] = field(default_factory=dict)
    done: Done = field(default_factory=dict)
    stale: bool = True


def load_state(folder: Path, key: str) -> Cached:
    """The cached file hashes and finished batches of one source."""
    data = read_json(folder / STATE_FILE)
    entry = data.get("sources", {}).get(key) if isinstance(data, dict) else None
    if not entry or data.get("version") != STATE_VERSION:
        return Cached()
    files = {name: FileState(*values) for name, values in entry["files"].items()}
    return Cached(files, entry["done"], stale=False)


def save_state(folder: Path, key: str, files: dict[str, FileState], done: Done) -> None:
    """Refresh the cache from the records: it may only ever lag behind them, never lead."""
    path = folder / STATE_FILE
    data = read_json(path)
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        data = {"version": STATE_VERSION, "sources": {}}
    data["sources"][key] = {
        "files": {name: [s.size, s.mtime_ns, s.sha256] for name, s in files.items()},
        "done": done,
    }
    write_json_atomic(path, data)
    log.debug("state cache of %s refreshed: %d file(s)", key, len(files))
