"""The shadow challenger, every cycle: for a few training windows, models fit on the window's
older batches and half of the newest clients score the other half (two folds, so every newest row
gets an out-of-fold risk), against production on the newest rows nobody contacted, paired on the
same rows by precision at the call-list size. A drift that leaves ROC AUC standing but changes
who is on the list is answered in the cycle it shows, and a detected drift no challenger answers
is not deployed for nothing."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.deployment import GateDecision, chance_level, deploy
from riskwatch.model.choice import CANDIDATES, Choice
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import Loaded, read_deployment, read_metadata
from riskwatch.monitoring.paired import paired_gain, precision_at, scaled_k
from riskwatch.monitoring.promotion import (
    deployed_metadata,
    deployed_rows,
    promotion_rule,
    rule_words,
)
from riskwatch.schema import BATCH_COLUMN, ID_COLUMN, TARGET
from riskwatch.storage.clock import utcnow
from riskwatch.storage.store import Store, promotions
from riskwatch.training import TrainingError, choice_key, chosen_kind, fingerprint, fit_chosen

log = logging.getLogger(__name__)
Array = np.ndarray[Any, Any]
# Training windows tried, in batches up to the newest (None: all): the newest world alone, a
# quarter's worth, everything. Ties go to the first.
WINDOWS: tuple[int | None, ...] = (1, 3, None)
# Older rows a shadow fit uses at most (a seeded sample beyond): it runs every cycle, and on a
# large history the window's ranking shows on a sample; the deployed refit uses every row.
MAX_OLDER_ROWS = 20_000


@dataclass(frozen=True)
class Candidate:
    """One window's model: what it was fit on and its precision at k on the judged rows."""

    window: int | None  # batches up to the newest; None: all of them
    kind: str
    rows: int
    precision: float
    refit_rows: int = 0  # the rows its refit through the newest batch would train on

    @property
    def name(self) -> str:
        """The window in words."""
        if self.window is None:
            return "all batches"
        return "the newest batch" if self.window == 1 else f"the last {self.window} batches"


