"""Soak: kill real `riskwatch run` cycles at random points, many times, and check each recovery.

Run: .venv/bin/python benchmarks/soak_cycles.py [--kills 50] [--clients 1000] [--seed 20261129]
(or `make soak`). Not part of the tests: it takes minutes.

A demo workspace (one monthly drop per kill) is made in a temporary folder. Month 1's cycle runs
to its end and is timed. Then, for each kill, the next month is released, a cycle is started and
SIGKILLed after a seeded random delay between 0.2 s and the time the latest whole cycle with new
data took, and a second cycle is run to its end. After it, the workspace is checked
(tests/cycle_faults.py, the checks of tests/test_cycle_crashes.py): every file ingested exactly
once with its rows in the master once, production complete and loadable and recorded, no batch
pending, no cycle left running, no unfinished cycle's mark. The figures are printed and written
to --out (Markdown).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import REPO, load_average, machine_lines, now

sys.path.insert(0, str(REPO))  # the kill and check helpers live with the crash test

from tests.cycle_faults import Consistency, consistency, finish, kill_cycle

from riskwatch.demo.workspace import create_demo, release_month

DEFAULT_OUT = Path(__file__).with_name("soak_results.md")


@dataclass
class Tally:
    """The soak's figures, one kill at a time."""

    kills: int = 0
    landed: int = 0  # the cycle was still running when killed
    recovered: int = 0  # the next cycle exited 0, did the killed cycle's work, had no error
    exactly_once: int = 0
    loadable: int = 0
    recorded: int = 0
    pending: int = 0  # batches left pending, summed over the checks
    running: int = 0  # cycles left running, summed over the checks
    marks_left: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, month: int, what: str, landed: bool, ok: bool, state: Consistency) -> None:
        """Count one kill and the check after it."""
        self.kills += 1
        self.landed += landed
        self.recovered += ok
        self.exactly_once += state.batches_exactly_once
        self.loadable += state.deployment_loadable
        self.recorded += state.deployment_recorded
        self.pending += state.pending_batches
        self.running += state.running_cycles
        self.marks_left += state.mark_left
        if not (ok and state.ok):
            self.failures.append(f"month {month}, killed after {what}: {state.to_dict()}")

    def table(self) -> str:
        """The figures as a Markdown table."""
        rows = [
            ("kills (SIGKILL at a random point)", self.kills),
            ("kills that landed inside a running cycle", self.landed),
            ("next cycle exited 0 with no error", self.recovered),
            ("checks with every batch ingested exactly once", self.exactly_once),
            ("checks with production complete and loadable", self.loadable),
            ("checks with the deployed version recorded", self.recorded),
            ("batches left pending (sum over checks)", self.pending),
            ("cycles left running (sum over checks)", self.running),
            ("unfinished-cycle marks left (sum over checks)", self.marks_left),
        ]
        lines = ["| figure | value |", "| --- | ---: |"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        return "\n".join(lines)


def soak(
    kills: int, clients: int, seed: int, *, folder: Path, out: Path, machine: list[str]
) -> tuple[Tally, float]:
    """Run the kills in a fresh demo workspace; the figures and the timed first cycle."""
    rng = random.Random(seed)  # noqa: S311 - kill times, not secrets
    args_line = f"{kills} kills, demo of {clients:,} clients a month, seed {seed}"
    workspace = folder / "ws"
    create_demo(workspace, months=kills + 1, seed=7, clients=clients)
    config = workspace / "riskwatch.toml"
    first = finish(config)
    if first.returncode != 0:
        raise SystemExit(f"the first cycle failed: {first.stderr}")
    tally = Tally()
    cycle_seconds = first.seconds  # the kill window follows the latest whole cycle's time
    for month in range(2, kills + 2):
        seconds = round(rng.uniform(0.2, cycle_seconds), 2)
        release_month(workspace, month)  # new data, so each killed run is a full cycle
        landed = kill_cycle(config, seconds)
        done = finish(config)
        if done.result.get("outcome") != "no new data":  # a whole cycle: the next kill's window
            cycle_seconds = done.seconds
        # "no new data" is right too when the kill came after the cycle had done its work.
        ok = done.returncode == 0 and done.result.get("error") is None
        outcome = done.result.get("outcome")
        tally.add(month, f"{seconds} s, then {outcome}", landed, ok, consistency(config))
        print(f"kill {tally.kills}: month {month}, after {seconds} s, landed={landed}, {outcome}")
        write(out, report(tally, machine, args_line, first.seconds))  # the figures so far
    return tally, first.seconds


def report(
    tally: Tally,
    machine: list[str],
    args_line: str,
    cycle_seconds: float,
    minutes: float | None = None,
) -> str:
    """The figures as Markdown, with the machine they were measured on."""
    took = "still running" if minutes is None else f"the soak took {minutes:.1f} min"
    failures = "none" if not tally.failures else "\n- " + "\n- ".join(tally.failures)
    return "\n".join(
        [
            "# Soak: killed cycles\n",
            *machine,
            "",
            f"{args_line}; an unkilled cycle took {cycle_seconds:.1f} s; {took}.\n",
            tally.table(),
            "",
            f"Failures: {failures}",
            f"\nEnded {now()}, load average (1, 5, 15 min) {load_average()}.",
        ]
    )


def write(out: Path, text: str) -> None:
    """Write the figures (replacing the file in one rename)."""
    temporary = out.with_suffix(".tmp")
    temporary.write_text(text + "\n", encoding="utf-8")
    temporary.replace(out)


def main() -> None:
    """Soak, print the figures, write them to --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    started, machine = time.perf_counter(), machine_lines()  # the machine as the soak starts
    with tempfile.TemporaryDirectory() as tmp:
        tally, seconds = soak(
            args.kills, args.clients, args.seed, folder=Path(tmp), out=args.out, machine=machine
        )
    minutes = (time.perf_counter() - started) / 60
    args_line = f"{args.kills} kills, demo of {args.clients:,} clients a month, seed {args.seed}"
    text = report(tally, machine, args_line, seconds, minutes)
    print(text)
    write(args.out, text)
    raise SystemExit(1 if tally.failures else 0)


if __name__ == "__main__":
    main()
