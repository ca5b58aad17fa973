"""The call-list page in a real browser against a real `riskwatch serve`."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote_plus

from .conftest import published_rows, settled, shown_rows
from .pages_fixtures import Server


def percent(risk: float) -> str:
    return f"{risk:.1%}"


def header(page: Any, name: str) -> Any:
    """The sorting link in the call-list table's column header of that name."""
    return page.locator("table.list thead").get_by_role("link", name=name)


def test_the_call_list_page_shows_the_published_list_page_by_page(
    server: Server, page: Any, screenshot: Any
) -> None:
    listed = published_rows(server.workspace)
    page.goto(f"{server.url}/")
    assert page.url == f"{server.url}/app/"
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Call list").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Call list"
    rows = shown_rows(page)
    first = listed[0]
    assert len(rows) == 50
    assert rows[0][:4] == ["1", first["corporation"], percent(first["probability"]), "high"]
    assert rows[0][4].splitlines() == first["reasons"]
    assert rows[0][5] == first["change"]
    assert page.get_by_role("status").inner_text().startswith(f"Rows 1 to 50 of {len(listed)}")
    screenshot("calllist")

    page.evaluate("window.notReloaded = true")  # gone if the page were loaded anew
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**/app/calllist?page=2")
    settled(page)
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the table in place
    assert [row[0] for row in shown_rows(page)] == [str(n) for n in range(51, 101)]
    assert page.get_by_role("heading", level=1).count() == 1  # the part, not a page in a page
    page.go_back()
    page.wait_for_url("**/app/calllist")
    settled(page)
    assert shown_rows(page)[0][0] == "1"


def test_sorting_by_a_column_header_orders_the_rows_and_a_second_click_reverses_them(
    server: Server, page: Any
) -> None:
    listed = published_rows(server.workspace)
    page.goto(f"{server.url}/app/calllist?per_page=100")
    header(page, "Client").click()
    page.wait_for_url("**/app/calllist?sort=client&per_page=100")
    settled(page)
    by_name = sorted(row["corporation"] for row in listed)
    assert [row[1] for row in shown_rows(page)] == by_name
    assert page.locator("th[aria-sort]").get_attribute("aria-sort") == "ascending"
    header(page, "Client").click()
    page.wait_for_url("**order=desc**")
    settled(page)
    assert [row[1] for row in shown_rows(page)] == by_name[::-1]
    header(page, "Risk").click()
    page.wait_for_url("**sort=risk**")
    settled(page)
    risks = [row["probability"] for row in listed]
    assert [row[2] for row in shown_rows(page)] == [percent(r) for r in sorted(risks)[::-1]]


def test_filters_keep_only_the_rows_that_match(server: Server, page: Any) -> None:
    listed = published_rows(server.workspace)
    page.goto(f"{server.url}/app/calllist")
    page.get_by_label("Band").select_option("medium")
    page.wait_for_url("**band=medium**")
    settled(page)
    medium = [row["corporation"] for row in listed if row["risk_band"] == "medium"]
    assert [row[1] for row in shown_rows(page)] == medium[:50]
    assert f"of {len(medium)} matching the filters" in page.get_by_role("status").inner_text()

    page.get_by_label("Band").select_option("")
    page.wait_for_url("**/app/calllist")
    settled(page)
    options = page.get_by_label("Reason").locator("option").all_inner_texts()
    assert not any("(" in option for option in options)

    def having(reason: str) -> list[str]:
        return [
            row["corporation"]
            for row in listed
            if any(r.startswith(f"{reason} (") for r in row["reasons"])
        ]

    # A reason some listed clients give and others do not (which ones depends on the model).
    reason = next(o for o in options if 0 < len(having(o)) < len(listed))
    page.get_by_label("Reason").select_option(reason)
    page.wait_for_url(f"**reason={quote_plus(reason)}**")
    settled(page)
    assert [row[1] for row in shown_rows(page)] == having(reason)[:50]

    page.get_by_label("Reason").select_option("")
    page.wait_for_url("**/app/calllist")
    settled(page)  # each change reloads the table and its form: the next one waits for it
    page.get_by_label("Change").select_option("new")
    page.wait_for_url("**/app/calllist?change=new")
    settled(page)
    new = [row["corporation"] for row in listed if row["change"] == "new"]
    assert [row[1] for row in shown_rows(page)] == new[:50]
    assert all(row[5] == "new" for row in shown_rows(page))


def test_the_csv_download_holds_every_row_the_filters_select_in_the_shown_order(
    server: Server, page: Any
) -> None:
    listed = published_rows(server.workspace)
    page.goto(f"{server.url}/app/calllist?change=new&sort=client&order=desc&per_page=25")
    shown = shown_rows(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    text = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = sorted(
        (row for row in listed if row["change"] == "new"),
        key=lambda row: row["corporation"],
        reverse=True,
    )
    assert len(shown) == 25 < len(expected)  # the download holds every page
    assert [row["corporation"] for row in rows] == [row["corporation"] for row in expected]
    assert [row["corporation"] for row in rows[:25]] == [row[1] for row in shown]
    assert rows[0]["probability"] == str(expected[0]["probability"])
    assert list(rows[0]) == ["rank", "corporation", "probability", "risk_band", "reasons", "change"]


def test_without_javascript_the_filter_form_and_the_links_still_work(
    server: Server, open_page: Any, screenshot: Any
) -> None:
    listed = published_rows(server.workspace)
    page = open_page(javascript=False)
    page.goto(f"{server.url}/app/calllist")
    page.get_by_label("Band").select_option("high")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/app/calllist?band=high**")
    settled(page)
    high = [row["corporation"] for row in listed if row["risk_band"] == "high"]
    assert [row[1] for row in shown_rows(page)] == high[:50]
    header(page, "Rank").click()
    page.wait_for_url("**order=desc**")
    settled(page)
    assert [row[1] for row in shown_rows(page)] == high[::-1][:50]
    screenshot("calllist-no-javascript", of=page)


def test_the_control_group_is_marked_and_can_be_filtered(
    server: Server, page: Any, screenshot: Any
) -> None:
    listed = published_rows(server.workspace)
    held = [row["corporation"] for row in listed if row["holdout"]]
    assert len(held) == round(0.1 * len(listed))
    page.goto(f"{server.url}/app/calllist?per_page=200")
    marked = [row[1] for row in shown_rows(page) if "control group — do not call" in row]
    assert marked == held
    page.get_by_label("Control group").select_option("control")
    page.wait_for_url("**group=control**")
    settled(page)
    assert [row[1] for row in shown_rows(page)] == held
    screenshot("calllist-control-group")
    page.get_by_label("Control group").select_option("to call")
    page.wait_for_url("**group=to+call**")
    settled(page)
    shown = [row[1] for row in shown_rows(page)]
    assert shown and not set(shown) & set(held)
