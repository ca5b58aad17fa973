"""Killing real `riskwatch run` cycles and checking what they left: shared by
tests/test_cycle_crashes.py and the soak command benchmarks/soak_cycles.py."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from riskwatch.config import load_settings
from riskwatch.fullprocess.record import read_mark
from riskwatch.ingestion.master import read_master
from riskwatch.model.registry import RegistryError, load_deployed
from riskwatch.schema import BATCH_COLUMN
from riskwatch.storage.store import Store, batches, cycles, deployments

from .conftest import OFFLINE_INDEX, RISKWATCH, clean_env


def riskwatch_run(config: Path) -> subprocess.Popen[str]:
    """Start one real cycle (`riskwatch run --json`), offline and with a quick bootstrap."""
    environment = clean_env(
        RISKWATCH_PACKAGE_INDEX_URL=OFFLINE_INDEX, RISKWATCH_BOOTSTRAP_RESAMPLES="50"
    )
    return subprocess.Popen(
        [str(RISKWATCH), "--config", str(config), "run", "--json"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_cycle(config: Path, seconds: float) -> bool:
    """Start a cycle and SIGKILL it after the delay; whether it was still running."""
    with riskwatch_run(config) as process:
        time.sleep(seconds)
        running = process.poll() is None
        if running:
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    return running


@dataclass(frozen=True)
class Finished:
    """The cycle run after a kill: its exit code, its JSON result, its error output."""

    returncode: int
    result: dict[str, Any]
    stderr: str
    seconds: float


def finish(config: Path) -> Finished:
    """Run a cycle to its end."""
    started = time.perf_counter()
    with riskwatch_run(config) as process:
        out, err = process.communicate(timeout=600)
    result = json.loads(out) if out.strip().startswith("{") else {}
    return Finished(process.returncode, result, err, time.perf_counter() - started)


@dataclass(frozen=True)
class Consistency:
    """What a workspace holds after a cycle: each figure the crash-safety aims are about."""

    batches_exactly_once: bool  # each source file ingested once, its rows in the master once
    pending_batches: int
    running_cycles: int
    deployment_loadable: bool
    deployment_recorded: bool
    mark_left: bool  # an unfinished cycle's mark still on disk

    @property
    def ok(self) -> bool:
        """Whether every figure is as it must be."""
        return (
            self.batches_exactly_once
            and not self.pending_batches
            and not self.running_cycles
            and self.deployment_loadable
            and self.deployment_recorded
            and not self.mark_left
        )

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values."""
        return asdict(self)


def consistency(config: Path) -> Consistency:
    """Check the master, the batch and cycle records, production and the mark of a workspace."""
    settings = load_settings(config, env={})
    master = read_master(settings.output_folder_path)
    with Store(settings.database_url) as store:
        ingested = store.rows(batches, status="ingested")
        pending = len(store.rows(batches, status="pending"))
        recorded = {row["version"] for row in store.rows(deployments)}
        running = len(store.rows(cycles, outcome="running"))
    counts = master[BATCH_COLUMN].value_counts().to_dict() if len(master) else {}
    files = sorted(p.name for p in settings.input_folder_path.iterdir())
    once = (
        {row["id"]: row["rows_added"] for row in ingested} == counts
        and len({row["sha256"] for row in ingested}) == len(ingested)  # none ingested twice
        and sorted(row["name"] for row in ingested) == files  # none lost
    )
    try:
        deployed, _ = load_deployed(settings.prod_deployment_path)  # complete and loadable
    except (RegistryError, OSError):
        return Consistency(once, pending, running, False, False, read_mark(settings) is not None)
    mark = read_mark(settings) is not None
    return Consistency(once, pending, running, True, deployed.version in recorded, mark)
