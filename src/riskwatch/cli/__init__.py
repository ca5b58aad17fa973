"""The `riskwatch` command: parse, call one function, format. Heavy modules load per command."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from riskwatch import __version__
from riskwatch.cli import automation, contacts, data, model, monitor, replay, report, serve
from riskwatch.cli import backtest as backtest_command
from riskwatch.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, LastError, emit_error
from riskwatch.cli.usage import JSON_FLAG, Parser, UsageError, command_path, explain, takes_json
from riskwatch.config import ConfigError
from riskwatch.errors import RiskwatchError

# OpenMP threads of the models (scikit-learn's gradient boosting): one, unless the user says
# otherwise. With two threads on a busy machine, a fit measured 0.3 s alone took 1.3-35 s
# (threads spin-waiting for a core), while one thread kept 0.26-0.3 s; read by OpenMP when
# scikit-learn loads, so it is set before any command imports it.
THREADS_ENV = "OMP_NUM_THREADS"

# Every module's commands, in the order of the help; and the module registering each command.
# A command line naming a command after no other option than these builds that module's
# parsers alone: building all 27 took 8 ms of CPU, a tenth of a `riskwatch run` with no new
# data. A command line they refuse is parsed again by the whole parser, which explains the
# refusal as before (a test checks this map against what the modules register).
MODULES = (data, model, monitor, report, serve, automation, replay, contacts, backtest_command)
REGISTERS: dict[str, ModuleType] = {
    **dict.fromkeys(("demo", "ingest"), data),
    **dict.fromkeys(("train", "score", "deploy", "rollback", "status", "models"), model),
    "calllist": model,
    "diagnose": monitor,
    "report": report,
    **dict.fromkeys(("serve", "apicalls"), serve),
    **dict.fromkeys(("run", "schedule", "cron"), automation),
    "replay": replay,
    "contacts": contacts,
    "backtest": backtest_command,
}
SHARED_FLAGS = frozenset({"-v", "--verbose", "-q", "--quiet"})
CONFIG_OPTION = "--config"

log = logging.getLogger(__name__)
# The package's logger: its level and the LastError handler cover every riskwatch module.
package_log = logging.getLogger(__name__.partition(".")[0])


def main(argv: Sequence[str] | None = None) -> int:
    """Run one riskwatch command and return its exit code."""
    os.environ.setdefault(THREADS_ENV, "1")
    argv = list(sys.argv[1:] if argv is None else argv)
    parsed = _parse(argv)
    if isinstance(parsed, int):
        return parsed
    args, words = parsed
    # --config and friends may stand before or after the command; unset ones get defaults here
    # (set_defaults would change the actions the subcommands share and undo the first position).
    for name, default in (("config", None), ("verbose", False), ("quiet", False)):
        if not hasattr(args, name):
            setattr(args, name, default)
    _logging(verbose=args.verbose, quiet=args.quiet)
    errors = LastError()
    package_log.addHandler(errors)
    try:
        code = _call(args)
    finally:
        package_log.removeHandler(errors)
    if code != EXIT_OK and getattr(args, "json", False) and not getattr(args, "emitted", False):
        emit_error(words, errors.message or f"exit code {code}", code)
    return code


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]] | int:
    """The parsed command line and its command words; the exit code of a refused one."""
    module = _module_of(argv)
    if module is not None:
        quick = _parser(module)
        with contextlib.suppress(UsageError):  # refused: the whole parser says why
            return quick.parse_args(argv), command_path(quick, argv)[0]
    parser = _parser()
    words, innermost = command_path(parser, argv)
    try:
        return parser.parse_args(argv), words
    except UsageError as exc:
        return _refused(exc, argv, words, innermost if exc.parser is parser else exc.parser)


def _module_of(argv: list[str]) -> ModuleType | None:
    """The module registering the command argv names first, after shared options only."""
    tokens = iter(argv)
    for token in tokens:
        if token == CONFIG_OPTION:
            next(tokens, None)  # its value
        elif not (token in SHARED_FLAGS or token.startswith(f"{CONFIG_OPTION}=")):
            # (--help, --version and abbreviations of options need the whole parser)
            return REGISTERS.get(token)
    return None


def _refused(
    exc: UsageError, argv: list[str], words: list[str], innermost: argparse.ArgumentParser
) -> int:
    """Say why the command line was refused, with a did-you-mean; exit 2."""
    _logging(verbose=False, quiet=False)
    # Unknown options are refused by the top parser, but the command's usage is the help
    # (the caller passes the command's parser as innermost then).
    sys.stderr.write(innermost.format_usage())
    message = explain(exc, words, innermost)
    log.error("%s", message)
    # An unknown command takes no option, but whoever typed --json reads stdout as JSON.
    if _json_asked(argv) and (takes_json(innermost) or not words):
        emit_error(words, message, EXIT_USAGE)
    return EXIT_USAGE


def _json_asked(argv: list[str]) -> bool:
    return JSON_FLAG in (argv[: argv.index("--")] if "--" in argv else argv)


def _logging(*, verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    # Our messages at the chosen level; libraries' (WeasyPrint's layout steps, fontTools' font
    # subsetting) only when they fail, unless -v asks for everything.
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.ERROR,
        format="riskwatch: %(message)s",
        stream=sys.stderr,
    )
    package_log.setLevel(level)


def _call(args: argparse.Namespace) -> int:
    """The command's exit code; errors it raises become a message and their exit code."""
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


def _parser(only: ModuleType | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every command's, or those of one module."""
    common = Parser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (riskwatch.toml or classic config.json); "
        "default ./riskwatch.toml, else ./config.json",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="say everything, libraries' messages and tracebacks included",
    )
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="say only warnings and errors (no progress, no steps)",
    )
    parser = Parser(
        prog="riskwatch",
        description="Create, deploy and monitor a client-attrition risk model.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"riskwatch {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for module in MODULES if only is None else (only,):
        module.add_commands(commands, common)
    return parser


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
