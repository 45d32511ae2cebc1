"""Attractors (Perez et al. 2024): where repeated retelling pulls a scalar metric.

Across chains that start from different texts, regress each chain's final value of an
absolute metric (length, type-token ratio) on its initial value: final = a + b * initial.
With |b| < 1 the fitted map contracts towards one value: an attractor of strength 1 - |b|
(1: every chain ends at the same value) at position a / (1 - b), where the fitted line
crosses final = initial. With |b| >= 1 nothing is attracted and no attractor is reported.
The intervals are percentile bootstrap intervals over chains (pairs resampled together)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Attractor:
    """A fit over `n` chains; strength and position are None without an attractor
    (|slope| >= 1). Intervals are None when fewer than 3 chains or too few resamples allow
    one; `attracting_share` is the share of resamples with |slope| < 1, and the position's
    interval is given only when at least `level` of them attract."""

    slope: float
    intercept: float
    strength: float | None
    position: float | None
    n: int
    slope_ci: Interval | None = None
    strength_ci: Interval | None = None
    position_ci: Interval | None = None
    attracting_share: float | None = None

    @property
    def attracting(self) -> bool:
        return self.strength is not None


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slopes and intercepts along the last axis (NaN without spread in x)."""
    mx, my = x.mean(axis=-1, keepdims=True), y.mean(axis=-1, keepdims=True)
    sxx = ((x - mx) ** 2).sum(axis=-1)
    sxy = ((x - mx) * (y - my)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), np.nan)
    return slope, my[..., 0] - slope * mx[..., 0]


def _percentiles(values: np.ndarray, level: float) -> Interval | None:
    if len(values) == 0:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(low), float(high))


def attractor(
    initial: Sequence[float],
    final: Sequence[float],
    *,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Attractor | None:
    """Least-squares fit of final on initial, with bootstrap intervals over chains; None with
    fewer than two distinct initial values (no slope to fit)."""
    x = np.asarray(initial, dtype=np.float64)
    y = np.asarray(final, dtype=np.float64)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} initial values but {len(y)} final values")
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    slopes, intercepts = _fit(x, y)
    slope, intercept = float(slopes), float(intercepts)
    attracts = abs(slope) < 1 and not np.isclose(abs(slope), 1.0)
    fit = Attractor(
        slope,
        intercept,
        1 - abs(slope) if attracts else None,
        intercept / (1 - slope) if attracts else None,
        len(x),
    )
    if len(x) < 3:
        return fit
    rows = np.random.default_rng(seed).integers(0, len(x), size=(resamples, len(x)))
    b, a = _fit(x[rows], y[rows])
    fitted = ~np.isnan(b)
    if fitted.sum() < resamples / 2:
        return fit
    b, a = b[fitted], a[fitted]
    inside = np.abs(b) < 1
    share = float(inside.mean())
    position_ci = _percentiles(a[inside] / (1 - b[inside]), level) if share >= level else None
    return Attractor(
        fit.slope,
        fit.intercept,
        fit.strength,
        fit.position,
        fit.n,
        _percentiles(b, level),
        _percentiles(1 - np.abs(b), level),
        position_ci,
        share,
    )
