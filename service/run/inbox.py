"""An agent's inbox: the latest delivery from each in-neighbour, and its memory of human text.

Under `memory: consume` the deliveries are offered for one turn and then gone; under
`keep_latest` each sender's latest delivery stays until that sender speaks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.provenance.policies import Delivery


@dataclass(slots=True)
class Inbox:
    latest: dict[str, Delivery] = field(default_factory=dict)
    anchor: Delivery | None = None

    def deliver(self, delivery: Delivery) -> None:
        self.latest[delivery.sender] = delivery
        if delivery.observed.origin == "human":
            self.anchor = delivery

    def end_turn(self, consume: bool) -> None:
        """After the agent acted or stayed silent: under consume, nothing is left to reread
        (the anchor stays: it is the anchor policy's own memory)."""
        if consume:
            self.latest.clear()

    def contents(self) -> list[Delivery]:
        """The deliveries in a stable order (by sender)."""
        return [self.latest[sender] for sender in sorted(self.latest)]
