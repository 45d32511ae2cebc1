"""True provenance tags: the rules that make generation, roots and human share exact."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Carried:
    """What the engine keeps of a delivered message: enough to tag its children and read it."""

    id: str
    text: str
    origin: str
    generation: int
    min_generation: int
    roots: frozenset[str]
    round: int


@dataclass(frozen=True, slots=True)
class Tags:
    """True tags of a new message."""

    origin: str
    generation: int
    min_generation: int
    parents: tuple[str, ...]
    roots: frozenset[str]
    human_input_share: float | None


def human_tags(message_id: str) -> Tags:
    """A human text: generation 0, its own root, no parents."""
    return Tags("human", 0, 0, (), frozenset((message_id,)), None)


def model_tags(parents: list[Carried]) -> Tags:
    """A model text written from `parents`.

    generation is 1 + the longest model path to a human text (max over parents),
    min_generation 1 + the shortest; roots are the human texts it descends from.
    """
    if not parents:
        raise ValueError("a model message needs at least one parent")
    roots: frozenset[str] = frozenset().union(*(p.roots for p in parents))
    humans = sum(1 for p in parents if p.origin == "human")
    return Tags(
        origin="model",
        generation=1 + max(p.generation for p in parents),
        min_generation=1 + min(p.min_generation for p in parents),
        parents=tuple(p.id for p in parents),
        roots=roots,
        human_input_share=humans / len(parents),
    )
