"""A study's figure: one line per condition (mean over runs), its 95% interval over runs as a
band (from study.csv, the honest-statistics curves)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from service.figures.choice import conditions_shown, metrics_shown
from service.figures.curves import Point, Series, draw_panel
from service.figures.layout import finish, framed

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

STUDY_DEFAULTS = (
    "fact_retention",
    "length_words",
    "rare_word_retention",
    "euclidean",
    "type_token_ratio",
)
MIN_BAND_N = 3  # a t interval over 2 runs is too wide to say much: no band


def study_figure(
    rows: Sequence[dict[str, Any]],
    *,
    title: str,
    x: str = "round",
    metrics: Sequence[str] | None = None,
    conditions: Sequence[str] | None = None,
) -> Figure:
    """Per-`x` curves of study.csv rows (condition, by, step, metric, n, mean, ci_low,
    ci_high), one panel per metric, one line per condition."""
    along = [row for row in rows if row["by"] == x and row.get("mean") is not None]
    present = list(dict.fromkeys(row["condition"] for row in rows))
    chosen = conditions_shown(present, conditions)
    along = [row for row in along if row["condition"] in chosen]
    shown = metrics_shown((row["metric"] for row in along), metrics, STUDY_DEFAULTS)
    drawn_rows = [row for row in along if row["metric"] in shown]
    runs = sorted({int(row["n"]) for row in drawn_rows})
    n = f"{runs[0]}" if runs[0] == runs[-1] else f"{runs[0]}-{runs[-1]}"
    caption = (
        f"Lines: mean over runs, each run's value being its mean over its messages of that {x} "
        f"(n = {n} runs per point). Bands: 95% t interval over runs (logit scale for shares, "
        f"so inside [0, 1]), drawn where n >= {MIN_BAND_N}. Breaks: no data at that {x}."
    )
    figure, axes, caption = framed(len(shown), len(chosen), caption)
    drawn: list[Line2D] = []
    for axis, metric in zip(axes, shown, strict=True):
        series = [Series(c, i) for i, c in enumerate(chosen)]
        by_condition = {s.label: s for s in series}
        for row in drawn_rows:
            if row["metric"] == metric:
                banded = int(row["n"]) >= MIN_BAND_N
                by_condition[row["condition"]].points.append(
                    Point(
                        int(row["step"]),
                        float(row["mean"]),
                        int(row["n"]),
                        row.get("ci_low") if banded else None,
                        row.get("ci_high") if banded else None,
                    )
                )
        drawn += draw_panel(axis, metric, x, series)
    finish(figure, title, drawn, caption)
    return figure
