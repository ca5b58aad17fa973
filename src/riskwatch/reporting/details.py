"""The data scientists' part of the report: tables of metrics, data, drift, timings, history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from riskwatch.diagnostics.statistics import STATISTICS, number
from riskwatch.model.metrics import LOWER_IS_BETTER, METRIC_NAMES, Metric
from riskwatch.model.registry import package_versions
from riskwatch.monitoring.drift import FeatureDrift
from riskwatch.monitoring.performance import PerformanceDrift, half_width
from riskwatch.reporting.estimates import estimate_details
from riskwatch.reporting.gather import Facts
from riskwatch.scoring import LABELS, format_metric

COUNT = ",.0f"
NOT_MEASURED = "Ingestion and training not timed yet: run `riskwatch diagnose`."


def when(iso: str | None) -> str:
    """An ISO time as '21 Nov 2026 10:15 UTC' (the text itself when it is not a time)."""
    if not iso:
        return "n/a"
    try:
        return datetime.fromisoformat(iso).strftime("%d %b %Y %H:%M UTC")
    except ValueError:
        return iso


def model_rows(facts: Facts) -> list[tuple[str, str]]:
    """What the deployed model is, how it was trained and on what."""
    d, meta = facts.deployed, facts.metadata
    training = meta.get("training") or {}
    batches = training.get("batches") or []
    shown = ", ".join(batches[:4]) + (f" and {len(batches) - 4} more" if len(batches) > 4 else "")
    reference = "none" if facts.reference is None else f"{len(facts.reference):,} training rows"
    return [
        ("Version", d.version),
        ("Kind", str(meta.get("kind", "n/a"))),
        ("In production since", f"{when(d.deployed_at)} ({d.reason})"),
        ("Previous version", d.previous_version or "none"),
        ("Trained on", f"{training.get('rows', 0):,} rows, {training.get('clients', 0):,} clients"),
        ("Training batches", shown or "n/a"),
        ("Training window", str(training.get("window", "n/a"))),
        ("Training time", f"{number(training.get('seconds'), '.2f')} s"),
        ("Decision threshold", f"{meta.get('threshold', 'n/a')}"),
        ("Drift reference", reference),
        ("Holdout", f"{facts.holdout.path} ({len(facts.holdout.labels):,} rows)"),
    ]


def metric_rows(facts: Facts) -> list[dict[str, str]]:
    """Each metric on the holdout now and at training (95 % intervals), and on the newest data."""
    recorded = (facts.metadata.get("metrics") or {}).get("holdout") or {}
    newest = facts.drift.newest_metrics
    rows = []
    for name in METRIC_NAMES:
        was = recorded.get(name) or {}
        at_training = Metric(was.get("value"), was.get("low"), was.get("high"))
        rows.append(
            {
                "metric": LABELS[name],
                "now": format_metric(facts.holdout.metrics[name]),
                "at_training": format_metric(at_training),
                "newest": number(newest[name].value, ".4f") if name in newest else "n/a",
            }
        )
    return rows


def performance_text(facts: Facts) -> str:
    """The performance check's evidence in one sentence, or why there was none."""
    performance = facts.drift.performance
    if performance is not None:
        return f"Performance check on the newest data: {performance.evidence}"
    return f"Not judged: {facts.drift.reason}; the model will be judged on data it has not seen."


def excluded_text(facts: Facts) -> str:
    """Which labelled rows the performance check left out, and why (empty when not judged)."""
    excluded = facts.drift.excluded
    if facts.drift.performance is None or excluded is None:
        return ""
    return excluded.sentence()


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "none (taken as exact)"
    return f"{low:.4f} to {high:.4f} (half-width {number(half_width(low, high), '.4f')})"


