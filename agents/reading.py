"""How the synthetic channel reads its request beyond the texts: the task and the labels."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TaskEffect:
    """Multipliers a task applies to a persona's rates (docs/synthetic.md, "Tasks")."""

    drop: float = 1.0
    target: float = 1.0
    invent: float = 1.0
    substitute: float = 1.0
    attraction: float = 1.0
    keep_length: bool = False  # the length cap is at least the input's length
    added_sentences: int = 0  # invented sentences appended after the retelling


TASK_EFFECTS: dict[str, TaskEffect] = {
    "summarize": TaskEffect(),
    "merge": TaskEffect(),
    "retell": TaskEffect(drop=0.8, target=1.2),
    "rephrase": TaskEffect(drop=0.25, invent=0.5, substitute=2.0, keep_length=True),
    "continue": TaskEffect(drop=0.25, target=1.5, keep_length=True, added_sentences=2),
    "inspire": TaskEffect(drop=1.5, invent=3.0, substitute=2.0, attraction=2.0, added_sentences=2),
}

AI_GENERATIONS = re.compile(r"ai-generated, (\d+) generation")
AI = re.compile(r"\bai\b")


def task_effect(task: str) -> TaskEffect:
    """The effect of `task`; an unknown task reads as `summarize`."""
    return TASK_EFFECTS.get(task, TASK_EFFECTS["summarize"])


def distrust(label: str | None) -> float:
    """How far a label tells the reader to doubt a text: -1 (human-written) to 1.

    No label 0; AI-generated N generations from a human text N / (N + 1); any other mention
    of AI 0.75; then `human` -1, or -0.5 when it is a detector's guess; anything else (no
    provenance) 0.25.
    """
    if label is None:
        return 0.0
    lowered = label.lower()
    generations = AI_GENERATIONS.search(lowered)
    if generations:
        n = int(generations[1])
        return n / (n + 1)
    if AI.search(lowered):
        return 0.75
    if "human" in lowered:
        return -0.5 if "detector" in lowered else -1.0
    return 0.25
