"""An agent's inbox (service/run/inbox.py): the latest delivery per sender and its anchor."""

from __future__ import annotations

from service.provenance.message import Observed
from service.provenance.policies import Delivery
from service.provenance.tags import Carried
from service.run.inbox import Inbox


def delivery(sender: str, text: str, seen_as: str, round_: int) -> Delivery:
    origin = "human" if seen_as == "human" else "model"
    message = Carried(f"{sender}:{round_}", text, origin, 0, 0, 1, round_)
    return Delivery(sender, message, Observed(tagged=True, origin=seen_as), round_)


def test_a_sender_newer_message_replaces_its_older_one():
    inbox = Inbox()
    inbox.deliver(delivery("b", "old", "model", 0))
    inbox.deliver(delivery("a", "from a", "model", 0))
    inbox.deliver(delivery("b", "new", "model", 1))
    assert [d.message.text for d in inbox.contents()] == ["from a", "new"]


def test_contents_are_listed_by_sender():
    inbox = Inbox()
    for sender in ("c", "a", "b"):
        inbox.deliver(delivery(sender, sender, "model", 0))
    assert [d.sender for d in inbox.contents()] == ["a", "b", "c"]


def test_the_anchor_is_the_latest_text_seen_as_human_and_outlives_replacement():
    inbox = Inbox()
    assert inbox.anchor is None
    inbox.deliver(delivery("h", "human text", "human", 0))
    inbox.deliver(delivery("h", "retold", "model", 1))
    assert inbox.anchor is not None and inbox.anchor.message.text == "human text"
    assert [d.message.text for d in inbox.contents()] == ["retold"]
    inbox.deliver(delivery("x", "another human", "human", 2))
    assert inbox.anchor.message.text == "another human"
