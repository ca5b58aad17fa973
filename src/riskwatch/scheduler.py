"""Running cycles at intervals: the run lock, a cron entry per workspace, a foreground loop."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from riskwatch.config import Settings
from riskwatch.errors import RiskwatchError
from riskwatch.storage.files import read_json, write_text_atomic

log = logging.getLogger(__name__)

LOCK_FILE = ".riskwatch.lock"
CRONJOB_FILE = "cronjob.txt"
CRON_LOG = Path("logs") / "cron.log"
CRON_MARKER = "# riskwatch: "
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Intervals cron repeats exactly: divisors of an hour in minutes, of a day in hours.
CRON_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
CRON_HOURS = (1, 2, 3, 4, 6, 8, 12)
CRON_CAN = (
    "cron can run every 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 minutes (e.g. 10m), "
    "every 1, 2, 3, 4, 6, 8 or 12 hours (e.g. 2h), daily (1d) or weekly (7d)"
)


class LockedError(RiskwatchError):
    """Another cycle holds the workspace's run lock."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        super().__init__(f"another cycle holds the lock ({holder}); use --wait to wait for it")


@contextlib.contextmanager
def run_lock(settings: Settings, *, wait: bool = False) -> Iterator[None]:
    """Hold the workspace's run lock for the block; LockedError when taken, unless wait."""
    path = settings.workspace / LOCK_FILE
    # flock belongs to this open file: the kernel drops it when the process ends, even by kill -9.
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise LockedError(_holder(path)) from None
            log.info("waiting for the run lock (%s)", _holder(path))
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        _write_holder(descriptor)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)  # still ours: nobody reads a finished cycle as the holder
    finally:
        os.close(descriptor)  # releases the lock


def _write_holder(descriptor: int) -> None:
    """Record this process and the time as the lock's holder."""
    since = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    text = f'{{"pid": {os.getpid()}, "since": "{since}"}}\n'
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, text.encode(), 0)


def _holder(path: Path) -> str:
    """Who holds the lock, as the lock file says."""
    data = read_json(path)
    if not isinstance(data, dict) or "pid" not in data:
        return "holder not recorded yet"
    return f"pid {data['pid']}, since {data.get('since', 'unknown')}"


def parse_interval(text: str) -> int:
    """Seconds in an interval such as 30s, 10m, 2h, 1d or plain seconds (90)."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text.lower())
    seconds = int(match[1]) * UNITS[match[2]] if match else 0
    if seconds < 1:
        raise ValueError(
            f"interval {text!r} is not a whole number of at least 1 with an optional unit s, m, "
            "h or d (e.g. 30s, 10m, 2h, 1d; a plain number is seconds)"
        )
    return seconds


def format_interval(seconds: int) -> str:
    """An interval in the largest unit that divides it (600 -> 10m)."""
    for unit in ("d", "h", "m"):
        if seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"


def cron_schedule(seconds: int) -> str:
    """The five cron fields that repeat every `seconds`, or ValueError naming what cron can do."""
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 60:
        raise ValueError(
            f"cron runs at most once a minute, not every {format_interval(seconds)}; "
            "use `riskwatch schedule` for shorter intervals"
        )
    if seconds % 60 == 0 and minutes in CRON_MINUTES:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if seconds % 3600 == 0 and hours in CRON_HOURS:
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if seconds == 86400:
        return "0 0 * * *"
    if seconds == 7 * 86400:
        return "0 0 * * 0"
    raise ValueError(f"cron cannot repeat every {format_interval(seconds)} exactly: {CRON_CAN}")


def cron_line(settings: Settings, every: str) -> str:
    """The crontab line that runs one cycle of this workspace every `every` (e.g. 10m)."""
    fields = cron_schedule(parse_interval(every))
    workspace = settings.workspace.resolve()
    if settings.config_file is None:
        raise RiskwatchError("cron needs settings read from a config file")
    config = settings.config_file.resolve()
    # Not resolved: the venv's python is a symlink, and its scripts sit beside the link.
    script = Path(sys.executable).absolute().with_name("riskwatch")
    if any("\n" in str(path) for path in (workspace, config, script)):
        raise ValueError("a crontab line cannot hold a path with a line break")
    command = (
        f"cd {_quote(workspace)} && {_quote(script)} --config {_quote(config)} run --trigger cron "
        f">> {_quote(workspace / CRON_LOG)} 2>&1"
    )
    return f"{fields} {command}"


def _quote(path: Path) -> str:
    """A path as one shell word; cron would read a bare % as a line break."""
    return shlex.quote(str(path)).replace("%", r"\%")


def _marker(settings: Settings) -> str:
    """The comment line that marks this workspace's entry in the crontab."""
    return f"{CRON_MARKER}{settings.workspace.resolve()}"


def install_cron(settings: Settings, every: str) -> str:
    """Install (or replace) this workspace's crontab entry and cronjob.txt; return the line."""
    line = cron_line(settings, every)
    workspace = settings.workspace.resolve()
    (workspace / CRON_LOG).parent.mkdir(parents=True, exist_ok=True)
    table = read_crontab()
    rest, _ = _split_entry(table, _marker(settings))
    if rest and not rest.endswith("\n"):
        rest += "\n"
    new = f"{rest}{_marker(settings)}\n{line}\n"
    if new != table:
        write_crontab(new)
    write_text_atomic(workspace / CRONJOB_FILE, line + "\n")
    return line


