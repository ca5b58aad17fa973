"""The tests' forked `riskwatch` (tests/preloaded.py) answers as the real console script does."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from .conftest import CLASSIC, clean_env
from .preloaded import fresh_command, run_command


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--version"], 0),
        (["stauts"], 2),  # refused with a did-you-mean: usage on stderr
        (["status", "--json"], 2),  # no config file here: one JSON error document
        (["ingest"], 0),  # the classic workspace: its rows read, a master written
    ],
)
def test_a_command_gives_the_real_scripts_exit_code_stdout_and_stderr(
    args: list[str], code: int, tmp_path: Path
) -> None:
    outputs = []
    for fresh in (True, False):
        folder = tmp_path / ("fresh" if fresh else "forked")
        if args == ["ingest"]:
            shutil.copytree(CLASSIC, folder)
        else:
            folder.mkdir()
        if fresh:
            done = fresh_command(args, cwd=folder, env=clean_env(), timeout=120)
        else:
            done = run_command(args, cwd=folder, env=clean_env(), timeout=120)
        # Each folder's own path appears in what it says: the same words otherwise.
        said = (done.stdout.replace(str(folder), "~"), done.stderr.replace(str(folder), "~"))
        outputs.append((done.returncode, *said))
    assert outputs[0][0] == code, outputs[0][2]
    assert outputs[0] == outputs[1]


def test_a_command_runs_in_its_folder_with_its_environment(tmp_path: Path) -> None:
    (tmp_path / "riskwatch.toml").write_text('input_folder_path = "sourcedata"\n')
    done = run_command(
        ["status"], cwd=tmp_path, env=clean_env(RISKWATCH_DRIFT_METRIC="nonsense"), timeout=60
    )
    assert done.returncode == 2
    assert "RISKWATCH_DRIFT_METRIC" in done.stderr  # the environment it was given, not ours
    assert "RISKWATCH_DRIFT_METRIC" not in os.environ


def test_a_command_over_its_time_is_killed_and_said_so(tmp_path: Path) -> None:
    (tmp_path / "sourcedata").mkdir()
    (tmp_path / "riskwatch.toml").write_text('input_folder_path = "sourcedata"\n')
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_command(["schedule", "--every", "1h"], cwd=tmp_path, env=clean_env(), timeout=3)
    assert time.monotonic() - started < 30
    # Killed: the schedule's lock is free again for the next command.
    done = run_command(["run"], cwd=tmp_path, env=clean_env(), timeout=120)
    assert done.returncode == 0, done.stderr


def test_commands_run_at_the_same_time_each_in_its_own_process(tmp_path: Path) -> None:
    answers: list[str] = []
    errors: list[BaseException] = []

    def version() -> None:
        try:
            done = run_command(["--version"], cwd=tmp_path, env=clean_env(), timeout=60)
            answers.append(done.stdout.strip())
        except BaseException as exc:  # shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=version) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(answers) == 4 and len(set(answers)) == 1 and answers[0].startswith("riskwatch ")


def test_a_missing_folder_is_refused_as_subprocess_refuses_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_command(["--version"], cwd=tmp_path / "missing", env=clean_env(), timeout=60)


def test_a_variable_read_at_start_gets_a_fresh_process(tmp_path: Path) -> None:
    # Python reads PYTHONIOENCODING when it starts: a forked process could not follow it.
    env = clean_env(PYTHONIOENCODING="utf-16")
    forked = run_command(["--version"], cwd=tmp_path, env=env, timeout=60)
    assert forked.stdout == fresh_command(["--version"], cwd=tmp_path, env=env, timeout=60).stdout
    assert "riskwatch" not in forked.stdout  # UTF-16 read as the locale's text
