"""Tail loss: whether a retelling keeps the original's rare words and its spread of words."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

MIN_RARE_LENGTH = 4


def rare_words(tokens: Sequence[str]) -> frozenset[str]:
    """The original's tail: words that occur exactly once in it (hapax legomena), of at
    least MIN_RARE_LENGTH characters so that function words do not count."""
    counts = Counter(tokens)
    return frozenset(w for w, n in counts.items() if n == 1 and len(w) >= MIN_RARE_LENGTH)


def rare_word_retention(tokens: Sequence[str], rare: frozenset[str]) -> float | None:
    """Share of the original's rare words that `tokens` still holds; None without any."""
    if not rare:
        return None
    return len(rare.intersection(tokens)) / len(rare)


def token_entropy(tokens: Sequence[str]) -> float:
    """Shannon entropy (bits) of the word distribution of one text; 0 for an empty text."""
    if not tokens:
        return 0.0
    total = len(tokens)
    return -sum(n / total * math.log2(n / total) for n in Counter(tokens).values())


def entropy_ratio(tokens: Sequence[str], original_entropy: float) -> float | None:
    """A text's token entropy over the original's: below 1, its words are fewer or less
    evenly spread than the original's (the tail is lost); None if the original's is 0."""
    if original_entropy <= 0:
        return None
    return token_entropy(tokens) / original_entropy