@dataclass(frozen=True)
class Shadow:
    """The best candidate against production on the same rows, and the verdict in words."""

    k: int
    rows: int
    leavers: int
    production: float
    candidates: list[Candidate]
    best: Candidate
    gain: float
    low: float | None  # one-sided lower bound of the paired gain; None without bootstrap
    better: bool  # promote: better beyond noise, or a refresh on more data not worse
    evidence: str
    rule: str = "gain"  # what promotes it: "gain" (better beyond noise) or "refresh"
    confidence: float = 0.95
    production_rows: int | None = None  # production's training rows, when recorded
    newest_batches: int = 1  # the batches judged, all inside every window's refit
    # The kind every fit trained, chosen once (None: each fit chose on its own rows).
    choice: Choice | None = None

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-ready values."""
        return {
            "metric": "precision_at_k",
            "k": self.k,
            "rows": self.rows,
            "leavers": self.leavers,
            "production": self.production,
            "candidates": [dataclasses.asdict(c) | {"name": c.name} for c in self.candidates],
            "best": self.best.name,
            "window": self.best.window,
            "gain": self.gain,
            "gain_low": self.low,
            "confidence": self.confidence,
            "production_rows": self.production_rows,
            "refit_rows": self.best.refit_rows,
            "newest_batches": self.newest_batches,
            "kind_choice": self.choice.reason if self.choice else None,
            "better": self.better,
            "rule": self.rule,
            "evidence": self.evidence,
        }


def refit_batches(window: int | None, newest_batches: int) -> int | None:
    """The batches a window's deployed refit trains on: its older ones and every newest batch
    (None: all), as its shadow fit and its refit_rows count them."""
    return None if window is None else window - 1 + newest_batches


def shadow_challenger(
    settings: Settings,
    master: pd.DataFrame,
    newest_ids: list[int],
    production: Any,
    left_out: Array,
) -> Shadow | None:
    """The best window's out-of-fold model against production on the newest batches' rows
    nobody contacted; None when there is too little to fit or to judge on."""
    is_new = master[BATCH_COLUMN].isin(newest_ids).to_numpy()
    newest = master[is_new].reset_index(drop=True)
    labels = newest[TARGET].to_numpy().astype("int64")[~left_out]
    if len(labels) < settings.drift_min_rows or len(np.unique(labels)) < 2:
        return None
    k = scaled_k(settings.call_list_capacity, len(labels), len(newest))
    recorded = deployed_metadata(settings)
    choice = shadow_choice(settings, master[~is_new], recorded)
    fitted = _candidates(
        settings, (master[~is_new], newest), labels, k=k, judged=~left_out, choice=choice
    )
    if not fitted:
        return None
    best, best_risks = max(fitted, key=lambda found: found[0].precision)
    base = predict_risk(production, newest)[~left_out]
    resamples, seed = settings.bootstrap_resamples, settings.model_seed
    confidence = settings.shadow_confidence
    gain, low = paired_gain(
        labels, base, best_risks, k, resamples=resamples, seed=seed, confidence=confidence
    )
    produced = precision_at(labels, base, k)
    production_rows = deployed_rows(recorded)
    rule = promotion_rule(settings, best.refit_rows, low, production_rows)
    leavers = int(labels.sum())
    comparison = _words(
        best, produced, gain, low, k=k, rows=len(labels), leavers=leavers, confidence=confidence
    )
    evidence = f"{comparison}: {rule_words(settings, rule, best.refit_rows, production_rows)}"
    log.debug("shadow challenger: %s", evidence)
    candidates = [c for c, _ in fitted]
    return Shadow(
        k,
        len(labels),
        leavers,
        produced,
        candidates,
        best,
        gain,
        low,
        rule is not None,
        evidence,
        rule or "keep",
        confidence,
        production_rows,
        int(newest[BATCH_COLUMN].nunique()),
        choice,
    )


def shadow_choice(
    settings: Settings, older: pd.DataFrame, recorded: dict[str, Any]
) -> Choice | None:
    """The kind every shadow fit of a cycle trains, chosen once as model_kind says on the rows
    before the newest batches (at most MAX_OLDER_ROWS, the sample of the window of all): no
    judged row's label takes part; None when those rows cannot be chosen on. Production's
    recorded choice stands when it was made on the same rows with the same seed."""
    if settings.model_kind != "auto":
        return Choice(settings.model_kind, settings.model_kind, "set by model_kind")
    if len(older) > MAX_OLDER_ROWS:
        older = older.sample(MAX_OLDER_ROWS, random_state=settings.model_seed)
    key = choice_key(fingerprint(older), settings.model_seed)
    chosen = _recorded_choice(recorded.get("choice") or {}, key)
    if chosen is None:
        quiet = dataclasses.replace(settings, bootstrap_resamples=0)  # no interval needed
        try:
            chosen = chosen_kind(quiet, older)
        except TrainingError as error:
            log.debug("the shadow's fits choose their kind each: %s", error)
            return None
    # The cross-validation, if any, was on these rows: a refit of other rows asks its own.
    where = f"once for the shadow challenger, on the {len(older):,} rows before the newest batches"
    return dataclasses.replace(chosen, reason=f"{where}: {chosen.reason}", cv={}, chosen_on=key)


def _recorded_choice(recorded: dict[str, Any], key: str) -> Choice | None:
    """`auto`'s choice as a version recorded it, if made on the rows and seed of this key: the
    choice is deterministic, so making it again would give the same kind and scores."""
    kind = recorded.get("kind")
    if recorded.get("chosen_on") != key or recorded.get("setting") != "auto":
        return None
    if kind not in CANDIDATES:
        return None
    reason = f"{recorded.get('reason')} (production's choice on the same rows, as recorded)"
    return Choice("auto", kind, reason)


def _candidates(
    settings: Settings,
    data: tuple[pd.DataFrame, pd.DataFrame],
    labels: Array,
    *,
    k: int,
    judged: Array,
    choice: Choice | None,
) -> list[tuple[Candidate, Array]]:
    """Each distinct window's out-of-fold risks on the judged newest rows, and its precision."""
    older, newest = data
    quiet = dataclasses.replace(settings, bootstrap_resamples=0)  # the choice needs no interval
    order = np.sort(older[BATCH_COLUMN].unique())
    half = _half_of_clients(newest, settings.model_seed)
    found: list[tuple[Candidate, Array]] = []
    seen: set[int] = set()
    for window in WINDOWS:
        span = len(order) if window is None else min(window - 1, len(order))
        if span in seen:  # a window as long as the history is "all": fit once
            continue
        seen.add(span)
        before = older[older[BATCH_COLUMN].isin(order[len(order) - span :])]
        if len(before) > MAX_OLDER_ROWS:
            before = before.sample(MAX_OLDER_ROWS, random_state=settings.model_seed)
        try:
            risks, kinds = _out_of_fold(quiet, (before, newest), half, choice)
        except TrainingError as error:
            log.debug("window %s not fit: %s", window, error)
            continue
        named = None if span == len(order) else window
        rows = len(before) + len(newest) // 2
        judged_risks = risks[judged]
        refit = int(older[BATCH_COLUMN].isin(order[len(order) - span :]).sum()) + len(newest)
        candidate = Candidate(named, kinds, rows, precision_at(labels, judged_risks, k), refit)
        found.append((candidate, judged_risks))
    return found


