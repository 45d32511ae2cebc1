"""What the synthetic channel adds: invented clauses, substituted numbers, names and dates, and
the persona's own phrasing, all built from the persona's and the population's vocabulary.

The population's vocabulary is what the agent reads: the names, longer words, numbers and
years of its input texts, which other agents wrote. So invented details are made of words
already circulating, as a model's confabulations are.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from typing import NamedTuple

from agents.persona import RetellingStyle

CACHE_SIZE = 1 << 16
# A word in any script that does not start with a-z (André, Émile), with apostrophes or
# hyphens; a name when it is capitalised (an upper-case letter, then a lower-case one).
CAPITALISED = r"(?<!\w)[^\W\d_a-z][\w'-]*"
# A longer word right after a determiner: mostly nouns, sometimes an adjective.
THING = re.compile(r"\b(?:the|a|an|its|their|his|her)\s+([a-z][a-z-]{3,})\b")
NUMBER = r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w])"
MONTHS = tuple(
    "January February March April May June July August September October November December".split()  # noqa: SIM905
)
SUBSTITUTABLE = re.compile(
    rf"(?P<number>{NUMBER})|(?P<month>\b(?:{'|'.join(MONTHS)})\b)|(?P<name>{CAPITALISED})"
)
SLOT = re.compile(r"\{(thing|name|year|number|topic)\}")
COMMON = frozenset(
    """about above after again against along among another around because before being below
    between could during every first other their there these those through under until where
    which while would since still often always never later early small large great whose
    without within across behind beyond the a an it its this that these those there they he
    she we in on at only one two three four five six seven eight nine ten some but and when
    then as by for from with""".split()  # noqa: SIM905
)
# Used by a persona whose style lists no inventions or phrasing of its own.
DEFAULT_INVENTIONS = (
    "after a long dispute over the {thing}",
    "a decision {name} took in {year}",
    "although the {thing} was changed {number} times",
    "with help from {name} and a new {thing}",
)
DEFAULT_PHRASING = ("{topic} is remembered for this.",)
CONTINUATIONS = (
    "Later, {topic} changed again",
    "After that, {topic} took a new turn",
    "In the years that followed, {topic} grew",
)
FALLBACK_TOPIC = "this story"
FALLBACK_THINGS = ("design", "project", "plan", "record")


class Vocabulary(NamedTuple):
    """What some texts talk about: a topic, names, nouns, numbers and years."""

    topic: str
    names: tuple[str, ...]
    things: tuple[str, ...]
    numbers: tuple[float, ...]
    years: tuple[int, ...]


class TextVocabulary(NamedTuple):
    topic: str | None
    names: tuple[str, ...]
    things: tuple[str, ...]
    numbers: tuple[str, ...]


@lru_cache(maxsize=CACHE_SIZE)
def _text_vocabulary(text: str) -> TextVocabulary:
    """Names are the capitalised words that stand inside a sentence somewhere in the text
    (neither common words nor months); the topic is the first name in reading order, even
    where it opens a sentence."""
    words = [
        (m[0], _opens_sentence(text, m.start()))
        for m in re.finditer(CAPITALISED, text)
        if _is_name(m[0])
    ]
    names = tuple(dict.fromkeys(word for word, opening in words if not opening))
    known = set(names)
    topic = next((word for word, _ in words if word in known), None)
    things = tuple(dict.fromkeys(w for w in THING.findall(text) if w not in COMMON))
    numbers = tuple(dict.fromkeys(re.findall(NUMBER, text)))
    return TextVocabulary(topic, names, things, numbers)


def _is_name(word: str) -> bool:
    return (
        word[0].isupper()
        and word[1:2].islower()
        and word not in MONTHS
        and word.lower() not in COMMON
    )


def _opens_sentence(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    return i < 0 or text[i] in ".!?"


def population(texts: list[str]) -> Vocabulary:
    """The vocabulary of everything the agent reads; the topic is the first text's."""
    topic = None
    names: dict[str, None] = {}
    things: dict[str, None] = {}
    tokens: dict[str, None] = {}
    for text in texts:
        vocabulary = _text_vocabulary(text)
        topic = topic or vocabulary.topic
        names.update(dict.fromkeys(vocabulary.names))
        things.update(dict.fromkeys(vocabulary.things))
        tokens.update(dict.fromkeys(vocabulary.numbers))
    years, numbers = [], []
    for token in tokens:
        if _is_year(token):
            years.append(int(token))
        else:
            numbers.append(float(token.replace(",", "")))
    return Vocabulary(
        topic or FALLBACK_TOPIC, tuple(names), tuple(things), tuple(numbers), tuple(years)
    )


def _is_year(token: str) -> bool:
    return token.isdigit() and len(token) == 4 and 1800 <= int(token) <= 2100


