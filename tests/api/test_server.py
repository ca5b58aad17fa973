"""The API on a real uvicorn server on 127.0.0.1: hot reload, the apicalls client, the commands."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI

from riskwatch.api import create_app
from riskwatch.apicalls import API_RETURNS_JSON, API_RETURNS_TEXT, call_api
from riskwatch.cli.serve import _bind
from riskwatch.deployment import deploy, rollback
from riskwatch.model.registry import load_deployed
from riskwatch.storage.store import Store
from riskwatch.training import train_version

from ..conftest import (
    OFFLINE_INDEX,
    RISKWATCH,
    api_settings,
    clean_env,
    copy_workspace,
    free_port,
    run,
)

STARTUP_SECONDS = 180  # how long `riskwatch serve` may take to start (a limit, not a timing)

ONE = {
    "corporation": "c1",
    "lastmonth_activity": 3,
    "lastyear_activity": 400,
    "number_of_employees": 12,
}
ENDPOINTS = [
    "/health",
    "/ready",
    "/version",
    "/prediction",
    "/prediction",
    "/scoring",
    "/summarystats",
    "/diagnostics",
    "/calllist",
]


@pytest.fixture(scope="module")
def built(deployed_template: Callable[..., Path]) -> Path:
    """The session's deployed demo that the API tests share (read only: each test copies it)."""
    return deployed_template(months=2, seed=5)


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free port of 127.0.0.1, in a thread; its address."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def wait_for(condition: object, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_new_deployment_is_served_from_the_next_request_without_a_failed_one(
    tmp_path: Path, built: Path
) -> None:
    ws = copy_workspace(built, tmp_path)
    settings = api_settings(ws.path)
    first = load_deployed(settings.prod_deployment_path)[0].version
    seen: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def keep_asking(url: str) -> None:
        with httpx2.Client(base_url=url, timeout=30) as client:
            while not stop.is_set():
                try:
                    answer = client.post("/prediction", json={"clients": [ONE]})
                except httpx2.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if answer.status_code == 200:
                    seen.append(answer.json()["version"])
                else:
                    failures.append(f"{answer.status_code} {answer.text}")

    with running(create_app(settings)) as url, Store(settings.database_url) as store:
        askers = [threading.Thread(target=keep_asking, args=(url,)) for _ in range(2)]
        for asker in askers:
            asker.start()
        try:
            wait_for(lambda: len(seen) > 5)
            second = train_version(settings, store).version
            deploy(settings, store, second)
            # The very next request is answered by the new model.
            assert (
                httpx2.post(f"{url}/prediction", json={"clients": [ONE]}).json()["version"]
                == second
            )
            assert httpx2.get(f"{url}/ready").json()["version"] == second
            wait_for(lambda: seen[-1] == second)
            rollback(settings, store)
            assert httpx2.get(f"{url}/version").json()["model_version"] == first
            wait_for(lambda: seen[-1] == first)
        finally:
            stop.set()
            for asker in askers:
                asker.join(timeout=30)
    assert failures == []
    assert {first, second} <= set(seen)


def test_apicalls_calls_every_endpoint_and_writes_apireturns(built: Path, tmp_path: Path) -> None:
    ws = copy_workspace(built, tmp_path)
    settings = api_settings(ws.path)
    with running(create_app(settings)) as url:
        returns = call_api(settings, url)
    assert returns.failure() is None
    assert [call.path for call in returns.calls] == ENDPOINTS
    assert all(call.status == 200 for call in returns.calls)
    predicted = returns.calls[3].response["clients"]
    assert len(predicted) == 100 and predicted[0]["reasons"]
    text = (settings.reports_path / API_RETURNS_TEXT).read_text()
    assert "GET /scoring -> 200" in text and '"f1"' in text
    document = json.loads((settings.reports_path / API_RETURNS_JSON).read_text())
    assert document["ok"] is True
    assert [call["path"] for call in document["calls"]] == ENDPOINTS


def test_apicalls_names_the_endpoint_that_answers_with_an_error(
    built: Path, tmp_path: Path
) -> None:
    ws = copy_workspace(built, tmp_path)
    with running(create_app(api_settings(ws.path, api_token="right"))) as url:
        returns = call_api(api_settings(ws.path, api_token="wrong"), url)
    failure = returns.failure()
    assert failure is not None
    assert failure.startswith(f"GET {url}/ready failed: HTTP 401")
    assert returns.calls[0].ok  # /health needs no token
    # A failed run writes nothing: the files keep the last good run (there is none here).
    assert not (ws.path / "reports" / API_RETURNS_JSON).exists()
    assert "Not written" in returns.summary() and "nothing yet" in returns.summary()


def test_a_failed_apicalls_keeps_the_last_good_record(built: Path, tmp_path: Path) -> None:
    ws = copy_workspace(built, tmp_path)
    settings = api_settings(ws.path)
    with running(create_app(settings)) as url:
        good = call_api(settings, url)
    assert good.failure() is None and good.written
    files = [settings.reports_path / API_RETURNS_TEXT, settings.reports_path / API_RETURNS_JSON]
    before = [path.read_bytes() for path in files]
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    failed = call_api(settings, closed)
    failure = failed.failure()
    assert failure is not None
    assert failure.startswith(f"GET {closed}/health failed: cannot connect")
    assert [path.read_bytes() for path in files] == before
    assert f"keep the last good run's answers (from {good.called_at})" in failed.summary()


