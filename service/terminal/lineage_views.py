"""A message's ancestry for people and for tools: a compact tree cut at a depth (each
message drawn once), or the ancestor DAG as JSON, GraphML or Graphviz dot."""

from __future__ import annotations

import io
import json
from collections import deque
from typing import Any

from service.provenance.message import Message

LINEAGE_FORMATS = ("tree", "json", "graphml", "dot")
DEFAULT_TREE_DEPTH = 3
PREVIEW_CHARS = 48


def within_depth(
    message_id: str, ancestors: dict[str, Message], depth: int | None
) -> dict[str, int]:
    """Ancestors (the message included) by their distance in parent links from it, those
    no further than `depth` (all when None)."""
    distance = {message_id: 0}
    queue = deque([message_id])
    while queue:
        current = queue.popleft()
        if depth is not None and distance[current] >= depth:
            continue
        for parent in ancestors[current].parents:
            if parent in ancestors and parent not in distance:
                distance[parent] = distance[current] + 1
                queue.append(parent)
    return distance


def short_id(message: Message) -> str:
    """The message id without its run (replicate:round:node)."""
    return message.id.removeprefix(f"{message.run}:")


def _line(message: Message) -> str:
    text = " ".join(message.text.split())
    preview = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
    who = "human" if message.origin == "human" else (message.agent or message.node)
    return f'{short_id(message)}  {who} g{message.generation} r{message.round}  "{preview}"'


def render_tree(message_id: str, ancestors: dict[str, Message], depth: int | None) -> str:
    """Children above their parents, indented; a message reached again is not redrawn
    (`↑ id`), and a cut at `depth` says how many ancestors lie beyond."""
    shown = within_depth(message_id, ancestors, depth)
    lines: list[str] = []
    drawn: set[str] = set()
    cut: set[str] = set()

    def visit(current: str, level: int) -> None:
        indent = "  " * level
        if current in drawn:
            lines.append(f"{indent}↑ {short_id(ancestors[current])}")
            return
        drawn.add(current)
        lines.append(f"{indent}{_line(ancestors[current])}")
        parents = [p for p in ancestors[current].parents if p in ancestors]
        if depth is not None and level >= depth:
            cut.update(parents)
            if parents:
                noun = "parent" if len(parents) == 1 else "parents"
                lines.append(f"{indent}  … {len(parents)} {noun} not shown")
            return
        for parent in parents:
            visit(parent, level + 1)

    visit(message_id, 0)
    generations = max(m.generation for m in ancestors.values())
    humans = sum(1 for m in ancestors.values() if m.origin == "human")
    texts = "human text" if humans == 1 else "human texts"
    summary = (
        f"{len(ancestors) - 1} ancestors in all ({humans} {texts}, generation "
        f"{generations} down to 0); {len(shown) - 1} shown"
    )
    if len(shown) < len(ancestors):
        summary += " (--depth N for more, --depth all for every one)"
    return "\n".join([*lines, summary])


def _node(message: Message, distance: int) -> dict[str, Any]:
    return {
        "id": message.id,
        "depth": distance,
        "origin": message.origin,
        "generation": message.generation,
        "round": message.round,
        "node": message.node,
        "agent": message.agent,
        "parents": message.parents,
        "text": message.text,
    }


def lineage_document(
    message_id: str, ancestors: dict[str, Message], depth: int | None, form: str
) -> str:
    """The ancestor DAG to `depth` in `form` (tree, json, graphml or dot)."""
    if form == "tree":
        return render_tree(message_id, ancestors, depth)
    shown = within_depth(message_id, ancestors, depth)
    edges = [(p, child) for child in shown for p in ancestors[child].parents if p in shown]
    if form == "json":
        nodes = [_node(ancestors[i], d) for i, d in shown.items()]
        return json.dumps({"message": message_id, "nodes": nodes, "edges": edges}, indent=1)
    if form == "dot":
        return _dot(shown, ancestors, edges)
    return _graphml(shown, ancestors, edges)


def _dot(shown: dict[str, int], ancestors: dict[str, Message], edges: list[tuple[str, str]]) -> str:
    lines = ["digraph lineage {", "  rankdir=BT;", "  node [shape=box, fontsize=10];"]
    for message_id in shown:
        message = ancestors[message_id]
        label = f"{short_id(message)}\n{message.origin} gen {message.generation}"
        style = ', style=filled, fillcolor="#E69F00"' if message.origin == "human" else ""
        lines.append(f"  {json.dumps(message_id)} [label={json.dumps(label)}{style}];")
    lines += [f"  {json.dumps(p)} -> {json.dumps(c)};" for p, c in edges]
    return "\n".join([*lines, "}"])


def _graphml(
    shown: dict[str, int], ancestors: dict[str, Message], edges: list[tuple[str, str]]
) -> str:
    import networkx as nx

    graph = nx.DiGraph()
    for message_id, distance in shown.items():
        node = _node(ancestors[message_id], distance)
        node["parents"] = ",".join(node["parents"])
        graph.add_node(message_id, **{k: v for k, v in node.items() if v is not None and k != "id"})
    graph.add_edges_from(edges)
    text = io.BytesIO()
    nx.write_graphml(graph, text)
    return text.getvalue().decode()


def parse_depth(text: str) -> int | None:
    """An argparse type: a number of parent links (0 or more), or `all`."""
    import argparse

    if text == "all":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number or 'all', got {text!r}")
    return int(text)


def lineage_for_cli(
    run_id: str, message: str, ancestors: dict[str, Message], depth: int | bool | None, form: str
) -> str:
    """The `lineage` command's output; depth False (not given) is 3 for the tree, all for
    the other formats."""
    chosen = (DEFAULT_TREE_DEPTH if form == "tree" else None) if depth is False else depth
    assert chosen is None or isinstance(chosen, int)
    return lineage_document(full_message_id(run_id, message), ancestors, chosen, form)


def full_message_id(run_id: str, message: str) -> str:
    """A message id as typed, with or without its run (replicate:round:node)."""
    return message if message.startswith(f"{run_id}:") else f"{run_id}:{message}"
