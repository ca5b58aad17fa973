"""What changed since the last report: when a model that came back served before."""

from __future__ import annotations

from typing import Any

from riskwatch.reporting.changes import earlier_period


def deployment(version: str, at: str) -> dict[str, Any]:
    return {"version": version, "deployed_at": at}


def test_a_version_back_in_production_served_from_its_last_deployment_to_the_next() -> None:
    rows = [
        deployment("v1", "2026-01-01"),
        deployment("v2", "2026-02-01"),
        deployment("v1", "2026-03-01"),
        deployment("v3", "2026-04-01"),
        deployment("v1", "2026-05-01"),
    ]
    assert earlier_period(rows, "v1", "2026-05-01") == ("2026-03-01", "2026-04-01")
    assert earlier_period(rows, "v1", "2026-03-01") == ("2026-01-01", "2026-02-01")


def test_a_version_deployed_for_the_first_time_has_no_earlier_period() -> None:
    rows = [deployment("v1", "2026-01-01"), deployment("v2", "2026-02-01")]
    assert earlier_period(rows, "v2", "2026-02-01") is None
    assert earlier_period([], "v1", "2026-01-01") is None
