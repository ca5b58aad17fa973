"""Running cycles at intervals: the run lock, interval texts, a foreground loop."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from riskwatch.config import Settings
from riskwatch.errors import RiskwatchError
from riskwatch.storage.clock import utcnow
from riskwatch.storage.files import read_json

log = logging.getLogger(__name__)

LOCK_FILE = ".riskwatch.lock"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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
    since = utcnow("seconds")
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
    start = utcnow("seconds")
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
