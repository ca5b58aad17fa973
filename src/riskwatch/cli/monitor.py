"""Commands about the model's health: diagnose."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from riskwatch.cli.common import EXIT_OK, emit, positive_int, settings_of
from riskwatch.storage import open_store

# The kinds diagnostics.RECORDED_KINDS stores, named here so that `--help` needs no pandas
# (a test checks the two agree).
HISTORY_KINDS = (
    "predictions",
    "summary_statistics",
    "missing_data",
    "timings",
    "dependencies",
    "drift",
)


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the monitoring commands."""
    diagnose = commands.add_parser(
        "diagnose",
        parents=[common],
        help="predictions, summary statistics, missing data, timings and dependency versions",
    )
    diagnose.add_argument(
        "--data", type=Path, help="data file or folder to predict on (default: the holdout)"
    )
    diagnose.add_argument(
        "--no-timings",
        dest="timings",
        action="store_false",
        help="skip timing one ingestion and one training",
    )
    diagnose.add_argument(
        "--no-dependencies",
        dest="dependencies",
        action="store_false",
        help="skip asking the package index for the latest versions",
    )
    diagnose.add_argument(
        "--history",
        metavar="KIND",
        choices=HISTORY_KINDS,
        help="print the stored results of one kind instead of running the diagnostics; "
        f"kinds: {', '.join(HISTORY_KINDS)} (drift: recorded by each report)",
    )
    diagnose.add_argument(
        "--limit", type=positive_int, default=10, help="results shown with --history (default 10)"
    )
    diagnose.add_argument("--json", action="store_true", help="print the result as JSON")
    diagnose.set_defaults(command=_diagnose)


def _diagnose(args: argparse.Namespace) -> int:
    from riskwatch.diagnostics.diagnosis import diagnose, history, history_text  # noqa: PLC0415 - heavy

    settings = settings_of(args)
    with open_store(settings) as store:
        if args.history:
            rows = history(store, args.history, limit=args.limit)
            text = history_text(args.history, rows)
            emit(args, {"kind": args.history, "history": rows}, text)
            return EXIT_OK
        found = diagnose(
            settings, store, data=args.data, timings=args.timings, dependencies=args.dependencies
        )
    emit(args, found.to_dict(), found.summary())
    return EXIT_OK
