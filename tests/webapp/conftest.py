"""The web app's shared fixtures: a real `riskwatch serve` over a demo workspace with published
call lists, and Debian's Chromium driven by Playwright, every request it makes recorded."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from riskwatch.storage.store import Store, call_list_items, call_lists

from ..conftest import deployed_demo, workspace_settings
from .pages_fixtures import Server, cycled_workspace, pages_server, serve

# The cycled demo's fixtures, here so that every module shares one session's server.
__all__ = ["cycled_workspace", "pages_server"]

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


def publish_lists(path: Path) -> None:
    """Publish a call list, release and ingest the next month, publish again: the second
    list then has changes since the first (new clients, risk up, risk down)."""
    from riskwatch.calllist.build import build_call_list, publish_call_list  # noqa: PLC0415
    from riskwatch.demo.workspace import release_month  # noqa: PLC0415
    from riskwatch.ingestion.ingest import ingest  # noqa: PLC0415
    from riskwatch.storage.store import Store  # noqa: PLC0415

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
    """`riskwatch serve` over the demo workspace on a free port of 127.0.0.1."""
    with serve(demo_workspace) as running:
        yield running


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright; missing: skipped here, a failure in CI. Closed when
    the web app's tests end: Playwright's sync API keeps an asyncio loop running in the main
    thread, and a parallel worker runs other modules after these (asyncio.run would refuse)."""
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
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens a fresh browser page (javascript=False: as a reader without JavaScript); after
    the test, every URL any of them requested must be on 127.0.0.1."""
    contexts: list[Any] = []
    requested: list[str] = []

    def open_one(*, javascript: bool = True) -> Any:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
            java_script_enabled=javascript,
        )
        contexts.append(context)
        opened = context.new_page()
        opened.on("request", lambda request: requested.append(request.url))
        return opened

    yield open_one
    for context in contexts:
        context.close()
    outside = [url for url in requested if urlsplit(url).hostname not in LOCAL_HOSTS]
    assert requested, "the pages made no request"
    assert not outside, f"requests left 127.0.0.1: {outside}"


@pytest.fixture
def page(open_page: Callable[..., Any]) -> Any:
    """A fresh browser page with JavaScript."""
    return open_page()


@pytest.fixture
def screenshot(page: Any, tmp_path: Path) -> Any:
    """Save the page (or the one given) as NAME.png in $RISKWATCH_SCREENSHOTS, else tmp_path."""
    folder = Path(os.environ.get("RISKWATCH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def take(name: str, of: Any = None) -> Path:
        path = folder / f"{name}.png"
        (of or page).screenshot(path=str(path), full_page=True)
        return path

    return take


def published_rows(workspace: Path) -> list[dict[str, Any]]:
    """The newest published list's rows, from the workspace's database, in rank order."""
    with Store(workspace_settings(workspace).database_url) as store:
        newest = store.rows(call_lists, newest_first=True, limit=1)[0]["id"]
        query = (
            sa.select(call_list_items)
            .where(call_list_items.c.list_id == newest)
            .order_by(call_list_items.c.rank)
        )
        with store.begin() as conn:
            rows = [dict(row) for row in conn.execute(query).mappings()]
    return [row | {"reasons": json.loads(row["reasons"])} for row in rows]


def shown_rows(page: Any) -> list[list[str]]:
    """The call-list table's body as the reader sees it: the cell texts of each row."""
    rows: list[list[str]] = page.locator("table.list tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    return rows


def settled(page: Any) -> None:
    """Wait until htmx has swapped and settled its answer: the address is pushed before the new
    table replaces the old one, and a change made on the old form in between is lost."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
