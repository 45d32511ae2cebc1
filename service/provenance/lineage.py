"""The lineage of a message: its ancestor DAG (drawn as an indented tree) and its
descendants."""

from __future__ import annotations

from service.provenance.message import Message
from service.provenance.store import ProvenanceStore

PREVIEW_CHARS = 70


def render_lineage(message_id: str, ancestors: dict[str, Message]) -> str:
    """One line per message, children above their parents; a message reached twice (a merge
    of shared ancestry) is drawn once and referenced after that."""
    lines: list[str] = []
    drawn: set[str] = set()

    def visit(current: str, depth: int) -> None:
        message = ancestors[current]
        indent = "    " * depth
        if current in drawn:
            lines.append(f"{indent}{current} (shown above)")
            return
        drawn.add(current)
        lines.append(f"{indent}{current}  {_describe(message)}")
        for parent in message.parents:
            visit(parent, depth + 1)

    visit(message_id, 0)
    return "\n".join(lines)


def _describe(message: Message) -> str:
    text = " ".join(message.text.split())
    preview = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 3] + "..."
    who = "human source" if message.origin == "human" else f"{message.agent}, {message.model}"
    return f'[{message.origin} gen {message.generation}, round {message.round}, {who}] "{preview}"'


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
