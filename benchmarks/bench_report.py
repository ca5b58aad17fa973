"""Report benchmark: `diagnose` and `build_report` on the 10,000-client demo, timed once each.

Each report is also given in CPU seconds (this process's, and its child processes').

Run with `make bench` or `.venv/bin/python benchmarks/bench_report.py` (not part of the tests).
The workspace is the demo with its defaults: month 1 ingested, a model trained on it and
deployed, then month 2 ingested so that the report checks drift and accuracy on data the model
has not seen.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import footer, heading

from riskwatch.config import Settings, load_settings
from riskwatch.demo.workspace import create_demo, release_month
from riskwatch.deployment import deploy
from riskwatch.diagnostics.diagnosis import diagnose
from riskwatch.ingestion.ingest import ingest
from riskwatch.reporting import build_report
from riskwatch.storage.store import Store
from riskwatch.training import train_version


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """The seconds one run of work took, and its result."""
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user and system) used so far by this process and by its ended children."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def timed_report(settings: Settings, store: Store) -> tuple[str, Any]:
    """One report's wall seconds and CPU seconds (this process + children), and its result."""
    before = cpu_seconds()
    wall, result = timed(lambda: build_report(settings, store))
    own, children = (after - earlier for after, earlier in zip(cpu_seconds(), before, strict=True))
    return f"{wall:.2f} | {own:.2f} + {children:.2f}", result


def demo_workspace(folder: Path) -> Settings:
    """The default demo with a deployed model trained on month 1, and month 2 ingested."""
    create_demo(folder)
    settings = load_settings(folder / "riskwatch.toml", env={})
    ingest(settings)
    with Store(settings.database_url) as store:
        deploy(settings, store, train_version(settings, store).version)
    release_month(folder, 2)
    ingest(settings)
    return settings


def main() -> None:
    """Time the steps and print a Markdown table."""
    heading("Report benchmark")
    with tempfile.TemporaryDirectory() as folder:
        settings = demo_workspace(Path(folder) / "ws")
        with Store(settings.database_url) as store:
            diagnosed, _ = timed(lambda: diagnose(settings, store))
            first, report = timed_report(settings, store)
            second, _ = timed_report(settings, store)
        rows = f"{report.summary.clients + report.summary.left:,} clients"
        print("| step | data | seconds | CPU seconds (this process + children) |")
        print("|---|---|---:|---:|")
        print(
            f"| diagnose (all parts: one ingestion and one training timed, package index asked) "
            f"| {rows} | {diagnosed:.2f} | |"
        )
        print(f"| report, first in the process | {rows} | {first} |")
        print(f"| report, again | {rows} | {second} |")
        sizes = (
            f"{report.pdf.stat().st_size / 1e6:.2f} MB PDF, {report.html.stat().st_size / 1e6:.2f}"
        )
        print(f"\nThe report: {sizes} MB self-contained HTML.")
    footer()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
