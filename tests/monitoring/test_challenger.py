"""The shadow challenger: windows fit out of fold on the newest clients, paired with production."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.monitoring.challenger import (
    paired_gain,
    precision_at,
    scaled_k,
    shadow_challenger,
    shadow_choice,
)
from riskwatch.schema import BATCH_COLUMN, ID_COLUMN, TARGET
from riskwatch.training import choice_key, chosen_kind, fingerprint, fit_chosen

SETTINGS = Settings(bootstrap_resamples=200)
ROWS = 1_000


def batch(number: int, *, rule: str, seed: int) -> pd.DataFrame:
    """A month of clients who leave by the old rule (idle last month) or the new (large firms)."""
    rng = np.random.default_rng(seed)
    activity = rng.integers(0, 60, size=ROWS)
    employees = rng.integers(1, 400, size=ROWS)
    score = -activity / 10 if rule == "old" else employees / 60
    risk = 1 / (1 + np.exp(-(score - score.mean() - 2.5 * score.std())))
    return pd.DataFrame(
        {
            ID_COLUMN: [f"c{number}-{i}" for i in range(ROWS)],
            "lastmonth_activity": activity,
            "lastyear_activity": rng.integers(100, 800, size=ROWS),
            "number_of_employees": employees,
            TARGET: (rng.random(ROWS) < risk).astype(int),
            BATCH_COLUMN: number,
        }
    )


def history(newest_rule: str) -> tuple[pd.DataFrame, object]:
    """Three months of the old rule, production fit on them, and a newest month."""
    older = pd.concat([batch(b, rule="old", seed=b) for b in (1, 2, 3)], ignore_index=True)
    production, _ = fit_chosen(dataclasses.replace(SETTINGS, bootstrap_resamples=0), older, None)
    master = pd.concat([older, batch(4, rule=newest_rule, seed=4)], ignore_index=True)
    return master, production


def test_a_changed_rule_is_answered_in_the_month_it_shows_with_its_evidence() -> None:
    master, production = history("new")
    shadow = shadow_challenger(SETTINGS, master, [4], production, np.zeros(ROWS, dtype=bool))
    assert shadow is not None and shadow.better
    assert shadow.k == 100 and shadow.rows == ROWS
    assert shadow.low is not None and 0 < shadow.low < shadow.gain
    assert shadow.best.precision > shadow.production
    assert "better beyond noise" in shadow.evidence and f"{ROWS:,} uncontacted" in shadow.evidence
    assert {c.name for c in shadow.candidates} == {
        "the newest batch",
        "the last 3 batches",
        "all batches",
    }


def test_the_same_world_keeps_production_and_contacted_rows_are_left_out() -> None:
    master, production = history("old")
    left_out = np.zeros(ROWS, dtype=bool)
    left_out[:300] = True
    shadow = shadow_challenger(SETTINGS, master, [4], production, left_out)
    assert shadow is not None and not shadow.better
    assert (shadow.rows, shadow.k) == (700, 70)  # the list's 10 % of the judged rows
    assert "not better beyond noise" in shadow.evidence


def test_too_few_judged_rows_give_no_shadow() -> None:
    master, production = history("old")
    left_out = np.ones(ROWS, dtype=bool)
    assert shadow_challenger(SETTINGS, master, [4], production, left_out) is None


def test_the_paired_gain_of_a_ranking_against_itself_is_zero_and_of_the_truth_beyond_noise() -> (
    None
):
    rng = np.random.default_rng(0)
    labels = (rng.random(1_000) < 0.1).astype(int)
    noise = rng.random(1_000)
    assert paired_gain(labels, noise, noise, 100, resamples=200, seed=0) == (0.0, 0.0)
    gain, low = paired_gain(labels, noise, labels + noise / 10, 100, resamples=200, seed=0)
    assert gain == precision_at(labels, labels + noise / 10, 100) - precision_at(labels, noise, 100)
    assert low is not None and low > 0.5
    assert paired_gain(labels, noise, labels * 1.0, 100, resamples=0, seed=0)[1] is None


def test_k_is_the_call_lists_share_of_the_judged_rows() -> None:
    assert scaled_k(100, 1_000, 1_000) == 100
    assert scaled_k(100, 450, 1_000) == 45
    assert scaled_k(100, 3, 10_000) == 1


def test_the_bound_follows_the_confidence() -> None:
    rng = np.random.default_rng(1)
    labels = (rng.random(1_000) < 0.1).astype(int)
    base, other = rng.random(1_000), labels * 0.2 + rng.random(1_000)
    bounds = [
        paired_gain(labels, base, other, 100, resamples=300, seed=0, confidence=level)[1]
        for level in (0.95, 0.8)
    ]
    assert bounds[0] is not None and bounds[1] is not None and bounds[0] < bounds[1]


def test_each_windows_refit_rows_are_the_rows_its_refit_selects_when_two_batches_are_newest() -> (
    None
):
    # Four months, the two newest judged at once: a window's refit takes its older batches and
    # both newest ones (refit_batches), the rows the shadow counted for the refresh rule.
    from riskwatch.monitoring.challenger import refit_batches  # noqa: PLC0415
    from riskwatch.training import select_training_rows  # noqa: PLC0415

    months = [batch(b, rule="old", seed=b) for b in (1, 2, 3, 4)]
    master = pd.concat(months, ignore_index=True)
    quiet = dataclasses.replace(SETTINGS, bootstrap_resamples=0)
    production, _ = fit_chosen(quiet, master[master[BATCH_COLUMN] <= 2], None)
    shadow = shadow_challenger(SETTINGS, master, [3, 4], production, np.zeros(2 * ROWS, bool))
    assert shadow is not None and shadow.newest_batches == 2
    for candidate in shadow.candidates:
        batches = refit_batches(candidate.window, shadow.newest_batches)
        window = "all" if batches is None else "recent"
        selected, _ = select_training_rows(
            master, window=window, recent_batches=batches or 1, half_life=1.0
        )
        assert candidate.refit_rows == len(selected), candidate


def test_every_window_fits_the_kind_chosen_once_on_the_rows_before_the_newest() -> None:
    master, production = history("new")
    shadow = shadow_challenger(SETTINGS, master, [4], production, np.zeros(ROWS, dtype=bool))
    assert shadow is not None and shadow.choice is not None
    # Chosen on the three old months alone: no judged row's label picks the kind.
    quiet = dataclasses.replace(SETTINGS, bootstrap_resamples=0)
    expected = chosen_kind(quiet, master[master[BATCH_COLUMN] < 4])
    assert {c.kind for c in shadow.candidates} == {shadow.choice.kind} == {expected.kind}
    assert shadow.to_dict()["kind_choice"] == (
        "once for the shadow challenger, on the 3,000 rows before the newest batches: "
        + expected.reason
    )


def test_older_rows_of_one_class_leave_each_fit_to_choose_its_own_kind() -> None:
    master, production = history("new")
    master.loc[master[BATCH_COLUMN] < 4, TARGET] = 0  # nobody left before: nothing to choose on
    shadow = shadow_challenger(SETTINGS, master, [4], production, np.zeros(ROWS, dtype=bool))
    assert shadow is not None and shadow.choice is None
    assert shadow.to_dict()["kind_choice"] is None


def test_productions_choice_made_on_the_same_rows_is_taken_not_made_again() -> None:
    master, _ = history("old")
    older = master[master[BATCH_COLUMN] < 4]
    quiet = dataclasses.replace(SETTINGS, bootstrap_resamples=0)
    made = chosen_kind(quiet, older)
    key = choice_key(fingerprint(older), SETTINGS.model_seed)
    recorded = {"choice": dataclasses.replace(made, chosen_on=key).to_dict()}
    taken = shadow_choice(SETTINGS, older, recorded)
    assert taken is not None and (taken.kind, taken.chosen_on) == (made.kind, key)
    assert taken.reason.endswith(
        f"{made.reason} (production's choice on the same rows, as recorded)"
    )
    # Other rows, or another seed: chosen again.
    fresh = shadow_choice(SETTINGS, older.iloc[1:], recorded)
    assert fresh is not None and "as recorded" not in fresh.reason
    reseeded = dataclasses.replace(SETTINGS, model_seed=1)
    again = shadow_choice(reseeded, older, recorded)
    assert again is not None and "as recorded" not in again.reason
