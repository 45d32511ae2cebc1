"""Fitting the channel: a grid search over a few global parameters, then Nelder-Mead from the
best point, minimising the distance between real and synthetic mean curves per generation."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from agents.channel import Channel
from agents.persona import Persona
from service.calibrate.curves import Chain, mean_curves
from service.calibrate.simulate import simulate
from service.experiment.spec import Source

# The fitted parameters, their grids and bounds (the rest of the channel stays as given).
GRID: dict[str, tuple[float, ...]] = {
    "drop_scale": (0.5, 1.0, 1.5, 2.0, 3.0),
    "settled_change": (0.0, 0.1, 0.2, 0.4, 1.0),
    "target_scale": (0.5, 0.75, 1.0, 1.25),
}
BOUNDS: dict[str, tuple[float, float]] = {
    "drop_scale": (0.05, 5.0),
    "settled_change": (0.0, 1.0),
    "target_scale": (0.2, 5.0),
}
FITTED_METRICS = ("fact_retention", "length_ratio")
"""Fitted on every candidate; the embedding distance, when measured, picks among the best."""


@dataclass(frozen=True)
class FitSettings:
    generations: int
    replicates: int = 3
    seed: int = 0
    grid: tuple[tuple[str, tuple[float, ...]], ...] = tuple(GRID.items())
    refine_evaluations: int = 40


@dataclass(frozen=True)
class Candidate:
    channel: Channel
    error: float  # sum over the fitted metrics of the RMSE per generation


def rmse(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Root mean squared difference over the generations after the source both measured."""
    both = ~np.isnan(real[1:]) & ~np.isnan(synthetic[1:])
    if not both.any():
        return float("nan")
    return float(np.sqrt(np.mean((real[1:][both] - synthetic[1:][both]) ** 2)))


def curve_error(
    real: dict[str, np.ndarray], synthetic: dict[str, np.ndarray], metrics: Sequence[str]
) -> float:
    """Sum of the metrics' RMSEs (a metric either side did not measure counts 0)."""
    errors = [rmse(real[m], synthetic[m]) for m in metrics]
    return float(sum(e for e in errors if not np.isnan(e)))


def fit_evaluations(settings: FitSettings) -> int:
    """Simulations a fit runs: every grid point, the refinement's budget and its end point
    (Nelder-Mead may overrun its budget by a few)."""
    grid = len(list(itertools.product(*(values for _, values in settings.grid))))
    return grid + (settings.refine_evaluations + 1 if settings.refine_evaluations else 0)


def fit(
    real_chains: list[Chain],
    sources: dict[str, Source],
    personas: Sequence[Persona],
    base: Channel,
    settings: FitSettings,
    on_progress: Callable[[int], None] | None = None,
) -> list[Candidate]:
    """Candidates best first: every grid point, then the Nelder-Mead refinement of the best;
    `on_progress` is told of each evaluation (about fit_evaluations of them)."""
    real = mean_curves(real_chains, settings.generations)
    names = [name for name, _ in settings.grid]

    def evaluate(values: Sequence[float]) -> Candidate:
        channel = with_values(base, dict(zip(names, values, strict=True)))
        chains, _ = simulate(
            channel, sources, personas, settings.generations, settings.replicates, settings.seed
        )
        synthetic = mean_curves(chains, settings.generations)
        if on_progress is not None:
            on_progress(1)
        return Candidate(channel, curve_error(real, synthetic, FITTED_METRICS))

    points = list(itertools.product(*(values for _, values in settings.grid)))
    candidates = []
    for point in points:
        candidates.append(evaluate(point))
    candidates.sort(key=lambda c: c.error)
    if settings.refine_evaluations:
        candidates.append(_refine(candidates[0], names, evaluate, settings.refine_evaluations))
        candidates.sort(key=lambda c: c.error)
    return candidates


def _refine(
    best: Candidate,
    names: list[str],
    evaluate: Callable[[Sequence[float]], Candidate],
    evaluations: int,
) -> Candidate:
    """Nelder-Mead from the best grid point within the parameters' bounds (the simulation is
    seeded, so the error is a deterministic, if stepwise, function of the parameters)."""
    start = [getattr(best.channel, name) for name in names]
    result = minimize(
        lambda x: evaluate(x).error,
        start,
        method="Nelder-Mead",
        bounds=[BOUNDS[name] for name in names],
        options={"maxfev": evaluations, "initial_simplex": _simplex(start, names)},
    )
    refined = evaluate(result.x)
    return refined if refined.error < best.error else best


def _simplex(start: list[float], names: list[str]) -> np.ndarray:
    """A first simplex a quarter of each parameter's range wide (steps smaller than the
    grid's are lost in the simulation's noise)."""
    points = [list(start)]
    for i, name in enumerate(names):
        low, high = BOUNDS[name]
        point = list(start)
        step = (high - low) / 4
        point[i] = point[i] + step if point[i] + step <= high else point[i] - step
        points.append(point)
    return np.array(points)


def with_values(channel: Channel, values: dict[str, float]) -> Channel:
    """`channel` with `values`, validated (and rounded to 3 decimals: no false precision)."""
    fields = channel.model_dump()
    fields.update({name: round(float(value), 3) for name, value in values.items()})
    return Channel.model_validate(fields)