def performance_rows(performance: PerformanceDrift | None) -> list[tuple[str, str]]:
    """The interval rule's numbers, so a reader can redo the decision."""
    if performance is None or performance.rule != "interval" or performance.allowed is None:
        return []
    current, recorded = performance.current, performance.recorded
    sign = -1.0 if performance.metric in LOWER_IS_BETTER else 1.0
    drop = None if recorded is None or current.value is None else sign * (recorded - current.value)
    return [
        ("Metric", LABELS.get(performance.metric, performance.metric)),
        ("Newest data: score", f"{number(current.value, '.4f')} on {performance.rows:,} rows"),
        ("Newest data: 95 % interval (a = half-width)", _interval(current.low, current.high)),
        ("Recorded at training (holdout): score", number(recorded, ".4f")),
        (
            "Recorded: 95 % interval (b = half-width)",
            _interval(performance.recorded_low, performance.recorded_high),
        ),
        ("Drop (recorded minus newest; worse when positive)", number(drop, "+.4f")),
        ("Noise allows √(a² + b²)", number(performance.allowed, ".4f")),
        ("Decision (retrain when the drop exceeds the allowance)", performance.decision),
    ]


def verdict(drift: FeatureDrift) -> str:
    """A column's drift verdict with its test, statistic and threshold, in one phrase."""
    if not drift.judged:
        return drift.verdict()
    if drift.test == "ks":
        measured = f"KS p-value {drift.p_value:.3g}, drifted below {drift.threshold:g}"
    else:
        measured = f"Wasserstein {drift.statistic:.3f} SDs, drifted from {drift.threshold:g}"
    return f"{'drifted' if drift.drifted else 'no drift'} ({measured})"


def drift_rows(facts: Facts) -> list[dict[str, str]]:
    """The drift table: test, statistic, threshold, p-value, PSI and both sample sizes."""
    checks = [*facts.drift.features]
    if facts.drift.prediction is not None:
        checks.append(facts.drift.prediction)
    return [
        {
            "feature": d.feature,
            "test": "Kolmogorov-Smirnov" if d.test == "ks" else "Wasserstein / reference SD",
            "statistic": number(d.statistic, ".4f"),
            "threshold": f"p < {d.threshold:g}" if d.test == "ks" else f"≥ {d.threshold:g}",
            "p_value": number(d.p_value, ".3g"),
            "psi": _psi(d),
            "rows": f"{d.reference_rows:,} / {d.current_rows:,}",
            "verdict": ("drifted" if d.drifted else "no drift") if d.judged else d.verdict(),
        }
        for d in checks
    ]


def _psi(d: FeatureDrift) -> str:
    if d.psi is None:
        return "n/a"
    return f"{d.psi:.4f} ({'drifted' if d.psi_drifted else 'ok'} at {d.psi_threshold:g})"


def statistics_rows(facts: Facts) -> list[dict[str, Any]]:
    """Summary statistics of each numeric column of the master dataset."""
    found = facts.diagnosis.parts.get("summary_statistics") or {}
    return [
        {
            "column": column,
            "values": [
                number(stats.get(s), ",.0f" if s == "count" else ",.2f") for s in STATISTICS
            ],
        }
        for column, stats in found.items()
    ]


def missing_rows(facts: Facts) -> tuple[list[dict[str, str]], str]:
    """Missing-value shares per column in the master and the latest batch, the rows the newest
    batches had quarantined per column, and the latest batch's name."""
    part = facts.diagnosis.parts.get("missing_data") or {}
    batch = part.get("latest_batch") or {"batch": "none", "shares": {}, "counts": {}}
    columns = dict.fromkeys([*part.get("master", {}), *batch["shares"]])
    bad = quarantined_by_column(facts.quarantined)
    rows = [
        {
            "column": column,
            "master": f"{part.get('master', {}).get(column, 0.0):.2%}",
            "batch": f"{batch['shares'].get(column, 0.0):.2%} "
            f"({batch['counts'].get(column, 0):,} rows)",
            "quarantined": f"{bad.get(column, 0):,}",
        }
        for column in columns
    ]
    total = sum(entry["rows"] for entry in facts.quarantined)
    rows.append({"column": "any column", "master": "", "batch": "", "quarantined": f"{total:,}"})
    return rows, str(batch["batch"])


def quarantined_by_column(entries: list[dict[str, Any]]) -> dict[str, int]:
    """How many quarantined rows break a rule of each column (a row may break several)."""
    counts: dict[str, int] = {}
    for entry in entries:
        for kind, count in entry["reasons"].items():
            column = kind.split(" ", 1)[0]
            counts[column] = counts.get(column, 0) + count
    return counts


