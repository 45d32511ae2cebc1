"""Surface overlap with the original: ROUGE-L (rouge-score) and chrF (sacrebleu), 0 to 1."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


@lru_cache(maxsize=1)
def _chrf() -> Any:
    from sacrebleu.metrics import CHRF

    return CHRF()


def rouge_l(text: str, original: str) -> float:
    """ROUGE-L F-measure of `text` against `original` (longest common word subsequence)."""
    return float(_rouge().score(original, text)["rougeL"].fmeasure)


def chrf(text: str, original: str) -> float:
    """chrF (character n-gram F-score, sacrebleu's defaults) scaled to 0..1."""
    return float(_chrf().sentence_score(text, [original]).score) / 100.0