def invented_clause(style: RetellingStyle, vocabulary: Vocabulary, rng: random.Random) -> str:
    """A new clause from one of the persona's templates, its slots filled from the population."""
    template = rng.choice(style.inventions or DEFAULT_INVENTIONS)
    return fill(template, vocabulary, rng)


def phrasing(style: RetellingStyle, vocabulary: Vocabulary, rng: random.Random) -> str:
    """One of the persona's own sentences about the population's topic (its attractor)."""
    return fill(rng.choice(style.phrasing or DEFAULT_PHRASING), vocabulary, rng)


@lru_cache(maxsize=CACHE_SIZE)
def is_own_phrasing(phrasings: tuple[str, ...], clauses: tuple[str, ...]) -> bool:
    """Whether a sentence (as clauses) holds one of the persona's phrasings, whatever fills
    its slots and whatever colouring precedes it."""
    sentence = " ".join(clauses)
    lowered = sentence.lower()
    return any(
        key in lowered and pattern.search(sentence)
        for key, pattern in _phrasing_patterns(phrasings)
    )


@lru_cache(maxsize=256)
def _phrasing_patterns(phrasings: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """For each phrasing: its longest literal piece (a cheap first test) and its pattern."""
    patterns = []
    for template in phrasings:
        pieces = SLOT.split(template)  # literal, slot name, literal, ...
        literals = pieces[::2]
        regex = "".join(re.escape(p) if i % 2 == 0 else ".+?" for i, p in enumerate(pieces))
        patterns.append((max(literals, key=len).lower(), re.compile(regex, re.IGNORECASE)))
    return tuple(patterns)


def continuation(style: RetellingStyle, vocabulary: Vocabulary, rng: random.Random) -> str:
    """A new sentence that carries the text on: an opening and an invented clause."""
    opening = fill(rng.choice(CONTINUATIONS), vocabulary, rng)
    return f"{opening}, {invented_clause(style, vocabulary, rng)}."


def fill(template: str, vocabulary: Vocabulary, rng: random.Random) -> str:
    """`template` with each {slot} filled in order, one draw per slot."""
    return SLOT.sub(lambda m: _slot(m[1], vocabulary, rng), template)


def _slot(slot: str, vocabulary: Vocabulary, rng: random.Random) -> str:
    if slot == "topic":
        return vocabulary.topic
    if slot == "name":
        return rng.choice(vocabulary.names) if vocabulary.names else vocabulary.topic
    if slot == "thing":
        return rng.choice(vocabulary.things or FALLBACK_THINGS)
    if slot == "year":
        base = rng.choice(vocabulary.years) if vocabulary.years else 1990
        return str(base + rng.choice((-1, 1)) * rng.randint(1, 30))
    base_value = rng.choice(vocabulary.numbers) if vocabulary.numbers else 20.0
    return str(max(2, round(base_value * rng.uniform(0.5, 2.0))))


def substitute(
    clause: str,
    opens_sentence: bool,
    rate: float,
    vocabulary: Vocabulary,
    rng: random.Random,
) -> str:
    """Each number, month and name swapped, with chance `rate`, for another of its kind.

    Numbers and names come from the population (another year for a year, another count for a
    count, another name for a name); a month becomes another month. One draw per candidate, in
    order; the opening word of a sentence is not a name candidate.
    """
    candidates = _candidates(clause)
    if not candidates:
        return clause
    pieces = []
    end = 0
    for start, stop, kind in candidates:
        if kind == "name" and start == 0 and opens_sentence:
            continue
        if rng.random() >= rate:
            continue
        token = clause[start:stop]
        if kind == "month":
            new = rng.choice([m for m in MONTHS if m != token])
        elif kind == "name":
            others = [n for n in vocabulary.names if n != token]
            new = rng.choice(others) if others else token
        else:
            new = _other_number(token, vocabulary, rng)
        pieces += [clause[end:start], new]
        end = stop
    return "".join(pieces) + clause[end:] if pieces else clause


@lru_cache(maxsize=CACHE_SIZE)
def _candidates(clause: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, kind) of each number, month and name in a clause."""
    return tuple(
        (m.start(), m.end(), m.lastgroup or "")
        for m in SUBSTITUTABLE.finditer(clause)
        if m.lastgroup != "name" or _is_name(m[0])
    )


def _other_number(token: str, vocabulary: Vocabulary, rng: random.Random) -> str:
    """Another year for a year; for a count, another of the population's counts with as many
    digits before the point, else the count scaled by 0.5 to 2."""
    if _is_year(token):
        others = [y for y in vocabulary.years if str(y) != token]
        if others:
            return str(rng.choice(others))
        return str(int(token) + rng.choice((-1, 1)) * rng.randint(1, 30))
    value = float(token.replace(",", ""))
    digits = len(str(int(value)))
    alike = [n for n in vocabulary.numbers if n != value and len(str(int(n))) == digits]
    new = rng.choice(alike) if alike else value * rng.uniform(0.5, 2.0)
    return f"{round(new):,}" if "," in token else str(round(new))
