"""study.png (curves per condition with 95% CI bands over runs), effects.png (paired
differences with the baseline) and phase.png (final outcome over two numeric axes),
matplotlib with the Agg backend."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from service.study.comparisons import StudyStats

PANELS = (
    ("fact_retention", "share of facts retained"),
    ("length_words", "length (words)"),
    ("rare_word_retention", "rare words of the original kept"),
    ("euclidean", "embedding distance to the original"),
)
FALLBACK = ("type_token_ratio", "type-token ratio")
MIN_BAND_N = 3  # a t interval over 2 runs is too wide to draw


def plot_study(rows: list[dict[str, Any]], conditions: list[str], path: Path, title: str) -> Path:
    """Per-round means over runs (each run's mean over its model messages of the round), one
    line per condition, with their 95% CI bands where a round has at least MIN_BAND_N runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    measured = {r["metric"] for r in rows}
    panels = [p if p[0] in measured or p[0] != "euclidean" else FALLBACK for p in PANELS]
    figure, axes = plt.subplots(2, 2, figsize=(12, 8), sharex=True)
    for axis, (name, label) in zip(axes.flat, panels, strict=True):
        for condition in conditions:
            points = [
                r
                for r in rows
                if r["condition"] == condition and r["by"] == "round" and r["metric"] == name
            ]
            if not points:
                continue
            xs = [p["step"] for p in points]
            line = axis.plot(xs, [p["mean"] for p in points], linewidth=1.4, label=condition)
            banded = [p for p in points if p["n"] >= MIN_BAND_N]
            axis.fill_between(
                [p["step"] for p in banded],
                [p["ci_low"] for p in banded],
                [p["ci_high"] for p in banded],
                alpha=0.15,
                color=line[0].get_color(),
            )
        axis.set_title(label, fontsize=10)
        axis.grid(alpha=0.3)
    for axis in axes[1]:
        axis.set_xlabel("round")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8)
    figure.suptitle(title)
    figure.tight_layout(rect=(0, 0.04 + 0.025 * ((len(labels) + 2) // 3), 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


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
