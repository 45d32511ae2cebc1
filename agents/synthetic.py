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
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from agents.backend import WORDS_PER_TOKEN, ChatRequest, Completion, Usage
from agents.channel import DEFAULT_CHANNEL, Channel, Salience
from agents.invention import (
    DEFAULT_PHRASING,
    Vocabulary,
    continuation,
    invented_clause,
    is_own_phrasing,
    phrasing,
    population,
    substitute,
)
from agents.persona import Persona, RetellingStyle
from agents.reading import TaskEffect, distrust, task_effect

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
    """A chat backend that retells by rule: drops, distorts and colours clauses per persona,
    by the parameters of its `channel` (the spec's `channel:` block)."""

    name = "synthetic"

    def __init__(self, channel: Channel = DEFAULT_CHANNEL) -> None:
        self.channel = channel
        self._styles: dict[int, tuple[Persona, RetellingStyle]] = {}

    def style_of(self, persona: Persona) -> RetellingStyle:
        """The persona's style under the channel, resolved once per persona object."""
        known = self._styles.get(id(persona))
        if known is None or known[0] is not persona:
            known = self._styles[id(persona)] = (persona, self.channel.style_of(persona))
        return known[1]

    async def complete(self, request: ChatRequest) -> Completion:
        await asyncio.sleep(0)  # it never waits on I/O: let the event loop run (Redis writes)
        return self.complete_now(request)

    def complete_now(self, request: ChatRequest) -> Completion:
        """The retelling, computed at once."""
        started = time.perf_counter()
        rng = random.Random(request.seed)
        text = retell(
            list(request.inputs),
            self.style_of(request.persona),
            rng,
            request.task,
            request.labels,
            self.channel,
        )
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


def retell(
    inputs: list[str],
    style: RetellingStyle,
    rng: random.Random,
    task: str = "summarize",
    labels: tuple[str | None, ...] = (),
    channel: Channel = DEFAULT_CHANNEL,
) -> str:
    """One retelling of `inputs` (merged when several) in `style` (already resolved by
    `channel`) for `task`, drawing only from `rng`; `labels` (one per input, or none) steer
    what survives by the persona's trust; `channel` gives the global rules."""
    if labels and len(labels) != len(inputs):
        raise ValueError(f"{len(labels)} labels for {len(inputs)} inputs")
    effect = task_effect(task)
    parsed = [_clauses(text) for text in inputs]
    doubts = [distrust(label) * style.label_trust for label in labels] if labels else []
    if any(doubts):
        order = sorted(range(len(parsed)), key=lambda i: doubts[i])  # trusted texts lead
        parsed = [parsed[i] for i in order]
        doubts = [doubts[i] for i in order]
    sentences, sources = _merge(parsed)
    total_words = _words(sentences)
    target = style.target_words * effect.target
    if total_words <= target and _stays_settled(channel.settled_change, rng):
        return " ".join(_sentence(list(clauses)) for clauses in sentences)
    pressure = max(1.0, total_words / target) ** channel.length_pressure
    base_drop = style.drop_rate * effect.drop * pressure
    adds = effect.added_sentences or style.invent or style.attraction
    vocabulary = population(inputs) if adds or style.substitute else None
    phrasings = style.phrasing or DEFAULT_PHRASING
    kept, kept_doubt = _level(
        sentences,
        [doubts[i] for i in sources] if doubts else [0.0] * len(sentences),
        style,
        base_drop,
        Substitution(min(1.0, style.substitute * effect.substitute), vocabulary),
        phrasings,
        rng,
        channel,
    )
    if vocabulary is not None and kept:
        _invent(kept, style, effect, vocabulary, rng)
        _attract(kept, kept_doubt, style, effect, target, vocabulary, rng, channel.salience)
    limit = channel.length_cap * target
    if effect.keep_length:
        limit = max(limit, max((_words(text) for text in parsed), default=0))
    kept = _trim_to_attractor(
        kept, kept_doubt, limit, phrasings if style.attraction else (), channel
    )
    if not kept:
        weights = channel.salience
        best = max(
            ((i, p == 0, c) for i, s in enumerate(sentences) for p, c in enumerate(s)),
            key=lambda item: _salience(item[2], item[0], weights, item[1]),
            default=(0, True, ""),
        )
        kept = [[best[2]]] if best[2] else []
    if vocabulary is not None and kept:
        kept += [[continuation(style, vocabulary, rng)] for _ in range(effect.added_sentences)]
    return " ".join(_colour(_sentence(clauses), style, rng) for clauses in kept).strip()


def _stays_settled(settled_change: float, rng: random.Random) -> bool:
    """Whether a text at or under its target length is passed on as it is (a fixed point):
    with chance 1 - settled_change; at 1 no draw is made (the channel before calibration)."""
    return settled_change < 1.0 and rng.random() >= settled_change


class Substitution(NamedTuple):
    rate: float
    vocabulary: Vocabulary | None


