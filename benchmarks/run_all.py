"""Run every benchmark and write benchmarks/RESULTS.md: `make bench` runs this.

Each benchmark runs as its own process (`python benchmarks/bench_<name>.py`), with a time-out
(--timeout, 20 minutes by default); its Markdown output is shown as it comes and collected. The
results file gets a title and the date, the machine once, how to reproduce, a summary of every
figure that has an aim (read from the `## Aims` table each benchmark prints, see common.py: no
figure or aim is written here), then one section per benchmark. A benchmark that fails or times
out still gets its section, saying so with the end of its stderr, and this script then exits 1.
The file is written to a temporary file first and renamed, so it is never half-written.

--quick passes --quick to the benchmarks that have it (smaller data, fewer runs); --only runs
some of them. Either writes benchmarks/RESULTS-partial.md (not committed) unless --output says
otherwise, so that the full results are not replaced by a partial run.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from common import RUN_ALL_ENV, Aim, duration, load_average, machine_lines, now, parse_aims

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS.md"
PARTIAL_RESULTS = HERE / "RESULTS-partial.md"
TIMEOUT_MINUTES = 20.0
STDERR_TAIL = 30
KILL_GRACE = 10.0  # seconds between SIGTERM and SIGKILL for a benchmark that timed out


@dataclass(frozen=True)
class Benchmark:
    """One benchmark script, and whether it has a --quick mode."""

    name: str
    quick: bool

    @property
    def script(self) -> Path:
        return HERE / f"bench_{self.name}.py"

    def summary(self) -> str:
        """The first line of the script's docstring: what it measures."""
        doc = ast.get_docstring(ast.parse(self.script.read_text()))
        return doc.splitlines()[0] if doc else ""


# In the order the issue lists them: ingestion, the cycles, model, call list, report, API.
BENCHMARKS = (
    Benchmark("ingest", quick=True),
    Benchmark("cycle", quick=True),
    Benchmark("commands", quick=True),
    Benchmark("model", quick=True),
    Benchmark("report", quick=False),
    Benchmark("api", quick=True),
    Benchmark("pages", quick=True),
    Benchmark("policy", quick=True),
    Benchmark("millions", quick=True),
    Benchmark("tests", quick=False),
)


@dataclass
class Outcome:
    """What one benchmark's run gave."""

    benchmark: Benchmark
    command: list[str]
    timeout: float
    seconds: float = 0.0
    returncode: int | None = None  # None: timed out
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def status(self) -> str:
        if self.returncode is None:
            return f"timed out (its limit: {duration(self.timeout)})"
        return "ok" if self.ok else f"failed (exit status {self.returncode})"

    @property
    def output(self) -> str:
        return "".join(self.stdout)

    @property
    def aims(self) -> list[Aim]:
        return parse_aims(self.output)


def shown(path: str | Path) -> str:
    """A path relative to the repository when it is inside it."""
    try:
        return str(Path(path).relative_to(REPO))
    except ValueError:
        return str(path)


def shown_command(command: list[str]) -> str:
    return " ".join(shown(part) if part.startswith("/") else part for part in command)


def pump(source: IO[str], lines: list[str], echo: IO[str]) -> None:
    """Collect a stream's lines, showing each as it comes."""
    for line in source:
        lines.append(line)
        echo.write(line)
        echo.flush()


def stop(process: subprocess.Popen[str]) -> None:
    """End the benchmark and whatever it started (its own process group): TERM, then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=KILL_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue


def run(benchmark: Benchmark, quick: bool, timeout: float) -> Outcome:
    """Run one benchmark script in its own process group, at most `timeout` seconds."""
    command = [sys.executable, str(benchmark.script)]
    if quick and benchmark.quick:
        command.append("--quick")
    outcome = Outcome(benchmark, command, timeout)
    env = {**os.environ, RUN_ALL_ENV: "1", "PYTHONUNBUFFERED": "1"}
    print(f"\n>>> {shown_command(command)}  ({now()})", file=sys.stderr, flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    readers = [
        threading.Thread(target=pump, args=(process.stdout, outcome.stdout, sys.stdout)),
        threading.Thread(target=pump, args=(process.stderr, outcome.stderr, sys.stderr)),
    ]
    for reader in readers:
        reader.start()
    try:
        outcome.returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)
    except BaseException:  # Ctrl-C: stop the benchmark too, then give up
        stop(process)
        raise
    finally:
        outcome.seconds = time.perf_counter() - started
        for reader in readers:
            reader.join(timeout=KILL_GRACE)
    print(f"<<< {benchmark.name}: {outcome.status}, {duration(outcome.seconds)}", file=sys.stderr)
    return outcome


def demoted(markdown: str) -> Iterator[str]:
    """The lines of a benchmark's output with each heading one level down (its `#` is a `##`)."""
    fenced = False
    for line in markdown.rstrip().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        yield f"#{line}" if line.startswith("#") and not fenced else line


