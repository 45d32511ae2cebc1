"""study.png (curves per condition with 95% CI bands, drawn by service.figures) and
phase.png (final outcome over two numeric axes), matplotlib with the Agg backend."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from service.figures import save, study_figure


def plot_study(rows: list[dict[str, Any]], conditions: list[str], path: Path, title: str) -> Path:
    """study.png and study.svg, drawn by service.figures: per-round means over runs, one
    line per condition (in the order of `conditions`), with their 95% intervals over runs."""
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
    import numpy as np

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
    figure.colorbar(image, label=f"final {outcome}, whole population")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def phase_cells(
    population: dict[str, list[float]],
    labels: dict[str, dict[str, str]],
    values: dict[str, dict[str, Any]],
    x_axis: str,
    y_axis: str,
) -> dict[tuple[float, float], float]:
    """Mean of the population outcome per (x, y), pooled over the other axes."""
    pooled: dict[tuple[float, float], list[float]] = defaultdict(list)
    for condition, outcome in population.items():
        x = float(values[x_axis][labels[condition][x_axis]])
        y = float(values[y_axis][labels[condition][y_axis]])
        pooled[x, y] += outcome
    return {key: sum(v) / len(v) for key, v in pooled.items() if v}
