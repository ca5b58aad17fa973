"""Everyday commands benchmark: status, run with no new data, calllist and score beside floors.

Run with `make bench` or `.venv/bin/python benchmarks/bench_commands.py` (not part of the tests;
--quick: 3 rounds instead of 9). Every figure is measured here, on a 10,000-client demo with 3
monthly drops replayed (a deployed model, its history, a published call list) in a temporary
folder, removed at the end; --workspace times an existing workspace instead. Each command is
the real command in a fresh process, timed by the wall clock around it, as hyperfine would:
one run of every command and every floor per round, the order rotating from round to round
(so that a busy moment of the machine weighs on all alike), then the medians. Each command's
aim is a ratio to its floor measured in the same rounds: `python -c pass` for status and run,
the import floor `python -c "import sklearn.ensemble, pandas, scipy.stats"` for calllist and
score. One round first is not counted: it lets Python write its bytecode caches, as a user's
first run does (PYTHONDONTWRITEBYTECODE is dropped from the commands' environment: with it,
every module, scikit-learn's included, is compiled anew at every start). --src DIR times the
package found in DIR instead (PYTHONPATH; e.g. an older commit's `src` from `git archive`),
for a before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import Aim, children_cpu_seconds, footer, heading, print_aims, verdict

CLIENTS = 10_000
MONTHS = 3
ROUNDS, QUICK_ROUNDS = 9, 3
PACKAGE_INDEX = "http://127.0.0.1:9/pypi"  # nothing listens there: nothing asks the index
TAIL_LINES = 20
BARE = "`python -c pass`"
IMPORTS = "`python -c 'import sklearn.ensemble, pandas, scipy.stats'`"
FLOORS = {BARE: ["-c", "pass"], IMPORTS: ["-c", "import sklearn.ensemble, pandas, scipy.stats"]}


@dataclass(frozen=True)
class Command:
    """A riskwatch command, the floor it is measured against and its aim (a ratio)."""

    name: str
    words: tuple[str, ...]
    floor: str
    aim: float


COMMANDS = (
    Command("riskwatch status", ("status",), BARE, 10.0),
    Command("riskwatch run (no new data)", ("run", "--json"), BARE, 5.0),
    Command("riskwatch calllist", ("calllist",), IMPORTS, 1.5),
    Command("riskwatch score", ("score",), IMPORTS, 1.5),
)


@dataclass
class Series:
    """The wall times of one command line, in seconds."""

    argv: list[str]
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds of the process

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


class CommandError(Exception):
    """A timed command exited non-zero or did not finish in time."""


def command_env(src: Path | None) -> dict[str, str]:
    """This environment without RISKWATCH_* settings nor PYTHONDONTWRITEBYTECODE, a silent
    package index, and --src."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RISKWATCH_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["RISKWATCH_PACKAGE_INDEX_URL"] = PACKAGE_INDEX
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def timed(argv: list[str], env: dict[str, str], timeout: float) -> tuple[float, float]:
    """Run a command line (output captured); its wall and CPU (user + system) seconds."""
    before, started = children_cpu_seconds(), time.perf_counter()
    try:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise CommandError(f"`{shlex.join(argv)}` did not finish in {timeout:g} s") from None
    seconds, cpu = time.perf_counter() - started, children_cpu_seconds() - before
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-TAIL_LINES:])
        raise CommandError(f"`{shlex.join(argv)}` exited with {done.returncode}:\n{tail}")
    return seconds, cpu


def build_workspace(folder: Path, env: dict[str, str], timeout: float) -> Path:
    """A demo workspace with its first months replayed: a model deployed, a list published."""
    ws = folder / "ws"
    riskwatch = [sys.executable, "-m", "riskwatch"]
    demo = [*riskwatch, "demo", str(ws), "--clients", str(CLIENTS), "--months", str(MONTHS)]
    timed([*demo, "--quiet"], env, timeout)
    timed([*riskwatch, "--config", str(ws / "riskwatch.toml"), "replay", "--quiet"], env, timeout)
    return ws


