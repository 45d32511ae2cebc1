"""Facts bound to their context: a pattern counts only in a sentence that also has one of the
fact's context words, so a number moved to another event is not credited.

Only a compiled pattern's `search` is used, whatever engine compiled it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

# A sentence ends at . ! ? or an ellipsis followed by white space (after any closing quotes
# or brackets), at a CJK full stop, question or exclamation mark, or at a line break. "5.9"
# does not end a sentence; "Mr. Smith" and "e.g. this" do (a split that only makes the
# rule stricter).
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|(?<=[。！？])|\n+")


class Searchable(Protocol):
    """A compiled pattern of any engine: `search(text)` gives the leftmost match or None; a
    match has a `start` (a method as in `re.Match`, or a number)."""

    def search(self, text: str) -> Any: ...


def sentences(text: str) -> list[str]:
    """The sentences of `text`, blank pieces left out."""
    return [piece for piece in SENTENCE_END.split(text) if piece.strip()]


def starts_a_word(pattern: Searchable, sentence: str) -> bool:
    """Whether `pattern` matches `sentence` at the start of a word (`automat` finds
    "automated" and "automation", not "semiautomatic"). Searches again after each match
    inside a word, so the cost grows with the number of such matches."""
    at = 0
    while (found := pattern.search(sentence[at:])) is not None:
        start = at + _start(found)
        if start == 0 or not _word_character(sentence[start - 1]):
            return True
        at = start + 1
    return False


def _start(found: Any) -> int:
    start = found.start
    return int(start() if callable(start) else start)


def _word_character(char: str) -> bool:
    return char.isalnum() or char == "_"


def in_one_sentence(
    text: str,
    patterns: Sequence[Searchable],
    context: Sequence[Searchable],
    *,
    word_start: bool = True,
) -> bool:
    """Whether some sentence of `text` matches one of `patterns` and one of the `context`
    patterns (at the start of a word when `word_start`, else anywhere)."""

    def has_context(sentence: str) -> bool:
        if word_start:
            return any(starts_a_word(c, sentence) for c in context)
        return any(c.search(sentence) for c in context)

    return any(
        any(p.search(sentence) for p in patterns) and has_context(sentence)
        for sentence in sentences(text)
    )
