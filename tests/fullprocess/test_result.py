"""What a cycle decided: its JSON-ready form and its readable summary."""

from __future__ import annotations

from riskwatch.fullprocess.result import CycleResult, Step


def test_the_summary_has_a_line_per_step_its_reason_and_the_outcome() -> None:
    result = CycleResult("schedule", "2026-01-01T00:00:00", cycle_id=7, outcome="kept")
    result.steps.append(Step("ingest", "2 new batches", seconds=1.234))
    result.steps.append(Step("evaluate", "keep", {"reason": "the score held"}, 0.5))

    assert result.summary().splitlines() == [
        "Cycle 7 (schedule) at 2026-01-01T00:00:00:",
        "  ingest         2 new batches  (1.23 s)",
        "  evaluate       keep  (0.50 s)",
        "                 the score held",
        "Outcome: kept",
    ]


def test_a_failed_cycle_says_why_and_an_unrecorded_one_has_no_number() -> None:
    result = CycleResult("manual", "2026-01-01T00:00:00", outcome="failed", error="disk full")
    lines = result.summary().splitlines()
    assert lines[0] == "Cycle (manual) at 2026-01-01T00:00:00:"
    assert lines[-1] == "Outcome: failed: disk full"


def test_to_dict_holds_every_step_as_plain_values() -> None:
    result = CycleResult("schedule", "t0", "t1", "initial", [Step("train", "v1", {"rows": 10})])
    assert result.to_dict() == {
        "trigger": "schedule",
        "started_at": "t0",
        "finished_at": "t1",
        "outcome": "initial",
        "steps": [{"name": "train", "outcome": "v1", "detail": {"rows": 10}, "seconds": 0.0}],
        "error": None,
        "cycle_id": None,
    }
