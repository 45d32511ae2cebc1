"""An agent's inbox: the latest delivery from each in-neighbour, and its memory of human text.

Under `memory: consume` the deliveries are offered for one turn and then gone; under
`keep_latest` each sender's latest delivery stays until that sender speaks again. In matched
mode the inbox is a queue: every delivery is offered once, oldest first, at most `max_inputs`
a turn, and what the cap holds back waits for the next turn.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from service.experiment.spec import ExperimentSpec
from service.provenance.message import Observed
from service.provenance.policies import Delivery
from service.provenance.tags import Carried


@dataclass(slots=True)
class Inbox:
    consume: bool = True
    latest: dict[str, Delivery] = field(default_factory=dict)
    anchor: Delivery | None = None

    def deliver(self, delivery: Delivery) -> None:
        self.latest[delivery.sender] = delivery
        if delivery.observed.origin == "human":
            self.anchor = delivery

    def end_turn(self) -> None:
        """After the agent acted or stayed silent: under consume, nothing is left to reread
        (the anchor stays: it is the anchor policy's own memory)."""
        if self.consume:
            self.latest.clear()

    @property
    def has_unread(self) -> bool:
        """Whether something delivered before this turn still waits for a turn: never here
        (an agent acts again only when a new message reaches it)."""
        return False

    def contents(self) -> list[Delivery]:
        """The deliveries in a stable order (by sender)."""
        return [self.latest[sender] for sender in sorted(self.latest)]


@dataclass(slots=True)
class Queue:
    """Matched mode: unread deliveries in arrival order; each is offered to exactly one turn,
    at most `cap` per turn."""

    cap: int
    waiting: deque[Delivery] = field(default_factory=deque)
    anchor: Delivery | None = None

    def deliver(self, delivery: Delivery) -> None:
        self.waiting.append(delivery)
        if delivery.observed.origin == "human":
            self.anchor = delivery

    def end_turn(self) -> None:
        """The deliveries offered this turn are gone, read or not; the rest wait."""
        for _ in range(min(self.cap, len(self.waiting))):
            self.waiting.popleft()

    @property
    def has_unread(self) -> bool:
        """Whether deliveries the cap held back wait for the next turn."""
        return bool(self.waiting)

    def contents(self) -> list[Delivery]:
        """The oldest `cap` unread deliveries."""
        return [self.waiting[i] for i in range(min(self.cap, len(self.waiting)))]


def deliver_to(
    inboxes: Mapping[str, Inbox | Queue],
    sender: str,
    carried: Carried,
    observed: Mapping[str, Observed],
    round_: int,
) -> None:
    """Deliver a message to every receiver in `observed`, with the tags that receiver saw.
    Receivers that saw the same (shared, frozen) tags share one delivery: nothing changes a
    delivery once made, and a message reaches a few receivers with one or two tag values."""
    made: dict[int, Delivery] = {}
    for receiver, tags in observed.items():
        delivery = made.get(id(tags))
        if delivery is None:
            delivery = made[id(tags)] = Delivery(sender, carried, tags, round_)
        inboxes[receiver].deliver(delivery)


def holds_human(inbox: Inbox | Queue) -> bool:
    """Whether a (true) human text waits among what the agent will be offered."""
    return any(delivery.message.origin == "human" for delivery in inbox.contents())


def new_inbox(spec: ExperimentSpec) -> Inbox | Queue:
    """The inbox the spec's memory and matched mode call for."""
    if spec.matched:
        return Queue(spec.max_inputs)
    return Inbox(consume=spec.memory == "consume")
