"""The run lock across real processes, intervals, and the foreground loop."""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from riskwatch.config import Settings, load_settings
from riskwatch.scheduler import (
    LockedError,
    parse_interval,
    run_every,
    run_lock,
)

from .conftest import RISKWATCH, clean_env, run

HOLDER = (
    "import sys\n"
    "from pathlib import Path\n"
    "from riskwatch.config import load_settings\n"
    "from riskwatch.scheduler import run_lock\n"
    "with run_lock(load_settings(Path(sys.argv[1]), env={})):\n"
    "    print('locked', flush=True)\n"
    "    sys.stdin.readline()\n"
)


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace / "riskwatch.toml", env={})


@pytest.fixture
def hold_lock(workspace: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process holding the workspace's run lock until a line arrives on its stdin."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(workspace / "riskwatch.toml")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "locked\n"
        yield child
        child.kill()


# The run lock


def test_run_lock_refuses_while_another_process_holds_it(
    settings: Settings, hold_lock: subprocess.Popen[str]
) -> None:
    with pytest.raises(LockedError) as refused, run_lock(settings):
        pass
    message = str(refused.value)
    assert message.startswith(f"another cycle holds the lock (pid {hold_lock.pid}, since 20")
    assert message.endswith("Z); use --wait to wait for it")


def test_lock_of_a_process_killed_with_sigkill_is_free_at_once(
    settings: Settings, hold_lock: subprocess.Popen[str]
) -> None:
    hold_lock.send_signal(signal.SIGKILL)
    hold_lock.wait(timeout=30)
    with run_lock(settings):
        holder = json.loads((settings.workspace / ".riskwatch.lock").read_text())
        assert holder["pid"] == os.getpid()


def test_run_lock_with_wait_blocks_until_the_holder_releases(
    settings: Settings, hold_lock: subprocess.Popen[str]
) -> None:
    def release() -> None:
        assert hold_lock.stdin is not None
        hold_lock.stdin.write("done\n")
        hold_lock.stdin.flush()

    timer = threading.Timer(0.5, release)
    started = time.monotonic()
    timer.start()
    with run_lock(settings, wait=True):
        waited = time.monotonic() - started
        assert hold_lock.wait(timeout=30) == 0
    timer.join()
    assert waited >= 0.4


def test_a_second_run_lock_in_the_same_process_is_refused(settings: Settings) -> None:
    holding = pytest.raises(LockedError, match=f"pid {os.getpid()}")
    with run_lock(settings), holding, run_lock(settings):
        pass
    with run_lock(settings):  # free again after the block
        pass
    assert (settings.workspace / ".riskwatch.lock").read_text() == ""


def test_cli_run_exits_3_while_another_cycle_holds_the_lock(
    workspace: Path, hold_lock: subprocess.Popen[str]
) -> None:
    result = run("run", cwd=workspace)
    assert result.returncode == 3, result.stderr
    assert f"another cycle holds the lock (pid {hold_lock.pid}, since" in result.stderr
    assert "Traceback" not in result.stderr


# Intervals


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("90", 90), (" 5M ", 300)],
)
def test_parse_interval_accepts_units_and_plain_seconds(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "10x", "-5m", "1.5h", "0", "0m", "10 minutes"])
def test_parse_interval_rejects_bad_text_saying_what_it_takes(text: str) -> None:
    with pytest.raises(ValueError, match="optional unit s, m, h or d"):
        parse_interval(text)


# The foreground loop


@pytest.fixture
def sigterm_guard() -> Iterator[list[int]]:
    """A SIGTERM handler of the test's own, so a stray signal cannot end pytest."""
    received: list[int] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGTERM, record)
    yield received
    signal.signal(signal.SIGTERM, previous)


def send_sigterm_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    return timer


def test_run_every_survives_a_cycle_that_raises(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="riskwatch.scheduler")
    calls: list[int] = []

    def cycle() -> str:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return f"call {len(calls)}"

    assert run_every(0.01, cycle, max_cycles=3) == 3
    assert len(calls) == 3
    assert "failed after" in caplog.text
    assert "RuntimeError: disk on fire" in caplog.text
    assert "done in" in caplog.text
    assert ": call 3" in caplog.text


def test_run_every_finishes_the_current_cycle_on_sigterm(sigterm_guard: list[int]) -> None:
    finished: list[bool] = []

    def cycle() -> None:
        time.sleep(1.0)
        finished.append(True)

    previous = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    timer = send_sigterm_after(0.2)
    count = run_every(3600, cycle)
    timer.join()
    assert count == 1
    assert finished == [True]
    assert time.monotonic() - started < 10
    assert signal.getsignal(signal.SIGTERM) is previous  # the previous handler is back
    assert sigterm_guard == []  # ours had it, not the previous one


def test_run_every_wakes_from_the_wait_at_once_on_sigterm(sigterm_guard: list[int]) -> None:
    timer = send_sigterm_after(0.3)
    started = time.monotonic()
    assert run_every(3600, lambda: None) == 1
    timer.join()
    assert time.monotonic() - started < 5
    assert sigterm_guard == []


def test_run_every_stops_when_the_event_is_set_outside_the_main_thread() -> None:
    stop = threading.Event()
    counts: list[int] = []
    runner = threading.Thread(target=lambda: counts.append(run_every(3600, stop.set, stop=stop)))
    runner.start()
    runner.join(timeout=10)
    assert counts == [1]


def test_run_every_measures_the_interval_start_to_start() -> None:
    starts: list[float] = []

    def cycle() -> None:
        starts.append(time.monotonic())
        time.sleep(0.1)

    run_every(0.3, cycle, max_cycles=3)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(0.28 <= gap < 0.6 for gap in gaps), gaps


def test_run_every_starts_the_next_cycle_at_once_after_an_overrun(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="riskwatch.scheduler")
    starts: list[float] = []

    def cycle() -> None:
        starts.append(time.monotonic())
        time.sleep(0.3)

    run_every(0.1, cycle, max_cycles=2)
    assert 0.28 <= starts[1] - starts[0] < 0.6
    assert "overran the interval" in caplog.text


def read_until(stream: Callable[[], str], needle: str) -> str:
    """Lines from a child's stderr up to the one holding needle (or its end)."""
    seen = ""
    while needle not in seen and (line := stream()):
        seen += line
    return seen


def test_schedule_skips_ticks_while_locked_and_stops_on_sigterm(
    workspace: Path, hold_lock: subprocess.Popen[str]
) -> None:
    with subprocess.Popen(
        [str(RISKWATCH), "schedule", "--every", "1h"],
        cwd=workspace,
        env=clean_env(),
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        watchdog = threading.Timer(60, child.kill)
        watchdog.start()
        assert child.stderr is not None
        seen = read_until(child.stderr.readline, "skipped")
        assert f"skipped: another cycle holds the lock (pid {hold_lock.pid}" in seen
        child.send_signal(signal.SIGTERM)
        rest = child.stderr.read()
        assert child.wait(timeout=30) == 0, seen + rest
        watchdog.cancel()
    assert "SIGTERM received" in rest
    assert "stopped after 1 tick(s)" in rest