def aims_table(outcomes: list[Outcome]) -> list[str]:
    """Every figure with an aim, from the benchmarks' own `## Aims` tables."""
    aims = [(o.benchmark.name, aim) for o in outcomes for aim in o.aims]
    met = sum(aim.met for _, aim in aims)
    lines = [
        f"{met} of {len(aims)} figures that have an aim meet it. Each benchmark's section tells "
        "more about how its figures were measured.",
        "",
        "| benchmark | figure | aim | measured | verdict |",
        "|---|---|---|---:|---|",
    ]
    for name, aim in aims:
        verdict = "met" if aim.met else "not met"
        lines.append(f"| {name} | {aim.figure} | {aim.aim} | {aim.measured} | **{verdict}** |")
    for outcome in outcomes:
        if not outcome.ok:
            lines.append(
                f"| {outcome.benchmark.name} | *{outcome.status}: figures it did not reach are "
                "missing* | | | **failed** |"
            )
    return lines


def section(outcome: Outcome) -> list[str]:
    """A benchmark's section: its output, and when it failed, why."""
    lines = list(demoted(outcome.output))
    if not lines or not lines[0].startswith("## "):
        lines = [f"## {outcome.benchmark.name}", "", *(lines or ["(It printed nothing.)"])]
    lines[0] += f" (`{outcome.benchmark.script.name}`, {duration(outcome.seconds)})"
    if not outcome.ok:
        tail = "".join(outcome.stderr).rstrip().splitlines()[-STDERR_TAIL:]
        lines += [
            "",
            f"**This benchmark {outcome.status}.** Its stderr ends:",
            "",
            "```text",
            *(tail or ["(nothing)"]),
            "```",
        ]
    return lines


def document(
    outcomes: list[Outcome], machine: list[str], started: str, seconds: float, args: Args
) -> str:
    """The whole results file."""
    failed = [o.benchmark.name for o in outcomes if not o.ok]
    quick = [o.benchmark.name for o in outcomes if "--quick" in o.command]
    notes = []
    if quick:
        notes.append(
            f"**Quick run** (--quick) for {', '.join(quick)}: smaller data and fewer runs than "
            "the issue asks for; a check that the benchmarks work, not their figures."
        )
    if args.only:
        notes.append(f"**Partial run**: only {', '.join(args.only)}.")
    if failed:
        notes.append(f"**Failed**: {', '.join(failed)} (see their sections).")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`{shown(__file__)}`): started {started}, took "
        f"{duration(seconds)}. Every figure below was measured in this run.",
        "",
        *(f"{note}\n" for note in notes),
        "## Aims",
        "",
        *aims_table(outcomes),
        "",
        "## Machine",
        "",
        *machine,
        f"- Load average (1, 5, 15 min) at the end: {load_average()} (each benchmark's section "
        "gives it at its start and end: other work on the machine slows the figures)",
        "",
        "## How to reproduce",
        "",
        "`make bench` runs every benchmark and writes this file (through "
        f"`{shown(sys.executable)} {shown(__file__)}`; `--only NAME`, `--quick`, `--timeout` "
        "and `--output` are its options). Each benchmark also runs on its own, printing its "
        "section with the machine heading:",
        "",
        "| benchmark | what it measures | command | took | status |",
        "|---|---|---|---:|---|",
    ]
    for outcome in outcomes:
        lines.append(
            f"| {outcome.benchmark.name} | {outcome.benchmark.summary()} "
            f"| `{shown_command(outcome.command)}` | {duration(outcome.seconds)} "
            f"| {outcome.status} |"
        )
    for outcome in outcomes:
        lines += ["", *section(outcome)]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write a temporary file beside `path`, then rename it: readers see the old or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Args(argparse.Namespace):
    only: list[str] | None
    quick: bool
    timeout: float
    output: Path | None


def options() -> Args:
    names = [benchmark.name for benchmark in BENCHMARKS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run this benchmark only (again for more): {', '.join(names)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="pass --quick to the benchmarks that have it: "
        + ", ".join(b.name for b in BENCHMARKS if b.quick),
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT_MINUTES,
        help=f"minutes a benchmark may take (default {TIMEOUT_MINUTES:g})",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where to write (default {shown(RESULTS)}, or {shown(PARTIAL_RESULTS)} "
        "with --only or --quick)",
    )
    return parser.parse_args(namespace=Args())


def main() -> int:
    """Run the benchmarks, write the results; 1 when any benchmark failed."""
    args = options()
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    output = args.output or (PARTIAL_RESULTS if args.only or args.quick else RESULTS)
    machine, started, clock = machine_lines(), now(), time.perf_counter()
    outcomes = [run(benchmark, args.quick, args.timeout * 60) for benchmark in chosen]
    seconds = time.perf_counter() - clock
    write_atomically(output, document(outcomes, machine, started, seconds, args))
    failed = [o.benchmark.name for o in outcomes if not o.ok]
    print(
        f"\nWrote {shown(output)} in {duration(seconds)}"
        + (f"; failed: {', '.join(failed)}" if failed else "; every benchmark ran."),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
