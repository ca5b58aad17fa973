"""Test-suite benchmark: the whole `make test` (lint, then every test on one worker per core).

Run with `make bench` or `.venv/bin/python benchmarks/bench_tests.py` (not part of the tests: it
runs them). The command is the README's, in this repository, with its caches as they are (a
fresh clone adds the install and mypy's first run). The aim is absolute, as the issue sets it:
under 5 minutes on this machine; CPU seconds and the load average beside it tell how busy the
machine was.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from common import REPO, Aim, children_cpu_seconds, duration, footer, heading, print_aims

AIM_SECONDS = 300.0
SUMMARY = re.compile(r"^=*\s*(?P<counts>\d+ passed.*?) in (?P<seconds>[\d.]+)s")


def main() -> None:
    """Run `make test` once, print its time, its counts and the aim."""
    heading("Test-suite benchmark")
    cpu_before, started = children_cpu_seconds(), time.perf_counter()
    done = subprocess.run(
        ["make", "test"],
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        env={**os.environ, "PY_COLORS": "0"},  # a summary line this script can read
    )
    seconds, cpu = time.perf_counter() - started, children_cpu_seconds() - cpu_before
    found = [m for line in done.stdout.splitlines() if (m := SUMMARY.match(line.strip("= ")))]
    if done.returncode != 0 or not found:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        if done.returncode != 0:
            raise SystemExit(f"make test failed (exit status {done.returncode})")
        raise SystemExit("make test passed, but printed no pytest summary line to read")
    counts, pytest_seconds = found[-1]["counts"], float(found[-1]["seconds"])
    print("| command | wall clock | of which pytest | CPU (all processes waited for) | tests |")
    print("|---|---:|---:|---:|---|")
    print(
        f"| `make test` | {duration(seconds)} | {duration(pytest_seconds)} | {duration(cpu)} "
        f"| {counts} |"
    )
    print(
        "\nThe CPU column counts every process waited for, the commands the tests fork from "
        "their preloaded server (tests/preloaded.py) included; it leaves out servers the tests "
        "stop with a signal, so it is a lower bound."
    )
    print_aims(
        [
            Aim(
                "`make test` (lint and the whole suite), wall clock",
                "under 5 min",
                f"{duration(seconds)} ({counts})",
                seconds < AIM_SECONDS,
            )
        ]
    )
    footer()


if __name__ == "__main__":
    main()