def quarantine_lines(facts: Facts) -> list[str]:
    """Each newest batch's quarantined rows in words: how many, why, and where."""
    return [
        f"{entry['batch']}: {entry['rows']:,} rows quarantined ("
        + ", ".join(f"{kind}: {number:,}" for kind, number in entry["reasons"].items())
        + f"), in {entry['file']}"
        for entry in facts.quarantined
    ]


def timing_lines(facts: Facts) -> list[str]:
    """The last measured timings of ingestion and training, with when they were measured."""
    stored = facts.stored.get("timings")
    trained = (facts.metadata.get("training") or {}).get("seconds")
    lines = [f"Training the deployed model took {number(trained, '.2f')} s."]
    if stored is None:
        return [*lines, NOT_MEASURED]
    part = stored["result"]
    for step in ("ingestion", "training"):
        found = part.get(step) or {}
        why = f" ({found['reason']})" if found.get("reason") else ""
        lines.append(
            f"{step.capitalize()} of the master dataset: {number(found.get('seconds'), '.2f')} s "
            f"on {found.get('rows', 0):,} rows{why}, measured {when(stored['created_at'])}."
        )
    return lines


def dependency_rows(facts: Facts) -> tuple[list[dict[str, str]], str]:
    """Installed, latest and at-training versions, with where the latest came from."""
    stored = facts.stored.get("dependencies")
    if stored is not None:
        rows = [
            {
                "name": str(r["name"]),
                "installed": str(r["installed"]),
                "latest": str(r["latest"]),
                "recorded": str(r["recorded"] or "n/a"),
                "changed": "yes" if r["changed_since_training"] else "no",
            }
            for r in stored["result"]
        ]
        return rows, f"Latest versions asked of the package index {when(stored['created_at'])}."
    recorded = facts.metadata.get("packages") or {}
    rows = [
        {
            "name": name,
            "installed": version,
            "latest": "not checked",
            "recorded": str(recorded.get(name, "n/a")),
            "changed": _changed(recorded.get(name), version),
        }
        for name, version in package_versions().items()
    ]
    return rows, "Latest versions not checked yet: run `riskwatch diagnose`."


def _changed(recorded: Any, installed: str) -> str:
    if recorded is None:
        return "n/a"
    return "yes" if recorded != installed else "no"


def deployment_rows(facts: Facts) -> list[dict[str, str]]:
    """The recent deployments and rollbacks, newest first."""
    return [
        {
            "when": when(row["deployed_at"]),
            "action": str(row["action"]),
            "version": str(row["version"]),
            "previous": str(row["previous_version"] or "none"),
            "reason": str(row["reason"]),
        }
        for row in facts.status.history
    ]


def promotion_lines(facts: Facts) -> list[str]:
    """The recent promotion-gate decisions in words."""
    return [
        f"{when(row['decided_at'])}: {row['challenger']} "
        f"{'promoted' if row['promoted'] else 'not promoted'}: {row['reason']}"
        for row in facts.status.promotions
    ]


def details(facts: Facts) -> dict[str, Any]:
    """Every table of the data scientists' part, ready for the template."""
    missing, batch = missing_rows(facts)
    dependencies, dependencies_note = dependency_rows(facts)
    performance = facts.drift.performance
    return {
        "model": model_rows(facts),
        "metrics": metric_rows(facts),
        "resamples": facts.holdout.resamples,
        "performance": performance_text(facts),
        "performance_rows": performance_rows(performance),
        "excluded": excluded_text(facts),
        "drift": drift_rows(facts),
        "drift_reason": facts.drift.reason,
        **estimate_details(facts.drift),
        "statistics": statistics_rows(facts),
        "statistic_names": list(STATISTICS),
        "missing": missing,
        "missing_batch": batch,
        "quarantined": quarantine_lines(facts),
        "timings": timing_lines(facts),
        "dependencies": dependencies,
        "dependencies_note": dependencies_note,
        "deployments": deployment_rows(facts),
        "promotions": promotion_lines(facts),
    }
