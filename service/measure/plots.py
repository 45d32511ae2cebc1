"""Drift curves against generation, as PNG (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PANELS = (
    ("euclidean", "embedding distance to the original (Euclidean)"),
    ("length_words", "length (words)"),
    ("unique_words", "unique words"),
    ("fact_retention", "share of facts retained"),
)


def plot_drift(rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    """Four panels of per-generation means; a metric never measured shows as 'not measured'."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for axis, (metric, label) in zip(axes.flat, PANELS, strict=True):
        points = [(r["generation"], r[metric]) for r in rows if r.get(metric) is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            axis.plot(xs, ys, marker="o", markersize=3, linewidth=1.5)
        else:
            axis.text(
                0.5,
                0.5,
                "not measured",
                ha="center",
                va="center",
                transform=axis.transAxes,
                color="grey",
            )
        axis.set_title(label, fontsize=10)
        axis.grid(alpha=0.3)
    for axis in axes[1]:
        axis.set_xlabel("generation")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
