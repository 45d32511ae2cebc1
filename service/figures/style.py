"""The look every figure shares: the Okabe-Ito palette (safe for colour-blind readers),
line styles beyond eight series, font sizes, and the panel grid. Set per artist, never through
matplotlib's global rcParams, so figures can be drawn in worker threads."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow (last: weak on white)
)
LINE_STYLES = ("-", "--", ":", "-.")
BAND_ALPHA = 0.15
FONT = 8.5
PANEL_SIZE = (3.6, 2.6)  # inches per panel
CAPTION_LINE = 0.15  # inches per caption line
LEGEND_ROW = 0.22  # inches per legend row
AXIS_LABELS = 0.6  # inches below a panel for its tick labels and x label


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def line_style(index: int) -> str:
    """Solid for the first eight series, then dashed, dotted...: colours repeat only with
    another dash pattern."""
    return LINE_STYLES[(index // len(PALETTE)) % len(LINE_STYLES)]


def panel_figure(panels: int, footer: float) -> tuple[Figure, list[Axes]]:
    """A figure with exactly `panels` axes (two per row; an odd last one is centred, no empty
    cell) and `footer` inches below them for legend and caption."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = 1 if panels == 1 else 2
    rows = math.ceil(panels / columns)
    width = PANEL_SIZE[0] * columns
    height = PANEL_SIZE[1] * rows + footer + AXIS_LABELS + 0.2
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(rows, columns * 2)
    axes = []
    for index in range(panels):
        row, column = divmod(index, columns)
        alone = index == panels - 1 and panels % columns
        span = slice(1, 3) if alone and columns == 2 else slice(column * 2, column * 2 + 2)
        axes.append(figure.add_subplot(grid[row, span]))
    figure.subplots_adjust(
        left=0.1 if columns == 2 else 0.17,
        right=0.97,
        top=1 - 0.62 / height,
        bottom=(footer + AXIS_LABELS) / height,
        hspace=0.55,
        wspace=0.9,
    )
    for axis in axes:
        style_axis(axis)
    return figure, axes


def style_axis(axis: Axes) -> None:
    axis.spines[["top", "right"]].set_visible(False)
    axis.grid(alpha=0.25, linewidth=0.6)
    axis.tick_params(labelsize=FONT - 1)
