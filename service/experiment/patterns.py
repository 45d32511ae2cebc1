"""Users' fact patterns, compiled for RE2: matching takes time linear in the text whatever
the pattern, so no pattern can stall a server or a run (Python's `re` backtracks).

RE2 has no look-arounds, so the word edges of `whole_words` are matched as an optional
edge character around the pattern's own group and checked again on the matched span."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped]

LEADING_FLAGS = re.compile(r"^\(\?([a-zA-Z]+)\)")
RE2_FLAGS = frozenset("ims")
NON_WORD = r"[^\pL\pN_]"
START_EDGE = rf"(?:\A|{NON_WORD}|\b)"
END_EDGE = rf"(?:\z|{NON_WORD}|\b)"
MAX_PATTERN_MEMORY = 8 << 20


class PatternError(ValueError):
    """A pattern RE2 cannot compile (its syntax, or its size)."""


@dataclass(frozen=True)
class FactMatch:
    """The text a pattern matched, and where."""

    text: str
    start: int
    end: int

    def group(self, index: int = 0) -> str:
        """The matched text (as `re.Match.group(0)`)."""
        return self.text


@dataclass(frozen=True)
class FactPattern:
    """One compiled fact pattern: case-insensitive, bounded by word edges when `whole_words`
    (a match may not begin or end between two word characters)."""

    regex: Any  # re2._Regexp (the package has no type hints)
    whole_words: bool

    def search(self, text: str) -> FactMatch | None:
        """The leftmost match in `text`, or None."""
        position = 0
        while position <= len(text):
            found = self.regex.search(text, position)
            if found is None:
                return None
            start, end = found.span(1)
            if not self.whole_words or (_on_edge(text, start) and _on_edge(text, end)):
                return FactMatch(text[start:end], start, end)
            position = start + 1  # RE2's \b knows ASCII words only: look past this one
        return None


@lru_cache(maxsize=4096)
def compile_fact_pattern(pattern: str, whole_words: bool = True) -> FactPattern:
    """`pattern` compiled case-insensitively for RE2; PatternError names what RE2 refuses
    (look-arounds, back-references and other backtracking-only syntax)."""
    flags = LEADING_FLAGS.match(pattern)
    letters = set(flags[1]) - {"u"} if flags else set()
    if unsupported := letters - RE2_FLAGS:
        raise PatternError(
            f"pattern {pattern!r}: the flag(s) {''.join(sorted(unsupported))!r} are not "
            "supported (only i, m, s)"
        )
    body = pattern[len(flags[0]) :] if flags else pattern
    head = f"(?{''.join(sorted(letters | {'i'}))})"
    source = f"{head}{START_EDGE}({body}){END_EDGE}" if whole_words else f"{head}({body})"
    options = re2.Options()
    options.max_mem = MAX_PATTERN_MEMORY
    options.log_errors = False
    try:
        re2.compile(body, options)  # alone first: `a)(b` is no pattern, whatever wraps it
        regex = re2.compile(source, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PatternError(
            f"pattern {pattern!r} is not supported: {reason} (patterns are RE2 syntax: no "
            "look-arounds, back-references or possessive quantifiers)"
        ) from None
    return FactPattern(regex, whole_words)


def _on_edge(text: str, position: int) -> bool:
    """Whether `position` is not between two word characters (as Python's `\\w`)."""
    if position == 0 or position == len(text):
        return True
    return not (_is_word(text[position - 1]) and _is_word(text[position]))


def _is_word(character: str) -> bool:
    return character.isalnum() or character == "_"
