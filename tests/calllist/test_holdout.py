"""The control group: an exact, seeded, order-free share of a list held out from calls."""

from __future__ import annotations

import pytest

from riskwatch.calllist.holdout import held_out

CLIENTS = [f"client{i:04d}" for i in range(100)]


def test_a_tenth_of_a_hundred_clients_is_exactly_ten() -> None:
    assert sum(held_out(CLIENTS, 0.10, "list-1")) == 10


def test_the_choice_depends_on_the_seed_but_not_on_the_order() -> None:
    first = dict(zip(CLIENTS, held_out(CLIENTS, 0.10, "list-1"), strict=True))
    reversed_clients = list(reversed(CLIENTS))
    again = dict(zip(reversed_clients, held_out(reversed_clients, 0.10, "list-1"), strict=True))
    other = dict(zip(CLIENTS, held_out(CLIENTS, 0.10, "list-2"), strict=True))
    assert first == again
    assert first != other


def test_a_share_of_zero_holds_out_nobody_and_a_bad_share_is_refused() -> None:
    assert not any(held_out(CLIENTS, 0.0, "s"))
    with pytest.raises(ValueError, match=r"below 1, not 1\.0"):
        held_out(CLIENTS, 1.0, "s")


def test_every_client_is_about_equally_likely_to_be_held_out() -> None:
    counts = dict.fromkeys(CLIENTS[:20], 0)
    for seed in range(2000):
        for client, out in zip(CLIENTS[:20], held_out(CLIENTS[:20], 0.25, str(seed)), strict=True):
            counts[client] += out
    assert all(400 <= count <= 600 for count in counts.values())
