"""Surface overlap with the original: ROUGE-L (rouge-score) and chrF (sacrebleu), 0 to 1.

rouge-score's own tokenizer keeps only `[a-z0-9]`, so a Cyrillic, Greek or Chinese text has
no tokens and scores 0 against itself; `UnicodeTokenizer` keeps the words of every script."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# Scripts written without spaces between words: each character is one token (as sacrebleu's
# `zh` tokenizer does for BLEU). Han (with its extensions and compatibility block),
# Hiragana, Katakana (and its half-width forms), Thai, Lao, Myanmar and Khmer.
UNSPACED = (
    (0x0E00, 0x0EFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x3040, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0x20000, 0x3FFFF),
)

ASCII_WORD = re.compile(r"[a-z0-9]+")


def _unspaced(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in UNSPACED)


def unicode_tokens(text: str) -> list[str]:
    """Lower-cased runs of letters, digits and combining marks, in any script; a character
    of a script written without spaces (Chinese, Japanese, Thai, ...) is a token of its own.
    On ASCII text this gives rouge-score's default tokens (runs of `[a-z0-9]`)."""
    if text.isascii():
        return ASCII_WORD.findall(text.lower())
    tokens: list[str] = []
    word: list[str] = []
    for char in text.lower():
        if char.isascii():
            inside = char.isalnum()
        elif _unspaced(char):
            if word:
                tokens.append("".join(word))
                word = []
            tokens.append(char)
            continue
        else:
            inside = unicodedata.category(char)[0] in "LNM"
        if inside:
            word.append(char)
        elif word:
            tokens.append("".join(word))
            word = []
    if word:
        tokens.append("".join(word))
    return tokens


class UnicodeTokenizer:
    """The tokenizer rouge-score calls (`tokenize(text) -> list[str]`)."""

    def tokenize(self, text: str) -> list[str]:
        return unicode_tokens(text)


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], tokenizer=UnicodeTokenizer())


@lru_cache(maxsize=1)
def _chrf() -> Any:
    from sacrebleu.metrics import CHRF

    return CHRF()


def rouge_l(text: str, original: str) -> float:
    """ROUGE-L F-measure of `text` against `original` (longest common subsequence of
    `unicode_tokens`)."""
    return float(_rouge().score(original, text)["rougeL"].fmeasure)


def chrf(text: str, original: str) -> float:
    """chrF (character n-gram F-score, sacrebleu's defaults) scaled to 0..1."""
    return float(_chrf().sentence_score(text, [original]).score) / 100.0
