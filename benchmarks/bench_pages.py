"""Web app pages benchmark: each page's time on the 10,000-client demo after its cycles, against
a trivial page of the same server (GET /health).

Run with `make bench` or `.venv/bin/python benchmarks/bench_pages.py [--quick] [--workspace
PATH]` (not part of the tests). The workspace is the 10,000-client demo replayed over --months
monthly drops (one monitored cycle each: the cycles, models, drift records and call lists the
pages read), in a temporary folder, unless --workspace names a demo workspace already replayed.
`riskwatch serve` runs as a subprocess (one worker); each page is fetched --requests times after
--warmup uncounted requests, one after another on one keep-alive connection. Server time is the
`Server-Timing: app;dur=` header riskwatch adds; latency is measured by the client. Every answer
must be HTTP 200.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from bench_api import BIN, HOST, SERVER_TIMING, free_port, percentile, server
from common import Aim, footer, heading, print_aims

from riskwatch.config import load_settings
from riskwatch.demo.replay import replay_demo
from riskwatch.demo.workspace import create_demo
from riskwatch.schema import ID_COLUMN

CLIENTS = 10_000
PAGES = ("/app/", "/app/calllist", "/app/models", "/app/cycles", "/app/data", "/app/signin")
FLOOR = "/health"
AIM_MS = 200.0  # each page's server time (median)


@dataclass
class Timings:
    """One path's measured requests: server times and client latencies, in milliseconds."""

    path: str
    server: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def replayed_demo(folder: Path, months: int) -> Path:
    """The 10,000-client demo with one cycle per monthly drop (covariate drift from month 4)."""
    create_demo(
        folder,
        months=months,
        seed=42,
        clients=CLIENTS,
        scenario="covariate",
        drift_month=min(4, months),
    )
    replay_demo(load_settings(folder / "riskwatch.toml", env={}))
    return folder


def first_listed(workspace: Path) -> str:
    """The client page of the newest published list's first client."""
    from riskwatch.storage.store import Store, call_list_items, call_lists  # noqa: PLC0415

    settings = load_settings(workspace / "riskwatch.toml", env={})
    with Store(settings.database_url) as store:
        newest = store.rows(call_lists, newest_first=True, limit=1)[0]["id"]
        items = call_list_items.c
        query = sa.select(items[ID_COLUMN]).where(items.list_id == newest, items.rank == 1)
        with store.begin() as conn:
            client = str(conn.execute(query).scalar_one())
    return f"/app/clients/{quote(client)}"


def measure(port: int, path: str, *, requests: int, warmup: int) -> Timings:
    """GET the path again and again on one connection: warm-up, then the measured run."""
    found = Timings(path)
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        for number in range(warmup + requests):
            started = time.perf_counter()
            conn.request("GET", path)
            answer = conn.getresponse()
            answer.read()
            took = (time.perf_counter() - started) * 1000
            if answer.status != 200:
                found.failures.append(f"GET {path}: HTTP {answer.status}")
                continue
            timing = SERVER_TIMING.search(answer.getheader("Server-Timing") or "")
            if number >= warmup and timing:
                found.server.append(float(timing.group(1)))
                found.latency.append(took)
    finally:
        conn.close()
    return found


def table(floor: Timings, pages: list[Timings]) -> list[str]:
    """The measured figures, one row per path."""
    lines = [
        "| path | server median (ms) | server p95 (ms) | latency median (ms) | latency p95 (ms) "
        "| over the floor (ms, median) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    base = statistics.median(floor.server)
    for run in [floor, *pages]:
        median = statistics.median(run.server)
        lines.append(
            f"| `{run.path}` | {median:.1f} | {percentile(run.server, 95):.1f} "
            f"| {statistics.median(run.latency):.1f} | {percentile(run.latency, 95):.1f} "
            f"| {median - base:.1f} |"
        )
    return lines


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 months, 5 requests a page")
    parser.add_argument("--workspace", type=Path, help="a demo workspace already replayed")
    parser.add_argument("--months", type=int, default=6, help="monthly drops replayed (6)")
    parser.add_argument("--requests", type=int, default=20, help="measured requests a page")
    parser.add_argument("--warmup", type=int, default=2, help="uncounted requests first")
    parser.add_argument("--start-timeout", type=float, default=180.0)
    parser.add_argument("--verbose", action="store_true", help="show the server's log")
    args = parser.parse_args()
    if args.quick:
        args.months, args.requests = 3, 5
    return args


def main() -> int:
    """Build or take the workspace, serve it, time every page; 1 when a request failed."""
    args = options()
    heading("Web app pages")
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as temporary:
        started = time.perf_counter()
        workspace = args.workspace or replayed_demo(Path(temporary) / "demo", args.months)
        built = time.perf_counter() - started
        port, log = free_port(), Path(temporary) / "serve.log"
        config = workspace / "riskwatch.toml"
        command = [str(BIN / "riskwatch"), "--config", str(config), "serve", "--port", str(port)]
        with server("riskwatch", command, port, log, args):
            floor = measure(port, FLOOR, requests=args.requests, warmup=args.warmup)
            paths = [*PAGES, first_listed(workspace)]
            pages = [measure(port, p, requests=args.requests, warmup=args.warmup) for p in paths]
    source = "given" if args.workspace else f"{args.months} months replayed in {built:.0f} s"
    print(
        f"The {CLIENTS:,}-client demo ({source}); {args.requests} requests a path after "
        f"{args.warmup} warm-up requests, one connection, one worker.\n"
    )
    failed = [f for run in [floor, *pages] for f in run.failures]
    if failed:
        print("Failures:\n" + "\n".join(f"- {f}" for f in failed[:5]) + "\n")
    if not floor.server or not all(run.server for run in pages):
        print("Some path gave no timed answer.", file=sys.stderr)
        return 1
    print("\n".join(table(floor, pages)))
    aims = [
        Aim(
            f"`GET {run.path}` server time (median)",
            f"≤ {AIM_MS:.0f} ms",
            f"{statistics.median(run.server):.1f} ms",
            statistics.median(run.server) <= AIM_MS,
        )
        for run in pages
    ]
    print_aims(aims)
    footer()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
