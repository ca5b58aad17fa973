"""Cycle benchmark: the whole `riskwatch run` command with and without new data, and the main job.

Run with `make bench` or `.venv/bin/python benchmarks/bench_cycle.py` (not part of the tests;
--quick times 5 no-new-data runs of each thing instead of 15).
Every figure is measured here, on the 10,000-client demo in a temporary folder (removed at the
end): the first cycle (train + deploy), a series of cycles with no new data, then the month-2
cycle with new data (a concept drift from month 2 by default, so that it retrains), each as the
real command in a fresh process, timed by the wall clock around it. Then the main job as
`make demo` runs it: `riskwatch demo` and `riskwatch replay` on a fresh workspace. The commands
run without RISKWATCH_* variables except a package index that answers nothing. A command that
fails or times out stops the benchmark with the end of its stderr and exit status 1.
Each cycle with new data is also given as a ratio to the import floor (`python -c "import
sklearn.ensemble, pandas, scipy.stats"`), timed in fresh processes between the cycles.
The aims: the no-new-data command in 150 ms or less (median); a cycle with new data on 10,000
clients, report included, ≤ 2x the import floor measured in the same run, for the first cycle
and for a retraining cycle (issue 15); the main job (`make demo`) in under a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import Aim, footer, heading, print_aims, verdict

from riskwatch.config import Settings, load_settings
from riskwatch.demo.workspace import SCENARIOS, create_demo, release_month
from riskwatch.fullprocess import run_cycle

BIN = Path(sys.executable).parent
RISKWATCH = str(BIN / "riskwatch")
CLIENTS = 10_000
MONTHS = 3
SEED = 42
PACKAGE_INDEX = "http://127.0.0.1:9/pypi"  # nothing listens there: the diagnosis asks nothing
# The aims the cycle is measured against.
AIM_NO_NEW_MS = 150.0  # the whole `riskwatch run` command with no new data (median)
AIM_MAIN_JOB_S = 60.0  # `riskwatch demo` + `riskwatch replay` (as `make demo`)
AIM_NEW_DATA_RATIO = 2.0  # a cycle with new data (report included), in import floors
FLOOR = "import sklearn.ensemble, pandas, scipy.stats"  # what any cycle with new data imports
TAIL_LINES = 20
RUNS, QUICK_RUNS = 15, 5


class CommandError(Exception):
    """A benchmarked command exited non-zero, timed out or said something unexpected."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


@dataclass
class Series:
    """Repeated timings of one thing, in seconds."""

    name: str
    seconds: list[float] = field(default_factory=list)

    def ms(self, pick: Callable[[list[float]], float]) -> float:
        return pick(self.seconds) * 1000


def command_env() -> dict[str, str]:
    """This environment without RISKWATCH_* settings, and a package index that answers nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKWATCH_")}
    env["RISKWATCH_PACKAGE_INDEX_URL"] = PACKAGE_INDEX
    return env


def text_of(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def tail(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines()[-TAIL_LINES:])


def timed(command: list[str], timeout: float) -> tuple[float, str]:
    """Run a command (its output captured); its wall time in seconds and its stdout."""
    shown = shlex.join(Path(command[0]).name if i == 0 else a for i, a in enumerate(command))
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            env=command_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(
            f"`{shown}` did not finish within {timeout:g} s", text_of(exc.stderr)
        ) from None
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise CommandError(f"`{shown}` exited with status {done.returncode}", done.stderr)
    return seconds, done.stdout


def run_command(ws: Path, timeout: float) -> tuple[float, dict[str, Any]]:
    """`riskwatch --config <ws>/riskwatch.toml run --json`: its wall seconds and cycle."""
    command = [RISKWATCH, "--config", str(ws / "riskwatch.toml"), "run", "--json"]
    seconds, stdout = timed(command, timeout)
    try:
        cycle = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"`riskwatch run --json` printed no JSON ({exc}): {stdout[-500:]}"
        ) from None
    if cycle.get("error"):
        raise CommandError(f"the cycle failed: {cycle['error']}")
    return seconds, cycle


def expect(cycle: dict[str, Any], outcomes: tuple[str, ...]) -> None:
    if cycle.get("outcome") not in outcomes:
        wanted = " or ".join(repr(o) for o in outcomes)
        raise CommandError(
            f"expected the outcome {wanted}, the cycle says {cycle.get('outcome')!r}"
        )


def step_table(cycle: dict[str, Any], wall: float) -> list[str]:
    """Each step of a cycle (from its JSON), then the rest of the whole command's wall time."""
    lines = ["| step | outcome | seconds |", "|---|---|---:|"]
    for step in cycle["steps"]:
        lines.append(f"| {step['name']} | {step['outcome']} | {step['seconds']:.2f} |")
    in_steps = sum(step["seconds"] for step in cycle["steps"])
    lines += [
        f"| *outside the steps* (start-up, imports, lock, records) | | {wall - in_steps:.2f} |",
        f"| **whole command** | **{cycle['outcome']}** | **{wall:.2f}** |",
    ]
    return lines


