"""The lineage of a message: its ancestors and its descendants (drawn by
service.terminal.lineage_views)."""

from __future__ import annotations

from service.provenance.message import Message
from service.provenance.store import ProvenanceStore


async def lineage(store: ProvenanceStore, run_id: str, message_id: str) -> dict[str, Message]:
    """The message, every ancestor back to the human roots and every descendant, by id
    (the message, then its ancestors breadth first, then its descendants breadth first)."""
    found = await store.ancestors(run_id, message_id)
    below = await store.descendants(run_id, message_id)
    for message in await store.get_messages(run_id, below):
        if message is not None:
            found[message.id] = message
    return found


def lineage_edges(messages: dict[str, Message]) -> list[tuple[str, str]]:
    """(parent, child) for every parent link between two of `messages`."""
    return [
        (parent, message.id)
        for message in messages.values()
        for parent in message.parents
        if parent in messages
    ]
