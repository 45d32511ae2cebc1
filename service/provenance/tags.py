"""True provenance tags: the rules that make generation, roots and human share exact.

Roots are a bit set over the run's human messages (bit i: the i-th human message emitted):
a union is one OR however many human texts a network has mixed.
"""

from __future__ import annotations

from typing import NamedTuple


class Carried(NamedTuple):
    """What the engine keeps of a delivered message: enough to tag its children and read it."""

    id: str
    text: str
    origin: str
    generation: int
    min_generation: int
    roots: int
    round: int


class Tags(NamedTuple):
    """True tags of a new message."""

    origin: str
    generation: int
    min_generation: int
    parents: tuple[str, ...]
    roots: int
    human_input_share: float | None


def human_tags(root_bit: int) -> Tags:
    """A human text: generation 0, its own root (bit `root_bit` of the run's root set)."""
    return Tags("human", 0, 0, (), 1 << root_bit, None)


def model_tags(parents: list[Carried]) -> Tags:
    """A model text written from `parents`.

    generation is 1 + the longest model path to a human text (max over parents),
    min_generation 1 + the shortest; roots are the human texts it descends from.
    """
    if not parents:
        raise ValueError("a model message needs at least one parent")
    first = parents[0]
    roots, generation, min_generation, humans = 0, first.generation, first.min_generation, 0
    for parent in parents:  # one pass: a step tags every message it writes
        roots |= parent.roots
        generation = max(generation, parent.generation)
        min_generation = min(min_generation, parent.min_generation)
        humans += parent.origin == "human"
    return Tags(
        origin="model",
        generation=1 + generation,
        min_generation=1 + min_generation,
        parents=tuple(p.id for p in parents),
        roots=roots,
        human_input_share=humans / len(parents),
    )


def root_bits(roots: int, limit: int) -> tuple[list[int], int]:
    """The lowest `limit` set bits of `roots` (the earliest human texts) and the bit count.

    Scans the binary string (C speed) rather than peeling bits off a many-thousand-bit int."""
    little_endian = bin(roots)[:1:-1]
    bits: list[int] = []
    position = little_endian.find("1")
    while position != -1 and len(bits) < limit:
        bits.append(position)
        position = little_endian.find("1", position + 1)
    return bits, roots.bit_count()
