"""A run's drift figure: per-generation (or per-round) means over its messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from service.figures.choice import metrics_shown
from service.figures.curves import Point, Series, draw_panel
from service.figures.layout import finish, framed

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RUN_DEFAULTS = (
    "euclidean",
    "fact_retention",
    "length_words",
    "unique_words",
    "rare_word_retention",
    "type_token_ratio",
)


def drift_figure(
    rows: Sequence[dict[str, Any]],
    *,
    title: str,
    x: str = "generation",
    metrics: Sequence[str] | None = None,
) -> Figure:
    """Means of a run's messages by `x` (rows of drift.csv for generation, of
    drift_by_round.csv for round), one panel per measured metric. No interval: a run is one
    observation; the caption says so and names n."""
    measured = [m for row in rows for m, v in row.items() if v is not None]
    shown = metrics_shown(measured, metrics, RUN_DEFAULTS)
    counts = [int(row["n"]) for row in rows if row.get("n")]
    n = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
    caption = (
        f"One run: each point is the mean over the messages of that {x} (n = {n} messages "
        "per point). A run is one observation, so no interval is drawn; intervals come from "
        "replicate runs (driftlab study)."
    )
    figure, axes, caption = framed(len(shown), 1, caption)
    for axis, metric in zip(axes, shown, strict=True):
        points = [
            Point(int(row[x]), float(row[metric]), int(row["n"]))
            for row in rows
            if row.get(metric) is not None and row.get(x) is not None
        ]
        draw_panel(axis, metric, x, [Series("run", 0, points)])
    finish(figure, title, [], caption)
    return figure
