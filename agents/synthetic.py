"""The synthetic channel: a seeded stochastic model of retelling, not a language model.

It imitates what research on serial reproduction reports (docs/synthetic.md): levelling
(clauses dropped, low-salience ones first, pulled toward the persona's preferred length),
sharpening (numbers rounded or shifted, hedges dropped, intensifiers added), assimilation
(persona vocabulary creeps in) and merging of several inputs. Same request and seed, same text.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from functools import lru_cache
from typing import NamedTuple

from agents.backend import WORDS_PER_TOKEN, ChatRequest, Completion, Usage
from agents.persona import RetellingStyle

SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
CLAUSE_SPLIT = re.compile(r"(?<=[,;])\s+")
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w])")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
QUALIFIERS = re.compile(
    r"\b(about|approximately|roughly|nearly|around|almost|some|possibly|perhaps|probably)\s+",
    re.IGNORECASE,
)
SALIENT_WORDS = frozenset(
    [
        "crash",
        "crashed",
        "death",
        "died",
        "killed",
        "fire",
        "danger",
        "dangerous",
        "failed",
        "failure",
        "banned",
        "scandal",
        "record",
        "first",
        "fastest",
        "only",
        "never",
        "shock",
        "shocking",
        "surprising",
        "secret",
        "lawsuit",
        "recall",
        "fatal",
        "disaster",
        "war",
        "fraud",
        "illegal",
        "injured",
    ]
)
INTENSIFIERS = ("dramatically", "famously", "remarkably", "spectacularly")
HEDGES = ("reportedly", "apparently", "it seems")
COLOURING = frozenset((*INTENSIFIERS, "reportedly", "apparently", "it", "seems"))
FUNCTION_WORDS = frozenset(
    """a an the it its this that these those there they he she we in on at only one
    some""".split()  # noqa: SIM905
)
# Distinct texts and clauses kept parsed: a round of a 100k-agent network reads ~100k texts.
CACHE_SIZE = 1 << 18


class SyntheticBackend:
    """A chat backend that retells by rule: drops, distorts and colours clauses per persona."""

    name = "synthetic"

    async def complete(self, request: ChatRequest) -> Completion:
        await asyncio.sleep(0)  # it never waits on I/O: let the event loop run (Redis writes)
        started = time.perf_counter()
        rng = random.Random(request.seed)
        text = retell(list(request.inputs), request.persona.style, rng)
        prompt_tokens = _tokens(request.system) + _tokens(request.user)
        completion_tokens = _tokens(text)
        return Completion(
            text=text,
            model="synthetic",
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
            latency_ms=(time.perf_counter() - started) * 1000,
            finish_reason="stop",
        )

    async def aclose(self) -> None:
        return None


def retell(inputs: list[str], style: RetellingStyle, rng: random.Random) -> str:
    """One retelling of `inputs` (merged when several) in `style`, drawing only from `rng`."""
    sentences = _merge([_clauses(text) for text in inputs])
    total_words = sum(_clause_facts(c).words for sentence in sentences for c in sentence)
    pressure = max(1.0, total_words / style.target_words) ** 0.5
    base_drop = style.drop_rate * pressure
    protection = style.salience_protection
    draw = rng.random
    kept: list[list[str]] = []
    for index, clauses in enumerate(sentences):
        survivors = []
        for position, clause in enumerate(clauses):
            facts = _clause_facts(clause)
            salience = _in_sentence(
                facts.opening_salience if position == 0 else facts.inner_salience, index
            )
            if draw() >= min(0.95, base_drop * (1.0 - protection * salience)):
                survivors.append(clause)
        if survivors:
            kept.append([_distort(c, style, rng) for c in survivors])
    kept = _trim_to_attractor(kept, style.target_words)
    if not kept:
        best = max(
            ((i, p == 0, c) for i, s in enumerate(sentences) for p, c in enumerate(s)),
            key=lambda item: _salience(item[2], item[0], item[1]),
            default=(0, True, ""),
        )
        kept = [[best[2]]]
    return " ".join(_colour(_sentence(clauses), style, rng) for clauses in kept).strip()


def _trim_to_attractor(kept: list[list[str]], target_words: int) -> list[list[str]]:
    """Drop the least salient sentences while the text is over 1.5 x the persona's length."""
    limit = 1.5 * target_words
    words = [sum(_clause_facts(c).words for c in clauses) for clauses in kept]
    total = sum(words)
    if total <= limit:
        return kept
    ranked = sorted(
        range(len(kept)),
        key=lambda i: (_salience(" ".join(kept[i]), i), -i),
    )
    dropped = set()
    for index in ranked:
        if total <= limit or len(dropped) == len(kept) - 1:
            break
        dropped.add(index)
        total -= words[index]
    return [clauses for i, clauses in enumerate(kept) if i not in dropped]


@lru_cache(maxsize=CACHE_SIZE)
def _clauses(text: str) -> tuple[tuple[str, ...], ...]:
    """Sentences split into clauses (cached: one message is read by all its receivers)."""
    return tuple(tuple(CLAUSE_SPLIT.split(s)) for s in SENTENCE_SPLIT.split(text.strip()) if s)


class ClauseFacts(NamedTuple):
    """What retelling needs to know of one clause, worked out once per distinct clause."""

    words: int
    opening_salience: float  # when the clause opens its sentence
    inner_salience: float
    number_parts: tuple[str, ...] | None  # text, number, text, ...; None without numbers