def no_new_data(ws: Path, settings: Settings, args: argparse.Namespace) -> list[Series]:
    """The no-new-data command, the interpreter's start-up and the in-process call, N times each
    (the subprocesses take turns, so a busy moment of the machine weighs on all of them alike)."""
    floor = Series("interpreter start-up: `python -c pass`")
    cli = Series("`riskwatch --version` (start-up + the CLI's imports)")
    command = Series("**whole command: `riskwatch run --json`, no new data**")
    call = Series("in-process `run_cycle(settings, report=False)`, no new data")
    for _ in range(args.runs):
        floor.seconds.append(timed([sys.executable, "-c", "pass"], args.timeout)[0])
        cli.seconds.append(timed([RISKWATCH, "--version"], args.timeout)[0])
        seconds, cycle = run_command(ws, args.timeout)
        expect(cycle, ("no new data",))
        command.seconds.append(seconds)
    run_cycle(settings, report=False)  # warm-up: first-call costs are not this path's
    for _ in range(args.runs):
        started = time.perf_counter()
        result = run_cycle(settings, report=False)
        call.seconds.append(time.perf_counter() - started)
        if result.outcome != "no new data":
            raise CommandError(f"in-process run_cycle: expected no new data, got {result.outcome}")
    return [floor, cli, command, call]


def series_table(rows: list[Series]) -> list[str]:
    lines = ["| what | runs | min (ms) | median (ms) | max (ms) |", "|---|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(
            f"| {row.name} | {len(row.seconds)} | {row.ms(min):.0f} "
            f"| {row.ms(statistics.median):.0f} | {row.ms(max):.0f} |"
        )
    return lines


def floor_then_cycle(ws: Path, floor: Series, timeout: float) -> tuple[float, dict[str, Any]]:
    """Time the import floor once, then the cycle: the two see the same machine load."""
    floor.seconds.append(timed([sys.executable, "-c", FLOOR], timeout)[0])
    return run_command(ws, timeout)


def floor_ratios(floor: Series, cycles: dict[str, float], aims: list[Aim]) -> list[str]:
    """Each cycle with new data in import floors (the floor's median); an aim for each."""
    base = statistics.median(floor.seconds)
    lines = [
        "| cycle with new data | seconds | import floors |",
        "|---|---:|---:|",
        f"| {floor.name}, median of {len(floor.seconds)} | {base:.2f} | 1.0 |",
    ]
    for name, seconds in cycles.items():
        ratio = seconds / base
        lines.append(f"| {name} (whole `riskwatch run` command) | {seconds:.2f} | {ratio:.1f} |")
        aims.append(
            Aim(
                f"a cycle with new data on {CLIENTS:,} clients, report included: {name}",
                f"≤ {AIM_NEW_DATA_RATIO:g}x the import floor measured in the same run",
                f"{ratio:.1f}x ({seconds:.1f} s / {base:.1f} s)",
                ratio <= AIM_NEW_DATA_RATIO,
            )
        )
    return lines


def main_job(folder: Path, timeout: float) -> tuple[list[str], Aim]:
    """`make demo` without make: `riskwatch demo` then `riskwatch replay`, timed apart."""
    ws = folder / "ws2"
    demo, _ = timed([RISKWATCH, "demo", str(ws)], timeout)
    replay, stdout = timed([RISKWATCH, "--config", str(ws / "riskwatch.toml"), "replay"], timeout)
    # One line a cycle as it ends, then all of them again under "Cycles:": count the summary.
    summary = stdout.rpartition("Cycles:")[2].splitlines()
    months = sum(1 for line in summary if line.lstrip().startswith("month "))
    total = demo + replay
    aim = Aim(
        f"main job (`make demo`: `riskwatch demo` + `riskwatch replay`, {months} cycles)",
        f"under {AIM_MAIN_JOB_S:g} s",
        f"{total:.1f} s",
        total < AIM_MAIN_JOB_S,
    )
    return [
        "| command | seconds |",
        "|---|---:|",
        f"| `riskwatch demo <ws>` ({CLIENTS:,} clients, 12 monthly drops) | {demo:.1f} |",
        f"| `riskwatch --config <ws>/riskwatch.toml replay` ({months} cycles) | {replay:.1f} |",
        f"| **total** | **{total:.1f}** |",
        "",
        f"Aim: the main job (`make demo`'s two commands) in under a minute: {total:.1f} s, "
        f"**{verdict(total < AIM_MAIN_JOB_S)}**.",
    ], aim


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=None,
        help=f"no-new-data runs of each thing timed (default {RUNS}, {QUICK_RUNS} with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_RUNS} no-new-data runs (a smoke run)"
    )
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="concept",
        help="the demo's drift scenario (default concept: the month-2 cycle retrains)",
    )
    parser.add_argument(
        "--drift-month", type=int, default=2, help="first month of the drift (default 2)"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="most seconds a command may take"
    )
    parser.add_argument(
        "--skip-replay", action="store_true", help="leave out the main job (demo + replay)"
    )
    args = parser.parse_args()
    if args.runs is None:
        args.runs = QUICK_RUNS if args.quick else RUNS
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    if args.scenario == "none":
        args.drift_month = None
    return args


