"""Target reach: fresh human texts handed to acting agents so that a set share of the model
messages reads a human text directly.

Each round, once the engine knows who acts, the controller says how many of the acting
agents without a human text in their inbox get this round's fresh text: enough to bring the
run's share of direct human reads (model messages with `min_generation` 1) to the target,
divided by the share of such deliveries the agents have read so far (their input policy may
pass a text over). The shortfall of one round is made up in the next, so the run's total
reach converges on the target whatever the policy does; a round's own reach varies.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from service.experiment.corpus import FRESH_NODE
from service.experiment.rng import Purpose, rng_for


@dataclass
class ReachController:
    """Aims the share of model messages that read a human text directly at `target`."""

    target: float
    messages: int = 0  # model messages so far
    direct: int = 0  # of them, those that read a human text directly
    offered: int = 0  # fresh deliveries made
    read: int = 0  # fresh deliveries read

    @property
    def read_rate(self) -> float:
        """The share of fresh deliveries read so far (1 before any, as a start)."""
        return (self.read + 1) / (self.offered + 1)

    def receivers(
        self,
        acting: list[str],
        holding_human: set[str],
        rng: random.Random,
    ) -> list[str]:
        """The acting agents that get a fresh human text this round, drawn from those
        whose inbox holds none (`holding_human` are expected to read theirs)."""
        rate = self.read_rate
        wanted = self.target * (self.messages + len(acting)) - self.direct
        wanted -= rate * len(holding_human)
        candidates = [node for node in acting if node not in holding_human]
        count = min(len(candidates), max(0, round(wanted / rate)))
        chosen = set(rng.sample(candidates, count))
        return [node for node in candidates if node in chosen]

    def update(self, direct_by_node: dict[str, bool], fresh_receivers: list[str]) -> None:
        """Count a round's model messages (node -> whether it read a human text directly)
        and how many of the fresh deliveries were read."""
        self.messages += len(direct_by_node)
        self.direct += sum(direct_by_node.values())
        self.offered += len(fresh_receivers)
        self.read += sum(direct_by_node.get(node, False) for node in fresh_receivers)


def fresh_rng(seed: int, replicate: int, round_: int) -> random.Random:
    """The generator that draws a round's fresh-text receivers."""
    return rng_for(seed, replicate, round_, FRESH_NODE, Purpose.FRESH)
