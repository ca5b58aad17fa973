"""What every benchmark shares: the machine heading and the aims convention.

Each benchmark prints Markdown: a `# Title` line, then `heading()`'s machine block, then its own
sections. A benchmark with aims ends with an `## Aims` table (`aims_section()`), one row per
figure that has an aim: what is measured, the aim, the figure and "met" or "not met".
`benchmarks/run_all.py` reads those tables back (`parse_aims()`) for the summary at the top of
RESULTS.md, so every aim and every figure is stated once, by the benchmark that measures it.

When run_all starts a benchmark it sets BENCH_RUN_ALL=1: the heading is then only the title, the
start time and the load average, as RESULTS.md shows the machine once at its top.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import resource
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

RUN_ALL_ENV = "BENCH_RUN_ALL"
AIMS_HEADING = "## Aims"
AIMS_COLUMNS = ("figure", "aim", "measured", "verdict")
MET, NOT_MET = "met", "not met"
KEY_PACKAGE = "riskwatch"  # its version and those of its direct dependencies are listed
REPO = Path(__file__).resolve().parent.parent


def now() -> str:
    """The current time in UTC, to the second."""
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"


def duration(seconds: float) -> str:
    """Seconds as `1 min 5 s` or `3.2 s`."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def children_cpu_seconds() -> float:
    """CPU seconds (user and system) of this process's ended, waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _proc_field(path: str, key: str) -> str | None:
    """The value of the first `key: value` line of a /proc file, if there is one."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what the platform module says."""
    return _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown"


def memory() -> str:
    """Total and available memory from /proc/meminfo, in GiB."""
    total = _proc_field("/proc/meminfo", "MemTotal")
    available = _proc_field("/proc/meminfo", "MemAvailable")
    if not total:
        return "unknown"
    gib = 1024 * 1024  # /proc/meminfo counts kB
    shown = f"{int(total.split()[0]) / gib:.1f} GiB"
    if available:
        shown += f" ({int(available.split()[0]) / gib:.1f} GiB available at the start)"
    return shown


def cores() -> str:
    """The cores this process may use, and the machine's count when it differs."""
    usable = len(os.sched_getaffinity(0))
    total = os.cpu_count() or usable
    return f"{usable}" if usable == total else f"{usable} usable of {total}"


def package_versions() -> str:
    """riskwatch's version and those of its direct dependencies, as installed."""
    names = [KEY_PACKAGE]
    for requirement in importlib.metadata.requires(KEY_PACKAGE) or []:
        if ";" not in requirement:  # extras and markers aside
            names.append(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])
    shown = []
    for name in names:
        try:
            shown.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            shown.append(f"{name} (not installed)")
    return ", ".join(shown)


def git_commit() -> str:
    """The repository's commit, with a note when the work tree has changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit}" + (" with uncommitted changes" if changed else "")


def machine_lines() -> list[str]:
    """The machine, the software and the moment, as a Markdown list."""
    threads = os.environ.get("OMP_NUM_THREADS")
    return [
        f"- Date: {now()}",
        f"- Machine: {cores()} cores ({cpu_model()}, {platform.machine()}), memory {memory()}",
        f"- System: {platform.platform()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- Packages: {package_versions()}",
        f"- Commit: {git_commit()}",
        f"- OMP_NUM_THREADS: {threads if threads else 'not set'}",
        f"- Load average (1, 5, 15 min) at the start: {load_average()}",
    ]


def in_run_all() -> bool:
    """Whether run_all.py started this benchmark (it shows the machine once for all)."""
    return os.environ.get(RUN_ALL_ENV) == "1"


def heading(title: str) -> None:
    """Print the benchmark's title and the machine it runs on (or, under run_all, the moment)."""
    print(f"# {title}\n")
    if in_run_all():
        print(f"Started {now()}, load average (1, 5, 15 min) {load_average()}.\n", flush=True)
    else:
        print("\n".join(machine_lines()) + "\n", flush=True)


def footer() -> None:
    """Print the load average at the end, a sign of whether other work shared the machine."""
    print(f"\nEnded {now()}, load average (1, 5, 15 min) {load_average()}.", flush=True)


def verdict(met: bool) -> str:
    return MET if met else NOT_MET


@dataclass(frozen=True)
class Aim:
    """One figure that has an aim: what is measured, the aim, the figure, and whether it is met."""

    figure: str
    aim: str
    measured: str
    met: bool


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ").strip()


def aims_section(aims: list[Aim]) -> list[str]:
    """The `## Aims` table that ends a benchmark's output (and that run_all reads back)."""
    lines = [
        AIMS_HEADING,
        "",
        "| " + " | ".join(AIMS_COLUMNS) + " |",
        "|---|---|---:|---|",
    ]
    for aim in aims:
        cells = (aim.figure, aim.aim, aim.measured, f"**{verdict(aim.met)}**")
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return lines


def print_aims(aims: list[Aim]) -> None:
    """Print the aims table (nothing when no aim was measured)."""
    if aims:
        print("\n" + "\n".join(aims_section(aims)), flush=True)


def parse_aims(markdown: str) -> list[Aim]:
    """The aims of a benchmark's output: the rows of the table under its `## Aims` heading."""
    aims: list[Aim] = []
    lines = markdown.splitlines()
    try:
        start = lines.index(AIMS_HEADING)
    except ValueError:
        return aims
    for line in lines[start + 1 :]:
        if not line.strip():
            if aims:
                break
            continue
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != len(AIMS_COLUMNS) or tuple(cells) == AIMS_COLUMNS:
            continue
        if set(cells[0]) <= set("-: "):  # the separator row
            continue
        figure, aim, measured, said = cells
        aims.append(Aim(figure, aim, measured, said.strip("*") == MET))
    return aims
