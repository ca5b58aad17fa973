"""Fixtures of the overview, models, cycles and data pages' tests: a demo workspace that ran
cycles (with drift, a quarantined file and bad rows, and a version deployed by hand so that
production can roll back), served by a real `riskwatch serve` with an API token; and serve(),
which every page test's server runs through."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from ..conftest import (
    OFFLINE_INDEX,
    RISKWATCH,
    clean_env,
    free_port,
    private_copy,
    workspace_settings,
)

TOKEN = "pages-test-token-0123456789"
STARTUP_SECONDS = 180  # a loaded 2-core machine takes long to import the model stack
BAD_ROWS = (
    "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n"
    "good000001,10,100,5,0\n"
    "bad000001,10,100,5,7\n"
    "bad000002,-3,100,5,0\n"
)


@dataclass(frozen=True)
class Server:
    """A running `riskwatch serve`: its address and the workspace it serves."""

    url: str
    workspace: Path


def cycled_demo(path: Path) -> Path:
    """A 2,000-client demo replayed over three months (drift from the third), then a cycle
    over a file with bad rows and one that cannot be read, then a version trained and
    deployed by hand."""
    from riskwatch.demo.replay import replay_demo  # noqa: PLC0415 - heavy
    from riskwatch.demo.workspace import create_demo  # noqa: PLC0415
    from riskwatch.deployment import deploy  # noqa: PLC0415
    from riskwatch.fullprocess.cycle import run_cycle  # noqa: PLC0415
    from riskwatch.storage.store import Store  # noqa: PLC0415
    from riskwatch.training import train_version  # noqa: PLC0415

    create_demo(path, months=3, seed=21, clients=2000, scenario="covariate", drift_month=3)
    settings = workspace_settings(path)
    replay_demo(settings)
    (path / "sourcedata" / "late_rows.csv").write_text(BAD_ROWS, encoding="utf-8")
    (path / "sourcedata" / "broken.csv").write_bytes(b"\x00\x01 not a table\n\xff")
    run_cycle(settings, trigger="manual")
    with Store(settings.database_url) as store:
        deploy(settings, store, train_version(settings, store).version, force=True)
    return path


@contextmanager
def serve(workspace: Path, **env: str) -> Iterator[Server]:
    """`riskwatch serve` over a workspace on a free port of 127.0.0.1, stopped with Ctrl-C."""
    port, config = free_port(), workspace / "riskwatch.toml"
    command = [str(RISKWATCH), "--config", str(config), "serve", "--port", str(port)]
    log = workspace / "serve.log"
    environment = clean_env(RISKWATCH_PACKAGE_INDEX_URL=OFFLINE_INDEX, **env)
    with (
        log.open("wb") as output,
        subprocess.Popen(command, env=environment, stderr=output) as proc,
    ):
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, proc, log)
            yield Server(url, workspace)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server answers /health; fail with its log when it stops or is slow."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"riskwatch serve stopped:\n{log.read_text(errors='replace')}"
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            time.sleep(0.1)
    shown = log.read_text(errors="replace")
    pytest.fail(f"riskwatch serve did not answer within {STARTUP_SECONDS} s:\n{shown}")


@pytest.fixture(scope="session")
def cycled_workspace(cycled_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cycled demo workspace (built once per test session, shared with tests/api)."""
    return private_copy(cycled_template, tmp_path_factory, "pages")


@pytest.fixture(scope="session")
def pages_server(cycled_workspace: Path) -> Iterator[Server]:
    """`riskwatch serve` over the cycled demo, its API token set."""
    with serve(cycled_workspace, RISKWATCH_API_TOKEN=TOKEN) as server:
        yield server
