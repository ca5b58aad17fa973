"""What calls achieve: the outcomes of each published list's held-out and contacted clients."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from riskwatch.config import Settings
from riskwatch.ingestion.master import append_master
from riskwatch.monitoring.calls import call_effect
from riskwatch.schema import BATCH_COLUMN, FEATURES, ID_COLUMN, TARGET
from riskwatch.storage.store import Store, batches, call_list_items, call_lists, contacts

LISTED_AT = "2026-10-01T06:00:00.000000Z"
CALLED_AT = "2026-10-05T09:00:00.000000Z"
NEXT_BATCH_AT = "2026-11-01T06:00:00.000000Z"
LATE_CALL_AT = "2026-11-02T09:00:00.000000Z"


def add_batch(store: Store, started_at: str) -> int:
    values = {"source": "folder", "name": started_at, "sha256": started_at[:16]}
    return int(store.add(batches, status="ingested", started_at=started_at, **values))


def add_list(store: Store, held: dict[str, bool | None]) -> None:
    list_id = store.add(
        call_lists,
        published_at=LISTED_AT,
        version="v1",
        cycle_id=None,
        clients=9,
        departed=0,
        size=len(held),
        path="calllist.csv",
    )
    for rank, (client, holdout) in enumerate(held.items(), start=1):
        store.add(
            call_list_items,
            list_id=list_id,
            rank=rank,
            corporation=client,
            probability=0.5,
            risk_band="high",
            reasons=[],
            change="new",
            previous_rank=None,
            holdout=holdout,
        )


def add_rows(folder: Path, batch: int, exited: dict[str, int]) -> None:
    rows = pd.DataFrame({ID_COLUMN: list(exited), TARGET: list(exited.values())})
    rows = rows.assign(**dict.fromkeys(FEATURES, 1), **{BATCH_COLUMN: batch})
    append_master(folder, rows)


def add_contact(store: Store, client: str, when: str) -> None:
    store.add(
        contacts,
        corporation=client,
        contacted_at=when,
        outcome="reached",
        recorded_at=when,
        source="test",
    )


def workspace(tmp_path: Path) -> tuple[Settings, Store]:
    settings = dataclasses.replace(
        Settings(),
        output_folder_path=tmp_path / "ingested",
        database_url=f"sqlite:///{tmp_path}/riskwatch.db",
    )
    return settings, Store(settings.database_url)


def test_outcomes_come_from_the_next_batch_and_contacts_from_between(tmp_path: Path) -> None:
    settings, store = workspace(tmp_path)
    with store:
        first = add_batch(store, "2026-09-01T06:00:00.000000Z")
        add_rows(settings.output_folder_path, first, {"h1": 0, "c1": 0, "c2": 0, "u1": 0})
        add_list(store, {"h1": True, "c1": False, "c2": False, "u1": False})
        add_contact(store, "c1", CALLED_AT)
        add_contact(store, "c2", LATE_CALL_AT)  # after its outcome arrived: not this list's
        second = add_batch(store, NEXT_BATCH_AT)
        add_rows(settings.output_folder_path, second, {"h1": 1, "c1": 0, "c2": 1})

        effect = call_effect(settings, store)

    assert (effect.lists, effect.lists_with_outcomes, effect.listed, effect.known) == (1, 1, 4, 3)
    overall = effect.overall()
    assert (overall.held_out.left, overall.held_out.known) == (1, 1)
    assert (overall.contacted.left, overall.contacted.known) == (0, 1)  # c1 only
    assert not overall.enough
    assert overall.why_not == (
        "not enough data yet: 1 held-out client with a known outcome and 1 contacted client "
        "with a known outcome (30 needed)"
    )
    assert [c.band for c in effect.comparisons] == ["high", "medium", "low", "all"]


def test_lists_from_before_the_control_group_and_no_later_batch_give_nothing(
    tmp_path: Path,
) -> None:
    settings, store = workspace(tmp_path)
    with store:
        first = add_batch(store, "2026-09-01T06:00:00.000000Z")
        add_rows(settings.output_folder_path, first, {"a": 0, "b": 0})
        add_list(store, {"a": None, "b": None})  # published before step 7: no control group
        assert call_effect(settings, store).lists == 0
        add_list(store, {"a": True, "b": False})
        effect = call_effect(settings, store)
    assert (effect.lists, effect.lists_with_outcomes, effect.known) == (1, 0, 0)
    assert effect.overall().held_out.value is None


def test_every_outcome_of_a_list_comes_from_its_next_batch_even_when_a_row_was_dropped(
    tmp_path: Path,
) -> None:
    # Ingestion drops a row equal to one it holds: "s1" stayed in October with the same
    # figures, so it has no October row; its November row (it left then) is not this list's.
    settings, store = workspace(tmp_path)
    with store:
        first = add_batch(store, "2026-09-01T06:00:00.000000Z")
        add_rows(settings.output_folder_path, first, {"s1": 0, "h1": 0, "gone": 0})
        add_list(store, {"s1": True, "h1": True, "gone": True})
        second = add_batch(store, NEXT_BATCH_AT)
        add_rows(settings.output_folder_path, second, {"h1": 1})
        third = add_batch(store, "2026-12-01T06:00:00.000000Z")
        add_rows(settings.output_folder_path, third, {"s1": 1})

        effect = call_effect(settings, store)

    held_out = effect.overall().held_out
    assert (effect.known, held_out.left, held_out.known) == (2, 1, 2)  # s1 stayed, h1 left


def test_a_master_dataset_without_rows_gives_no_outcomes_and_no_error(tmp_path: Path) -> None:
    # A new cycle may leave the master empty (or the overview may read it while it is): every
    # listed client's outcome is then unknown, and pandas must not be asked to put text in floats.
    settings, store = workspace(tmp_path)
    with store:
        first = add_batch(store, "2026-09-01T06:00:00.000000Z")
        add_rows(settings.output_folder_path, first, {})
        add_list(store, {"a": True, "b": False})
        add_batch(store, NEXT_BATCH_AT)
        effect = call_effect(settings, store)
    assert (effect.lists, effect.listed, effect.known) == (1, 2, 0)