def _half_of_clients(newest: pd.DataFrame, seed: int) -> Array:
    """A seeded half of the newest rows' clients, as a row mask."""
    clients = np.sort(newest[ID_COLUMN].astype(str).unique())
    chosen = np.random.default_rng(seed).choice(clients, size=len(clients) // 2, replace=False)
    return newest[ID_COLUMN].astype(str).isin(chosen).to_numpy()


def _out_of_fold(
    settings: Settings, data: tuple[pd.DataFrame, pd.DataFrame], half: Array, choice: Choice | None
) -> tuple[Array, str]:
    """Risks of each newest half from a model fit on the older rows and the other half."""
    before, newest = data
    risks = np.empty(len(newest))
    kinds = []
    for scored in (half, ~half):
        rows = pd.concat([before, newest[~scored]], ignore_index=True)
        model, chosen = fit_chosen(settings, rows, None, choice)
        risks[scored] = predict_risk(model, newest[scored])
        kinds.append(chosen.kind)
    return risks, "/".join(dict.fromkeys(kinds))


def shadow_gate(
    settings: Settings, store: Store, challenger: str, shadow: Shadow, *, held: Loaded
) -> GateDecision:
    """Deploy the refit challenger when its shadow beat production; record the verdict."""
    current = read_deployment(settings.prod_deployment_path)
    chance = chance_level(read_metadata(settings.output_model_path, challenger))
    promoted = shadow.better and chance is None
    reason = shadow.evidence + (
        "; refit through the newest batches and deployed" if promoted else ""
    )
    if shadow.better and chance is not None:
        reason = f"{shadow.evidence}; but the refit ranks no better than chance ({chance})"
    if promoted:
        deploy(settings, store, challenger, reason=f"promoted: {reason}", held=held)
    decision = GateDecision(
        challenger,
        current.version if current else None,
        f"precision_at_{shadow.k}",
        0.0,
        shadow.best.precision,
        shadow.production,
        promoted,
        reason,
    )
    store.add(promotions, decided_at=utcnow(), **decision.to_dict())
    return decision


def _words(
    best: Candidate,
    production: float,
    gain: float,
    low: float | None,
    *,
    k: int,
    rows: int,
    leavers: int,
    confidence: float,
) -> str:
    """The paired comparison, in words."""
    bound = "no bootstrap (bootstrap_resamples = 0)" if low is None else f"{low:+.3f}"
    return (
        f"shadow challenger ({best.kind} on {best.name}, {best.rows:,} rows, out of fold on "
        "two halves of the newest clients) "
        f"against production on the same {rows:,} uncontacted newest rows ({leavers:,} leavers): "
        f"precision at {k} {best.precision:.3f} vs {production:.3f} ({gain:+.3f}; paired "
        f"bootstrap one-sided {confidence * 100:g} % lower bound {bound})"
    )
