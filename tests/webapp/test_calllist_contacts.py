"""Recording a call on the call-list page: in place with htmx, back to the list without it,
kept in the ledger, refused without sign-in when a token is set; the contact-status filter."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest

from riskwatch.calllist.build import build_call_list, publish_call_list
from riskwatch.storage.store import Store

from ..conftest import RISKWATCH, clean_env, workspace_settings
from .conftest import settled, shown_rows
from .pages_fixtures import TOKEN, Server, serve

CONTACT = 6  # the "Last contact" column's index in a row's cells


@pytest.fixture(scope="module")
def token_server(
    demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A copy of the web app's demo (two lists published), served with an API token."""
    copy = Path(shutil.copytree(demo_workspace, tmp_path_factory.mktemp("contacts") / "ws"))
    with serve(copy, RISKWATCH_API_TOKEN=TOKEN) as server:
        yield server


def sign_in(page: Any, server: Server, then: str) -> None:
    """Sign in with the API token on the sign-in page, and come back to a page."""
    page.goto(f"{server.url}/app/signin?{urlencode({'next': f'/app/{then}'})}")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    assert page.locator(".account").inner_text().startswith("Signed in")


def row_of(page: Any, rank: int) -> Any:
    return page.locator(f"table.list tbody tr#row-{rank}")


def open_form(row: Any) -> None:
    """Unfold a row's form (it is folded so that the table fits the screen)."""
    row.get_by_text("Record a call", exact=True).click()


def wider_than_the_screen(page: Any) -> list[str]:
    """What scrolls sideways: the document, or any element inside the main part."""
    found: list[str] = page.evaluate(
        """() => {
          const wide = [];
          const root = document.documentElement;
          if (root.scrollWidth > window.innerWidth) wide.push(`document ${root.scrollWidth}px`);
          for (const el of document.querySelectorAll("main *")) {
            const style = getComputedStyle(el);
            if (["auto", "scroll"].includes(style.overflowX) && el.scrollWidth > el.clientWidth)
              wide.push(`${el.tagName}.${el.className} ${el.scrollWidth}px`);
          }
          return wide;
        }"""
    )
    return found


