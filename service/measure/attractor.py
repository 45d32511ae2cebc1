"""Attractors (Perez et al. 2024): where repeated retelling pulls a scalar metric.

Across chains that start from different texts, regress each chain's final value of an
absolute metric (length, type-token ratio) on its initial value: final = a + b * initial.
With b = 1 nothing is attracted; with b = 0 every chain ends at the same value.
strength = 1 - |b|, position = a / (1 - b) (the fixed point of the fitted map)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Attractor:
    slope: float
    intercept: float
    strength: float
    position: float | None
    n: int


def attractor(initial: Sequence[float], final: Sequence[float]) -> Attractor | None:
    """Least-squares fit of final on initial; None with fewer than two distinct initial
    values (no slope to fit). position is None when the slope is 1 (no fixed point)."""
    x = np.asarray(initial, dtype=np.float64)
    y = np.asarray(final, dtype=np.float64)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} initial values but {len(y)} final values")
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    position = float(intercept / (1 - slope)) if not np.isclose(slope, 1.0) else None
    return Attractor(float(slope), float(intercept), 1 - abs(float(slope)), position, len(x))
