"""The control group: a seeded share of a published list's clients that is not to be called."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def _draw(seed: str, client: str) -> int:
    """A client's stable pseudo-random draw for one seed (the same on every machine)."""
    digest = hashlib.sha256(f"{seed}\0{client}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def held_out(clients: Sequence[str], share: float, seed: str) -> list[bool]:
    """Which of a list's clients are held out: round(share x n) of them, chosen by the seed.

    The choice depends only on the seed and the set of clients, not on their order, so it can be
    recomputed and checked against what was recorded. A share of 0 holds out nobody.
    """
    if not 0.0 <= share < 1.0:
        raise ValueError(f"the held-out share must be at least 0 and below 1, not {share}")
    count = round(share * len(clients))
    # Sorting by the draw and taking the first `count` gives an exact share, which a small list
    # needs: a per-client coin flip would often hold out 6 or 14 of 100 instead of 10.
    chosen = set(sorted(clients, key=lambda client: (_draw(seed, client), client))[:count])
    return [client in chosen for client in clients]