@lru_cache(maxsize=CACHE_SIZE)
def _clause_facts(clause: str) -> ClauseFacts:
    return ClauseFacts(
        words=len(clause.split()),
        opening_salience=_content_salience(clause, True),
        inner_salience=_content_salience(clause, False),
        number_parts=tuple(NUMBER.split(clause)) if _has_digit(clause) else None,
    )


@lru_cache(maxsize=CACHE_SIZE)
def _signature(sentence: tuple[str, ...]) -> frozenset[str] | tuple[str, ...]:
    """What makes two sentences the same for merging: their content words (longer than three
    letters, numbers and persona colouring left out), or the exact text when it has none."""
    words = (
        frozenset(w for w in (w.lower() for w in WORD.findall(" ".join(sentence))) if len(w) > 3)
        - COLOURING
    )
    return words or sentence


def _merge(texts: list[tuple[tuple[str, ...], ...]]) -> list[tuple[str, ...]]:
    """Interleave sentences of several texts, skipping any whose content words repeat a
    sentence already in: variants that differ only in numbers, hedges, intensifiers or short
    words count as one."""
    merged: list[tuple[str, ...]] = []
    seen: set[frozenset[str] | tuple[str, ...]] = set()
    longest = max((len(t) for t in texts), default=0)
    for position in range(longest):
        for text in texts:
            if position < len(text):
                signature = _signature(text[position])
                if signature not in seen:
                    seen.add(signature)
                    merged.append(text[position])
    return merged


def _salience(clause: str, sentence_index: int, opens_sentence: bool = True) -> float:
    """0..1: numbers, names, threat or surprise words and an opening position make it stick."""
    return _in_sentence(_content_salience(clause, opens_sentence), sentence_index)


def _in_sentence(content_salience: float, sentence_index: int) -> float:
    """A clause's salience where it stands: the opening sentence sticks better."""
    if sentence_index == 0:
        content_salience += 0.2
    return min(content_salience, 1.0)


@lru_cache(maxsize=CACHE_SIZE)
def _content_salience(clause: str, opens_sentence: bool) -> float:
    score = 0.0
    if _has_digit(clause):
        score += 0.4
    words = WORD.findall(clause)
    names = words[1:] if opens_sentence else words
    if any(w[0].isupper() for w in names):
        score += 0.2
    if any(w.lower() in SALIENT_WORDS for w in words):
        score += 0.3
    return score


def _distort(clause: str, style: RetellingStyle, rng: random.Random) -> str:
    parts = _clause_facts(clause).number_parts
    if parts is not None:  # one draw per number, in order, as a NUMBER.sub would make them
        shifted = list(parts)
        for i in range(1, len(parts), 2):
            shifted[i] = _shift_number(parts[i], style, rng)
        clause = "".join(shifted)
    if style.qualifier_loss and _has_qualifier(clause):
        clause = QUALIFIERS.sub(
            lambda m: "" if rng.random() < style.qualifier_loss else m[0], clause
        )
    return clause


def _has_digit(clause: str) -> bool:
    return any(ch.isdigit() for ch in clause)


@lru_cache(maxsize=CACHE_SIZE)
def _has_qualifier(clause: str) -> bool:
    return QUALIFIERS.search(clause) is not None


def _shift_number(token: str, style: RetellingStyle, rng: random.Random) -> str:
    """Sharpen a number: decimals rounded, years nudged, large counts rounded to two figures."""
    if rng.random() >= style.number_drift:
        return token
    plain = token.replace(",", "")
    if "." in plain:
        return str(int(float(plain) + 0.5))
    value = int(plain)
    if 1800 <= value <= 2100 and "," not in token:
        return str(value + rng.choice((-1, 1)))
    if value >= 100:
        magnitude = 10 ** (len(str(value)) - 2)
        rounded = round(value / magnitude) * magnitude
        return f"{rounded:,}" if "," in token else str(rounded)
    return str(max(0, value + rng.choice((-1, 1))))


def _sentence(clauses: list[str]) -> str:
    """Clauses joined into one capitalised sentence with end punctuation."""
    text = " ".join(clauses).strip()
    text = text.rstrip(",;")
    if text and text[-1] not in ".!?":
        text += "."
    return text[:1].upper() + text[1:]


def _colour(sentence: str, style: RetellingStyle, rng: random.Random) -> str:
    """Assimilation: hedges, intensifiers and stock phrases of the persona."""
    if style.hedge and rng.random() < style.hedge:
        sentence = f"{rng.choice(HEDGES).capitalize()}, {_lower_first(sentence)}"
    if style.intensify and rng.random() < style.intensify:
        words = sentence.split(" ")
        if len(words) > 3 and not any(w.strip(",.;:!?").lower() in INTENSIFIERS for w in words):
            words.insert(rng.randrange(1, len(words) - 1), rng.choice(INTENSIFIERS))
            sentence = " ".join(words)
    if style.vocabulary and rng.random() < style.vocabulary_rate:
        phrase = rng.choice(style.vocabulary)
        sentence = f"{phrase[:1].upper()}{phrase[1:]}, {_lower_first(sentence)}"
    return sentence


def _lower_first(sentence: str) -> str:
    """Lower-case the opening word only when it is a function word (names keep capitals)."""
    first = sentence.split(" ", 1)[0]
    if first.lower() in FUNCTION_WORDS:
        return sentence[:1].lower() + sentence[1:]
    return sentence


def _tokens(text: str) -> int:
    return round(len(text.split()) / WORDS_PER_TOKEN)
