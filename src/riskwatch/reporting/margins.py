"""The report's figure layout: margins measured once at drawing, room for every label."""

from __future__ import annotations

from dataclasses import dataclass, field

from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.layout_engine import LayoutEngine
from matplotlib.text import Text
from matplotlib.transforms import Bbox

PAD = 3 / 72  # inches between the outermost texts and the edge, and between panels (as constrained)
# The margins (inches: left, right, top, bottom; the figure's own texts and legends besides) the
# axes are measured at: near the final ones, so that the ticks are chosen for about the final size.
GUESS = (0.75, 0.05, 0.3, 0.5)


@dataclass
class Sides:
    """Pixels each side of a grid's row or column needs outside its axes."""

    left: list[float] = field(default_factory=list)
    right: list[float] = field(default_factory=list)
    top: list[float] = field(default_factory=list)
    bottom: list[float] = field(default_factory=list)


class MeasuredLayout(LayoutEngine):
    """Each axes' tight box measured once, the subplot margins set so that all of it fits.

    Constrained layout measures twice per drawing; the figures have fixed sizes and one grid,
    so one measurement near the final size is enough. Figure texts and legends keep their
    places: those in the upper half take room from the top, the others from the bottom."""

    # For figures of one grid of axes, with no colorbar, subfigure or supxlabel (the report's).
    _adjust_compatible = True
    _colorbar_gridspec = False

    def execute(self, fig: Figure) -> None:
        """Set the figure's subplot margins so that every label fits on the canvas."""
        width, height, pad = fig.bbox.width, fig.bbox.height, PAD * fig.dpi
        # As matplotlib's own layout engines: the renderer of whichever canvas is drawing.
        renderer = fig._get_renderer()  # type: ignore[attr-defined]
        above, below = _figure_texts(fig, renderer)
        left, right, top, bottom = (inches * fig.dpi for inches in GUESS)
        top, bottom = top + above, bottom + below
        fig.subplots_adjust(left / width, bottom / height, 1 - right / width, 1 - top / height)
        panels = [axes for axes in fig.axes if axes.axison or axes.get_title(loc="left")]
        spec = panels[0].get_subplotspec() if panels else None
        if spec is None:
            return
        rows, columns = spec.get_gridspec().get_geometry()
        sides = _sides(panels, renderer, rows, columns)
        left, right = sides.left[0] + pad, sides.right[-1] + pad
        top, bottom = sides.top[0] + pad + above, sides.bottom[-1] + pad + below
        across = pad + max(
            (sides.right[c] + sides.left[c + 1] for c in range(columns - 1)), default=0
        )
        down = pad + max((sides.bottom[r] + sides.top[r + 1] for r in range(rows - 1)), default=0)
        panel_width = (width - left - right - (columns - 1) * across) / columns
        panel_height = (height - top - bottom - (rows - 1) * down) / rows
        if panel_width <= 0 or panel_height <= 0:
            return  # labels larger than the canvas: keep the guess rather than no axes at all
        fig.subplots_adjust(
            left=left / width,
            right=1 - right / width,
            top=1 - top / height,
            bottom=bottom / height,
            wspace=across / panel_width,
            hspace=down / panel_height,
        )
        # Where each column's titles must end: before the next column's labels, or the edge.
        ends = [
            left + (c + 1) * (panel_width + across) - sides.left[c + 1] - pad
            for c in range(columns - 1)
        ]
        _fit_titles(panels, renderer, sides, [*ends, width - pad])


def _sides(panels: list[Axes], renderer: RendererBase, rows: int, columns: int) -> Sides:
    """How far each row's and column's labels reach beyond its axes, in pixels."""
    sides = Sides([0.0] * columns, [0.0] * columns, [0.0] * rows, [0.0] * rows)
    for axes in panels:
        spec = axes.get_subplotspec()
        # Without the titles' widths: _fit_titles places them once the axes have their size.
        tight = axes.get_tightbbox(renderer, for_layout_only=True)
        box = axes.get_window_extent(renderer)  # as drawn: get_tightbbox applied the aspect
        if spec is None or tight is None:
            continue
        row, column = spec.rowspan.start, spec.colspan.start
        last_row, last_column = spec.rowspan.stop - 1, spec.colspan.stop - 1
        sides.left[column] = max(sides.left[column], box.x0 - tight.x0)
        sides.right[last_column] = max(sides.right[last_column], tight.x1 - box.x1)
        sides.top[row] = max(sides.top[row], tight.y1 - box.y1)
        sides.bottom[last_row] = max(sides.bottom[last_row], box.y0 - tight.y0)
    return sides


def _fit_titles(
    panels: list[Axes], renderer: RendererBase, sides: Sides, ends: list[float]
) -> None:
    """Move a left title too long for its place to the left, over its axes' labels, to fit."""
    for axes in panels:
        title: Text = axes._left_title  # type: ignore[attr-defined]  # set_title(loc="left")'s
        spec = axes.get_subplotspec()
        if not title.get_text() or spec is None:
            continue
        column = spec.colspan.start
        axes.apply_aspect()  # the box as drawn: an image's axes keep their aspect ratio
        box, length = axes.get_window_extent(renderer), title.get_window_extent(renderer).width
        start = max(min(box.x0, ends[spec.colspan.stop - 1] - length), box.x0 - sides.left[column])
        title.set_x((start - box.x0) / box.width)


def _figure_texts(fig: Figure, renderer: RendererBase) -> tuple[float, float]:
    """Pixels the figure's own texts and legends need at the top and at the bottom."""
    above = below = 0.0
    for artist in [*fig.texts, *fig.legends]:
        if not artist.get_visible():
            continue
        box: Bbox = artist.get_window_extent(renderer)
        if box.y0 + box.y1 > fig.bbox.height:  # its middle in the upper half
            above = max(above, fig.bbox.height - box.y0)
        else:
            below = max(below, box.y1)
    return above, below
