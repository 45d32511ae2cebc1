"""A run's drift figure (drift.png and drift.svg), drawn by service.figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.figures import drift_figure, image_bytes, save


def plot_drift(rows: list[dict[str, Any]], path: Path, title: str) -> list[Path]:
    """The drift figure written to `path` (PNG at 300 dpi) and beside it as SVG; nothing
    when no message was measured."""
    if not rows:
        return []
    return save(drift_figure(rows, title=title), path)


def render_drift(rows: list[dict[str, Any]], title: str, image_format: str) -> bytes:
    """The drift figure as `image_format` (png, svg) bytes. Blocking, but safe in a worker
    thread: the figure is drawn on its own Agg canvas, never through pyplot's shared state."""
    return image_bytes(drift_figure(rows, title=title), image_format)
