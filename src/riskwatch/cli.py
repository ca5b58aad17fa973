"""The `riskwatch` command: parse, call one function, format. Heavy modules load per command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from riskwatch import __version__
from riskwatch.config import ConfigError, Settings, load_settings
from riskwatch.errors import RiskwatchError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
log = logging.getLogger("riskwatch")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one riskwatch command and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    # --config and friends may stand before or after the command; unset ones get defaults here
    # (set_defaults would change the actions the subcommands share and undo the first position).
    for name, default in (("config", None), ("verbose", False), ("quiet", False)):
        if not hasattr(args, name):
            setattr(args, name, default)
    logging.basicConfig(
        level=logging.DEBUG
        if args.verbose
        else logging.INFO
        if not args.quiet
        else logging.WARNING,
        format="riskwatch: %(message)s",
        stream=sys.stderr,
    )
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return EXIT_USAGE
    except (RiskwatchError, OSError) as exc:
        log.error("error: %s", exc)
        return EXIT_FAILED
    except Exception as exc:  # a bug, not the user's doing: say so, keep the trace for -v
        log.error("internal error: %s: %s (run with -v for the traceback)", type(exc).__name__, exc)
        log.debug("traceback", exc_info=True)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (riskwatch.toml or classic config.json); "
        "default ./riskwatch.toml, else ./config.json",
    )
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="riskwatch",
        description="Create, deploy and monitor a client-attrition risk model.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"riskwatch {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    _add_demo(commands, common)
    _add_ingest(commands, common)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    """Print one JSON document with --json, else the readable text (logs go to stderr)."""
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(text + ("\n" if text else ""))


# ---- demo -------------------------------------------------------------------------------------


def _add_demo(commands: Any, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo", parents=[common], help="create a demo workspace with synthetic client data"
    )
    demo.add_argument("directory", type=Path, help="folder to create the workspace in")
    demo.add_argument("--months", type=int, default=12, help="monthly data drops (default 12)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument(
        "--scenario", default="none", help="drift scenario: none, covariate or concept"
    )
    demo.add_argument("--drift-month", type=int, default=None, help="first month of the drift")
    demo.add_argument("--clients", type=int, default=10_000, help="clients (default 10,000)")
    demo.add_argument("--force", action="store_true", help="replace an existing demo workspace")
    demo.add_argument("--json", action="store_true", help="print the result as JSON")
    demo.set_defaults(command=_demo)


def _demo(args: argparse.Namespace) -> int:
    from riskwatch.demo import create_demo  # noqa: PLC0415 - numpy/pandas only when needed

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
        f"  exit rate {summary.exit_rate:.1%}, holdout {summary.holdout_rows:,} rows\n"
        f"Next: riskwatch --config {summary.config_file} ingest"
    )
    _emit(args, data, text)
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

    settings = _settings(args)
    report = ingest(settings, dry_run=args.dry_run, progress=None if args.json else _progress)
    _emit(args, report.to_dict(), report.summary())
    return EXIT_OK


def _progress(label: str, total: int) -> Callable[[int], None]:
    """A progress bar on stderr (only on a terminal) over a file's bytes."""
    from tqdm import tqdm  # noqa: PLC0415

    bar = tqdm(total=total, desc=label, unit="B", unit_scale=True, disable=None, leave=False)

    def advance(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return advance


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
