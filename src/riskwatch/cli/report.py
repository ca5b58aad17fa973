"""The report command: plots and the HTML/PDF report of the deployed model."""

from __future__ import annotations

import argparse
from typing import Any

from riskwatch.cli.common import EXIT_OK, emit, scipy_special_first, settings_of, step_lines
from riskwatch.storage import open_store


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the report command."""
    report = commands.add_parser(
        "report",
        parents=[common],
        help="plots and an HTML/PDF report for client managers and data scientists; "
        "kept in reports/<time>/, the newest also at reports/report.html and report.pdf",
    )
    report.add_argument("--json", action="store_true", help="print the result as JSON")
    report.set_defaults(command=_report)


def _report(args: argparse.Namespace) -> int:
    # matplotlib, WeasyPrint and scikit-learn cost seconds to import: only for this command.
    scipy_special_first()  # before them
    from riskwatch.reporting import build_report  # noqa: PLC0415

    settings = settings_of(args)
    with open_store(settings) as store:
        result = build_report(settings, store, on_stage=step_lines(args))
    emit(args, result.to_dict(), result.text())
    return EXIT_OK
