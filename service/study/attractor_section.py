"""The attractor section of summary.md: one row per group and metric, with bootstrap
intervals over chains, and no attractor where |slope| >= 1."""

from __future__ import annotations

from service.measure.attractor import Attractor, Interval
from service.study.tables import AttractorRow

EXPLANATION = (
    "Final value regressed on the source text's value across chains, one point per run "
    "(Perez et al. 2024): with |slope| < 1 the chains are pulled towards an attractor of "
    "strength 1 - |slope| (1: every chain ends at the same value) at position intercept / "
    "(1 - slope); with |slope| >= 1 there is none. Brackets: 95% percentile bootstrap "
    "intervals over chains (shown from 3 chains on); *attracting* is the share of resamples "
    "with |slope| < 1, and a position interval is given only when at least 95% of them "
    "attract."
)


def _with_interval(value: float, interval: Interval | None) -> str:
    if interval is None:
        return f"{value:.3f}"
    return f"{value:.3f} [{interval.low:.3f}, {interval.high:.3f}]"


def _cells(fit: Attractor) -> str:
    attracting = "-" if fit.attracting_share is None else f"{fit.attracting_share:.0%}"
    if fit.strength is None or fit.position is None:
        return (
            f"{_with_interval(fit.slope, fit.slope_ci)} | none (\\|slope\\| >= 1) | - "
            f"| {attracting}"
        )
    return (
        f"{_with_interval(fit.slope, fit.slope_ci)} "
        f"| {_with_interval(fit.strength, fit.strength_ci)} "
        f"| {_with_interval(fit.position, fit.position_ci)} | {attracting}"
    )


def attractor_section(rows: list[AttractorRow]) -> list[str]:
    """The lines of the `## Attractors` section."""
    lines = ["## Attractors", ""]
    fitted = [(row, row.fit) for row in rows if row.fit is not None]
    if not fitted:
        return [
            *lines,
            "No attractor fit: it needs chains that start from different texts "
            "(`source_variants` in the study).",
        ]
    lines += [
        "| group | metric | chains | slope | strength | position | attracting |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {row.group} | {row.metric} | {fit.n} | {_cells(fit)} |" for row, fit in fitted]
    return [*lines, "", EXPLANATION]
