"""Drift metrics: pure functions over texts and vectors."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from service.experiment.spec import Fact
from service.measure.tail import entropy_ratio, rare_word_retention, rare_words, token_entropy
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


@dataclass(frozen=True)
class Original:
    """What the tail metrics compare each text with: the original's rare words and entropy."""

    rare: frozenset[str]
    entropy: float


@lru_cache(maxsize=64)
def original_profile(text: str) -> Original:
    tokens = words(text)
    return Original(rare_words(tokens), token_entropy(tokens))


def text_metrics(text: str, facts: Sequence[Fact], original: str | None = None) -> TextMetrics:
    """Length, vocabulary and fact retention of one text, and its tail loss against
    `original` when given."""
    tokens = words(text)
    retained = facts_retained(text, facts)
    profile = original_profile(original) if original is not None else None
    return TextMetrics(
        length_words=len(tokens),
        unique_words=len(set(tokens)),
        type_token_ratio=type_token_ratio(tokens),
        fact_retention=len(retained) / len(facts) if facts else None,
        facts_retained=retained,
        length_chars=len(text),
        rare_word_retention=rare_word_retention(tokens, profile.rare) if profile else None,
        entropy_ratio=entropy_ratio(tokens, profile.entropy) if profile else None,
    )


class TextMeter:
    """`text_metrics` against one source, remembered for texts seen again (a human version
    sent anew, a model repeating its fixed point); at most `size` texts are kept."""

    def __init__(self, facts: Sequence[Fact], original: str | None, size: int = 4096) -> None:
        self.facts = facts
        self.original = original
        self.size = size
        self._seen: dict[str, TextMetrics] = {}

    def __call__(self, text: str) -> TextMetrics:
        found = self._seen.get(text)
        if found is None:
            if len(self._seen) >= self.size:
                del self._seen[next(iter(self._seen))]
            found = self._seen[text] = text_metrics(text, self.facts, self.original)
        return found


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


def distance_to_parents(
    vector: np.ndarray, parent_vectors: np.ndarray
) -> tuple[float, float] | None:
    """Mean Euclidean and mean cosine distance from a message's vector to each of its
    parents' vectors; None for a message without parents (human text)."""
    parents = np.asarray(parent_vectors, dtype=np.float64)
    if parents.size == 0:
        return None
    return float(euclidean(parents, vector).mean()), float(cosine_distance(parents, vector).mean())
