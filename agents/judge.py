"""The fact judge's prompt and answer: is each fact of the original stated correctly in a
retelling, and how many of its claims does the original not hold ("invented")?

Also a rule-based answer to that prompt (`rule_verdict`), which the stub server gives, so the
judge can be tested over real HTTP without a model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

JUDGE_SYSTEM = (
    "You are a careful fact checker. You compare a retelling with the original text it "
    "descends from. Answer with one JSON object and nothing else."
)
VERDICTS = ("correct", "wrong", "missing")
FACT_LINE = re.compile(r'^- (?P<name>[^:]+): "(?P<quote>.*)"$', re.MULTILINE)
SENTENCE = re.compile(r"[^.!?]+[.!?]?")
WORD = re.compile(r"\w+")


class JudgeError(ValueError):
    """The judge's answer is not the JSON object asked for."""


@dataclass(frozen=True)
class FactQuote:
    """A fact by name, and how the original states it (the span its pattern matches)."""

    name: str
    quote: str


@dataclass(frozen=True)
class Verdict:
    """The judge's answer for one retelling."""

    facts: dict[str, Literal["correct", "wrong", "missing"]]
    invented: int

    @property
    def correct_share(self) -> float | None:
        if not self.facts:
            return None
        return sum(v == "correct" for v in self.facts.values()) / len(self.facts)


def judge_prompt(original: str, facts: list[FactQuote], retelling: str) -> str:
    """The user prompt: the original, its facts as quoted from it, the retelling, the format."""
    listed = "\n".join(f'- {fact.name}: "{fact.quote}"' for fact in facts) or "- (none)"
    return (
        f"Original text:\n{original}\n\n"
        f"Facts of the original (name: how the original states it):\n{listed}\n\n"
        f"Retelling:\n{retelling}\n\n"
        'For each fact, say whether the retelling states it correctly ("correct"), states '
        'it with a wrong detail ("wrong"), or does not state it ("missing"). Then count the '
        "claims in the retelling that the original does not make (invented details). Answer "
        'as JSON: {"facts": {"NAME": "correct" | "wrong" | "missing", ...}, "invented": N}'
    )


def parse_verdict(answer: str, names: list[str]) -> Verdict:
    """The verdict in the judge's answer (the first JSON object in it); JudgeError if it is
    not one, or lacks a fact, or gives an unknown verdict."""
    start, end = answer.find("{"), answer.rfind("}")
    try:
        data = json.loads(answer[start : end + 1]) if start != -1 else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("facts"), dict):
        raise JudgeError(f"not a verdict object: {answer[:200]!r}")
    facts = {}
    for name in names:
        verdict = str(data["facts"].get(name, "")).strip().lower()
        if verdict not in VERDICTS:
            raise JudgeError(f"fact {name!r}: expected one of {VERDICTS}, got {verdict!r}")
        facts[name] = verdict
    invented = data.get("invented")
    if isinstance(invented, list):
        invented = len(invented)
    if not isinstance(invented, int) or isinstance(invented, bool) or invented < 0:
        raise JudgeError(f"invented: expected a count, got {invented!r}")
    return Verdict(facts, invented)  # type: ignore[arg-type]


def rule_verdict(prompt: str) -> str:
    """A rule-based answer to `judge_prompt`: a fact is correct when its quote appears in the
    retelling, wrong when only some of the quote's words do, missing otherwise; a sentence of
    the retelling with fewer than half of its words in the original counts as invented."""
    original = prompt.split("Original text:\n", 1)[1].split("\n\nFacts of the original", 1)[0]
    retelling = prompt.split("\n\nRetelling:\n", 1)[1].rsplit("\n\nFor each fact", 1)[0]
    told = retelling.lower()
    told_words = set(WORD.findall(told))
    facts = {}
    for match in FACT_LINE.finditer(prompt):
        quote = match["quote"].lower()
        if quote in told:
            facts[match["name"]] = "correct"
        elif set(WORD.findall(quote)) & told_words:
            facts[match["name"]] = "wrong"
        else:
            facts[match["name"]] = "missing"
    known = set(WORD.findall(original.lower()))
    invented = 0
    for sentence in SENTENCE.findall(retelling):
        words = WORD.findall(sentence.lower())
        if words and sum(w in known for w in words) < len(words) / 2:
            invented += 1
    return json.dumps({"facts": facts, "invented": invented})
