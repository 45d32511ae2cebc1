"""Who acts in a round: the rule the engine follows and the dry run replays.

Every human source emits in round 0, and in a later round when its injection draw says so.
An agent acts when a message reached it since it last acted: a human message reaches its
receivers in the round it is sent, an agent's message in the next round. With
`turns_per_round`, at most that many of those agents act in a round: the ones waiting
longest, ties drawn at random; the others keep what they received and wait."""

from __future__ import annotations

import random
from collections.abc import Iterable

from service.experiment.corpus import injects
from service.experiment.rng import Purpose, rng_for
from service.experiment.spec import ExperimentSpec

SCHEDULE_NODE = "schedule"  # the node name the turn draw's generator is derived from


def source_emits(spec: ExperimentSpec, replicate: int, round_: int, source: str) -> bool:
    return round_ == 0 or injects(spec.injection.rate, spec.seed, replicate, round_, source)


def turn_rng(spec: ExperimentSpec, replicate: int, round_: int) -> random.Random:
    """The generator that breaks ties between agents waiting equally long."""
    return rng_for(spec.seed, replicate, round_, SCHEDULE_NODE, Purpose.SCHEDULE)


class Pending:
    """The agents a message reached since they last acted, with the turn (count of `take`
    calls) in which each was first reached."""

    def __init__(self, agents: Iterable[str]) -> None:
        self._position = {node: i for i, node in enumerate(agents)}
        self._since: dict[str, int] = {}
        self._turn = 0

    def reached(self, node: str) -> None:
        self._since.setdefault(node, self._turn)

    def reached_all(self, nodes: Iterable[str]) -> None:
        """`reached` for each of `nodes`."""
        since, turn = self._since, self._turn
        for node in nodes:
            since.setdefault(node, turn)

    def __bool__(self) -> bool:
        return bool(self._since)

    def __len__(self) -> int:
        return len(self._since)

    def take(self, limit: int | None = None, rng: random.Random | None = None) -> list[str]:
        """The agents that act now, in the experiment's agent order: all pending ones, or the
        `limit` waiting longest (ties broken by `rng`); those are no longer pending after."""
        waiting = sorted(self._since, key=self._position.__getitem__)
        if limit is not None and len(waiting) > limit:
            if rng is None:
                raise ValueError("a limited take needs a generator to break ties")
            rng.shuffle(waiting)
            waiting.sort(key=self._since.__getitem__)
            waiting = sorted(waiting[:limit], key=self._position.__getitem__)
        for node in waiting:
            del self._since[node]
        self._turn += 1
        return waiting
