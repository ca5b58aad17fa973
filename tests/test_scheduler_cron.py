"""Cron entries: the schedule and line, the real crontab, the cron command."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskwatch.config import Settings, load_settings
from riskwatch.scheduler import parse_interval
from riskwatch.scheduler_cron import (
    cron_line,
    cron_schedule,
    install_cron,
    remove_cron,
    show_cron,
)

from .conftest import RISKWATCH, run

FOREIGN = 'MAILTO=""\n# a line of someone else\n17 3 * * * /usr/bin/true  # keep  me\n'


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace / "riskwatch.toml", env={})


@pytest.mark.parametrize(
    ("seconds", "fields"),
    [
        (60, "* * * * *"),
        (600, "*/10 * * * *"),
        (1800, "*/30 * * * *"),
        (3600, "0 * * * *"),
        (7200, "0 */2 * * *"),
        (86400, "0 0 * * *"),
        (7 * 86400, "0 0 * * 0"),
    ],
)
def test_cron_schedule_repeats_the_interval(seconds: int, fields: str) -> None:
    assert cron_schedule(seconds) == fields


def test_cron_refuses_an_interval_under_a_minute() -> None:
    with pytest.raises(ValueError, match="at most once a minute, not every 30s"):
        cron_schedule(30)


@pytest.mark.parametrize("text", ["7m", "90s", "90m", "5h", "2d"])
def test_cron_refuses_intervals_it_cannot_repeat_exactly(text: str) -> None:
    with pytest.raises(ValueError, match=r"cannot repeat every .* exactly: cron can run every 1"):
        cron_schedule(parse_interval(text))


def test_cron_line_uses_absolute_paths(settings: Settings) -> None:
    line = cron_line(settings, "10m")
    ws = settings.workspace
    assert line == (
        f"*/10 * * * * cd {ws} && {RISKWATCH} --config {ws / 'riskwatch.toml'} run --trigger cron "
        f">> {ws / 'logs' / 'cron.log'} 2>&1"
    )


def test_cron_line_quotes_spaces_and_escapes_percent(tmp_path: Path) -> None:
    folder = tmp_path / "my 100% ws"
    folder.mkdir()
    (folder / "riskwatch.toml").write_text("")
    line = cron_line(load_settings(folder / "riskwatch.toml", env={}), "1h")
    command = line.removeprefix("0 * * * * ").replace(r"\%", "%")  # as cron hands it to sh
    words = shlex.split(command)
    assert words[:2] == ["cd", str(folder)]
    assert words[5] == str(folder / "riskwatch.toml")
    assert "%" not in line.replace(r"\%", "")


# The real crontab


def crontab_text() -> str:
    done = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else ""


def set_crontab(text: str) -> None:
    subprocess.run(["crontab", "-"], input=text, text=True, check=True)


@pytest.fixture
def crontab() -> Iterator[None]:
    """The user's real crontab, saved before the test and restored exactly after it."""
    if shutil.which("crontab") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("crontab is required in CI: install the Debian package cron")
        pytest.skip("crontab is not installed (Debian package cron)")
    saved = subprocess.run(["crontab", "-l"], capture_output=True, check=False)
    if saved.returncode != 0 and b"no crontab for" not in saved.stderr:
        pytest.fail(f"cannot save the current crontab: {saved.stderr!r}")
    yield
    if saved.returncode == 0:
        subprocess.run(["crontab", "-"], input=saved.stdout, check=True)
    else:
        subprocess.run(["crontab", "-r"], capture_output=True, check=False)


@pytest.mark.usefixtures("crontab")
def test_install_cron_twice_leaves_one_entry_and_keeps_foreign_lines(settings: Settings) -> None:
    set_crontab(FOREIGN)
    line = install_cron(settings, "10m")
    assert install_cron(settings, "10m") == line
    assert crontab_text() == f"{FOREIGN}# riskwatch: {settings.workspace}\n{line}\n"
    assert show_cron(settings) == line


@pytest.mark.usefixtures("crontab")
def test_install_cron_with_another_interval_replaces_the_entry(settings: Settings) -> None:
    set_crontab(FOREIGN)
    install_cron(settings, "10m")
    line = install_cron(settings, "2h")
    assert line.startswith("0 */2 * * * cd ")
    assert crontab_text() == f"{FOREIGN}# riskwatch: {settings.workspace}\n{line}\n"


@pytest.mark.usefixtures("crontab")
def test_remove_cron_twice_restores_the_table_byte_for_byte(settings: Settings) -> None:
    set_crontab(FOREIGN)
    install_cron(settings, "15m")
    assert remove_cron(settings) is True
    assert crontab_text() == FOREIGN
    assert remove_cron(settings) is False
    assert crontab_text() == FOREIGN
    assert show_cron(settings) is None


@pytest.mark.usefixtures("crontab")
def test_remove_cron_of_the_only_entry_leaves_no_crontab(settings: Settings) -> None:
    subprocess.run(["crontab", "-r"], capture_output=True, check=False)
    install_cron(settings, "1d")
    assert remove_cron(settings) is True
    listed = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    assert "no crontab for" in listed.stderr


@pytest.mark.usefixtures("crontab")
def test_entries_of_two_workspaces_are_independent(settings: Settings, workspace: Path) -> None:
    (workspace / "other").mkdir()
    (workspace / "other" / "riskwatch.toml").write_text("")
    other = load_settings(workspace / "other" / "riskwatch.toml", env={})
    set_crontab(FOREIGN)
    mine, theirs = install_cron(settings, "5m"), install_cron(other, "1h")
    assert remove_cron(settings) is True
    assert show_cron(settings) is None
    assert show_cron(other) == theirs != mine
    assert crontab_text() == f"{FOREIGN}# riskwatch: {other.workspace}\n{theirs}\n"


@pytest.mark.usefixtures("crontab")
def test_install_cron_writes_cronjob_txt_and_the_logs_folder(settings: Settings) -> None:
    line = install_cron(settings, "30m")
    assert (settings.workspace / "cronjob.txt").read_text() == line + "\n"
    assert (settings.workspace / "logs").is_dir()


@pytest.mark.usefixtures("crontab")
def test_cli_cron_show_prints_the_installed_line(workspace: Path) -> None:
    assert run("cron", "show", cwd=workspace).stdout.startswith("No riskwatch cron entry")
    installed = run("cron", "install", "--every", "20m", cwd=workspace)
    assert installed.returncode == 0, installed.stderr
    shown = run("cron", "show", "--json", cwd=workspace)
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["installed"] is True
    assert record["line"].startswith("*/20 * * * * cd ")
    assert record["line"] in crontab_text()


def test_cli_cron_refuses_an_interval_cron_cannot_repeat(workspace: Path) -> None:
    result = run("cron", "install", "--every", "7m", cwd=workspace)
    assert result.returncode == 2
    assert "cron can run every 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 minutes" in result.stderr


def test_missing_crontab_names_the_cron_package(workspace: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    result = run("cron", "show", cwd=workspace, env={"PATH": str(empty)})
    assert result.returncode == 1
    assert "install the Debian package `cron`" in result.stderr
