"""Drift metrics: pure functions over texts and vectors."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from service.experiment.spec import Fact
from service.provenance.message import TextMetrics

WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+(?:['’-][^\W_]+)*")


def words(text: str) -> list[str]:
    """Lower-cased word tokens: numbers whole ("5.9", "1,240"), words with inner apostrophes
    and hyphens kept."""
    return WORD.findall(text.lower())


def type_token_ratio(tokens: Sequence[str]) -> float:
    """Unique words over words; 0 for an empty text."""
    return len(set(tokens)) / len(tokens) if tokens else 0.0


def facts_retained(text: str, facts: Sequence[Fact]) -> list[str]:
    """Names of the facts with at least one pattern still matching (see `Fact.matches`)."""
    return [fact.name for fact in facts if fact.matches(text)]


def text_metrics(text: str, facts: Sequence[Fact]) -> TextMetrics:
    """Length, vocabulary and fact retention of one text."""
    tokens = words(text)
    retained = facts_retained(text, facts)
    return TextMetrics(
        length_words=len(tokens),
        unique_words=len(set(tokens)),
        type_token_ratio=type_token_ratio(tokens),
        fact_retention=len(retained) / len(facts) if facts else None,
        facts_retained=retained,
    )


def euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Euclidean distance between `a` (n, d) and `b` (d,) or (n, d)."""
    return np.linalg.norm(
        np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), axis=-1
    )


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise 1 - cosine similarity; 1 where a vector is zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    dots = np.sum(a * b, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        similarity = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), 0.0)
    return 1.0 - similarity
