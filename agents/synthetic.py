"""The synthetic channel: a seeded stochastic model of retelling, not a language model.

It imitates what research on serial reproduction reports (docs/synthetic.md): levelling
(clauses dropped, low-salience ones first, pulled toward the persona's preferred length),
sharpening (numbers rounded or shifted, hedges dropped, intensifiers added), assimilation
(persona vocabulary creeps in) and merging of several inputs. Same request and seed, same text.
"""

from __future__ import annotations

import random
import re
import time

from agents.backend import ChatRequest, Completion, Usage
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
WORDS_PER_TOKEN = 0.75


class SyntheticBackend:
    """A chat backend that retells by rule: drops, distorts and colours clauses per persona."""

    name = "synthetic"

    async def complete(self, request: ChatRequest) -> Completion:
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
    total_words = sum(len(c.split()) for sentence in sentences for c in sentence)
    pressure = max(1.0, total_words / style.target_words) ** 0.5
    kept: list[list[str]] = []
    for index, clauses in enumerate(sentences):
        survivors = [
            clause
            for clause in clauses
            if rng.random() >= _drop_chance(clause, index, style, pressure)
        ]
        if survivors:
            kept.append([_distort(c, style, rng) for c in survivors])
    if not kept:
        best = max(
            ((i, c) for i, s in enumerate(sentences) for c in s),
            key=lambda item: _salience(item[1], item[0]),
            default=(0, ""),
        )
        kept = [[best[1]]]
    return " ".join(_colour(_sentence(clauses), style, rng) for clauses in kept).strip()


def _clauses(text: str) -> list[list[str]]:
    return [CLAUSE_SPLIT.split(s) for s in SENTENCE_SPLIT.split(text.strip()) if s]


def _merge(texts: list[list[list[str]]]) -> list[list[str]]:
    """Interleave sentences of several texts, skipping near-duplicates of sentences already in."""
    merged: list[list[str]] = []
    seen: list[frozenset[str]] = []
    longest = max((len(t) for t in texts), default=0)
    for position in range(longest):
        for text in texts:
            if position >= len(text):
                continue
            sentence = text[position]
            words = frozenset(w.lower() for w in WORD.findall(" ".join(sentence)))
            if any(_jaccard(words, other) > 0.6 for other in seen):
                continue
            seen.append(words)
            merged.append(sentence)
    return merged


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _salience(clause: str, sentence_index: int) -> float:
    """0..1: numbers, names, threat or surprise words and an opening position make it stick."""
    score = 0.0
    if any(ch.isdigit() for ch in clause):
        score += 0.4
    words = WORD.findall(clause)
    if any(w[0].isupper() for w in words[1:]):
        score += 0.2
    if any(w.lower() in SALIENT_WORDS for w in words):
        score += 0.3
    if sentence_index == 0:
        score += 0.2
    return min(score, 1.0)


def _drop_chance(clause: str, index: int, style: RetellingStyle, pressure: float) -> float:
    protection = style.salience_protection * _salience(clause, index)
    return min(0.95, style.drop_rate * pressure * (1.0 - protection))


def _distort(clause: str, style: RetellingStyle, rng: random.Random) -> str:
    clause = NUMBER.sub(lambda m: _shift_number(m.group(1), style, rng), clause)
    if style.qualifier_loss:
        clause = QUALIFIERS.sub(
            lambda m: "" if rng.random() < style.qualifier_loss else m[0], clause
        )
    return clause


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
        if len(words) > 3:
            words.insert(rng.randrange(1, len(words) - 1), rng.choice(INTENSIFIERS))
            sentence = " ".join(words)
    if style.vocabulary and rng.random() < style.vocabulary_rate:
        phrase = rng.choice(style.vocabulary)
        sentence = f"{phrase[:1].upper()}{phrase[1:]}, {_lower_first(sentence)}"
    return sentence


def _lower_first(sentence: str) -> str:
    first = sentence.split(" ", 1)[0]
    if len(first) > 1 and first[1:].islower():
        return sentence[:1].lower() + sentence[1:]
    return sentence


def _tokens(text: str) -> int:
    return round(len(text.split()) / WORDS_PER_TOKEN)
