"""A workspace whose master dataset holds a few clients, and its metadata database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from riskwatch.config import Settings
from riskwatch.storage.store import Store, call_list_items, call_lists

CLIENTS = [f"c{n}" for n in range(1, 13)]
MASTER = "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n"


def write_master(settings: Settings, clients: list[str] = CLIENTS) -> None:
    """A master dataset (the classic CSV) holding these clients."""
    folder = settings.output_folder_path
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{client},1,12,5,0\n" for client in clients)
    (folder / "finaldata.csv").write_text(MASTER + rows)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Settings of a workspace with twelve clients c1..c12 in its master dataset."""
    found = make_settings()
    write_master(found)
    return found


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with Store(settings.database_url) as opened:
        yield opened


def publish(store: Store, published_at: str, version: str, ranked: list[str]) -> int:
    """A published call list listing these clients in this order; its id."""
    list_id = int(
        store.add(
            call_lists,
            published_at=published_at,
            version=version,
            cycle_id=None,
            clients=len(CLIENTS),
            departed=0,
            size=len(ranked),
            path="calllist.csv",
        )
    )
    for rank, client in enumerate(ranked, start=1):
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
        )
    return list_id


def write_csv(folder: Path, text: str, name: str = "calls.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
