"""The report's plots: pure functions from arrays to matplotlib Figures, and PNG writing."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from riskwatch.reporting.history import History, Series
from riskwatch.reporting.margins import MeasuredLayout

# The object-oriented API (Figure without pyplot) draws with Agg and changes no global state:
# no backend switch, no figure registry to leak from, safe beside a server's threads.
Array = np.ndarray[Any, Any]
SIZE = (7.0, 3.6)  # inches: a full-width figure (840 x 432 px at DPI)
HISTORY_SIZE = (7.0, 4.2)  # room below for the batches' names and the legend
PAIR = (5.0, 4.0)  # a figure shown beside another, so its text stays readable when scaled
DPI = 120
BLUE, ORANGE, RED, GREEN, GREY = "#1f5fa8", "#e07b1a", "#c0392b", "#2e8b57", "#888888"
BAND_COLOURS = {"low": "#d8ecd8", "medium": "#fbe7c6", "high": "#f6d0cb"}


def _figure(title: str, size: tuple[float, float] = SIZE) -> tuple[Figure, Axes]:
    figure = Figure(figsize=size, dpi=DPI, layout=MeasuredLayout())
    axes = figure.add_subplot()
    # y given: matplotlib then does not measure the axis labels at each drawing to lift the
    # title over any at the top; there are none.
    axes.set_title(title, fontsize=12, loc="left", y=1.0)
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


def write_png(figure: Figure, path: Path) -> Path:
    """Write a figure as a PNG file (white background, no alpha) and return the path."""
    # Imported here: only writing a picture needs the renderer and the PNG writer.
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    figure.set_facecolor("white")
    canvas = FigureCanvasAgg(figure)
    canvas.draw()  # type: ignore[no-untyped-call]  # matplotlib leaves it untyped
    # The background is opaque: without the alpha channel the PDF writer has no mask to build
    # for each picture (a faster PDF, smaller files, the same pixels).
    rgb = np.asarray(canvas.buffer_rgba())[:, :, :3]  # type: ignore[no-untyped-call]
    # zlib level 3: the report's pictures come out within 1 % of level 6's size, in 2/3 of the time.
    Image.fromarray(rgb).save(path, format="png", compress_level=3)
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
    # One filled outline, the same pixels as 40 bars without their 40 patches to build and draw.
    axes.hist(
        risk, bins=np.linspace(0, 1, 41).tolist(), color=BLUE, zorder=2, histtype="stepfilled"
    )
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel("Predicted risk of leaving")
    axes.set_ylabel("Clients")
    axes.legend(loc="upper right")
    return figure


def feature_drift_figure(
    reference: Mapping[str, Array], current: Mapping[str, Array], verdicts: Mapping[str, str]
) -> Figure:
    """Each column: reference and newest values as shares of clients, with the verdict."""
    names = list(reference)
    rows = (len(names) + 1) // 2
    figure = Figure(figsize=(7.0, 2.9 * rows), dpi=DPI, layout=MeasuredLayout())
    figure.suptitle("Training data (reference) against the newest data", fontsize=11)
    grid = figure.subplots(rows, 2, squeeze=False).ravel()
    for axes, name in zip(grid, names, strict=False):
        ref, cur = np.asarray(reference[name], float), np.asarray(current[name], float)
        _drift_panel(axes, ref, cur)
        axes.set_title(f"{name}\n{verdicts.get(name, '')}", fontsize=8.5, loc="left", y=1.0)
    for axes in grid[len(names) :]:
        axes.set_axis_off()
    if names:
        grid[0].legend(loc="upper right", fontsize=7.5)
    return figure


def _drift_panel(axes: Axes, ref: Array, cur: Array) -> None:
    """Both samples' shares per bin: the reference filled, the newest as an outline."""
    both = np.concatenate([ref, cur])
    low = float(both.min(initial=0.0))
    peak = float(both.max()) if len(both) else 1.0
    # Counts have long tails: show the bulk (to the 99th percentile) so shapes are visible,
    # and say so, with how many values lie beyond.
    top = float(np.quantile(both, 0.99)) if len(both) else 1.0
    top = max(top, low + 1e-9)
    bins = np.linspace(low, top, 40).tolist()
    for values, style in (
        (ref, {"color": BLUE, "alpha": 0.35, "histtype": "stepfilled", "label": "training data"}),
        (cur, {"color": ORANGE, "histtype": "step", "linewidth": 1.8, "label": "newest data"}),
    ):
        # Each bar is a share of all the sample's clients, those beyond the cut included.
        weights = np.full(len(values), 1.0 / max(len(values), 1))
        axes.hist(values, bins=bins, weights=weights, **style)  # type: ignore[arg-type]
    axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_ylabel("share of clients", fontsize=8)
    axes.tick_params(labelsize=7.5)
    if peak > top:
        beyond = int((both > top).sum())
        axes.set_xlabel(
            f"x-axis cut at the 99th percentile ({_short(top)}):\n"
            f"{beyond:,} values beyond, up to {_short(peak)}",
            fontsize=7,
        )