def show_cron(settings: Settings) -> str | None:
    """This workspace's crontab line, or None when none is installed."""
    return _split_entry(read_crontab(), _marker(settings))[1]


def remove_cron(settings: Settings) -> bool:
    """Remove this workspace's crontab entry; False when there was none."""
    table = read_crontab()
    rest, _ = _split_entry(table, _marker(settings))
    if rest == table:
        return False
    write_crontab(rest)
    return True


def _split_entry(table: str, marker: str) -> tuple[str, str | None]:
    """The crontab without our marked entry (other lines byte for byte), and the entry's line."""
    lines = iter(re.findall(r"[^\n]*\n|[^\n]+\Z", table))
    kept: list[str] = []
    entry: str | None = None
    for line in lines:
        if line.rstrip("\n") != marker:
            kept.append(line)
            continue
        following = next(lines, "")
        # The line after the marker is ours unless someone left a blank or a comment there.
        if following.strip() and not following.lstrip().startswith("#"):
            entry = following.rstrip("\n")
        else:
            kept.append(following)
    return "".join(kept), entry


def _crontab_binary() -> str:
    """The crontab command's path, or an error naming the package that provides it."""
    found = shutil.which("crontab")
    if found is None:
        raise RiskwatchError(
            "the crontab command is not installed: install the Debian package `cron` "
            "(apt-get install cron), or run `riskwatch schedule` instead"
        )
    return found


def read_crontab() -> str:
    """The current user's crontab ('' when there is none)."""
    done = subprocess.run([_crontab_binary(), "-l"], capture_output=True, check=False)  # noqa: S603
    if done.returncode == 0:
        return done.stdout.decode("utf-8", "surrogateescape")
    error = done.stderr.decode("utf-8", "replace").strip()
    if "no crontab for" in error:
        return ""
    raise RiskwatchError(f"crontab -l failed: {error}")


def write_crontab(table: str) -> None:
    """Replace the current user's crontab (an empty table removes it)."""
    binary = _crontab_binary()
    if not table:
        done = subprocess.run([binary, "-r"], capture_output=True, check=False)  # noqa: S603
    else:
        data = table.encode("utf-8", "surrogateescape")
        done = subprocess.run([binary, "-"], input=data, capture_output=True, check=False)  # noqa: S603
    error = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0 and "no crontab for" not in error:
        raise RiskwatchError(f"crontab refused the new table: {error}")


def run_every(
    every_seconds: float,
    cycle: Callable[[], Any],
    *,
    stop: threading.Event | None = None,
    max_cycles: int | None = None,
) -> int:
    """Run cycle now and then every every_seconds (start to start) until stopped; count them."""
    if every_seconds <= 0:
        raise ValueError(f"interval must be positive, got {every_seconds}")
    stop = threading.Event() if stop is None else stop
    count = 0
    with _stop_on_signals(stop):
        while not stop.is_set() and (max_cycles is None or count < max_cycles):
            started = time.monotonic()
            count += 1
            _run_logged(cycle, count)
            if max_cycles is not None and count >= max_cycles:
                break
            remaining = started + every_seconds - time.monotonic()
            if remaining < 0:
                log.warning(
                    "tick %d overran the interval by %.1f s: next starts now", count, -remaining
                )
            stop.wait(max(remaining, 0.0))
    log.info("stopped after %d tick(s)", count)
    return count


def _run_logged(cycle: Callable[[], Any], number: int) -> None:
    """Run one cycle and log its outcome; an exception is logged, not raised."""
    start = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    started = time.monotonic()
    try:
        outcome = cycle()
    except Exception as exc:  # the loop must outlive one bad cycle
        elapsed = time.monotonic() - started
        log.error(
            "tick %d (%s) failed after %.1f s: %s: %s",
            number,
            start,
            elapsed,
            type(exc).__name__,
            exc,
        )
        log.debug("traceback", exc_info=True)
        return
    elapsed = time.monotonic() - started
    text = "" if outcome is None else str(outcome)
    suffix = f":\n{text}" if "\n" in text else f": {text}" if text else ""
    log.info("tick %d (%s) done in %.1f s%s", number, start, elapsed, suffix)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set stop on SIGTERM or SIGINT (main thread only); restore the previous handlers after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # Python's signal docs warn that a handler taking a lock (Event.set does) can deadlock the
    # main thread it interrupts; the handler only writes the signal's number to a pipe and a
    # helper thread sets the event.
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)

    def handler(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(write_end, bytes([signum]))

    watcher = threading.Thread(target=_watch, args=(read_end, stop), name="riskwatch-signals")
    watcher.start()
    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, signal.SIG_DFL if old is None else old)
        os.set_blocking(write_end, True)
        os.write(write_end, b"\0")  # tells the watcher to end
        watcher.join()
        os.close(read_end)
        os.close(write_end)


def _watch(read_end: int, stop: threading.Event) -> None:
    """Set stop for each signal number read from the pipe, until a zero byte or its end."""
    while (data := os.read(read_end, 1)) not in (b"", b"\0"):
        log.info("%s received: stopping after the current cycle", signal.Signals(data[0]).name)
        stop.set()