def bench(folder: Path, args: argparse.Namespace, aims: list[Aim]) -> None:
    """Every measurement, printed as it is made; each figure that has an aim added to `aims`."""
    ws = folder / "ws"
    demo = {"months": MONTHS, "seed": SEED, "clients": CLIENTS, "scenario": args.scenario}
    create_demo(ws, drift_month=args.drift_month, **demo)
    settings = load_settings(ws / "riskwatch.toml", env=command_env())
    # The floor is timed just before each cycle: the two see the same machine load.
    floor = Series(f'import floor: `python -c "{FLOOR}"`')
    initial_wall, initial = floor_then_cycle(ws, floor, args.timeout)
    expect(initial, ("initial",))
    rows = no_new_data(ws, settings, args)
    median = rows[2].ms(statistics.median)
    aims.append(
        Aim(
            f"no-new-data `riskwatch run` (whole command), median of {args.runs}",
            f"{AIM_NO_NEW_MS:g} ms or less",
            f"{median:.0f} ms",
            median <= AIM_NO_NEW_MS,
        )
    )
    print(f"## No new data ({args.runs} runs each; month 1 already ingested and deployed)\n")
    print("\n".join(series_table(rows)))
    print(
        f"\nAim: the whole `riskwatch run` command in {AIM_NO_NEW_MS:g} ms or less (median): "
        f"{median:.0f} ms, **{verdict(median <= AIM_NO_NEW_MS)}**.\n",
        flush=True,
    )

    release_month(ws, 2)
    month2_wall, month2 = floor_then_cycle(ws, floor, args.timeout)
    print("## The first cycle (month 1: ingest, train and deploy the initial model)\n")
    print("\n".join(step_table(initial, initial_wall)))
    drift = f", {args.scenario} drift from month {args.drift_month}" if args.drift_month else ""
    print(f"\n## A cycle with new data (month 2{drift})\n")
    print("\n".join(step_table(month2, month2_wall)))
    if args.drift_month == 2 and not any(s["name"] == "retrain" for s in month2["steps"]):
        print("\nNote: the month-2 cycle did not retrain (its evaluate step kept the model).")
    print()
    retrained = any(s["name"] == "retrain" for s in month2["steps"])
    second = "the retraining cycle (month 2)" if retrained else "the month-2 cycle (no retrain)"
    cycles = {"the first cycle (train and deploy)": initial_wall, second: month2_wall}
    print("\n".join(floor_ratios(floor, cycles, aims)))
    print(flush=True)

    if args.skip_replay:
        print("## The main job (demo + replay)\n\nLeft out (--skip-replay).")
    else:
        print("## The main job (`make demo`: demo + replay, a fresh 12-month workspace)\n")
        lines, aim = main_job(folder, args.timeout)
        aims.append(aim)
        print("\n".join(lines))


def main() -> int:
    """Build the workspaces, time the commands, print; 1 when a command failed."""
    args = options()
    heading("Cycle benchmark")
    drift = f", {args.scenario} drift from month {args.drift_month}" if args.drift_month else ""
    print(
        f"Demo workspace: {CLIENTS:,} clients, {MONTHS} monthly drops, seed {SEED}{drift}. "
        f"Commands run as subprocesses (wall clock around each, time-out {args.timeout:g} s), "
        f"with no RISKWATCH_* variables but RISKWATCH_PACKAGE_INDEX_URL={PACKAGE_INDEX}.\n",
        flush=True,
    )
    aims: list[Aim] = []
    try:
        with tempfile.TemporaryDirectory(prefix="riskwatch-bench-cycle-") as folder:
            bench(Path(folder), args, aims)
    except CommandError as exc:
        sys.stdout.flush()
        stderr = f"; its stderr ends:\n{tail(exc.stderr)}" if exc.stderr.strip() else ""
        print(f"error: {exc}{stderr}", file=sys.stderr)
        return 1
    finally:
        print_aims(aims)
        footer()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
