"""The main job on a demo workspace: one monitored cycle per monthly drop, then where to look."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from riskwatch.cli.common import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    emit,
    hidden,
    positive_int,
    settings_of,
)

log = logging.getLogger(__name__)


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register replay."""
    replay = commands.add_parser(
        "replay",
        parents=[common],
        help="demo workspace: publish each monthly drop and run one monitored cycle for it",
    )
    replay.add_argument(
        "--months", type=positive_int, help="stop after this many months (default: all)"
    )
    replay.add_argument("--json", action="store_true", help="print the result as JSON")
    replay.set_defaults(command=_replay)


def _replay(args: argparse.Namespace) -> int:
    from tqdm import tqdm  # noqa: PLC0415

    from riskwatch.demo.replay import replay_demo  # noqa: PLC0415 - heavy
    from riskwatch.fullprocess.result import CycleResult  # noqa: PLC0415
    from riskwatch.scheduler import LockedError, run_lock  # noqa: PLC0415

    settings = settings_of(args)
    lines: list[str] = []
    live = sys.stderr.isatty() and not args.json  # each month as it ends, on a terminal
    with tqdm(desc="cycles", unit="month", disable=hidden(), leave=False) as bar:

        def shown(month: int, result: CycleResult) -> None:
            bar.update(1)
            decided = _decisions(result)
            lines.append(f"  month {month:>2}: {result.outcome:<12} {decided}")
            if live:
                bar.write(lines[-1], file=sys.stderr)

        try:
            with run_lock(settings):
                results = replay_demo(settings, months=args.months, on_cycle=shown)
        except LockedError as exc:
            log.error("error: %s", exc)
            return EXIT_LOCKED
    failed = next((r for r in results if r.error), None)
    shown_lines = [] if live else ["Cycles:", *lines, ""]
    text = "\n".join([*shown_lines, _where(settings) if not failed else ""])
    emit(args, {"cycles": [r.to_dict() for r in results]}, text)
    if failed:
        log.error("error: cycle %s failed: %s", failed.cycle_id, failed.error)
        return EXIT_FAILED
    return EXIT_OK


def _decisions(result: Any) -> str:
    for step in result.steps:
        if step.name in ("evaluate", "retrain", "initial model") and step.detail.get("reason"):
            said = str(step.detail["reason"])
            return said if len(said) < 110 else said[:107] + "..."
    return ""


def _where(settings: Any) -> str:
    import pandas as pd  # noqa: PLC0415

    from riskwatch.calllist.build import CALL_LIST  # noqa: PLC0415

    path = settings.reports_path / CALL_LIST
    top = pd.read_csv(path, dtype=str, keep_default_na=False).head(10)
    config = settings.config_file
    return "\n".join(
        [
            f"Report:    {settings.reports_path / 'report.html'} (and report.pdf)",
            f"Call list: {path}",
            "",
            "Top of the call list (change since last month's list):",
            *(
                f"  {r.rank:>3}. {r.corporation:<14} {float(str(r.probability)):6.1%} "
                f"{r.risk_band:<6} {r.change:<16} {r.reasons}"
                for r in top.itertuples(index=False)
            ),
            "",
            f"Serve the API: riskwatch --config {config} serve   (then: riskwatch "
            f"--config {config} apicalls)",
            f"What happened: riskwatch --config {config} status",
        ]
    )
