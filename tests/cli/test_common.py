"""Long commands on a terminal say each step as it starts and ends; scripts see none of it.

The commands run in their own process with stderr on a pseudo-terminal (as a person's shell gives
them) or on a pipe (as a script or cron does), stdout always on a pipe.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import stat
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import RISKWATCH, clean_env, run

FAST = {"RISKWATCH_BOOTSTRAP_RESAMPLES": "50"}
UMASK = 0o027  # not the usual 022: the files a cycle writes must follow it


@dataclass(frozen=True)
class Ran:
    """A command's exit code, its stdout, and what its terminal (stderr) showed."""

    code: int
    stdout: str
    terminal: str


def on_terminal(*args: str, cwd: Path) -> Ran:
    """Run riskwatch with stderr on a pseudo-terminal and stdout on a pipe, under UMASK."""
    leader, follower = pty.openpty()
    shown: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process ended
                return
            if not chunk:
                return
            shown.append(chunk)

    command = ["sh", "-c", f'umask {UMASK:o} && exec "$@"', "sh", str(RISKWATCH), *args]
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=clean_env(**FAST),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    ) as process:
        os.close(follower)
        reader = threading.Thread(target=drain)
        reader.start()
        stdout, _ = process.communicate(timeout=300)
        reader.join(timeout=10)
    os.close(leader)
    return Ran(process.returncode, stdout, b"".join(shown).decode(errors="replace"))


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran | Path]:
    """A small demo, one bad row in month 1; each command run once, shared read-only."""
    folder = tmp_path_factory.mktemp("progress")
    assert run("demo", "ws", "--clients", "600", "--months", "2", cwd=folder).returncode == 0
    ws = folder / "ws"
    with (ws / "sourcedata" / "month_01.csv").open("a") as drop:
        drop.write("bad000001,-5,10,3,0\n")  # negative activity: quarantined
    found: dict[str, Ran | Path] = {"ws": ws, "run": on_terminal("run", cwd=ws)}
    found["report"] = on_terminal("report", cwd=ws)
    found["report --json"] = on_terminal("report", "--json", cwd=ws)
    piped = run("report", cwd=ws, env=FAST)
    found["report piped"] = Ran(piped.returncode, piped.stdout, piped.stderr)
    shutil.copy(ws / "drops" / "month_02.csv", ws / "sourcedata" / "month_02.csv")
    found["run --json"] = on_terminal("run", "--json", cwd=ws)
    return found


def test_run_on_a_terminal_says_each_step_with_its_seconds(ran: dict[str, Ran | Path]) -> None:
    result = ran["run"]
    assert isinstance(result, Ran)
    assert result.code == 0, result.terminal
    for step in ("ingest", "initial model", "diagnose", "report", "call list"):
        assert f"riskwatch: {step} ..." in result.terminal
        assert f"riskwatch: {step}: done in " in result.terminal
    # Each step's line comes when it starts, before the next one's.
    assert result.terminal.index("ingest ...") < result.terminal.index("report ...")
    assert "Outcome: initial" in result.stdout


def test_report_on_a_terminal_says_each_stage(ran: dict[str, Ran | Path]) -> None:
    result = ran["report"]
    assert isinstance(result, Ran)
    assert result.code == 0, result.terminal
    for stage in ("gather", "plots", "HTML", "PDF"):
        assert f"riskwatch: {stage} ..." in result.terminal
        assert f"riskwatch: {stage}: done in " in result.terminal
    assert "Report written to" in result.stdout


@pytest.mark.parametrize("name", ["report --json", "run --json"])
def test_json_on_a_terminal_prints_one_document_and_no_steps(
    ran: dict[str, Ran | Path], name: str
) -> None:
    result = ran[name]
    assert isinstance(result, Ran)
    assert result.code == 0, result.terminal
    json.loads(result.stdout)  # one JSON document, nothing around it
    assert " ..." not in result.terminal
    assert "done in" not in result.terminal


def test_report_into_a_pipe_prints_no_step_lines(ran: dict[str, Ran | Path]) -> None:
    result = ran["report piped"]
    assert isinstance(result, Ran)
    assert result.code == 0, result.terminal
    assert "gather ..." not in result.terminal
    assert "done in" not in result.terminal


def test_files_a_cycle_writes_for_people_follow_the_umask(ran: dict[str, Ran | Path]) -> None:
    ws = ran["ws"]
    assert isinstance(ws, Path)
    quarantined = sorted((ws / "ingesteddata" / "quarantine").glob("*.rows.csv"))
    assert quarantined, "the bad row was not quarantined"
    written = [
        ws / "reports" / "calllist.csv",
        ws / "reports" / "report.html",
        ws / "reports" / "report.pdf",
        ws / "reports" / "confusionmatrix.png",
        *quarantined,
    ]
    modes = {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in written}
    assert set(modes.values()) == {oct(0o666 & ~UMASK)}, modes
