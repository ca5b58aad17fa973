"""The label-free estimate, the multivariate drift check and the expected leavers, in the report's
words, from what cycles recorded (cycles recorded before these checks existed show nothing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskwatch.storage.store import Store, cycles

if TYPE_CHECKING:
    from riskwatch.monitoring.verdict import DriftCheck

# riskwatch.reporting and the monitoring's checks are imported in the functions that use them:
# they bring matplotlib and scikit-learn, which `serve` need not load to start.
# ruff: noqa: PLC0415

BLIND = "from calibrated risks; blind to concept drift"


def recorded_check(evaluation: dict[str, Any] | None) -> DriftCheck | None:
    """An evaluate step's recorded estimate and multivariate check back as a check the report's
    wording reads; None when the step recorded neither."""
    found = evaluation or {}
    estimated, multivariate = found.get("estimated"), found.get("multivariate_drift")
    if not estimated and not multivariate:
        return None
    import numpy as np

    from riskwatch.model.metrics import Metric
    from riskwatch.monitoring.drift import FeatureDrift
    from riskwatch.monitoring.estimate import Estimate
    from riskwatch.monitoring.multivariate import DomainDrift
    from riskwatch.monitoring.verdict import DriftCheck

    realized = (estimated or {}).get("realized") or {}
    metrics = {name: Metric(value) for name, value in realized.items() if value is not None}
    estimate = (
        Estimate(**{k: v for k, v in estimated.items() if k != "realized"}) if estimated else None
    )
    domain = DomainDrift(**multivariate) if multivariate else None
    prediction = found.get("prediction_drift")  # its rows say whether the batch was judged
    risk = FeatureDrift(**prediction) if isinstance(prediction, dict) else None
    empty = np.empty(0)
    return DriftCheck([], risk, None, "", metrics, empty, empty, None, estimate, domain)


def ledger_lines(evaluation: dict[str, Any] | None) -> list[str]:
    """The ledger's lines for an evaluate step: each estimate beside its realized figure, what
    the estimate cannot see (or why it is unavailable), and the multivariate check."""
    missing = str((evaluation or {}).get("estimate_unavailable") or "")
    said = [missing[:1].upper() + missing[1:] + "."] if missing else []
    check = recorded_check(evaluation)
    if check is None:
        return said
    from riskwatch.reporting.estimates import estimate_rows, multivariate_text

    found = [_row_sentence(row) for row in estimate_rows(check) if row["estimated"] != "n/a"]
    if found and check.estimated is not None:
        found.append(
            f"Estimated without labels on {rows(check.estimated.n)}, {BLIND}: a realized "
            "figure below its band is the sign of it."
        )
    text = multivariate_text(check)
    return said + found + ([text] if text else [])


def rows(n: int) -> str:
    """A count of rows in words: 1 row, 1,911 rows."""
    return f"{n:,} row{'' if n == 1 else 's'}"


def _row_sentence(row: dict[str, str]) -> str:
    """One report row as a sentence: estimate, band, realized, inside or outside."""
    said = f"Expected {row['metric']}: {row['estimated']} (95 % band {row['band']})"
    if row["realized"] == "n/a":
        return said + "; realized not known yet."
    return f"{said}; realized {row['realized']}, {_where(row['inside'])}."


def overview_lines(evaluation: dict[str, Any] | None, cycle: int) -> list[str]:
    """The overview's line on a cycle's estimate, and its multivariate verdict (when judged)."""
    check = recorded_check(evaluation)
    if check is None:
        return []
    from riskwatch.reporting.estimates import estimate_rows, multivariate_text

    found = []
    auc = next((row for row in estimate_rows(check) if row["metric"] == "ROC AUC"), None)
    if auc is not None and auc["estimated"] != "n/a":
        realized = "" if auc["realized"] == "n/a" else _realized(auc)
        found.append(
            f"Expected ROC AUC on the newest labelled clients (cycle {cycle}): {auc['estimated']} "
            f"(95 % band {auc['band']}){realized}, {BLIND}."
        )
    # A batch too small to judge: the overview keeps the newest verdict that was made (the
    # cycles page says why this one was not).
    judged = check.multivariate is not None and check.multivariate.judged
    text = multivariate_text(check) if judged else ""
    return found + ([text] if text else [])


def _where(inside: str) -> str:
    """The report's "inside" cell in words: inside, outside and which way, or not compared."""
    if inside == "yes":
        return "inside the band"
    return f"outside the band, {inside[4:]}" if inside.startswith("no: ") else inside


def _realized(row: dict[str, str]) -> str:
    inside = row["inside"]
    where = "outside the band" if inside.startswith("no: ") else _where(inside)
    return f"; realized {row['realized']}, {where}"


def expected_leavers_line(store: Store, cycle_id: int | None) -> str:
    """How many listed clients the list's cycle expected to leave; empty when not recorded."""
    if cycle_id is None:
        return ""
    found = store.rows(cycles, id=cycle_id)
    steps = (found[0]["steps"] or []) if found else []
    detail = next((s.get("detail") or {} for s in steps if s.get("name") == "call list"), {})
    expected = detail.get("expected_leavers")
    if not expected:
        return ""
    return (
        f"Expected to leave: {expected['leavers']:.0f} of the {expected['clients']:,} listed "
        f"(95 % band {expected['low']:.0f} to {expected['high']:.0f}), {BLIND}."
    )
