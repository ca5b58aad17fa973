"""The call-list page in a real browser against a real `riskwatch serve`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from riskwatch.storage.store import Store, call_list_items, call_lists

from .conftest import Server


def published_rows(workspace: Path) -> list[dict[str, Any]]:
    """The newest published list's rows, from the workspace's database, in rank order."""
    with Store(f"sqlite:///{workspace / 'riskwatch.db'}") as store:
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
    """The table's body as the reader sees it: one list of cell texts per row."""
    rows: list[list[str]] = page.locator("table.list tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    return rows


def test_the_call_list_page_shows_the_published_list_page_by_page(
    server: Server, page: Any, screenshot: Any
) -> None:
    listed = published_rows(server.workspace)
    page.goto(f"{server.url}/")
    assert page.url == f"{server.url}/app/"
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Call list").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Call list"
    rows = shown_rows(page)
    assert len(rows) == 50
    first = listed[0]
    assert rows[0][:4] == [
        "1",
        first["corporation"],
        f"{first['probability']:.1%}",
        first["risk_band"],
    ]
    assert rows[0][5] == first["change"]
    assert page.get_by_role("status").inner_text().startswith(f"Rows 1 to 50 of {len(listed)}")
    screenshot("calllist")
