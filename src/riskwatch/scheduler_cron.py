"""A cron entry per workspace: the line that runs one cycle, installed in the user's crontab."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from riskwatch.config import Settings
from riskwatch.errors import RiskwatchError
from riskwatch.scheduler import format_interval, parse_interval
from riskwatch.storage.files import write_text_atomic

CRONJOB_FILE = "cronjob.txt"
CRON_LOG = Path("logs") / "cron.log"
CRON_MARKER = "# riskwatch: "
# Intervals cron repeats exactly: divisors of an hour in minutes, of a day in hours.
CRON_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
CRON_HOURS = (1, 2, 3, 4, 6, 8, 12)
CRON_CAN = (
    "cron can run every 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 minutes (e.g. 10m), "
    "every 1, 2, 3, 4, 6, 8 or 12 hours (e.g. 2h), daily (1d) or weekly (7d)"
)


def cron_schedule(seconds: int) -> str:
    """The five cron fields that repeat every `seconds`, or ValueError naming what cron can do."""
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 60:
        raise ValueError(
            f"cron runs at most once a minute, not every {format_interval(seconds)}; "
            "use `riskwatch schedule` for shorter intervals"
        )
    if seconds % 60 == 0 and minutes in CRON_MINUTES:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if seconds % 3600 == 0 and hours in CRON_HOURS:
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if seconds == 86400:
        return "0 0 * * *"
    if seconds == 7 * 86400:
        return "0 0 * * 0"
    raise ValueError(f"cron cannot repeat every {format_interval(seconds)} exactly: {CRON_CAN}")


def cron_line(settings: Settings, every: str) -> str:
    """The crontab line that runs one cycle of this workspace every `every` (e.g. 10m)."""
    fields = cron_schedule(parse_interval(every))
    workspace = settings.workspace.resolve()
    if settings.config_file is None:
        raise RiskwatchError("cron needs settings read from a config file")
    config = settings.config_file.resolve()
    # Not resolved: the venv's python is a symlink, and its scripts sit beside the link.
    script = Path(sys.executable).absolute().with_name("riskwatch")
    if any("\n" in str(path) for path in (workspace, config, script)):
        raise ValueError("a crontab line cannot hold a path with a line break")
    command = (
        f"cd {_quote(workspace)} && {_quote(script)} --config {_quote(config)} run --trigger cron "
        f">> {_quote(workspace / CRON_LOG)} 2>&1"
    )
    return f"{fields} {command}"


def _quote(path: Path) -> str:
    """A path as one shell word; cron would read a bare % as a line break."""
    return shlex.quote(str(path)).replace("%", r"\%")


def _marker(settings: Settings) -> str:
    """The comment line that marks this workspace's entry in the crontab."""
    return f"{CRON_MARKER}{settings.workspace.resolve()}"


def install_cron(settings: Settings, every: str) -> str:
    """Install (or replace) this workspace's crontab entry and cronjob.txt; return the line."""
    line = cron_line(settings, every)
    workspace = settings.workspace.resolve()
    (workspace / CRON_LOG).parent.mkdir(parents=True, exist_ok=True)
    table = read_crontab()
    rest, _ = _split_entry(table, _marker(settings))
    if rest and not rest.endswith("\n"):
        rest += "\n"
    new = f"{rest}{_marker(settings)}\n{line}\n"
    if new != table:
        write_crontab(new)
    write_text_atomic(workspace / CRONJOB_FILE, line + "\n")
    return line


def show_cron(settings: Settings) -> str | None:
    """This workspace's crontab line, or None when none is installed."""
    return _split_entry(read_crontab(), _marker(settings))[1]


def remove_cron(settings: Settings) -> bool:
    """Remove this workspace's crontab entry; False when there was none."""
    table = read_crontab()
    rest, _ = _split_entry(table, _marker(settings))
    if rest == table:
        return False
    write_crontab(rest)
    return True


def _split_entry(table: str, marker: str) -> tuple[str, str | None]:
    """The crontab without our marked entry (other lines byte for byte), and the entry's line."""
    lines = iter(re.findall(r"[^\n]*\n|[^\n]+\Z", table))
    kept: list[str] = []
    entry: str | None = None
    for line in lines:
        if line.rstrip("\n") != marker:
            kept.append(line)
            continue
        following = next(lines, "")
        # The line after the marker is ours unless someone left a blank or a comment there.
        if following.strip() and not following.lstrip().startswith("#"):
            entry = following.rstrip("\n")
        else:
            kept.append(following)
    return "".join(kept), entry


def _crontab_binary() -> str:
    """The crontab command's path, or an error naming the package that provides it."""
    found = shutil.which("crontab")
    if found is None:
        raise RiskwatchError(
            "the crontab command is not installed: install the Debian package `cron` "
            "(apt-get install cron), or run `riskwatch schedule` instead"
        )
    return found


def read_crontab() -> str:
    """The current user's crontab ('' when there is none)."""
    done = subprocess.run([_crontab_binary(), "-l"], capture_output=True, check=False)  # noqa: S603
    if done.returncode == 0:
        return done.stdout.decode("utf-8", "surrogateescape")
    error = done.stderr.decode("utf-8", "replace").strip()
    if "no crontab for" in error:
        return ""
    raise RiskwatchError(f"crontab -l failed: {error}")


def write_crontab(table: str) -> None:
    """Replace the current user's crontab (an empty table removes it)."""
    binary = _crontab_binary()
    if not table:
        done = subprocess.run([binary, "-r"], capture_output=True, check=False)  # noqa: S603
    else:
        data = table.encode("utf-8", "surrogateescape")
        done = subprocess.run([binary, "-"], input=data, capture_output=True, check=False)  # noqa: S603
    error = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0 and "no crontab for" not in error:
        raise RiskwatchError(f"crontab refused the new table: {error}")
