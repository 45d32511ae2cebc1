"""Task templates: how an agent's inputs become the user prompt."""

from __future__ import annotations

from typing import Literal, NamedTuple

TaskName = Literal["summarize", "rephrase", "retell", "inspire", "continue", "merge"]

INSTRUCTIONS: dict[str, str] = {
    "summarize": "Summarize the following text. Retain as much information as possible.",
    "rephrase": "Rephrase the following text in your own words without changing its meaning.",
    "retell": "Retell the following text to someone who has not read it.",
    "inspire": "Write a new text of your own, taking inspiration from the following text.",
    "continue": "Continue the following text.",
    "merge": "Merge the following texts into one text. Retain as much information as possible.",
}

LABEL_GUIDE = (
    "Each text carries a provenance label on the line above it. Human-written: a person wrote "
    "it. AI-generated, N generations from a human text: a language model wrote it, and N is "
    "the number of model retellings between it and the nearest human-written text; each "
    "retelling can drop, change or invent details, so the more generations, the more it is "
    "likely to have drifted from what the person wrote. Unlabelled: its label was lost on the "
    "way, and an automatic detector judged whether a person or a model wrote it; detectors "
    "make mistakes. No provenance label: nothing is known about who wrote it."
)
MERGE_INTRO = "You have received {n} texts on the same subject. {instruction}"
MERGE_FOLLOW_UP: dict[str, str] = {
    "summarize": "Merge them into one summary. Retain as much information as possible.",
    "rephrase": "Merge them into one text in your own words without changing their meaning.",
    "retell": "Merge them and retell the result to someone who has not read them.",
    "inspire": "Write a new text of your own, taking inspiration from them.",
    "continue": "Merge them into one text and continue it.",
    "merge": INSTRUCTIONS["merge"].replace("the following texts", "them"),
}


class InputText(NamedTuple):
    """One text an agent reads, with an optional label shown above it (e.g. its provenance)."""

    text: str
    label: str | None = None


def render_prompt(task: str, inputs: list[InputText]) -> str:
    """The user prompt for `task` over `inputs`: the merge form whenever there are several;
    with labelled inputs, what the labels mean comes before the texts."""
    if task not in INSTRUCTIONS:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(INSTRUCTIONS)}")
    if not inputs:
        raise ValueError("a prompt needs at least one input text")
    guide = f"{LABEL_GUIDE}\n\n" if any(item.label for item in inputs) else ""
    if len(inputs) == 1 and task != "merge":
        return f"{INSTRUCTIONS[task]}\n\n{guide}{_block(inputs[0])}"
    intro = MERGE_INTRO.format(n=len(inputs), instruction=MERGE_FOLLOW_UP[task])
    blocks = "\n\n".join([f"Text {i}:\n{_block(item)}" for i, item in enumerate(inputs, start=1)])
    return f"{intro}\n\n{guide}{blocks}"


def _block(item: InputText) -> str:
    return f"{item.label}\n{item.text}" if item.label else item.text
