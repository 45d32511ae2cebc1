"""Drift curves against generation, as PNG or SVG (matplotlib, Agg backend)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

PANELS = (
    ("euclidean", "embedding distance to the original (Euclidean)"),
    ("length_words", "length (words)"),
    ("unique_words", "unique words"),
    ("fact_retention", "share of facts retained"),
)


def plot_drift(rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    """The drift plot written to `path` as PNG."""
    path.write_bytes(render_drift(rows, title, "png"))
    return path


def render_drift(rows: list[dict[str, Any]], title: str, image_format: str) -> bytes:
    """Four panels of per-generation means, as `image_format` (png, svg) bytes; a metric never
    measured shows as 'not measured'. Blocking, but safe in a worker thread: the figure is
    drawn on its own Agg canvas, never through pyplot's shared state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 7))
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 2, sharex=True)
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
    image = io.BytesIO()
    figure.savefig(image, format=image_format, dpi=110)
    return image.getvalue()
