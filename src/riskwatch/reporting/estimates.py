"""The label-free estimate beside the realized figures, and the multivariate drift check, for
the report's details."""

from __future__ import annotations

from typing import Any

from riskwatch.diagnostics.statistics import number
from riskwatch.monitoring.verdict import DriftCheck

SHOWN = (("roc_auc", "ROC AUC"), ("precision_at_k", "Precision at K"))


def estimate_rows(check: DriftCheck) -> list[dict[str, str]]:
    """Each estimated metric with its band, the realized figure on the same rows, and whether
    the realized one fell inside the band (empty when nothing was estimated)."""
    estimated = check.estimated
    if estimated is None:
        return []
    found = estimated.to_dict()
    small = _too_few(check)
    rows = []
    for name, label in SHOWN:
        value, low, high = found[name], found[f"{name}_low"], found[f"{name}_high"]
        realized = check.newest_metrics.get(name)
        actual = realized.value if realized is not None else None
        inside = (
            "n/a" if actual is None or low is None or high is None else _inside(actual, low, high)
        )
        if small and inside != "n/a":
            inside = small
        band = "n/a" if low is None or high is None else f"{low:.4f} to {high:.4f}"
        rows.append(
            {
                "metric": label if name == "roc_auc" else f"{label} (K = {estimated.k})",
                "estimated": number(value, ".4f"),
                "band": band,
                "realized": number(actual, ".4f"),
                "inside": inside,
            }
        )
    return rows


def _too_few(check: DriftCheck) -> str:
    """Why the realized figure is not held against its band (a batch too small to judge, as
    the drift checks say), or empty."""
    # On a handful of rows the realized figure is 0 or 1 and the band's continuous edges miss
    # it: "below, concept drift" from one row would be noise read as a finding.
    found = check.prediction
    if found is None or found.judged:
        return ""
    return f"not compared: {found.verdict().removeprefix('not judged: ')}"


def _inside(value: float, low: float, high: float) -> str:
    if value < low:
        return "no: below (concept drift, or a calibration the newest data outgrew)"
    if value > high:
        return "no: above"
    return "yes"


def estimate_text(check: DriftCheck) -> str:
    """Where the estimate comes from and what it cannot see."""
    estimated = check.estimated
    if estimated is None:
        unavailable = check.estimate_unavailable
        return unavailable[0].upper() + unavailable[1:] + "." if unavailable else ""
    return (
        f"Estimated without labels on the {estimated.n:,} newest rows: the model's risks "
        f"calibrated (isotonic) on {estimated.calibration_rows:,} labelled rows it did not train "
        f"on ({estimated.calibration_source}), each client counted as a leaver with its "
        "calibrated chance; the band is the 95 % spread of the realized figure from sampling "
        "and calibration noise. The estimate is blind to concept drift: a realized figure "
        "below its band is the sign of it."
    )


def multivariate_text(check: DriftCheck) -> str:
    """The domain classifier's verdict in one sentence (empty when it did not run)."""
    found = check.multivariate
    return found.summary() + "." if found else ""


def estimate_details(check: DriftCheck) -> dict[str, Any]:
    """The template's values for both checks."""
    return {
        "estimate_rows": estimate_rows(check),
        "estimate_text": estimate_text(check),
        "multivariate": multivariate_text(check),
    }
