"""Ingestion benchmarks: 2,000,000 rows against a bare pandas.read_csv, and the no-new-data check.

Run with `make bench` (not part of the tests). Every figure is measured here, in fresh processes.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 2_000_000
NO_NEW_FILES = 100
NO_NEW_RUNS = 15
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
from riskwatch.ingestion import ingest
import riskwatch.loading  # the read path's imports (SQLAlchemy, pyarrow): timed apart
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


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """A realistic CSV of client rows (heavy-tailed sizes, activity growing with size)."""
    rng = np.random.default_rng(seed)
    employees = np.maximum(1, rng.lognormal(3.0, 1.2, rows)).astype("int64")
    yearly = (employees**0.8 * rng.lognormal(3.5, 0.6, rows)).astype("int64")
    monthly = (yearly / 12 * rng.lognormal(0.0, 0.5, rows)).astype("int64")
    frame = pd.DataFrame(
        {
            "corporation": [f"corp{i:07d}" for i in range(rows)],
            "lastmonth_activity": monthly,
            "lastyear_activity": yearly,
            "number_of_employees": employees,
            "exited": (rng.random(rows) < 0.2).astype("int64"),
        }
    )
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


def bench_large_file(work: Path) -> list[str]:
    """Ingest 2,000,000 rows, next to a bare read_csv of the same file."""
    ws = workspace(work / "large")
    data = ws / "sourcedata" / "clients.csv"
    generate(data, ROWS)
    bare = child("read_csv", data)
    ours = child("ingest", ws / "riskwatch.toml")
    if ours["rows"] != ROWS:
        raise RuntimeError(f"ingested {ours['rows']} rows, expected {ROWS}")
    shutil.rmtree(ws / "ingesteddata")
    (ws / "riskwatch.db").unlink()
    start = time.perf_counter()
    subprocess.run(
        [RISKWATCH, "--config", str(ws / "riskwatch.toml"), "ingest"],
        check=True,
        capture_output=True,
    )
    command_seconds = time.perf_counter() - start
    time_ratio = ours["seconds"] / bare["seconds"]
    memory_ratio = ours["peak_bytes"] / bare["frame_bytes"]
    mib = 1024 * 1024
    return [
        f"ingest {ROWS:,} rows ({data.stat().st_size / mib:.0f} MiB CSV)",
        f"  bare pandas.read_csv : {bare['seconds']:.2f} s, "
        f"frame {bare['frame_bytes'] / mib:.0f} MiB"
        " (pandas imported before timing)",
        f"  ingest() call        : {ours['seconds']:.2f} s, peak memory "
        f"{ours['peak_bytes'] / mib:.0f} MiB (its imports loaded before timing)",
        f"  whole command        : {command_seconds:.2f} s (`riskwatch ingest`, imports included)",
        f"  time   : {time_ratio:.2f}x the bare read   (aim: at most 3x)  "
        + ("OK" if time_ratio <= 3 else "OVER"),
        f"  memory : {memory_ratio:.2f}x the frame's size (aim: at most 3x)  "
        + ("OK" if memory_ratio <= 3 else "OVER"),
    ]


def bench_no_new_data(work: Path) -> list[str]:
    """The whole `riskwatch ingest` command over 100 already-ingested files."""
    ws = workspace(work / "nonew")
    for i in range(NO_NEW_FILES):
        rows = [f"c{i}_{j},{j},{12 * j},{1 + j % 9},{j % 2}" for j in range(100)]
        (ws / "sourcedata" / f"drop_{i:03d}.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    command = [RISKWATCH, "--config", str(ws / "riskwatch.toml"), "ingest"]
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(NO_NEW_RUNS):
        start = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if not done.stdout.startswith("No new data"):
            raise RuntimeError(f"expected no new data, got: {done.stdout}")
    median = statistics.median(times) * 1000
    return [
        f"no-new-data check, whole `riskwatch ingest` command, {NO_NEW_FILES} ingested files "
        f"({NO_NEW_RUNS} runs)",
        f"  median {median:.0f} ms, min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
        f"   (aim: 150 ms or less)  " + ("OK" if median <= 150 else "OVER"),
    ]


def main() -> None:
    """Run the ingestion benchmarks and print their figures."""
    work = Path(__file__).resolve().parent / ".work"
    work.mkdir(exist_ok=True)
    try:
        for line in bench_no_new_data(work) + bench_large_file(work):
            print(line, flush=True)
    finally:
        if not os.environ.get("RISKWATCH_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
