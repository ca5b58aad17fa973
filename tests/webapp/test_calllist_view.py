"""The call list's view data: the query a URL asks for, filters, sorting, pages and the CSV."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qsl

from riskwatch.webapp.calllist import (
    Item,
    ListQuery,
    csv_text,
    page_of,
    reason_choices,
    reason_kind,
    select,
)

SMALL = "a small company (1 employee, smaller than 96% of clients)"
IDLE = "no activity last month (its monthly average is 0.8)"
ITEMS = [
    Item(1, "c1", 0.91, "high", [IDLE, SMALL], "new"),
    Item(2, "c2", 0.62, "high", [IDLE], "risk up 3.5 pts"),
    Item(
        3,
        "=c3",
        0.40,
        "medium",
        ["last month's activity is 25% below its monthly average"],
        "unchanged",
    ),
    Item(4, "c4", 0.40, "medium", [SMALL], "risk down 1.0 pts"),
    Item(
        5,
        "c5",
        0.10,
        "low",
        ["a small company (2 employees, smaller than 93% of clients)"],
        "risk up 12.0 pts",
    ),
]


def test_a_query_ignores_values_the_page_does_not_offer() -> None:
    query = ListQuery.parse(
        {
            "band": "HIGH",
            "change": "gone",
            "sort": "drop table",
            "order": "up",
            "page": "x",
            "per_page": "7",
        }
    )
    assert query == ListQuery()
    assert ListQuery.parse({"sort": "risk"}).order == "desc"  # a risk's first sort: highest first
    assert ListQuery.parse({"page": "-3"}).page == 1


def test_links_keep_the_query_but_leave_out_defaults() -> None:
    query = ListQuery.parse({"band": "high", "sort": "client", "page": "2"})
    assert query.link() == "?band=high&sort=client&page=2"
    assert query.sort_link("client") == "?band=high&sort=client&order=desc"
    assert query.sort_link("risk") == "?band=high&sort=risk&order=desc"
    assert ListQuery().link() == ""


def test_a_second_click_on_a_descending_column_sorts_it_ascending() -> None:
    by_risk = ListQuery.parse({"sort": "risk"})  # first click: highest risk first
    again = ListQuery.parse(dict(parse_qsl(by_risk.sort_link("risk")[1:])))
    assert (again.sort, again.order) == ("risk", "asc")
    back = ListQuery.parse(dict(parse_qsl(again.sort_link("risk")[1:])))
    assert (back.sort, back.order) == ("risk", "desc")


def test_a_link_parsed_again_gives_the_same_query() -> None:
    queries = [
        ListQuery(
            band="high",
            reason="a small company & co",
            change="risk up",
            contact="no_answer",
            group="to call",
            sort=sort,
            order=order,
            page=3,
            per_page=100,
        )
        for sort in ("rank", "client", "risk", "band", "change", "contact", "expected_loss")
        for order in ("asc", "desc")
    ]
    for query in [*queries, ListQuery(), ListQuery(sort="risk", order="asc")]:
        assert ListQuery.parse(dict(parse_qsl(query.link()[1:]))) == query, query.link()


def test_a_reason_filter_matches_the_kind_of_reason_without_the_clients_figures() -> None:
    assert reason_kind(SMALL) == "a small company"
    assert reason_kind("last month's activity is 25% below its monthly average") == (
        "last month's activity is below its monthly average"
    )
    assert reason_choices(ITEMS)[0] == "a small company"  # on three rows, the most frequent
    chosen = select(ITEMS, ListQuery(reason="a small company"))
    assert [item.client for item in chosen] == ["c1", "c4", "c5"]


def test_filters_combine_and_sorting_keeps_rank_order_among_ties() -> None:
    assert [i.client for i in select(ITEMS, ListQuery(band="medium"))] == ["=c3", "c4"]
    assert [i.client for i in select(ITEMS, ListQuery(change="risk up"))] == ["c2", "c5"]
    by_risk = select(ITEMS, ListQuery(sort="risk", order="asc"))
    assert [i.client for i in by_risk] == ["c5", "=c3", "c4", "c2", "c1"]
    by_change = select(ITEMS, ListQuery(sort="change"))
    assert [i.change for i in by_change][:3] == ["new", "risk up 12.0 pts", "risk up 3.5 pts"]


def test_a_page_past_the_end_shows_the_last_page() -> None:
    shown = page_of(ITEMS, ListQuery(page=9, per_page=25))
    assert (shown.number, shown.pages, shown.first, len(shown.rows)) == (1, 1, 1, 5)


def test_the_csv_neutralises_text_a_spreadsheet_would_run() -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(ITEMS))))
    assert [row["corporation"] for row in rows] == ["c1", "c2", "'=c3", "c4", "c5"]
    assert rows[0]["reasons"] == f"{IDLE}; {SMALL}"
    assert rows[1]["probability"] == "0.62"


def test_the_control_group_filter_keeps_the_held_out_or_the_clients_to_call() -> None:
    items = [Item(1, "a", 0.9, "high", [], "new", holdout=True), *ITEMS[1:]]
    control = ListQuery.parse({"group": "control"})
    assert [item.client for item in select(items, control)] == ["a"]
    assert control.filtered() and control.link() == "?group=control"
    to_call = select(items, ListQuery.parse({"group": "to call"}))
    assert [item.client for item in to_call] == ["c2", "=c3", "c4", "c5"]
    assert ListQuery.parse({"group": "everyone"}).group == ""
    # The download of the filtered view holds the control group only.
    rows = list(csv.DictReader(io.StringIO(csv_text(select(items, control)))))
    assert [row["corporation"] for row in rows] == ["a"]
