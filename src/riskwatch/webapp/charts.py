"""Chart specifications the pages embed as JSON for uPlot (pages.js draws them); the same
numbers are always in a table beside the chart, for readers without JavaScript."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def epoch(stamp: str) -> float:
    """A stored UTC time (ISO 8601) as seconds since 1970, uPlot's time axis."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def line_chart(
    x: list[float],
    series: list[tuple[str, list[float | None]]],
    *,
    y_label: str,
    time: bool = True,
    markers: list[dict[str, Any]] | None = None,
    threshold: float | None = None,
    x_labels: list[str] | None = None,
) -> dict[str, Any]:
    """One chart: x values, named series (None leaves a gap), vertical markers with labels, a
    horizontal threshold line; x_labels name the points of an x axis that is not time."""
    return {
        "x": x,
        "time": time,
        "y_label": y_label,
        "series": [{"label": label, "values": values} for label, values in series],
        "markers": markers or [],
        "threshold": threshold,
        "x_labels": x_labels,
    }
