"""Commands about data: demo, ingest."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from riskwatch.cli.common import EXIT_OK, EXIT_USAGE, emit, progress, settings_of

log = logging.getLogger(__name__)


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the data commands."""
    _add_demo(commands, common)
    _add_ingest(commands, common)


# ---- demo -------------------------------------------------------------------------------------


def _add_demo(commands: Any, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo", parents=[common], help="create a demo workspace with synthetic client data"
    )
    demo.add_argument("directory", type=Path, help="folder to create the workspace in")
    demo.add_argument("--months", type=int, default=12, help="monthly data drops (default 12)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument(
        "--scenario",
        default="none",
        help="drift scenario: none, covariate, concept, gradual or seasonal",
    )
    demo.add_argument("--drift-month", type=int, default=None, help="first month of the drift")
    demo.add_argument("--clients", type=int, default=10_000, help="clients (default 10,000)")
    demo.add_argument("--force", action="store_true", help="replace an existing demo workspace")
    demo.add_argument("--json", action="store_true", help="print the result as JSON")
    demo.set_defaults(command=_demo)


def _demo(args: argparse.Namespace) -> int:
    from riskwatch.demo.workspace import create_demo  # noqa: PLC0415 - numpy/pandas only when needed

    try:
        summary = create_demo(
            args.directory,
            months=args.months,
            seed=args.seed,
            scenario=args.scenario,
            drift_month=args.drift_month,
            clients=args.clients,
            force=args.force,
        )
    except (ValueError, FileExistsError) as exc:
        log.error("error: %s", exc)
        return EXIT_USAGE
    data = {k: str(v) if isinstance(v, Path) else v for k, v in vars(summary).items()}
    drift = f", drift from month {summary.drift_month}" if summary.drift_month else ""
    text = (
        f"Demo workspace: {summary.workspace}\n"
        f"  {summary.clients:,} clients, {summary.months} monthly drops of "
        f"{summary.rows_per_month:,} rows, scenario {summary.scenario}{drift}\n"
        f"  monthly churn {summary.exit_rate:.1%} (each leaver replaced by a new client the "
        f"next month), holdout {summary.holdout_rows:,} rows\n"
        f"Next: riskwatch --config {summary.config_file} ingest"
    )
    emit(args, data, text)
    return EXIT_OK


# ---- ingest -----------------------------------------------------------------------------------


def _add_ingest(commands: Any, common: argparse.ArgumentParser) -> None:
    ingest = commands.add_parser(
        "ingest", parents=[common], help="ingest new data from the source into the master dataset"
    )
    ingest.add_argument("--dry-run", action="store_true", help="say what is new; change nothing")
    ingest.add_argument("--json", action="store_true", help="print the result as JSON")
    ingest.set_defaults(command=_ingest)


def _ingest(args: argparse.Namespace) -> int:
    from riskwatch.ingestion import ingest  # noqa: PLC0415

    settings = settings_of(args)
    report = ingest(settings, dry_run=args.dry_run, progress=None if args.json else progress)
    emit(args, report.to_dict(), report.summary())
    return EXIT_OK
