"""The report's plots: each one a readable picture, the drift histograms' axes and legend."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from riskwatch.reporting import plots

from .conftest import assert_picture

# Plots on small arrays


def test_each_plot_writes_a_readable_non_blank_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    risks = rng.uniform(size=400)
    labels = (rng.uniform(size=400) < risks).astype(int)
    history = plots.History(
        [plots.Series("checks", [(2.0, "v1", 0.7), (3.0, "v1", 0.65), (4.0, "v2", 0.72)])],
        [(1.5, "deploy v1"), (3.5, "deploy v2")],
        {1: "month_01.csv", 2: "month_02.csv", 3: "month_03.csv", 4: "month_04.csv"},
    )
    psi = plots.History(
        [plots.Series("a", [(2.0, "v1", 0.01), (3.0, "v1", 0.3)])], [(1.5, "deploy v1")], {}
    )
    empty = plots.History([], [], {})
    figures = {
        "cm": plots.confusion_matrix_figure(labels, risks, 0.5),
        "roc": plots.roc_figure(labels, risks, 0.8),
        "pr": plots.precision_recall_figure(labels, risks, 0.5),
        "calibration": plots.calibration_figure(labels, risks),
        "risk": plots.risk_distribution_figure(risks, high=0.5, medium=0.2, clients="400"),
        "drift": plots.feature_drift_figure(
            {"a": risks, "b": risks * 2}, {"a": risks + 0.1, "b": risks}, {"a": "drifted"}
        ),
        "scores": plots.score_history_figure(history),
        "psi": plots.drift_history_figure(psi, 0.2),
        "one_class": plots.roc_figure(np.zeros(10), risks[:10]),
        "no_history": plots.score_history_figure(empty),
    }
    for name, figure in figures.items():
        assert_picture(plots.write_png(figure, tmp_path / f"{name}.png"))


def test_drift_histograms_show_shares_both_samples_in_a_legend_and_say_where_they_are_cut() -> None:
    rng = np.random.default_rng(1)
    tailed = 100 * rng.pareto(1.5, size=2000)  # a long tail: the axis is cut
    even = rng.integers(0, 5, size=2000).astype(float)  # the 99th percentile is the maximum
    figure = plots.feature_drift_figure(
        {"tailed": tailed, "even": even}, {"tailed": tailed * 1.2, "even": even}, {}
    )

    tailed_axes, even_axes = figure.axes[:2]
    assert tailed_axes.get_ylabel() == "share of clients"
    assert "x-axis cut at the 99th percentile" in tailed_axes.get_xlabel()
    assert f"up to {max(tailed.max(), tailed.max() * 1.2):,.0f}" in tailed_axes.get_xlabel()
    assert "cut" not in even_axes.get_xlabel()
    legend = tailed_axes.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["training data", "newest data"]
    assert len(even_axes.patches) == 2  # one filled shape and one outline
    assert 0 < even_axes.get_ylim()[1] <= 1  # shares, not densities
