"""Which metrics and conditions a figure shows: asked-for names checked against what the data
holds (a clear error naming the valid ones), defaults limited to what was measured."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from service.errors import BadInput
from service.figures.units import plottable

MAX_DEFAULT_PANELS = 4


def metrics_shown(
    measured: Iterable[str], asked: Sequence[str] | None, defaults: Sequence[str]
) -> list[str]:
    """`asked` if each was measured, else the defaults that were measured (at most four);
    never a panel without data."""
    available = [m for m in dict.fromkeys(measured) if plottable(m)]
    if asked:
        unknown = [m for m in asked if m not in available]
        if unknown:
            raise BadInput(
                f"no data for metric {', '.join(map(repr, unknown))} here; "
                f"measured: {', '.join(available) or 'none'}"
            )
        return list(dict.fromkeys(asked))
    shown = [m for m in defaults if m in available][:MAX_DEFAULT_PANELS]
    if not shown:
        raise BadInput(f"nothing to plot: no measured metric among {', '.join(defaults)}")
    return shown


def conditions_shown(present: Sequence[str], asked: Sequence[str] | None) -> list[str]:
    """`asked` (in the study's order) if each is a condition of the study, else them all."""
    if not asked:
        return list(present)
    unknown = [c for c in asked if c not in present]
    if unknown:
        raise BadInput(
            f"no condition {', '.join(map(repr, unknown))} in this study; "
            f"its conditions: {', '.join(present)}"
        )
    return [c for c in present if c in asked]
