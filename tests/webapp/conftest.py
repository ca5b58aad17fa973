"""The web app's shared fixtures: a real `riskwatch serve` over a demo workspace with published
call lists, and Debian's Chromium driven by Playwright, every request it makes recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from ..conftest import OFFLINE_INDEX, RISKWATCH, clean_env, deployed_demo, free_port

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing of the browser's own that would call out (updates, safe browsing...).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
LOCAL_HOSTS = {"127.0.0.1"}


@dataclass(frozen=True)
class Server:
    """A running `riskwatch serve`: its address and the workspace it serves."""

    url: str
    workspace: Path


def publish_lists(path: Path) -> None:
    """Publish a call list, release and ingest the next month, publish again: the second
    list then has changes since the first (new clients, risk up, risk down)."""
    from riskwatch.calllist.build import build_call_list, publish_call_list  # noqa: PLC0415
    from riskwatch.demo.workspace import release_month  # noqa: PLC0415
    from riskwatch.ingestion.ingest import ingest  # noqa: PLC0415
    from riskwatch.storage.store import Store  # noqa: PLC0415

    from ..conftest import workspace_settings  # noqa: PLC0415

    settings = workspace_settings(path)
    with Store(settings.database_url) as store:
        publish_call_list(settings, store, build_call_list(settings, store))
        release_month(path, 2)
        ingest(settings)
        publish_call_list(settings, store, build_call_list(settings, store))


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-client demo: a model deployed, two months ingested, two call lists published."""
    path = deployed_demo(tmp_path_factory.mktemp("webapp") / "ws", months=3, seed=14)
    publish_lists(path)
    return path


@pytest.fixture(scope="session")
def server(demo_workspace: Path) -> Iterator[Server]:
    """`riskwatch serve` on a free port of 127.0.0.1, stopped with Ctrl-C at the end."""
    port, config = free_port(), demo_workspace / "riskwatch.toml"
    command = [str(RISKWATCH), "--config", str(config), "serve", "--port", str(port)]
    log = demo_workspace / "serve.log"
    environment = clean_env(RISKWATCH_PACKAGE_INDEX_URL=OFFLINE_INDEX)
    with (
        log.open("wb") as output,
        subprocess.Popen(command, env=environment, stderr=output) as proc,
    ):
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, proc, log)
            yield Server(url, demo_workspace)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"riskwatch serve stopped:\n{log.read_text(errors='replace')}"
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            time.sleep(0.1)
    pytest.fail(f"riskwatch serve did not answer within 60 s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright; missing: skipped here, a failure in CI."""
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the machine
        _missing(f"Playwright is not installed: {exc}")
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _missing(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser is required in CI: {why}")
    pytest.skip(why)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page; after the test, every URL it requested must be on 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    requested: list[str] = []
    opened.on("request", lambda request: requested.append(request.url))
    yield opened
    context.close()
    outside = [url for url in requested if urlsplit(url).hostname not in LOCAL_HOSTS]
    assert requested, "the page made no request"
    assert not outside, f"requests left 127.0.0.1: {outside}"


@pytest.fixture
def screenshot(page: Any, tmp_path: Path) -> Any:
    """Save the page as NAME.png in $RISKWATCH_SCREENSHOTS (else the test's tmp_path)."""
    folder = Path(os.environ.get("RISKWATCH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
