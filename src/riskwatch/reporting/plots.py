"""The report's plots: pure functions from arrays to matplotlib Figures, and PNG writing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

# The object-oriented API (Figure without pyplot) draws with Agg and changes no global state:
# no backend switch, no figure registry to leak from, safe beside a server's threads.
Array = np.ndarray[Any, Any]
SIZE = (7.0, 3.6)  # inches: a full-width figure (840 x 432 px at DPI)
PAIR = (5.0, 4.0)  # a figure shown beside another, so its text stays readable when scaled
DPI = 120
BLUE, ORANGE, RED, GREEN, GREY = "#1f5fa8", "#e07b1a", "#c0392b", "#2e8b57", "#888888"
BAND_COLOURS = {"low": "#d8ecd8", "medium": "#fbe7c6", "high": "#f6d0cb"}


def _figure(title: str, size: tuple[float, float] = SIZE) -> tuple[Figure, Axes]:
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=12, loc="left")
    return figure, axes


def _message(axes: Axes, text: str) -> None:
    """Say in the plot why there is nothing to draw."""
    axes.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=11, color=GREY)
    axes.set_xticks([])
    axes.set_yticks([])


def message_figure(title: str, text: str) -> Figure:
    """A figure that says why there is nothing to draw."""
    figure, axes = _figure(title)
    _message(axes, text or "Nothing to show")
    return figure


def _both_classes(labels: Array) -> bool:
    return len(np.unique(labels)) == 2


def _dates(times: Sequence[datetime]) -> Array:
    """Times as naive UTC datetime64 values, which matplotlib draws as dates."""
    naive = [t.astimezone(UTC).replace(tzinfo=None) for t in times]
    return np.array(naive, dtype="datetime64[us]")


def write_png(figure: Figure, path: Path) -> Path:
    """Write a figure as a PNG file (white background) and return the path."""
    figure.savefig(path, format="png", dpi=DPI, facecolor="white")
    return path


def confusion_matrix_figure(labels: Array, risks: Array, threshold: float) -> Figure:
    """The classic confusion matrix: actual outcome against the label at the threshold."""
    y, predicted = np.asarray(labels).astype(int), (np.asarray(risks) >= threshold).astype(int)
    counts = np.array([[np.sum((y == a) & (predicted == p)) for p in (0, 1)] for a in (0, 1)])
    figure, axes = _figure(f"Confusion matrix (holdout; leaves at risk ≥ {threshold:.0%})", PAIR)
    axes.imshow(counts, cmap="Blues", vmin=0, vmax=max(int(counts.max()), 1) * 1.6)
    total = max(int(counts.sum()), 1)
    for (row, column), count in np.ndenumerate(counts):
        axes.text(column, row, f"{count:,}\n({count / total:.1%})", ha="center", va="center")
    axes.set_xticks([0, 1], ["predicted to stay", "predicted to leave"])
    axes.set_yticks([0, 1], ["stayed", "left"])
    axes.set_xlabel("What the model said")
    axes.set_ylabel("What the client did")
    return figure


def roc_figure(labels: Array, risks: Array, auc: float | None = None) -> Figure:
    """The ROC curve: leaving clients caught against staying clients flagged."""
    figure, axes = _figure("ROC curve (holdout): leavers ranked above stayers", PAIR)
    if not _both_classes(labels):
        _message(axes, "Undefined: the holdout holds one outcome only")
        return figure
    false_positive, true_positive, _ = roc_curve(labels, risks)
    name = "model" if auc is None else f"model (ROC AUC {auc:.3f})"
    axes.plot(false_positive, true_positive, color=BLUE, label=name)
    axes.plot([0, 1], [0, 1], linestyle="--", color=GREY, label="random guess")
    axes.set_xlabel("Share of staying clients flagged\n(false positive rate)")
    axes.set_ylabel("Share of leaving clients caught\n(true positive rate)")
    axes.legend(loc="lower right")
    return figure


def precision_recall_figure(labels: Array, risks: Array, threshold: float) -> Figure:
    """Precision against recall over all thresholds, the decision threshold marked."""
    figure, axes = _figure("Precision and recall (holdout)", PAIR)
    y = np.asarray(labels).astype(int)
    if y.sum() == 0:
        _message(axes, "Undefined: no client in the holdout left")
        return figure
    precision, recall, thresholds = precision_recall_curve(y, risks)
    axes.plot(recall, precision, color=BLUE, label="model")
    axes.axhline(y.mean(), linestyle="--", color=GREY, label=f"exit rate {y.mean():.1%}")
    at = int(np.searchsorted(thresholds, threshold, side="left"))
    if at < len(thresholds):
        axes.plot(recall[at], precision[at], "o", color=RED, label=f"at risk ≥ {threshold:.0%}")
    axes.set_xlabel("Recall: share of leaving clients caught")
    axes.set_ylabel("Precision: share of flagged\nclients who left")
    axes.set_ylim(0, 1.02)
    axes.legend(loc="upper right")
    return figure


def calibration_figure(labels: Array, risks: Array, bins: int = 10) -> Figure:
    """Predicted risk against the share that left, in quantile bins."""
    figure, axes = _figure("Calibration (holdout): predicted against actual", PAIR)
    if not _both_classes(labels):
        _message(axes, "Undefined: the holdout holds one outcome only")
        return figure
    observed, predicted = calibration_curve(labels, risks, n_bins=bins, strategy="quantile")
    axes.plot([0, 1], [0, 1], linestyle="--", color=GREY, label="perfectly calibrated")
    axes.plot(predicted, observed, "o-", color=BLUE, label="model (tenths of the clients)")
    axes.set_xlabel("Predicted risk")
    axes.set_ylabel("Share that actually left")
    axes.legend(loc="upper left")
    return figure


def risk_distribution_figure(risks: Array, *, high: float, medium: float, clients: str) -> Figure:
    """A histogram of predicted risk with the risk bands shaded and counted."""
    risk = np.asarray(risks, dtype="float64")
    figure, axes = _figure(f"Predicted risk of leaving: {clients}")
    spans = {"low": (0.0, medium), "medium": (medium, high), "high": (high, 1.0)}
    for band, (low, top) in spans.items():
        inside = (risk >= low) & ((risk < top) if band != "high" else (risk <= top))
        label = f"{band} risk: {int(inside.sum()):,} clients"
        axes.axvspan(low, top, color=BAND_COLOURS[band], label=label, zorder=0)
    axes.hist(risk, bins=np.linspace(0, 1, 41).tolist(), color=BLUE, zorder=2)
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel("Predicted risk of leaving")
    axes.set_ylabel("Clients")
    axes.legend(loc="upper right")
    return figure


def feature_drift_figure(
    reference: Mapping[str, Array], current: Mapping[str, Array], verdicts: Mapping[str, str]
) -> Figure:
    """For each column, the reference and the newest values overlaid, with the verdict."""
    names = list(reference)
    rows = (len(names) + 1) // 2
    figure = Figure(figsize=(7.0, 2.7 * rows), dpi=DPI, layout="constrained")
    figure.suptitle("Training data (reference, blue) against the newest data (orange)")
    grid = figure.subplots(rows, 2, squeeze=False).ravel()
    for axes, name in zip(grid, names, strict=False):
        ref, cur = np.asarray(reference[name], float), np.asarray(current[name], float)
        both = np.concatenate([ref, cur])
        # Counts have long tails: show the bulk (to the 99th percentile) so shapes are visible.
        top = float(np.quantile(both, 0.99)) if len(both) else 1.0
        bins = np.linspace(float(both.min(initial=0.0)), max(top, 1e-9), 40).tolist()
        for values, color, label in ((ref, BLUE, "reference"), (cur, ORANGE, "newest")):
            # A density of no values in view is 0/0: a tiny batch may lie wholly in the tail.
            if ((values >= bins[0]) & (values <= bins[-1])).any():
                axes.hist(values, bins=bins, density=True, alpha=0.55, color=color, label=label)
        axes.set_title(f"{name}\n{verdicts.get(name, '')}", fontsize=8.5, loc="left")
        axes.set_yticks([])
        axes.tick_params(labelsize=8)
    for axes in grid[len(names) :]:
        axes.set_axis_off()
    return figure


def score_history_figure(
    points: Sequence[tuple[datetime, str, float]], *, metric: str = "ROC AUC"
) -> Figure:
    """A metric over time, one series per source (at training, scored later, newest data)."""
    figure, axes = _figure(f"{metric} over time")
    if not points:
        _message(axes, "No scores recorded yet")
        return figure
    markers = iter("o^sDv")
    for source in dict.fromkeys(source for _, source, _ in points):
        chosen = sorted((when, value) for when, name, value in points if name == source)
        times, values = zip(*chosen, strict=True)
        axes.plot(_dates(times), values, marker=next(markers, "o"), linestyle="-", label=source)
    low, high = min(p[2] for p in points), max(p[2] for p in points)
    # A margin around the values, so a wobble in the third decimal does not look like a cliff.
    axes.set_ylim(max(low - 0.05, 0.0), min(high + 0.05, 1.0))
    axes.set_ylabel(metric)
    axes.set_xlabel("Time (UTC)")
    axes.legend(loc="lower left", fontsize=8)
    figure.autofmt_xdate()
    return figure


def drift_history_figure(
    times: Sequence[datetime], series: Mapping[str, Sequence[float]], threshold: float
) -> Figure:
    """Each column's population stability index at each report, the threshold as a line."""
    figure, axes = _figure("Data drift over time (PSI against the training data)")
    if not times:
        _message(axes, "No drift checks recorded yet")
        return figure
    for name, values in series.items():
        axes.plot(_dates(times), list(values), marker="o", label=name)
    axes.axhline(threshold, linestyle="--", color=RED, label=f"drift from PSI {threshold:g}")
    axes.set_ylabel("PSI")
    axes.set_xlabel("Time (UTC)")
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    return figure