def _short(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _draw_history(axes: Axes, history: History) -> None:
    """Each series per model version (never joined across a model change); changes marked."""
    for number, series in enumerate(history.series):
        _draw_series(axes, series, series.color or f"C{number}")
    _mark_changes(axes, history.changes)
    placed = [p[0] for series in history.series for p in series.points]
    placed += [x for x, _ in history.changes]
    if placed:  # room for the markers and labels at both ends
        axes.set_xlim(min(placed) - 0.6, max(placed) + 0.6)
    shown = sorted(history.names)
    step = max(1, len(shown) // 14)  # at most about 14 labels, so they stay readable
    ticks = shown[::step]
    axes.set_xticks(ticks, [history.names[t] for t in ticks], rotation=35, ha="right", fontsize=7.5)
    axes.set_xlabel("Data batch (each point: the check of the model then in production)")


def _draw_series(axes: Axes, series: Series, color: str) -> None:
    """One series, a line per run of one model version, its flagged points circled in red."""
    label: str | None = series.label
    style = "-" if series.joined else "none"
    for run in series.runs():
        xs, values = zip(*run, strict=True)
        axes.plot(xs, values, marker=series.marker, linestyle=style, color=color, label=label)
        label = None  # one legend entry per series
    if series.flagged:
        xs, values = zip(*series.flagged, strict=True)
        axes.plot(xs, values, "o", color=RED, markersize=10, fillstyle="none", zorder=5)
        for x, value in series.flagged:
            axes.annotate(
                f"{value:.3f}: worse",
                (x, value),
                textcoords="offset points",
                xytext=(6, -12),
                fontsize=7.5,
                color=RED,
            )


def _mark_changes(axes: Axes, changes: list[tuple[float, str]]) -> None:
    """A dotted line and a label at each model change."""
    before: dict[float, int] = {}  # labels already at each x: changes on one day stand side by side
    for x, text in changes:
        axes.axvline(x, color=GREY, linestyle=":", linewidth=1)
        side = before.get(x, 0)
        before[x] = side + 1
        axes.annotate(
            text,
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right" if side % 2 == 0 else "left",
            fontsize=6.5,
            color=GREY,
            xytext=(-2 - 9 * (side // 2), -2) if side % 2 == 0 else (2 + 9 * (side // 2), -2),
            textcoords="offset points",
        )


def _legend_below(axes: Axes) -> None:
    """The legend under the plot, where it hides no point and no model change."""
    figure = axes.get_figure()
    if isinstance(figure, Figure):
        # At the canvas's foot: MeasuredLayout keeps the axes and their labels above it.
        figure.legend(loc="lower center", ncol=3, fontsize=7.5, frameon=False)


def score_history_figure(history: History, *, metric: str = "ROC AUC") -> Figure:
    """A metric per data batch: every check of the model in production, model changes marked."""
    figure, axes = _figure(f"{metric} per data batch", HISTORY_SIZE)
    values = [p[2] for series in history.series for p in series.points]
    if not values:
        _message(axes, "No scores recorded yet")
        return figure
    _draw_history(axes, history)
    low, high = min(values), max(values)
    # A margin around the values, so a wobble in the third decimal does not look like a cliff.
    axes.set_ylim(max(low - 0.05, 0.0), min(high + 0.05, 1.0))
    axes.set_ylabel(metric)
    _legend_below(axes)
    return figure


def drift_history_figure(history: History, threshold: float) -> Figure:
    """Each column's population stability index per data batch, the threshold as a line."""
    figure, axes = _figure(
        "Data drift per data batch (PSI against the model's training data)", HISTORY_SIZE
    )
    if not any(series.points for series in history.series):
        _message(axes, "No drift checks recorded yet")
        return figure
    _draw_history(axes, history)
    axes.axhline(threshold, linestyle="--", color=RED, label=f"drift from PSI {threshold:g}")
    axes.set_ylabel("PSI")
    axes.set_ylim(bottom=0)
    _legend_below(axes)
    return figure
