"""`serve --workers N`: one directory for the workers' metrics, and the dead workers marked.

prometheus_client's multiprocess mode wants its directory named in the environment before a
worker imports it, emptied before the workers start, and each dead worker marked so that its
live gauges stop being shown. uvicorn's supervisor has no hook for a worker's end (gunicorn's
child_exit): this one compares its workers' pids after each of its rounds.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.multiprocess import mark_process_dead
from uvicorn.supervisors import Multiprocess

from riskwatch.api.telemetry import MULTIPROC_ENV

log = logging.getLogger(__name__)


@contextmanager
def metrics_directory() -> Iterator[Path]:
    """PROMETHEUS_MULTIPROC_DIR for the workers to come: the one the environment names, emptied
    of old counts, else a new temporary one, removed at the end."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):  # only prometheus_client's files: the folder is the user's
            old.unlink()
    else:
        path = Path(tempfile.mkdtemp(prefix="riskwatch-metrics-"))
        os.environ[MULTIPROC_ENV] = str(path)  # inherited by each worker process
    log.debug("worker metrics in %s", path)
    try:
        yield path
    finally:
        if not given:
            shutil.rmtree(path, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)


class Workers(Multiprocess):
    """uvicorn's supervisor of worker processes, marking each one that ends as dead."""

    _pids: frozenset[int] = frozenset()

    def init_processes(self) -> None:
        """Start the workers."""
        super().init_processes()
        self._sweep()

    def keep_subprocess_alive(self) -> None:
        """Replace the workers that died, and mark them."""
        super().keep_subprocess_alive()
        self._sweep()

    def handle_signals(self) -> None:
        """Restart (HUP) or remove (TTOU) workers on a signal, and mark those that ended."""
        super().handle_signals()
        self._sweep()

    def join_all(self) -> None:
        """Wait for every worker to end, then mark them all."""
        super().join_all()
        for pid in self._pids:
            mark_process_dead(pid)  # type: ignore[no-untyped-call]
        self._pids = frozenset()

    def _sweep(self) -> None:
        live = frozenset(pid for pid in (process.pid for process in self.processes) if pid)
        for pid in self._pids - live:
            log.info("worker %d ended: its live gauges are removed from the metrics", pid)
            mark_process_dead(pid)  # type: ignore[no-untyped-call]
        self._pids = live
