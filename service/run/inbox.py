"""An agent's inbox: the latest delivery from each in-neighbour, and its memory of human text."""

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

    def contents(self) -> list[Delivery]:
        """The deliveries in a stable order (by sender)."""
        return [self.latest[sender] for sender in sorted(self.latest)]