def _level(
    sentences: list[tuple[str, ...]],
    doubts: list[float],
    style: RetellingStyle,
    base_drop: float,
    substitution: Substitution,
    phrasings: tuple[str, ...],
    rng: random.Random,
    channel: Channel,
) -> tuple[list[list[str]], list[float]]:
    """Levelling: each clause dropped by its salience and its sentence's doubt; the survivors
    distorted and substituted. Returns the kept sentences and the doubt of each."""
    protection = style.salience_protection
    rate, vocabulary = substitution
    weights = channel.salience
    max_drop = channel.max_drop
    draw = rng.random
    kept: list[list[str]] = []
    kept_doubt: list[float] = []
    for index, clauses in enumerate(sentences):
        doubt = doubts[index]
        steer = channel.doubt_drop if doubt > 0 else channel.trust_keep
        scale = base_drop * (1.0 + steer * doubt)
        own = style.attraction > 0 and is_own_phrasing(phrasings, clauses)
        survivors = []
        for position, clause in enumerate(clauses):
            salience = 1.0 if own else _salience(clause, index, weights, position == 0)
            if draw() >= min(max_drop, scale * (1.0 - protection * salience)):
                survivors.append((position, clause))
        if survivors:
            distorted = []
            for position, clause in survivors:
                clause = _distort(clause, style, rng)
                if vocabulary is not None and rate:
                    clause = substitute(clause, position == 0, rate, vocabulary, rng)
                distorted.append(clause)
            kept.append(distorted)
            kept_doubt.append(doubt)
    return kept, kept_doubt


def _invent(
    kept: list[list[str]],
    style: RetellingStyle,
    effect: TaskEffect,
    vocabulary: Vocabulary,
    rng: random.Random,
) -> None:
    """Each sentence gains an invented clause with chance invent x the task's factor."""
    rate = min(1.0, style.invent * effect.invent)
    if not rate:
        return
    for clauses in kept:
        if rng.random() < rate:
            clauses[-1] = clauses[-1].rstrip(".!?,; ") + ","
            clauses.append(invented_clause(style, vocabulary, rng))


def _attract(
    kept: list[list[str]],
    kept_doubt: list[float],
    style: RetellingStyle,
    effect: TaskEffect,
    target: float,
    vocabulary: Vocabulary,
    rng: random.Random,
    weights: Salience,
) -> None:
    """With chance attraction x the task's factor, one of the persona's own sentences comes in:
    in place of the least salient sentence after the first when the text is over its target
    length, else at the end. A phrasing the text already holds is not added twice."""
    rate = min(1.0, style.attraction * effect.attraction)
    if not rate or rng.random() >= rate:
        return
    sentence = phrasing(style, vocabulary, rng)
    if any(clauses == [sentence] for clauses in kept):
        return
    if len(kept) > 1 and _words(kept) > target:
        weakest = min(
            range(1, len(kept)), key=lambda i: (_salience(" ".join(kept[i]), i, weights), -i)
        )
        kept[weakest] = [sentence]
        kept_doubt[weakest] = 0.0
    else:
        kept.append([sentence])
        kept_doubt.append(0.0)


def _words(sentences: Sequence[Sequence[str]]) -> int:
    """Whitespace-separated words of sentences given as clauses."""
    return sum(_clause_facts(c).words for clauses in sentences for c in clauses)


def _trim_to_attractor(
    kept: list[list[str]],
    doubts: list[float],
    limit: float,
    phrasings: tuple[str, ...],
    channel: Channel,
) -> list[list[str]]:
    """Drop the least salient sentences while the text is over `limit` words; a sentence from
    a text its labels make doubtful counts as less salient (doubt_trim x the doubt), and one
    of the persona's own phrasings as fully salient."""
    words = [_words([clauses]) for clauses in kept]
    total = sum(words)
    if total <= limit:
        return kept
    weights = channel.salience

    def salience(i: int) -> float:
        if phrasings and is_own_phrasing(phrasings, tuple(kept[i])):
            return 1.0
        return _salience(" ".join(kept[i]), i, weights) - channel.doubt_trim * doubts[i]

    ranked = sorted(range(len(kept)), key=lambda i: (salience(i), -i))
    dropped: set[int] = set()
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
    has_number: bool
    has_name: bool  # a capitalised word after the first
    opens_with_name: bool  # the first word is capitalised (a name only inside a sentence)
    has_salient_word: bool
    number_parts: tuple[str, ...] | None  # text, number, text, ...; None without numbers


@lru_cache(maxsize=CACHE_SIZE)
def _clause_facts(clause: str) -> ClauseFacts:
    words = WORD.findall(clause)
    has_number = _has_digit(clause)
    return ClauseFacts(
        words=len(clause.split()),
        has_number=has_number,
        has_name=any(w[0].isupper() for w in words[1:]),
        opens_with_name=bool(words) and words[0][0].isupper(),
        has_salient_word=any(w.lower() in SALIENT_WORDS for w in words),
        number_parts=tuple(NUMBER.split(clause)) if has_number else None,
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


def _merge(texts: list[tuple[tuple[str, ...], ...]]) -> tuple[list[tuple[str, ...]], list[int]]:
    """Interleave sentences of several texts, skipping any whose content words repeat a
    sentence already in: variants that differ only in numbers, hedges, intensifiers or short
    words count as one. Also returns the input each kept sentence came from."""
    merged: list[tuple[str, ...]] = []
    sources: list[int] = []
    seen: set[frozenset[str] | tuple[str, ...]] = set()
    longest = max((len(t) for t in texts), default=0)
    for position in range(longest):
        for source, text in enumerate(texts):
            if position < len(text):
                signature = _signature(text[position])
                if signature not in seen:
                    seen.add(signature)
                    merged.append(text[position])
                    sources.append(source)
    return merged, sources


def _salience(
    clause: str, sentence_index: int, weights: Salience, opens_sentence: bool = True
) -> float:
    """0..1: numbers, names, threat or surprise words and the text's opening sentence make a
    clause stick, each by its weight in the channel."""
    facts = _clause_facts(clause)
    score = 0.0
    if facts.has_number:
        score += weights.number
    if facts.has_name or (facts.opens_with_name and not opens_sentence):
        score += weights.name
    if facts.has_salient_word:
        score += weights.word
    if sentence_index == 0:
        score += weights.opening_sentence
    return min(score, 1.0)


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
