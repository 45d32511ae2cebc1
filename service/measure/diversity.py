"""Diversity among the messages of one round, from the spread of their embeddings.

Mean pairwise distances are computed through the variance identity, in O(n d) rather than
over all n^2 pairs: for vectors x_1..x_n with centroid m,
sum over pairs i<j of |x_i - x_j|^2 = n * sum_i |x_i - m|^2."""

from __future__ import annotations

import numpy as np


def mean_pairwise_sq_euclidean(vectors: np.ndarray) -> float:
    """Mean squared Euclidean distance over all unordered pairs; 0 for fewer than 2."""
    x = np.asarray(vectors, dtype=np.float64)
    n = len(x)
    if n < 2:
        return 0.0
    spread = float(np.sum((x - x.mean(axis=0)) ** 2))
    return 2.0 * spread / (n - 1)


def rms_pairwise_euclidean(vectors: np.ndarray) -> float:
    """Root mean squared Euclidean distance over all pairs (the identity gives the mean of
    squares exactly; the mean of plain distances has no such shortcut)."""
    return float(np.sqrt(mean_pairwise_sq_euclidean(vectors)))


def mean_pairwise_cosine(vectors: np.ndarray) -> float:
    """Mean cosine distance over all pairs, exactly: for unit vectors 1 - cos = |u - v|^2 / 2.
    Zero vectors are left out (their cosine is undefined)."""
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=-1)
    units = x[norms > 0] / norms[norms > 0, None]
    return mean_pairwise_sq_euclidean(units) / 2.0