def measure(ws: Path, rounds: int, env: dict[str, str], timeout: float) -> dict[str, Series]:
    """Every floor and command once a round, the order rotating; their series by name."""
    config = ["--config", str(ws / "riskwatch.toml")]
    series = {name: Series([sys.executable, *argv]) for name, argv in FLOORS.items()}
    for command in COMMANDS:
        series[command.name] = Series([sys.executable, "-m", "riskwatch", *config, *command.words])
    names = list(series)
    for name in names:  # the warm-up round: bytecode caches written, not counted
        timed(series[name].argv, env, timeout)
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            seconds, cpu = timed(series[name].argv, env, timeout)
            series[name].seconds.append(seconds)
            series[name].cpu.append(cpu)
    return series


def results(series: dict[str, Series]) -> tuple[list[str], list[Aim]]:
    """The table of medians and ratios (wall clock; CPU beside it), and one aim per command."""
    lines = [
        "| command | median (ms) | floor | floor median (ms) | ratio | aim | CPU ratio |",
        "|---|---:|---|---:|---:|---|---:|",
    ]
    aims = []
    for command in COMMANDS:
        ran, floor = series[command.name], series[command.floor]
        took, base = ran.median, floor.median
        ratio = took / base
        cpu_ratio = statistics.median(ran.cpu) / statistics.median(floor.cpu)
        met = ratio <= command.aim
        lines.append(
            f"| `{command.name}` | {took * 1000:.0f} | {command.floor} | {base * 1000:.0f} "
            f"| {ratio:.2f}x | ≤ {command.aim:g}x: {verdict(met)} | {cpu_ratio:.2f}x |"
        )
        aims.append(
            Aim(
                f"`{command.name}` against {command.floor} (wall clock, same rounds)",
                f"≤ {command.aim:g}x the floor",
                f"{ratio:.2f}x ({took * 1000:.0f} ms against {base * 1000:.0f} ms; "
                f"CPU {cpu_ratio:.2f}x)",
                met,
            )
        )
    return lines, aims


def spread(series: dict[str, Series]) -> list[str]:
    """Every series' runs, wall min, median and max (how steady the machine was), and the
    median CPU time, which other work on the machine disturbs less than the wall clock."""
    lines = [
        "| what | runs | min (ms) | median (ms) | max (ms) | CPU median (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in series.items():
        shown = name if name.startswith("`") else f"`{name}`"
        ms = [s * 1000 for s in row.seconds]
        lines.append(
            f"| {shown} | {len(ms)} | {min(ms):.0f} | {statistics.median(ms):.0f} "
            f"| {max(ms):.0f} | {statistics.median(row.cpu) * 1000:.0f} |"
        )
    return lines


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds")
    parser.add_argument("--rounds", type=int, help=f"rounds (default {ROUNDS})")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a command may take")
    parser.add_argument("--workspace", type=Path, help="time this workspace (built otherwise)")
    parser.add_argument("--src", type=Path, help="time the riskwatch package in this folder")
    return parser.parse_args()


def main() -> int:
    """Build the workspace, time the commands beside their floors, print the section."""
    args = options()
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    env = command_env(args.src.resolve() if args.src else None)
    heading("Everyday commands: status, run with no new data, calllist, score")
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as folder:
        try:
            ws = args.workspace or build_workspace(Path(folder), env, args.timeout)
            series = measure(ws.resolve(), rounds, env, args.timeout)
        except CommandError as exc:
            print(f"**Failed**: {exc}", file=sys.stderr)
            return 1
    table, aims = results(series)
    source = f"the package in `{args.src}`" if args.src else "this checkout"
    print(
        f"{rounds} rounds on {'the given workspace' if args.workspace else 'a demo workspace'} "
        f"({CLIENTS:,} clients, {MONTHS} months replayed), {source}; medians, each command "
        "beside its floor from the same rounds (the aims are on the wall clock; the CPU ratio "
        "is what other work on the machine disturbs less).\n"
    )
    print("\n".join(table) + "\n")
    print("\n".join(spread(series)))
    footer()
    print_aims(aims)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
