"""Ingestion benchmarks: 2,000,000 rows against a bare pandas.read_csv, and the no-new-data check.

Run with `make bench` or `.venv/bin/python benchmarks/bench_ingest.py [--quick]` (not part of the
tests). Every figure is measured here, in fresh processes. --quick ingests 200,000 rows and times
5 no-new-data runs: a check that the benchmark works, not the figures the issue asks for.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from common import Aim, footer, heading, print_aims, verdict

ROWS = 2_000_000
QUICK_ROWS = 200_000
REPEATS = 3  # each ingestion measured this many times, interleaved with its floor
QUICK_REPEATS = 1
MIB = 1024 * 1024
NO_NEW_FILES = 100
NO_NEW_RUNS = 15
QUICK_NO_NEW_RUNS = 5
# The aims ingestion is measured against.
AIM_NO_NEW_MS = 150.0  # the whole `riskwatch ingest` command with no new data (median)
AIM_TIME_RATIO = 3.0  # ingest() at most this many times a bare pandas.read_csv of the same file
AIM_MEMORY_RATIO = 3.0  # ingest()'s peak memory at most this many times the frame's size
HEADER = "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited"
RISKWATCH = str(Path(sys.executable).with_name("riskwatch"))

# Runs in a fresh interpreter: imports first, then the measured work, then peak memory above the
# baseline after imports (VmHWM - VmRSS at start), so the figure is the work's own memory.
CHILD = r"""
import json, sys, time
from pathlib import Path

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    raise KeyError(key)

import pandas as pd
from riskwatch.config import load_settings
from riskwatch.ingestion.ingest import ingest
import riskwatch.ingestion.batches  # the read path's imports (SQLAlchemy, pyarrow): timed apart
baseline = status("VmRSS:")
mode, target = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if mode == "read_csv":
    frame = pd.read_csv(target)
    extra = {"frame_bytes": int(frame.memory_usage(deep=True).sum()), "rows": len(frame)}
