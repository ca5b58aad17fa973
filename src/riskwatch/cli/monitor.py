"""Commands about the model's health: diagnose."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from riskwatch.cli.common import EXIT_OK, emit, open_store, settings_of


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
        help="print the stored results of one diagnostic (predictions, summary_statistics, "
        "missing_data, timings, dependencies) instead of running them",
    )
    diagnose.add_argument("--limit", type=int, default=10, help="results shown with --history")
    diagnose.add_argument("--json", action="store_true", help="print the result as JSON")
    diagnose.set_defaults(command=_diagnose)


def _diagnose(args: argparse.Namespace) -> int:
    from riskwatch.diagnostics import diagnose, history  # noqa: PLC0415 - heavy

    settings = settings_of(args)
    with open_store(settings) as store:
        if args.history:
            rows = history(store, args.history, limit=args.limit)
            text = "\n".join(
                f"{r['created_at']}  {r['version'] or '-'}  {json.dumps(r['result'])[:90]}"
                for r in rows
            )
            emit(args, {"kind": args.history, "history": rows}, text)
            return EXIT_OK
        found = diagnose(
            settings, store, data=args.data, timings=args.timings, dependencies=args.dependencies
        )
    emit(args, found.to_dict(), found.summary())
    return EXIT_OK
