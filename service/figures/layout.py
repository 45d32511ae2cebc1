"""A figure's frame around its panels: title, one legend for what is drawn, a caption."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING

from service.figures.style import CAPTION_LINE, FONT, LEGEND_ROW, PANEL_SIZE, panel_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

LEGEND_COLUMNS = 3
MARGIN = 0.1  # inches below the caption and between caption and legend
CHARS_PER_INCH = 17  # caption characters per inch of width at the caption's font size
TITLE_EM_PER_CHAR = 0.6  # a title character's width, in ems (DejaVu Sans, mixed text)


def framed(panels: int, legend_entries: int, caption: str) -> tuple[Figure, list[Axes], str]:
    """A figure with `panels` axes and room for a legend of `legend_entries` and the
    caption (returned wrapped to the figure's width)."""
    columns = 1 if panels == 1 else 2
    width = PANEL_SIZE[0] * columns
    wrapped = textwrap.fill(caption, width=int(width * CHARS_PER_INCH))
    legend_rows = math.ceil(legend_entries / LEGEND_COLUMNS) if legend_entries > 1 else 0
    footer = MARGIN * 2 + LEGEND_ROW * legend_rows + CAPTION_LINE * (wrapped.count("\n") + 1)
    figure, axes = panel_figure(panels, footer)
    return figure, axes, wrapped


def title_size(title: str, width: float) -> float:
    """The title's font size: the usual one, smaller when the title would not fit `width`
    inches (a long run id over one panel), down to the caption's."""
    fitting = width * 0.95 * 72 / (TITLE_EM_PER_CHAR * max(len(title), 1))
    return max(FONT - 0.5, min(FONT + 2, fitting))


def finish(figure: Figure, title: str, drawn: list[Line2D], caption: str) -> None:
    """Title on top; below the panels a legend of the series actually drawn (none for a
    single series) and the caption."""
    figure.suptitle(title, fontsize=title_size(title, figure.get_figwidth()))
    height = figure.get_figheight()
    caption_lines = caption.count("\n") + 1
    figure.text(
        0.01,
        MARGIN / height,
        caption,
        fontsize=FONT - 0.5,
        va="bottom",
        ha="left",
        color="#333333",
        gid="caption",
    )
    by_label = {str(line.get_label()): line for line in drawn}
    if len(by_label) > 1:
        figure.legend(
            list(by_label.values()),
            list(by_label),
            loc="lower center",
            bbox_to_anchor=(0.5, (MARGIN * 2 + CAPTION_LINE * caption_lines) / height),
            borderaxespad=0,
            ncol=min(LEGEND_COLUMNS, len(by_label)),
            fontsize=FONT,
            frameon=False,
        )
