"""Curves on one panel: a mean line per series, broken where a step has no data, with its
interval band (if any) clipped to the metric's valid range."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from service.figures.style import BAND_ALPHA, FONT, colour, line_style
from service.figures.units import X_LABELS, info

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

BAND_PREFIX = "band:"  # the gid of a band: "band:<series label>"


@dataclass(frozen=True)
class Point:
    """One step of a series: the mean and, where there is one, its interval; n is what the
    mean is over (runs in a study, messages in one run)."""

    step: int
    mean: float
    n: int
    low: float | None = None
    high: float | None = None


@dataclass
class Series:
    label: str
    index: int  # its place in the palette, the same in every panel
    points: list[Point] = field(default_factory=list)


def with_gaps(points: list[Point]) -> tuple[list[float], list[float]]:
    """xs and means, a NaN between two steps that are not neighbours, so the line breaks
    where data is missing instead of bridging it."""
    xs: list[float] = []
    ys: list[float] = []
    for point in sorted(points, key=lambda p: p.step):
        if xs and point.step - xs[-1] > 1:
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(point.step)
        ys.append(point.mean)
    return xs, ys


def draw_panel(axis: Axes, metric: str, x: str, series: list[Series]) -> list[Line2D]:
    """Draw every series with points on `axis`; returns the lines drawn (for the legend)."""
    from matplotlib.ticker import MaxNLocator

    meta = info(metric)
    drawn = []
    for one in series:
        if not one.points:
            continue
        xs, ys = with_gaps(one.points)
        single = len(one.points) == 1
        (line,) = axis.plot(
            xs,
            ys,
            color=colour(one.index),
            linestyle=line_style(one.index),
            linewidth=1.4,
            marker="o" if single or len(one.points) <= 12 else None,
            markersize=2.5,
            label=one.label,
        )
        drawn.append(line)
        banded = [p for p in one.points if p.low is not None and p.high is not None]
        if banded:
            _band(axis, one, banded, meta.low, meta.high)
    axis.set_title(meta.title, fontsize=FONT + 0.5)
    axis.set_ylabel(meta.unit, fontsize=FONT)
    axis.set_xlabel(X_LABELS[x], fontsize=FONT)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_gid(metric)
    if meta.high == 1.0:
        axis.set_ylim(-0.03, 1.03)
    elif meta.low == 0.0:
        axis.set_ylim(bottom=0)
    return drawn


def _band(axis: Axes, one: Series, banded: list[Point], low: float, high: float) -> None:
    """The interval as a band, one polygon per run of neighbouring steps (no band across a
    gap), its edges clipped to [low, high]."""
    segment: list[Point] = []
    for point in sorted(banded, key=lambda p: p.step):
        if segment and point.step - segment[-1].step > 1:
            _fill(axis, one, segment, low, high)
            segment = []
        segment.append(point)
    _fill(axis, one, segment, low, high)


def _fill(axis: Axes, one: Series, segment: list[Point], low: float, high: float) -> None:
    lows = [min(max(p.low, low), high) for p in segment if p.low is not None]
    highs = [min(max(p.high, low), high) for p in segment if p.high is not None]
    steps = [p.step for p in segment]
    if len(steps) == 1:  # a lone step: a vertical bar, a band would have no width
        axis.vlines(
            steps,
            lows,
            highs,
            color=colour(one.index),
            linewidth=1.2,
            gid=f"{BAND_PREFIX}{one.label}",
        )
        return
    axis.fill_between(
        steps,
        lows,
        highs,
        color=colour(one.index),
        alpha=BAND_ALPHA,
        linewidth=0,
        gid=f"{BAND_PREFIX}{one.label}",
    )
