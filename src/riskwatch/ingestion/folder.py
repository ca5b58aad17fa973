"""A folder source: CSV, Parquet and JSON-lines files; a file is new when its content is new."""

from __future__ import annotations

import fnmatch
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch.config import Settings
from riskwatch.ingestion.sources import Batch, Check, Reading, store_for
from riskwatch.ingestion.state import Done, FileState, load_state, save_state
from riskwatch.storage.files import sha256_file

if TYPE_CHECKING:
    from riskwatch.storage.store import Store

log = logging.getLogger(__name__)


class FolderSource:
    """The data files in a folder, each fingerprinted by its content hash."""

    def __init__(self, folder: Path, patterns: tuple[str, ...], key: str) -> None:
        self.folder = folder
        self.patterns = patterns
        self.key = key
        self._files: dict[str, FileState] = {}  # as the last check found them

    def check(self, settings: Settings, store: Store | None) -> Check:
        """Compare the folder with what was ingested; the state cache spares the database."""
        cached = load_state(settings.output_folder_path, self.key)
        self._files = self.scan(cached.files)
        done = cached.done
        if (
            store is None
            and not cached.stale
            and all(f.sha256 in done for f in self._files.values())
        ):
            if self._files != cached.files:  # hashes taken now: the next check reuses them
                save_state(settings.output_folder_path, self.key, self._files, done)
            return self._compare(done)  # the path cron takes most often
        # The cache may lag behind the records after a crash: the store is the authority.
        with store_for(settings, store) as opened:
            done = self._done(opened)
        save_state(settings.output_folder_path, self.key, self._files, done)
        return self._compare(done)

    def read(self, batch: Batch, chunk_rows: int) -> Reading:
        """The rows of one file in chunks; its hash was taken when the folder was scanned."""
        if batch.path is None:
            raise ValueError("a folder batch needs a path")
        # Imported on reading: the check, which cron runs most, reads no file's rows.
        from riskwatch.ingestion.readers import read_file  # noqa: PLC0415

        return Reading(read_file(batch.path, chunk_rows), batch.sha256)

    def advance(self, settings: Settings, store: Store) -> None:
        """Refresh the state cache from the records, with the files as the check found them."""
        save_state(settings.output_folder_path, self.key, self._files, self._done(store))

    def scan(self, cache: dict[str, FileState]) -> dict[str, FileState]:
        """The data files now in the folder with their hashes; unchanged files are not re-read."""
        if not self.folder.is_dir():
            raise FileNotFoundError(f"the source folder {self.folder} does not exist")
        found: dict[str, FileState] = {}
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if not entry.is_file() or not self._wanted(entry.name):
                    continue
                stat = entry.stat()
                known = cache.get(entry.name)
                if known and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                    found[entry.name] = known
                else:
                    sha = sha256_file(Path(entry.path))
                    found[entry.name] = FileState(stat.st_size, stat.st_mtime_ns, sha)
        return dict(sorted(found.items()))

    def _wanted(self, name: str) -> bool:
        # Hidden and temporary names are how writers stage a file before renaming it into place.
        if name.startswith((".", "~")):
            return False
        return any(fnmatch.fnmatch(name, pattern) for pattern in self.patterns)

    def _compare(self, done: Done) -> Check:
        result = Check(source=self.key)
        present = {state.sha256 for state in self._files.values()}
        for name, state in self._files.items():
            status = done.get(state.sha256, [None])[0]
            if status == "ingested":
                result.already_ingested += 1
            elif status == "quarantined":
                result.previously_quarantined.append(name)
            else:
                path = self.folder / name
                result.new.append(Batch(self.key, name, state.sha256, state.size, path))
        result.missing = sorted(
            name
            for sha, (status, name) in done.items()
            if status == "ingested" and sha not in present
        )
        return result

    def _done(self, store: Store) -> Done:
        """The finished batches of this folder, from the records."""
        done: Done = {}
        for record in store.batches(source=self.key):
            if record.status in ("ingested", "quarantined"):
                done[record.sha256] = [record.status, record.name]
        return done
