"""Node ids in a raw spec: integers become strings, so `0` and `"0"` may not both appear."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from service.errors import Problem

MAX_REPORTED = 10


def node_id_problems(raw: dict[str, Any]) -> list[Problem]:
    """One problem per node id written both as an integer and as a string (the first few)."""
    first: dict[str, tuple[type, str]] = {}
    problems: list[Problem] = []
    for path, node in _node_ids(raw):
        kind = str if isinstance(node, str) else int
        seen = first.setdefault(str(node), (kind, path))
        if seen[0] is not kind and len(problems) < MAX_REPORTED:
            problems.append(
                Problem(
                    path,
                    f"node {str(node)!r} is written as {_as(kind)} here and as {_as(seen[0])} "
                    f"at {seen[1]}; node ids are strings, so write it one way",
                )
            )
    return problems


def _as(kind: type) -> str:
    return "a string" if kind is str else "a number"


def _node_ids(raw: dict[str, Any]) -> Iterator[tuple[str, str | int]]:
    topology = raw.get("topology")
    if isinstance(topology, dict) and topology.get("kind") == "edges":
        yield from _edge_list_ids(topology)
    persona_map = raw.get("persona_map")
    if isinstance(persona_map, dict):
        for node in persona_map:
            if _is_id(node):
                yield f"persona_map.{node}", node


def _edge_list_ids(topology: dict[str, Any]) -> Iterator[tuple[str, str | int]]:
    edges = topology.get("edges")
    if isinstance(edges, list):
        for i, edge in enumerate(edges):
            if isinstance(edge, list):
                for j, node in enumerate(edge):
                    if _is_id(node):
                        yield f"topology.edges.{i}.{j}", node
    sources = topology.get("human_sources")
    if isinstance(sources, list):
        for i, node in enumerate(sources):
            if _is_id(node):
                yield f"topology.human_sources.{i}", node


def _is_id(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