def test_apicalls_gives_up_on_a_server_that_never_answers(built: Path, tmp_path: Path) -> None:
    ws = copy_workspace(built, tmp_path)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        returns = call_api(api_settings(ws.path, api_timeout=0.5), url)
        took = time.monotonic() - started
    failure = returns.failure()
    assert failure is not None and "/health failed: no answer within" in failure
    assert "not called" in returns.summary()
    assert took < 10  # one timeout, not one per endpoint


@contextmanager
def serving(config: Path, port: int, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """`riskwatch serve` in its own process, stopped with Ctrl-C at the end; its log on failure."""
    environment = clean_env(RISKWATCH_PACKAGE_INDEX_URL=OFFLINE_INDEX)
    command = [str(RISKWATCH), "--config", str(config), "serve", "--port", str(port), *extra]
    log = config.parent / "serve.log"
    with (
        log.open("wb") as output,
        subprocess.Popen(command, env=environment, stderr=output) as server,
    ):
        try:
            yield server
        except BaseException:
            print(log.read_text(errors="replace"))
            raise
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_and_apicalls_commands_work_on_a_demo_workspace(
    built: Path, tmp_path: Path, workers: str
) -> None:
    ws = copy_workspace(built, tmp_path)
    config, port = ws.path / "riskwatch.toml", free_port()
    with serving(config, port, "--workers", workers):
        # A wait limit, not a timing: on a loaded machine two workers took up to a minute.
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/health"), seconds=STARTUP_SECONDS)
        calls = subprocess.run(
            [
                str(RISKWATCH),
                "--config",
                str(config),
                "apicalls",
                "--url",
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert calls.returncode == 0, calls.stderr
        assert "/calllist" in calls.stdout
        assert (ws.path / "reports" / API_RETURNS_TEXT).is_file()
    refused = subprocess.run(
        [str(RISKWATCH), "--config", str(config), "apicalls", "--url", f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert f"GET http://127.0.0.1:{port}/health failed: cannot connect" in refused.stderr
    assert "apireturns.txt left as it was" in refused.stderr
    document = json.loads((ws.path / "reports" / API_RETURNS_JSON).read_text())
    assert document["ok"] is True  # the good run's record, not the refused one


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_busy_port_says_so_and_exits_1(
    built: Path, tmp_path: Path, workers: str
) -> None:
    ws = copy_workspace(built, tmp_path)
    with socket.socket() as taken:  # a real listener holds the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            "--config",
            str(ws.path / "riskwatch.toml"),
            "serve",
            "--port",
            str(port),
            "--workers",
            workers,
            timeout=STARTUP_SECONDS,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"cannot serve on 127.0.0.1:{port}: the port is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "serving" not in output and "Errno" not in output


def _answers(url: str) -> bool:
    try:
        return httpx2.get(url, timeout=1).status_code == 200
    except httpx2.HTTPError:
        return False


def test_redeploys_under_load_fail_no_request_and_serve_only_deployed_versions(
    tmp_path: Path, built: Path
) -> None:
    ws = copy_workspace(built, tmp_path)
    settings = api_settings(ws.path)
    answers: list[tuple[float, float, str]] = []  # sent, answered, version
    failures: list[str] = []
    stop = threading.Event()

    def keep_asking(url: str) -> None:
        with httpx2.Client(base_url=url, timeout=30) as client:
            for _ in range(20_000):  # bounded in count, and stopped when the switching ends
                if stop.is_set():
                    return
                sent = time.monotonic()
                try:
                    answer = client.post("/prediction", json={"clients": [ONE]})
                except httpx2.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.text}")
                    continue
                answers.append((sent, time.monotonic(), answer.json()["version"]))

    with Store(settings.database_url) as store:
        first = load_deployed(settings.prod_deployment_path)[0].version
        second = train_version(settings, store).version
        third = train_version(settings, store).version
        actions = [
            lambda: deploy(settings, store, second),
            lambda: deploy(settings, store, third),
            lambda: rollback(settings, store),
            lambda: deploy(settings, store, first),
            lambda: rollback(settings, store),
            lambda: rollback(settings, store, third),
        ]
        switches = [(0.0, 0.0, first)]  # (switch began, switch done, version after it)
        with running(create_app(settings)) as url:
            askers = [threading.Thread(target=keep_asking, args=(url,)) for _ in range(3)]
            for asker in askers:
                asker.start()
            try:
                for action in actions:
                    time.sleep(0.4)
                    began = time.monotonic()
                    action()
                    version = load_deployed(settings.prod_deployment_path)[0].version
                    switches.append((began, time.monotonic(), version))
                time.sleep(0.4)
            finally:
                stop.set()
                for asker in askers:
                    asker.join(timeout=60)
    assert failures == []
    assert len(answers) > 100
    for sent, answered, version in answers:
        # The versions in production at some moment while this request was in flight.
        live = {
            switches[i][2]
            for i in range(len(switches))
            if switches[i][0] <= answered and (i + 1 == len(switches) or switches[i + 1][1] >= sent)
        }
        assert version in live, (sent, answered, version, switches)
    assert {first, second, third} <= {version for _, _, version in answers}
    print(f"redeploys under load: {len(answers)} requests served, {len(switches) - 1} switches")


def test_serves_connections_with_tcp_nodelay_so_answers_do_not_wait_on_nagle() -> None:
    # uvicorn writes an answer's head and body apart: with Nagle's algorithm on, the body
    # waits for the client's delayed acknowledgement (milliseconds a request).
    sock = _bind("127.0.0.1", 0)
    assert sock is not None
    found: list[int] = []

    async def accept_one() -> None:
        async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("socket")
            found.append(peer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            reader, writer = await asyncio.open_connection(*sock.getsockname())
            await reader.read()
            writer.close()

    asyncio.run(accept_one())
    assert found and found[0] != 0
