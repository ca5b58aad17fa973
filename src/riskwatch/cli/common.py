"""What every command shares: settings, output, exit codes, progress."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from riskwatch.config import Settings, load_settings
from riskwatch.model.imports import scipy_special_first as scipy_special_first  # noqa: PLC0414

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
log = logging.getLogger(__name__)


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings the command line names (--config, else the current folder's file)."""
    return load_settings(args.config)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    """Print one JSON document with --json, else the readable text (logs go to stderr)."""
    args.emitted = True  # main then adds no error document: stdout holds one JSON document
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(text + ("\n" if text else ""))


def emit_error(words: list[str], message: str, code: int) -> None:
    """Print the JSON error document --json promises when a command fails (stdout)."""
    document = {"error": message, "exit_code": code, "command": " ".join(words) or None}
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


class LastError(logging.Handler):
    """Keeps the last error a command logged: the message of its JSON error document."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's message."""
        self.message = record.getMessage()


StepLines = Callable[[str, float | None], None]


def step_lines(args: argparse.Namespace) -> StepLines | None:
    """Say on stderr when each step starts and ends, only to a person at a terminal."""
    # Nothing for scripts (--json, a pipe, cron's log) nor with -q: their output stays as it was.
    if getattr(args, "json", False) or getattr(args, "quiet", False) or not sys.stderr.isatty():
        return None

    def said(name: str, seconds: float | None) -> None:
        if seconds is None:
            log.info("%s ...", name)
        else:
            log.info("%s: done in %.1f s", name, seconds)

    return said


def hidden() -> bool | None:
    """tqdm's disable argument: hidden with -q, else shown on a terminal only (None)."""
    return True if not log.isEnabledFor(logging.INFO) else None


def progress(label: str, total: int) -> Callable[[int], None]:
    """A progress bar on stderr (only on a terminal) over a file's bytes."""
    from tqdm import tqdm  # noqa: PLC0415

    bar = tqdm(total=total, desc=label, unit="B", unit_scale=True, disable=hidden(), leave=False)

    def advance(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return advance
