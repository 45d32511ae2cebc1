"""Inference over replicates: one number per run in, per-condition means with t intervals
(kept inside [0, 1] for proportions), paired t tests against a baseline, Holm's correction,
the standardised effect d_z and the replicates needed for 80% power."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from service.measure.stats import LEVEL, Summary, summarize

ALPHA = 0.05
POWER = 0.8
MAX_REPLICATES = 1000  # the largest `replicates` a study accepts


def replicate_mean(values: Sequence[float], *, bounded: bool, level: float = LEVEL) -> Summary:
    """Mean, sd (ddof 1) and t interval of the mean over runs (`summarize` of the finite
    values). For a proportion (`bounded`) the interval is built on the logit scale (delta
    method: logit(m) +- t * se / (m (1 - m))) and transformed back, so it stays inside (0, 1);
    a mean of exactly 0 or 1 keeps the plain t interval clipped to [0, 1]. None where
    undefined (no runs; one run has no interval)."""
    plain = summarize([v for v in values if v is not None and math.isfinite(v)], level)
    if not bounded or plain.sd is None:
        return plain
    assert plain.mean is not None and plain.ci_low is not None and plain.ci_high is not None
    mean, se = plain.mean, plain.sd / math.sqrt(plain.n)
    if 0.0 < mean < 1.0 and se > 0:
        centre = math.log(mean / (1 - mean))
        half = float(stats.t.ppf((1 + level) / 2, plain.n - 1)) * se / (mean * (1 - mean))
        return replace(plain, ci_low=_expit(centre - half), ci_high=_expit(centre + half))
    return replace(plain, ci_low=max(0.0, plain.ci_low), ci_high=min(1.0, plain.ci_high))


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@dataclass(frozen=True)
class Paired:
    """treated - baseline over paired runs: mean difference with its t interval, the
    standardised difference d_z (mean / sd of the differences) and the two-sided p value of
    the paired t test."""

    n: int
    difference: float
    sd: float
    ci_low: float
    ci_high: float
    d_z: float
    p: float


def paired_test(
    treated: Sequence[float], baseline: Sequence[float], *, level: float = LEVEL
) -> Paired | None:
    """Paired t test of treated[i] - baseline[i]; None with fewer than 2 pairs. Differences
    without any spread: p = 1 when they are all 0, else p = 0 (d_z infinite)."""
    a = np.asarray(treated, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} and {len(b)}")
    n = len(a)
    if n < 2:
        return None
    d = a - b
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    if sd == 0.0 or not math.isfinite(sd):
        if mean == 0.0:
            return Paired(n, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
        return Paired(n, mean, 0.0, mean, mean, math.copysign(math.inf, mean), 0.0)
    se = sd / math.sqrt(n)
    t = float(stats.t.ppf((1 + level) / 2, n - 1))
    p = float(2 * stats.t.sf(abs(mean / se), n - 1))
    return Paired(n, mean, sd, mean - t * se, mean + t * se, mean / sd, p)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p values, in the order given (family-wise error control)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def paired_power(d_z: float, n: int, alpha: float) -> float:
    """Power of the two-sided paired t test with n pairs at standardised effect d_z
    (noncentral t with n - 1 degrees of freedom and noncentrality d_z * sqrt(n))."""
    df = n - 1
    critical = float(stats.t.ppf(1 - alpha / 2, df))
    ncp = abs(d_z) * math.sqrt(n)
    power = float(stats.nct.sf(critical, df, ncp) + stats.nct.cdf(-critical, df, ncp))
    if math.isfinite(power):
        return power
    # scipy's noncentral t can return nan far in its tail; there the normal approximation
    # P(T > c) = Phi((ncp - c) / sqrt(1 + c^2 / (2 df))) is accurate to well below 0.01
    spread = math.sqrt(1 + critical**2 / (2 * df))
    upper = float(stats.norm.cdf((ncp - critical) / spread))
    lower = float(stats.norm.cdf((-critical - ncp) / spread))
    return upper + lower


def replicates_needed(
    d_z: float, *, alpha: float = ALPHA, power: float = POWER, cap: int = MAX_REPLICATES
) -> int | None:
    """The fewest paired replicates (>= 2) for which the paired t test reaches `power` at
    the observed d_z; None when no n up to `cap` does (not detectable in any feasible n)."""
    if d_z == 0 or not math.isfinite(d_z):
        return None if d_z == 0 else 2

    def enough(n: int) -> bool:
        return paired_power(d_z, n, alpha) >= power

    high = 2
    while not enough(high):  # doubling keeps the noncentrality moderate (nct stays exact)
        if high >= cap:
            return None
        high = min(cap, high * 2)
    low = max(2, high // 2)
    while low < high:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle + 1
    return low
