"""`riskwatch backtest`: riskwatch's policy against fixed retraining schedules on your history."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from riskwatch.cli.common import EXIT_OK, emit, settings_of

log = logging.getLogger(__name__)


def windows(text: str) -> tuple[int, ...]:
    """An argparse type: comma-separated numbers of drops, each 1 or more."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be numbers of drops such as 1,3; got {text!r}")
    return values


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register backtest."""
    backtest = commands.add_parser(
        "backtest",
        parents=[common],
        help="replay the workspace's labelled drops under riskwatch's policy and fixed "
        "retraining schedules, each drop scored by the model deployed before it",
    )
    backtest.add_argument(
        "--windows",
        type=windows,
        default=(1, 3),
        help="the sliding windows (in drops) of the monthly schedules (default 1,3)",
    )
    backtest.add_argument("--json", action="store_true", help="print the result as JSON")
    backtest.set_defaults(command=_backtest)


def _backtest(args: argparse.Namespace) -> int:
    from riskwatch.backtest.run import backtest  # noqa: PLC0415 - heavy

    settings = settings_of(args)
    found = backtest(
        settings, windows=args.windows, on_policy=lambda name: log.info("replaying: %s", name)
    )
    scored = len(found.drops) - 1
    said = (
        f"{len(found.drops)} drops; each of the last {scored} scored by the model deployed "
        f"before it (K = {found.k}, the call-list capacity)"
    )
    decided = " ".join(found.runs[-1].decisions)
    text = "\n".join([said, "", *found.table(), "", f"riskwatch's cycles: {decided}"])
    emit(args, found.to_dict(), text)
    return EXIT_OK
