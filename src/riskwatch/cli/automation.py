"""Commands that run cycles: run one, schedule them in the foreground, or install a cron entry."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from riskwatch.cli.common import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    emit,
    positive_int,
    settings_of,
    step_lines,
)
from riskwatch.errors import RiskwatchError
from riskwatch.scheduler import LockedError, parse_interval, run_every, run_lock

# riskwatch.scheduler_cron is imported by the cron commands only: it loads subprocess, shutil
# and shlex, which `run` with no new data (what cron starts most) does not need.

log = logging.getLogger(__name__)


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register run, schedule and cron."""
    run = commands.add_parser("run", parents=[common], help="run one full monitored cycle")
    run.add_argument(
        "--wait", action="store_true", help="wait for a running cycle to finish instead of exit 3"
    )
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument(
        "--trigger",
        choices=("manual", "cron"),
        default="manual",
        help="what started the cycle, as recorded (the cron entry says cron)",
    )
    run.set_defaults(command=_run)
    schedule = commands.add_parser(
        "schedule", parents=[common], help="run cycles at an interval until stopped (Ctrl-C)"
    )
    schedule.add_argument(
        "--every", type=_interval, default="10m", help="interval, e.g. 30s, 10m, 2h (default 10m)"
    )
    schedule.add_argument("--max-cycles", type=positive_int, help="stop after this many cycles")
    schedule.set_defaults(command=_schedule)
    _add_cron(commands, common)


def _add_cron(commands: Any, common: argparse.ArgumentParser) -> None:
    cron = commands.add_parser(
        "cron", parents=[common], help="install, show or remove this workspace's cron entry"
    )
    actions = cron.add_subparsers(title="actions", required=True, metavar="ACTION")
    install = actions.add_parser("install", parents=[common], help="install or replace the entry")
    install.add_argument(
        "--every",
        type=_cron_interval,
        default="10m",
        help="interval, e.g. 10m, 2h, 1d (default 10m)",
    )
    install.set_defaults(command=_cron_install)
    show = actions.add_parser("show", parents=[common], help="print the installed entry")
    show.set_defaults(command=_cron_show)
    remove = actions.add_parser("remove", parents=[common], help="remove the entry")
    remove.set_defaults(command=_cron_remove)
    for action in (install, show, remove):
        action.add_argument("--json", action="store_true", help="print the result as JSON")


def _interval(text: str) -> str:
    try:
        parse_interval(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _cron_interval(text: str) -> str:
    from riskwatch.scheduler_cron import cron_schedule  # noqa: PLC0415

    try:
        cron_schedule(parse_interval(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    try:
        with run_lock(settings, wait=args.wait):
            from riskwatch.fullprocess import run_cycle  # noqa: PLC0415 - heavy, after the lock

            result = run_cycle(settings, trigger=args.trigger, on_step=step_lines(args))
    except LockedError as exc:
        log.error("%s", exc)
        return EXIT_LOCKED
    emit(args, result.to_dict(), result.summary())
    if result.error:
        log.error("error: %s", result.error)
        return EXIT_FAILED
    return EXIT_OK


def _schedule(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    from riskwatch.fullprocess import run_cycle  # noqa: PLC0415 - heavy

    def tick() -> str:
        try:
            with run_lock(settings):
                result = run_cycle(settings, trigger="schedule", on_step=step_lines(args))
        except LockedError as exc:
            return f"skipped: another cycle holds the lock ({exc.holder})"
        if result.error:
            log.info("%s", result.summary())
            raise RiskwatchError(result.error)
        return result.summary()

    log.info("running a cycle of %s every %s (Ctrl-C stops)", settings.workspace, args.every)
    run_every(parse_interval(args.every), tick, max_cycles=args.max_cycles)
    return EXIT_OK


def _cron_install(args: argparse.Namespace) -> int:
    from riskwatch.scheduler_cron import CRON_LOG, CRONJOB_FILE, install_cron  # noqa: PLC0415

    settings = settings_of(args)
    line = install_cron(settings, args.every)
    text = (
        f"Installed in the crontab:\n{line}\n"
        f"Log: {settings.workspace / CRON_LOG}; also written to {settings.workspace / CRONJOB_FILE}"
    )
    emit(args, _cron_record(settings.workspace, line), text)
    return EXIT_OK


def _cron_show(args: argparse.Namespace) -> int:
    from riskwatch.scheduler_cron import show_cron  # noqa: PLC0415

    settings = settings_of(args)
    line = show_cron(settings)
    text = line if line is not None else f"No riskwatch cron entry for {settings.workspace}"
    emit(args, _cron_record(settings.workspace, line), text)
    return EXIT_OK


def _cron_remove(args: argparse.Namespace) -> int:
    from riskwatch.scheduler_cron import remove_cron  # noqa: PLC0415

    settings = settings_of(args)
    removed = remove_cron(settings)
    text = "Removed the cron entry" if removed else "No riskwatch cron entry to remove"
    emit(
        args,
        {"workspace": str(settings.workspace), "removed": removed},
        f"{text} for {settings.workspace}",
    )
    return EXIT_OK


def _cron_record(workspace: Path, line: str | None) -> dict[str, Any]:
    return {"workspace": str(workspace), "installed": line is not None, "line": line}
