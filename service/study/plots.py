"""study.png (curves per condition with 95% CI bands over runs, drawn by service.figures),
effects.png (paired differences with the baseline) and phase.png (final outcome over two
numeric axes), matplotlib with the Agg backend."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from service.figures import save, study_figure
from service.study.comparisons import StudyStats


def plot_study(rows: list[dict[str, Any]], conditions: list[str], path: Path, title: str) -> Path:
    """study.png and study.svg, drawn by service.figures: per-round means over runs (each
    run's mean over its model messages of the round), one line per condition (in the order of
    `conditions`), with their 95% intervals over runs."""
    present = {row["condition"] for row in rows}
    drawn = [condition for condition in conditions if condition in present]
    figure = study_figure(rows, title=title, x="round", conditions=drawn or None)
    return save(figure, path)[0]


def numeric_axes(axes: dict[str, dict[str, Any]]) -> list[str]:
    """Grid axes whose values are all numbers and that have at least two of them."""
    return [
        name
        for name, values in axes.items()
        if len(values) > 1
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values.values())
    ]


def plot_phase(
    cells: dict[tuple[float, float], float], x_axis: str, y_axis: str, outcome: str, path: Path
) -> Path:
    """Heatmap of the mean final outcome over two numeric axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = sorted({x for x, _ in cells})
    ys = sorted({y for _, y in cells})
    grid = np.full((len(ys), len(xs)), np.nan)
    for (x, y), value in cells.items():
        grid[ys.index(y), xs.index(x)] = value
    figure, axis = plt.subplots(figsize=(7, 5.5))
    image = axis.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    axis.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
    axis.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
    axis.set_xlabel(x_axis)
    axis.set_ylabel(y_axis)
    for (row, col), value in np.ndenumerate(grid):
        if not np.isnan(value):
            axis.text(col, row, f"{value:.3f}", ha="center", va="center", fontsize=7, color="w")
    figure.colorbar(image, label=f"final {outcome}, whole population, mean over runs")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def phase_cells(
    population: dict[str, float],
    labels: dict[str, dict[str, str]],
    values: dict[str, dict[str, Any]],
    x_axis: str,
    y_axis: str,
) -> dict[tuple[float, float], float]:
    """Mean of the conditions' population outcomes (each a mean over runs) per (x, y),
    averaged over the other axes."""
    pooled: dict[tuple[float, float], list[float]] = defaultdict(list)
    for condition, outcome in population.items():
        x = float(values[x_axis][labels[condition][x_axis]])
        y = float(values[y_axis][labels[condition][y_axis]])
        pooled[x, y].append(outcome)
    return {key: sum(v) / len(v) for key, v in pooled.items() if v}


def plot_effects(stats: StudyStats, path: Path) -> Path:
    """effects.png: each paired difference with the baseline and its 95% interval, one panel
    per compared measure; supported effects (Holm) filled, the others hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measures = list(dict.fromkeys(c.measure for c in stats.comparisons))
    rows = max(1, len({c.condition for c in stats.comparisons}))
    figure, axes = plt.subplots(
        1, max(1, len(measures)), figsize=(5 * max(1, len(measures)), 1.2 + 0.35 * rows)
    )
    for axis, measure in zip(np.atleast_1d(axes), measures, strict=False):
        shown = [c for c in stats.comparisons if c.measure == measure and c.test is not None]
        for y, comparison in enumerate(shown):
            test = comparison.test
            assert test is not None
            axis.plot([test.ci_low, test.ci_high], [y, y], color="C0", linewidth=1.4)
            axis.plot(
                [test.difference],
                [y],
                "o",
                color="C0",
                markerfacecolor="C0" if comparison.supported else "white",
            )
        axis.axvline(0, color="grey", linewidth=0.8)
        axis.set_yticks(range(len(shown)), [c.condition for c in shown], fontsize=7)
        axis.invert_yaxis()
        axis.set_title(f"{measure}: difference to baseline (n = runs)", fontsize=9)
        axis.grid(alpha=0.3, axis="x")
    figure.suptitle("paired differences, 95% CI; filled: supported after Holm", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
