"""Rows of clients contacted before their outcome was known do not judge the model."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from riskwatch.monitoring.exclusions import Window, contacted_mask, exclusion

ROWS = pd.DataFrame(
    {
        "corporation": ["a", "b", "c", "a", "b", "c"],
        "batch_id": ["m1", "m1", "m1", "m2", "m2", "m2"],
    }
)
WINDOWS = {
    "m1": Window(None, datetime(2026, 1, 31, tzinfo=UTC)),
    "m2": Window(datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC)),
}


def _mask(contacts: pd.DataFrame) -> list[bool]:
    mask = contacted_mask(
        ROWS, contacts, WINDOWS, client_column="corporation", batch_column="batch_id"
    )
    return mask.tolist()


def test_a_contact_leaves_out_only_the_row_whose_outcome_it_could_change() -> None:
    contacts = pd.DataFrame({"client": ["b"], "contacted_at": ["2026-02-10T09:00:00Z"]})
    assert _mask(contacts) == [False, False, False, False, True, False]


def test_a_contact_on_the_window_edge_belongs_to_the_batch_that_ends_there() -> None:
    contacts = pd.DataFrame({"client": ["a"], "contacted_at": ["2026-01-31T00:00:00+00:00"]})
    assert _mask(contacts) == [True, False, False, False, False, False]


def test_naive_times_are_taken_as_utc_and_nobody_contacted_leaves_out_nothing() -> None:
    windows = {"m2": Window(datetime(2026, 1, 31), datetime(2026, 2, 28))}
    contacts = pd.DataFrame({"client": ["c"], "contacted_at": ["2026-02-01 10:00"]})
    mask = contacted_mask(
        ROWS, contacts, windows, client_column="corporation", batch_column="batch_id"
    )
    assert mask.tolist() == [False, False, False, False, False, True]
    empty = pd.DataFrame({"client": [], "contacted_at": []})
    assert not any(_mask(empty))


def test_the_exclusion_counts_rows_and_clients_and_says_why() -> None:
    contacts = pd.DataFrame(
        {"client": ["a", "a"], "contacted_at": ["2026-01-10T00:00Z", "2026-02-10T00:00Z"]}
    )
    mask = contacted_mask(
        ROWS, contacts, WINDOWS, client_column="corporation", batch_column="batch_id"
    )
    left_out = exclusion(ROWS, mask, client_column="corporation")
    assert (left_out.rows, left_out.clients) == (2, 1)
    assert left_out.sentence().startswith("2 labelled rows (1 client) were left out")
    assert exclusion(ROWS, mask & False, client_column="corporation").sentence() == (
        "No labelled client was contacted before its outcome was known."
    )
