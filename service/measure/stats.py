"""Summary statistics with honest uncertainty: mean, sd, t-based 95% CI, bootstrap CI of a
difference in means."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None


def summarize(values: Sequence[float], level: float = LEVEL) -> Summary:
    """Mean, sample sd (ddof 1) and the t-based CI of the mean; None where undefined
    (no values; a single value has no sd or CI)."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = float(x.mean())
    if n == 1:
        return Summary(1, mean, None, None, None)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * sd / math.sqrt(n)
    return Summary(n, mean, sd, mean - half, mean + half)


@dataclass(frozen=True)
class Difference:
    estimate: float
    ci_low: float
    ci_high: float


def bootstrap_difference(
    treated: Sequence[float],
    baseline: Sequence[float],
    *,
    level: float = LEVEL,
    resamples: int = 2000,
    seed: int = 0,
) -> Difference | None:
    """mean(treated) - mean(baseline) with a BCa bootstrap CI (each sample resampled on its
    own, scipy.stats.bootstrap); None when either sample has fewer than 2 values. A sample
    without any spread falls back to the percentile method (BCa is undefined there)."""
    a = np.asarray(treated, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        return None

    def difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    estimate = float(a.mean() - b.mean())
    method = "BCa" if np.ptp(a) > 0 and np.ptp(b) > 0 else "percentile"
    result = stats.bootstrap(
        (a, b),
        difference,
        confidence_level=level,
        n_resamples=resamples,
        method=method,
        random_state=np.random.default_rng(seed),
        vectorized=True,
    )
    low, high = result.confidence_interval
    if not (np.isfinite(low) and np.isfinite(high)):
        low = high = estimate
    return Difference(estimate, float(low), float(high))
