"""The paired comparison of two rankings on the same rows: precision among the k riskiest, the
gain of one over the other, and its bootstrap bound."""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]
# Resamples drawn at once: a chunk holds a few arrays of CHUNK x rows, about 8 MB each on
# 10,000 rows (all 1,000 at once held half a gigabyte).
CHUNK = 100
# Places of a ranking counted in each resample beyond 2k: a resample's k riskiest lie
# that deep unless it drew fewer than k of those rows (a Poisson count of mean 2k + 100; then
# every place is counted).
DEPTH_MARGIN = 100


def scaled_k(capacity: int, judged: int, listed: int) -> int:
    """The call-list size scaled to the judged rows: the list's share of all newest clients."""
    return max(1, min(judged, round(capacity * judged / max(listed, 1))))


def precision_at(labels: Array, risks: Array, k: int) -> float:
    """The share of leavers among the k riskiest."""
    top = np.argsort(-risks, kind="stable")[:k]
    return float(labels[top].mean())


def paired_gain(
    labels: Array,
    base: Array,
    other: Array,
    k: int,
    *,
    resamples: int,
    seed: int,
    confidence: float = 0.95,
) -> tuple[float, float | None]:
    """other's precision at k minus base's on the same rows, and its one-sided lower bound at
    the confidence from a paired bootstrap (both models ranked within each same resample)."""
    gain = precision_at(labels, other, k) - precision_at(labels, base, k)
    if resamples < 1:
        return gain, None
    rng = np.random.default_rng(seed)
    ranked = [_ranked(labels, risks) for risks in (other, base)]
    depth = min(len(labels), 2 * k + DEPTH_MARGIN)
    gains = np.empty(resamples)
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        # The same draws, in the same order, as all resamples drawn at once.
        drawn = rng.integers(0, len(labels), size=(size, len(labels)))
        shares = [_top_shares(drawn, *found, k=k, depth=depth) for found in ranked]
        gains[start : start + size] = shares[0] - shares[1]
    return gain, float(np.quantile(gains, 1.0 - confidence))


def _ranked(labels: Array, risks: Array) -> tuple[Array, Array]:
    """Each row's place in the ranking (riskiest first, ties in row order) and the labels in
    that order."""
    order = np.argsort(-risks, kind="stable")
    place = np.empty(len(order), dtype="int64")
    place[order] = np.arange(len(order))
    return place, labels[order].astype("int64")


def _top_shares(drawn: Array, place: Array, ordered: Array, *, k: int, depth: int) -> Array:
    """The share of leavers among the k riskiest of each resample (a row drawn twice counts
    twice), from the draws among the top depth places; a resample with fewer than k draws
    there is counted over every place."""
    shares, short = _shares_within(drawn, place, ordered, k, depth)
    if short.any():
        shares[short] = _shares_within(drawn[short], place, ordered, k, len(place))[0]
    return shares


def _shares_within(
    drawn: Array, place: Array, ordered: Array, k: int, depth: int
) -> tuple[Array, Array]:
    """Each resample's draws counted by place down to depth, taken from the top until k: the
    shares of leavers, and which resamples drew fewer than k rows that deep."""
    bins = depth + 1  # the last bin gathers every draw placed deeper
    offsets = np.arange(len(drawn))[:, None] * bins
    found = (offsets + np.minimum(place, depth)[drawn]).ravel()
    counts = np.bincount(found, minlength=len(drawn) * bins).reshape(len(drawn), bins)[:, :depth]
    before = np.cumsum(counts, axis=1) - counts
    taken = np.clip(k - before, 0, counts)
    return (taken @ ordered[:depth]) / k, counts.sum(axis=1) < k
