"""Millions of clients: `riskwatch calllist --clients` on 1,000,000 clients, its time and peak.

Run with `make bench` or `.venv/bin/python benchmarks/bench_millions.py [--quick]` (not part of the
tests). A 2,000-client demo workspace is built, trained and deployed in a temporary folder; a CSV
file of 1,000,000 new clients (--quick: 100,000) is drawn as the demo draws its portfolio.
`riskwatch calllist --clients FILE --json` then runs in its own process, timed, its peak resident
memory read with getrusage(RUSAGE_CHILDREN) by a small wrapper process that runs only
it. The floor, measured in the same run and interleaved: the normal `riskwatch calllist --json` on
the workspace's 2,000 clients (the same imports and model load). Aim (issue 17): peak <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import Aim, footer, heading, print_aims

CLIENTS = 1_000_000
QUICK_CLIENTS = 100_000
REPEATS = 3
QUICK_REPEATS = 1
AIM_PEAK_BYTES = 1.5 * 1000**3
MB = 1000**2
# Runs one command and reports its wall time and peak RSS (ru_maxrss is in KiB on Linux): the
# wrapper has no other child, so the peak is the command's own.
WRAPPER = r"""
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=False)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak": peak, "code": done.returncode,
                  "stdout": done.stdout, "stderr": done.stderr[-3000:]}))
"""


def build_workspace(folder: Path) -> Path:
    """A 2,000-client demo with month 1 ingested and a model trained and deployed."""
    from riskwatch.config import load_settings  # noqa: PLC0415 - heavy, after the heading
    from riskwatch.demo.workspace import create_demo  # noqa: PLC0415
    from riskwatch.deployment import deploy  # noqa: PLC0415
    from riskwatch.ingestion.ingest import ingest  # noqa: PLC0415
    from riskwatch.storage.store import Store  # noqa: PLC0415
    from riskwatch.training import train_version  # noqa: PLC0415

    ws = folder / "ws"
    create_demo(ws, months=1, seed=7, clients=2000)
    settings = load_settings(ws / "riskwatch.toml", env={})
    ingest(settings)
    with Store(settings.database_url) as store:
        deploy(settings, store, train_version(settings, store).version)
    return ws


def write_clients(path: Path, count: int) -> None:
    """A CSV file of `count` new clients drawn as the demo draws its portfolio (one month)."""
    from riskwatch.demo.portfolio import draw_profiles, new_ids, observe  # noqa: PLC0415
    from riskwatch.schema import ID_COLUMN  # noqa: PLC0415

    rng = np.random.default_rng(17)
    frame = observe(rng, draw_profiles(rng, count), boom=1.0)
    frame.insert(0, ID_COLUMN, new_ids(rng, 1, count))
    frame.to_csv(path, index=False)


def measured(argv: list[str]) -> dict[str, object]:
    """One run of a command: wall seconds, peak RSS bytes, exit code and output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKWATCH_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv], env=env, capture_output=True, text=True, check=True
    )
    found: dict[str, object] = json.loads(done.stdout)
    if found["code"] != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {found['code']}: {found['stderr']}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 clients, one run")
    args = parser.parse_args()
    count = QUICK_CLIENTS if args.quick else CLIENTS
    repeats = QUICK_REPEATS if args.quick else REPEATS
    heading("Millions of clients: a call list from a client file read in chunks")
    riskwatch = str(Path(sys.executable).with_name("riskwatch"))
    with tempfile.TemporaryDirectory(prefix="bench-millions-") as tmp:
        ws = build_workspace(Path(tmp))
        clients = Path(tmp) / "clients.csv"
        write_clients(clients, count)
        config = ["--config", str(ws / "riskwatch.toml")]
        floor_argv = [riskwatch, *config, "calllist", "--json"]
        file_argv = [riskwatch, *config, "calllist", "--clients", str(clients), "--json"]
        floors, runs = [], []
        for _ in range(repeats):  # interleaved: a load change touches both alike
            floors.append(measured(floor_argv))
            runs.append(measured(file_argv))
        size = clients.stat().st_size
    answer = json.loads(str(runs[-1]["stdout"]))
    seconds = statistics.median(float(str(r["seconds"])) for r in runs)
    peak = max(int(str(r["peak"])) for r in runs)
    floor_seconds = statistics.median(float(str(r["seconds"])) for r in floors)
    floor_peak = max(int(str(r["peak"])) for r in floors)
    print(
        f"{count:,} clients, a {size / MB:,.0f} MB CSV file; {repeats} run(s) of each, interleaved."
    )
    skipped = answer["skipped"]["rows"]
    print(f"Listed {len(answer['top'])} of {answer['clients']:,}; skipped {skipped}.\n")
    print("| command | wall time (median) | peak RSS (max) |")
    print("|---|---:|---:|")
    rows = [
        (f"`riskwatch calllist --clients` ({count:,} clients)", seconds, peak),
        ("floor: `riskwatch calllist` (2,000 clients)", floor_seconds, floor_peak),
    ]
    for name, wall, most in rows:
        print(f"| {name} | {wall:.1f} s | {most / MB:,.0f} MB |")
    rate = count / max(seconds - floor_seconds, 1e-9)
    print(
        f"\nAbove the floor: {seconds - floor_seconds:.1f} s ({rate:,.0f} clients/s), "
        f"{(peak - floor_peak) / MB:,.0f} MB."
    )
    print_aims(
        [
            Aim(
                f"peak memory of `riskwatch calllist --clients` on {count:,} clients",
                f"<= {AIM_PEAK_BYTES / MB:,.0f} MB",
                f"{peak / MB:,.0f} MB",
                peak <= AIM_PEAK_BYTES,
            )
        ]
    )
    footer()
    return 0


if __name__ == "__main__":
    sys.exit(main())