def api_contacts(server: Server) -> list[dict[str, Any]]:
    answer = httpx2.get(
        f"{server.url}/contacts", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["contacts"]
    return found


def test_a_call_recorded_on_a_row_shows_in_place_and_is_kept(
    token_server: Server, page: Any, screenshot: Any
) -> None:
    sign_in(page, token_server, "calllist")
    row = row_of(page, 1)
    client = row.locator("th").inner_text()
    assert row.locator("td.last-contact").inner_text() == "never"
    address = page.url
    open_form(row)
    row.get_by_label(f"Outcome of the call to {client}").select_option("saved")
    row.get_by_label(f"Note on the call to {client}").fill("agreed to stay a year")
    row.get_by_role("button", name="Record").click()
    recorded = page.locator("table.list tbody tr#row-1.recorded")
    recorded.wait_for()
    assert recorded.locator("td.last-contact").inner_text().startswith("saved 20")
    assert page.url == address  # the row changed in place: no page load, the same address
    screenshot("calllist-contact-recorded")

    page.reload()
    assert row_of(page, 1).locator("td.last-contact").inner_text().startswith("saved 20")
    [kept] = [c for c in api_contacts(token_server) if c["corporation"] == client]
    assert (kept["outcome"], kept["note"], kept["manager"]) == (
        "saved",
        "agreed to stay a year",
        "web",
    )
    config = str(token_server.workspace / "riskwatch.toml")
    listed = subprocess.run(
        [str(RISKWATCH), "--config", config, "contacts", "list", "--json"],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert client in {c["corporation"] for c in json.loads(listed.stdout)["contacts"]}


def test_the_call_list_fits_a_1280_px_screen_and_a_call_still_records_in_place(
    token_server: Server, page: Any
) -> None:
    sign_in(page, token_server, "calllist?per_page=200")
    assert page.viewport_size["width"] == 1280
    assert wider_than_the_screen(page) == []
    row = row_of(page, 7)
    client = row.locator("th").inner_text()
    open_form(row)
    assert wider_than_the_screen(page) == []  # the open form does not widen the row either
    address = page.url
    page.evaluate("window.notReloaded = true")
    row.get_by_label(f"Outcome of the call to {client}").select_option("declined")
    row.get_by_label(f"Note on the call to {client}").fill("has a new supplier")
    row.get_by_role("button", name="Record").click()
    page.locator("tr#row-7.recorded").wait_for()
    assert page.evaluate("window.notReloaded") is True  # the row changed in place
    assert page.url == address
    assert row_of(page, 7).locator("td.last-contact").inner_text().startswith("declined 20")
    assert wider_than_the_screen(page) == []
    page.reload()
    assert row_of(page, 7).locator("td.last-contact").inner_text().startswith("declined 20")


def test_without_javascript_a_call_goes_back_to_the_same_list(
    token_server: Server, open_page: Any, screenshot: Any
) -> None:
    page = open_page(javascript=False)
    sign_in(page, token_server, "calllist?band=high&sort=risk&order=desc&per_page=25")
    address = page.url
    row = page.locator("table.list tbody tr").first
    client = row.locator("th").inner_text()
    open_form(row)
    row.get_by_label(f"Outcome of the call to {client}").select_option("no_answer")
    row.get_by_role("button", name="Record").click()
    page.wait_for_load_state()
    assert page.url == address
    shown = page.locator("table.list tbody tr", has_text=client)
    assert shown.locator("td.last-contact").inner_text().startswith("no answer 20")
    screenshot("calllist-contact-no-javascript", page)


def test_a_call_is_refused_without_sign_in_when_a_token_is_set(
    token_server: Server, page: Any, screenshot: Any
) -> None:
    page.goto(f"{token_server.url}/app/calllist")
    row = row_of(page, 5)
    assert row.get_by_role("link", name="Sign in").is_visible()
    assert row.locator("form").count() == 0
    screenshot("calllist-signed-out")
    page.goto(f"{token_server.url}/app/signin")
    csrf = page.locator("main input[name=csrf]").input_value()
    client = row_of_client(token_server, page, 5)
    before = len(api_contacts(token_server))
    refused = page.request.post(
        f"{token_server.url}/app/calllist/contacts",
        form={"csrf": csrf, "corporation": client, "outcome": "saved"},
        headers={"Origin": token_server.url},
    )
    assert refused.status == 401
    assert "Sign in first" in refused.text()
    assert len(api_contacts(token_server)) == before


def row_of_client(server: Server, page: Any, rank: int) -> str:
    page.goto(f"{server.url}/app/calllist")
    client: str = row_of(page, rank).locator("th").inner_text()
    page.goto(f"{server.url}/app/signin")
    return client


def test_the_contact_filter_keeps_rows_by_their_last_call(
    token_server: Server, page: Any, screenshot: Any
) -> None:
    sign_in(page, token_server, "calllist")
    for rank, outcome in ((2, "lost"), (3, "reached")):
        row = row_of(page, rank)
        client = row.locator("th").inner_text()
        open_form(row)
        row.get_by_label(f"Outcome of the call to {client}").select_option(outcome)
        row.get_by_role("button", name="Record").click()
        page.locator(f"tr#row-{rank}.recorded").wait_for()
    page.get_by_label("Contact").select_option("any")
    page.wait_for_url("**contact=any**")
    settled(page)
    page.wait_for_load_state("networkidle")  # the table swapped in, not only the address
    contacted = shown_rows(page)
    assert {r[0] for r in contacted} >= {"2", "3"}
    assert all(r[CONTACT] != "never" for r in contacted)
    screenshot("calllist-filter-contacted")
    page.get_by_label("Contact").select_option("lost")
    page.wait_for_url("**contact=lost**")
    settled(page)
    page.wait_for_load_state("networkidle")  # the table swapped in, not only the address
    assert [r[0] for r in shown_rows(page)] == ["2"]
    # The table's answer is awaited, not only the address: htmx pushes it as the swap lands.
    with page.expect_response(lambda answer: "contact=none" in answer.url):
        page.get_by_label("Contact").select_option("none")
    page.wait_for_url("**contact=none**", wait_until="commit")
    settled(page)
    page.wait_for_load_state("networkidle")  # the table swapped in, not only the address
    never = shown_rows(page)
    assert never and all(r[CONTACT] == "never" for r in never)
    assert not {"2", "3"} & {r[0] for r in never}


def test_a_list_ranked_by_value_shows_value_and_expected_loss(
    token_server: Server, page: Any, screenshot: Any
) -> None:
    settings = replace(workspace_settings(token_server.workspace), call_list_rank_by="value")
    with Store(settings.database_url) as store:
        published = publish_call_list(settings, store, build_call_list(settings, store))
    sign_in(page, token_server, "calllist")
    headers = page.locator("table.list thead th").all_inner_texts()
    assert [h.strip(" ▲▼") for h in headers[2:5]] == ["Risk", "Value", "Expected loss"]
    first = shown_rows(page)[0]
    top = published.frame.iloc[0]
    assert first[1] == top["corporation"]
    assert first[3:5] == [f"{top['value']:,.0f}", f"{top['expected_loss']:,.0f}"]
    screenshot("calllist-by-value")
    assert wider_than_the_screen(page) == []  # two more columns, and still no sideways scroll
    # A call recorded on such a row comes back with its value columns.
    row = row_of(page, 1)
    open_form(row)
    row.get_by_label(f"Outcome of the call to {first[1]}").select_option("reached")
    row.get_by_role("button", name="Record").click()
    page.locator("tr#row-1.recorded").wait_for()
    assert shown_rows(page)[0][3:5] == first[3:5]
    download = page.request.get(f"{token_server.url}/app/calllist.csv")
    assert download.text().splitlines()[0].endswith(",value,expected_loss")