else:
    report = ingest(load_settings(Path(target), env={}))
    extra = {"rows": report.master_rows}
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_bytes": status("VmHWM:") - baseline, **extra}))
"""


def generate(
    path: Path, rows: int, seed: int = 7, prefix: str = "corp", repeat_from: Path | None = None
) -> None:
    """A realistic CSV of client rows (heavy-tailed sizes, activity growing with size).

    repeat_from: a file generated before, whose first tenth of rows this one repeats."""
    rng = np.random.default_rng(seed)
    employees = np.maximum(1, rng.lognormal(3.0, 1.2, rows)).astype("int64")
    yearly = (employees**0.8 * rng.lognormal(3.5, 0.6, rows)).astype("int64")
    monthly = (yearly / 12 * rng.lognormal(0.0, 0.5, rows)).astype("int64")
    frame = pd.DataFrame(
        {
            "corporation": [f"{prefix}{i:07d}" for i in range(rows)],
            "lastmonth_activity": monthly,
            "lastyear_activity": yearly,
            "number_of_employees": employees,
            "exited": (rng.random(rows) < 0.2).astype("int64"),
        }
    )
    if repeat_from is not None:
        again = rows // 10
        frame.iloc[:again] = pd.read_csv(repeat_from, nrows=again).to_numpy()
    frame.to_csv(path, index=False)


def child(mode: str, target: Path) -> dict[str, float]:
    """Run one measured operation in a fresh process and return its figures."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(target)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def workspace(root: Path) -> Path:
    """A fresh workspace folder with a source folder and a config file."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "sourcedata").mkdir(parents=True)
    (root / "riskwatch.toml").write_text('input_folder_path = "sourcedata"\n')
    return root


def bench_large_file(work: Path, rows: int, repeats: int) -> tuple[list[str], list[Aim]]:
    """Ingest `rows` rows into a fresh workspace and into one holding a master of `rows` rows.

    Each measurement is a fresh process; the bare read_csv floor is measured just before each
    ingestion (interleaved), and the medians are reported."""
    data = work / "clients.csv"
    generate(data, rows)
    second = work / "next.csv"  # the next drop: new clients, and a tenth of the old rows again
    generate(second, rows, seed=8, prefix="next", repeat_from=data)
    held = workspace(work / "held")
    shutil.copy(data, held / "sourcedata" / data.name)
    child("ingest", held / "riskwatch.toml")  # the master the append case starts from
    shutil.copy(second, held / "sourcedata" / second.name)
    figures: dict[str, list[dict[str, float]]] = {"fresh": [], "append": []}
    for _ in range(repeats):
        for case, source in (("fresh", data), ("append", second)):
            ws = workspace(work / case)
            if case == "append":
                shutil.rmtree(ws)
                shutil.copytree(held, ws)
            else:
                shutil.copy(data, ws / "sourcedata" / data.name)
            bare = child("read_csv", source)
            ours = child("ingest", ws / "riskwatch.toml")
            expected = rows if case == "fresh" else None
            if expected is not None and ours["rows"] != expected:
                raise RuntimeError(f"ingested {ours['rows']} rows, expected {expected}")
            figures[case].append({**ours, "bare": bare["seconds"], "frame": bare["frame_bytes"]})
    command_seconds = _command_seconds(work, data)
    lines = [
        f"## Ingest {rows:,} rows ({data.stat().st_size / MIB:.0f} MiB CSV, one file), "
        f"median of {repeats}",
        "",
        "Each measured in a fresh process, its imports loaded before the clock starts, beside a "
        "bare `pandas.read_csv` of the same file measured just before it; peak memory is the "
        "process's high-water mark (VmHWM) above its size after the imports, for both. Fresh: "
        "an empty workspace. Append: a workspace already holding a master of the same size "
        "(the next drop: new clients plus a tenth of the rows again, deduplicated).",
        "",
        "| case | bare read_csv (s) | ingest() (s) | time ratio | frame (MiB) | peak (MiB) "
        "| memory ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    aims = []
    for case, runs in figures.items():
        bare, ours = _median(runs, "bare"), _median(runs, "seconds")
        frame, peak = _median(runs, "frame"), _median(runs, "peak_bytes")
        time_ratio = statistics.median(r["seconds"] / r["bare"] for r in runs)
        memory_ratio = statistics.median(r["peak_bytes"] / r["frame"] for r in runs)
        lines.append(
            f"| {case} | {bare:.2f} | {ours:.2f} | {time_ratio:.2f}x | {frame / MIB:.0f} "
            f"| {peak / MIB:.0f} | {memory_ratio:.2f}x |"
        )
        what = f"ingest() of {rows:,} rows ({case})"
        aims += [
            Aim(
                f"{what}, time over a bare pandas.read_csv",
                f"at most {AIM_TIME_RATIO:g}x",
                f"{time_ratio:.2f}x ({ours:.2f} s / {bare:.2f} s)",
                time_ratio <= AIM_TIME_RATIO,
            ),
            Aim(
                f"{what}, peak memory over the frame's size",
                f"at most {AIM_MEMORY_RATIO:g}x",
                f"{memory_ratio:.2f}x ({peak / MIB:.0f} MiB / {frame / MIB:.0f} MiB)",
                memory_ratio <= AIM_MEMORY_RATIO,
            ),
        ]
    lines += [
        "",
        f"Whole `riskwatch ingest` command, fresh (imports included): {command_seconds:.2f} s",
        "",
    ]
    return lines, aims


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _command_seconds(work: Path, data: Path) -> float:
    """The whole `riskwatch ingest` command on a fresh workspace (imports included)."""
    ws = workspace(work / "command")
    shutil.copy(data, ws / "sourcedata" / data.name)
    start = time.perf_counter()
    subprocess.run(
        [RISKWATCH, "--config", str(ws / "riskwatch.toml"), "ingest"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def bench_no_new_data(work: Path, runs: int) -> tuple[list[str], list[Aim]]:
    """The whole `riskwatch ingest` command over 100 already-ingested files."""
    ws = workspace(work / "nonew")
    for i in range(NO_NEW_FILES):
        rows = [f"c{i}_{j},{j},{12 * j},{1 + j % 9},{j % 2}" for j in range(100)]
        (ws / "sourcedata" / f"drop_{i:03d}.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    command = [RISKWATCH, "--config", str(ws / "riskwatch.toml"), "ingest"]
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if not done.stdout.startswith("No new data"):
            raise RuntimeError(f"expected no new data, got: {done.stdout}")
    median = statistics.median(times) * 1000
    met = median <= AIM_NO_NEW_MS
    lines = [
        f"## No new data: the whole `riskwatch ingest` command, {NO_NEW_FILES} ingested files",
        "",
        "| runs | min (ms) | median (ms) | max (ms) | aim |",
        "|---:|---:|---:|---:|---|",
        f"| {runs} | {min(times) * 1000:.0f} | {median:.0f} | {max(times) * 1000:.0f} "
        f"| median {AIM_NO_NEW_MS:g} ms or less: **{verdict(met)}** |",
        "",
    ]
    aim = Aim(
        f"no-new-data `riskwatch ingest` ({NO_NEW_FILES} ingested files), median of {runs}",
        f"{AIM_NO_NEW_MS:g} ms or less",
        f"{median:.0f} ms",
        met,
    )
    return lines, [aim]


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROWS:,} rows and {QUICK_NO_NEW_RUNS} no-new-data runs (a smoke run)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        help=f"times each ingestion is measured ({REPEATS}, quick {QUICK_REPEATS})",
    )
    return parser.parse_args()


def main() -> None:
    """Run the ingestion benchmarks and print their figures."""
    args = options()
    rows = QUICK_ROWS if args.quick else ROWS
    runs = QUICK_NO_NEW_RUNS if args.quick else NO_NEW_RUNS
    repeats = args.repeats or (QUICK_REPEATS if args.quick else REPEATS)
    heading("Ingestion benchmark")
    if args.quick:
        print(f"Quick run (--quick): {rows:,} rows, {runs} no-new-data runs.\n")
    work = Path(os.environ.get("BENCH_INGEST_WORK", Path(__file__).resolve().parent / ".work"))
    work.mkdir(exist_ok=True)
    aims: list[Aim] = []
    try:
        for bench in (
            partial(bench_no_new_data, work, runs),
            partial(bench_large_file, work, rows, repeats),
        ):
            lines, measured = bench()
            print("\n".join(lines), flush=True)
            aims += measured
    finally:
        print_aims(aims)
        footer()
        if not os.environ.get("RISKWATCH_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
