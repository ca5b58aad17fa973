"""The plots' layout: every text on the canvas, legends and panels clear of each other."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from riskwatch.reporting import plots

from .conftest import assert_picture


def _boxes(figure: Figure, path: Path) -> tuple[Bbox, list[Bbox], list[Bbox]]:
    """After writing the PNG: the canvas, each axes' box with all its texts, the figure's own."""
    assert_picture(plots.write_png(figure, path))
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's
    panels = [axes.get_tightbbox(renderer) for axes in figure.axes if axes.axison]
    own = [a.get_window_extent(renderer) for a in [*figure.texts, *figure.legends]]
    return figure.bbox, [box for box in panels if box is not None], own


def _inside(box: Bbox, canvas: Bbox) -> bool:
    return (
        box.x0 >= canvas.x0 - 0.5
        and box.y0 >= canvas.y0 - 0.5
        and box.x1 <= canvas.x1 + 0.5
        and box.y1 <= canvas.y1 + 0.5
    )


def _apart(first: Bbox, second: Bbox) -> bool:
    return not first.overlaps(second)


def _long_history() -> plots.History:
    """Long batch names (a database's watermarks), a model change, a flagged point."""
    names = {n: f"clients.id[{n * 100_000:,}..{(n + 1) * 100_000 - 1:,}]" for n in range(1, 13)}
    points = [(float(n), "v1" if n < 6 else "v2", 0.70 + 0.01 * (n % 4)) for n in range(2, 13)]
    flagged = [(3.0, 0.73)]
    series = plots.Series("on newly arrived data", points, flagged=flagged)
    return plots.History([series], [(1.5, "deploy v1"), (5.5, "deploy v2")], names)


def test_every_label_of_each_plot_lies_on_the_canvas(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    risks = rng.uniform(size=300_000)
    labels = (rng.uniform(size=300_000) < risks).astype(int)
    figures = {
        "cm": plots.confusion_matrix_figure(labels, risks, 0.5),
        "roc": plots.roc_figure(labels, risks, 0.8),
        "pr": plots.precision_recall_figure(labels, risks, 0.5),
        "calibration": plots.calibration_figure(labels, risks),
        # Counts of 100,000 and more: the widest tick labels on the left.
        "risk": plots.risk_distribution_figure(risks, high=0.5, medium=0.2, clients="300,000"),
        "scores": plots.score_history_figure(_long_history()),
        "message": plots.message_figure("Training data against the newest data", "No model yet"),
    }
    for name, figure in figures.items():
        canvas, panels, own = _boxes(figure, tmp_path / f"{name}.png")
        assert all(_inside(box, canvas) for box in [*panels, *own]), name


def test_the_history_legend_sits_below_the_batch_names_and_the_axis_label(tmp_path: Path) -> None:
    history = _long_history()
    psi = plots.History(
        [plots.Series(f"column {n}", [(2.0, "v1", 0.01 * n), (3.0, "v1", 0.3)]) for n in range(8)],
        history.changes,
        history.names,
    )
    for name, figure, entries in [
        ("scores", plots.score_history_figure(history), 1),
        ("psi", plots.drift_history_figure(psi, 0.2), 9),  # 8 columns and the threshold
    ]:
        canvas, (axes,), (legend,) = _boxes(figure, tmp_path / f"{name}.png")
        assert _inside(axes, canvas) and _inside(legend, canvas), name
        assert legend.y1 <= axes.y0, name  # below all of the axes' texts, hiding none
        assert len(figure.legends[0].get_texts()) == entries, name


def test_the_drift_grid_keeps_its_panels_apart_and_on_the_canvas(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    columns = {f"column {n}": 10_000 * rng.pareto(1.5, size=2000) for n in range(5)}
    verdicts = dict.fromkeys(columns, "drifted (Wasserstein 0.352 SDs, drifted from 0.1)")
    figure = plots.feature_drift_figure(columns, {k: v * 1.3 for k, v in columns.items()}, verdicts)

    canvas, panels, (title,) = _boxes(figure, tmp_path / "drift.png")
    assert len(panels) == 5  # the sixth place of the grid stays empty
    assert all(_inside(box, canvas) for box in [*panels, title])
    assert all(_apart(a, b) for a, b in combinations([*panels, title], 2))
