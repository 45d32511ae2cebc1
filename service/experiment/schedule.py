"""Who acts in a round: the rule the engine follows and the dry run replays.

Every human source emits in round 0, and in a later round when its injection draw says so.
An agent acts when a message reached it since it last acted: a human message reaches its
receivers in the round it is sent, an agent's message in the next round."""

from __future__ import annotations

from collections.abc import Iterable

from service.experiment.corpus import injects
from service.experiment.spec import ExperimentSpec


def source_emits(spec: ExperimentSpec, replicate: int, round_: int, source: str) -> bool:
    return round_ == 0 or injects(spec.injection.rate, spec.seed, replicate, round_, source)


class Pending:
    """The agents a message reached since they last acted."""

    def __init__(self, agents: Iterable[str]) -> None:
        self._position = {node: i for i, node in enumerate(agents)}
        self._reached: set[str] = set()

    def reached(self, node: str) -> None:
        self._reached.add(node)

    def __bool__(self) -> bool:
        return bool(self._reached)

    def take(self) -> list[str]:
        """The agents that act now, in the experiment's agent order; none is pending after."""
        acting = sorted(self._reached, key=self._position.__getitem__)
        self._reached = set()
        return acting
