"""The metrics read from riskwatch's records at scrape time: the model, the last cycle, drift.

Each scrape asks the metadata database two small queries (the newest cycles, the newest drift
check) and the model holder what it serves: nothing is computed, and no model is loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from riskwatch.api.deps import Resources
from riskwatch.errors import RiskwatchError
from riskwatch.model.registry import read_deployment
from riskwatch.reporting.gather import DRIFT_KIND
from riskwatch.storage.store import cycles, diagnostics

log = logging.getLogger(__name__)
NEWEST_CYCLES = 5  # the newest finished cycle is among these unless several are running


class RecordsCollector(Collector):
    """Gauges of the model served, the last finished cycle and the newest drift check."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources

    def collect(self) -> Iterator[Metric]:
        """The gauges, from the records as they are now."""
        yield model_info(self._version())
        try:
            store = self.resources.store()
            newest = store.rows(cycles, newest_first=True, limit=NEWEST_CYCLES)
            drift = store.rows(diagnostics, newest_first=True, limit=1, kind=DRIFT_KIND)
        except (RiskwatchError, SQLAlchemyError, OSError) as exc:
            # The request counts must still reach Prometheus when the database does not answer.
            log.warning("metrics: the records cannot be read (%s)", exc)
            return
        finished = next((row for row in newest if row["finished_at"]), None)
        yield from last_cycle(finished)
        yield from drift_gauges(drift[0] if drift else None)

    def _version(self) -> str | None:
        served = self.resources.models.loaded()
        if served is not None:
            return served.deployed.version
        # No request loaded the model yet in this worker: the deployment's record says which.
        try:
            deployed = read_deployment(self.resources.settings.prod_deployment_path)
        except (RiskwatchError, OSError, ValueError, KeyError):
            return None
        return deployed.version if deployed else None


def model_info(version: str | None) -> Metric:
    """riskwatch_model_info{version=...} 1; no sample while nothing is deployed."""
    gauge = GaugeMetricFamily(
        "riskwatch_model_info", "The model version the API serves.", labels=["version"]
    )
    if version:
        gauge.add_metric([version], 1)
    return gauge


def last_cycle(row: dict[str, Any] | None) -> Iterator[Metric]:
    """The last finished cycle: when it ended, how long it took, and its outcome."""
    ended = GaugeMetricFamily(
        "riskwatch_last_cycle_timestamp_seconds",
        "When the last finished cycle ended (Unix time).",
    )
    took = GaugeMetricFamily(
        "riskwatch_last_cycle_duration_seconds", "How long the last finished cycle took."
    )
    outcome = GaugeMetricFamily(
        "riskwatch_last_cycle_outcome",
        "1 for the last finished cycle's outcome (no new data, initial, kept, promoted, "
        "rejected, failed, interrupted).",
        labels=["outcome", "trigger"],
    )
    if row is not None:
        start, end = _unix(row["started_at"]), _unix(row["finished_at"])
        ended.add_metric([], end)
        took.add_metric([], max(0.0, end - start))
        outcome.add_metric([row["outcome"], row["trigger"]], 1)
    yield from (ended, took, outcome)


def drift_gauges(record: dict[str, Any] | None) -> Iterator[Metric]:
    """Per feature, the newest drift check's statistic, PSI and verdict."""
    statistic = GaugeMetricFamily(
        "riskwatch_drift_statistic",
        "The drift test's statistic per feature (KS: D; Wasserstein: reference SDs).",
        labels=["feature", "test"],
    )
    psi = GaugeMetricFamily(
        "riskwatch_drift_psi", "Population stability index per feature.", labels=["feature"]
    )
    drifted = GaugeMetricFamily(
        "riskwatch_drift_detected",
        "1 if the feature drifted by the size-chosen test, else 0.",
        labels=["feature"],
    )
    checked = GaugeMetricFamily(
        "riskwatch_drift_check_timestamp_seconds", "When the newest drift check was recorded."
    )
    if record is not None:
        checked.add_metric([], _unix(record["created_at"]))
        result = record["result"]
        # The predicted risk's drift is one more column, under the name reports give it.
        prediction = result.get("prediction")
        found = [*result.get("features", []), *([prediction] if prediction else [])]
        for part in found:
            feature = str(part["feature"])
            if part.get("statistic") is not None:  # None: too few rows, not judged
                statistic.add_metric([feature, str(part["test"])], float(part["statistic"]))
                psi.add_metric([feature], float(part["psi"]))
            drifted.add_metric([feature], 1.0 if part["drifted"] else 0.0)
    yield from (statistic, psi, drifted, checked)


def _unix(stamp: str) -> float:
    """A recorded ISO 8601 time as Unix seconds."""
    return datetime.fromisoformat(stamp).timestamp()
