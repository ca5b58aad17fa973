"""A client's page in a real browser against a real `riskwatch serve`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .conftest import published_rows
from .pages_fixtures import Server


def test_a_client_page_shows_its_risk_on_each_list_its_risk_now_and_its_activity(
    server: Server, page: Any, screenshot: Any
) -> None:
    # A client on both published lists: on the newest, and not new there.
    client = next(row for row in published_rows(server.workspace) if row["change"] != "new")
    kind = " ".join(client["change"].split()[:2])  # risk up, risk down or unchanged
    page.goto(f"{server.url}/app/calllist?{urlencode({'change': kind, 'per_page': 200})}")
    page.get_by_role("link", name=client["corporation"], exact=True).click()
    page.wait_for_url(f"**/app/clients/{client['corporation']}")
    assert page.get_by_role("heading", level=1).inner_text() == f"Client {client['corporation']}"

    lists = page.get_by_role("table", name="Risk on the published call lists")
    listed = lists.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    assert len(listed) == 2
    assert listed[-1][1:5] == [
        str(client["rank"]),
        f"{client['probability']:.1%}",
        client["risk_band"],
        client["change"],
    ]
    drops = page.get_by_role("table", name="Activity over the drops").locator("tbody tr")
    assert drops.count() == 2  # two months ingested
    assert page.get_by_text("Risk of leaving").is_visible()
    page.locator(".uplot canvas").first.wait_for()
    assert page.locator(".uplot").count() == 2  # both charts drawn
    screenshot("client")


def test_an_unknown_client_answers_not_found(server: Server, page: Any) -> None:
    answer = page.goto(f"{server.url}/app/clients/nobody-at-all")
    assert answer is not None and answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    assert "No client nobody-at-all" in page.locator("main").inner_text()


def test_an_address_no_page_answers_gets_the_not_found_page(
    server: Server, page: Any, screenshot: Any
) -> None:
    answer = page.goto(f"{server.url}/app/no-such-page")
    assert answer is not None and answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    assert "There is no page at /app/no-such-page." in page.locator("main").inner_text()
    screenshot("not-found")
