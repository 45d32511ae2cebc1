"""Node roles, node naming and role-based node listings."""

from __future__ import annotations

import re

import networkx as nx

__all__ = [
    "AGENT",
    "HUMAN_SOURCE",
    "ROLES",
    "agent_name",
    "agents",
    "human_sources",
    "natural_key",
    "source_name",
]

AGENT = "agent"
HUMAN_SOURCE = "human_source"
ROLES = frozenset({AGENT, HUMAN_SOURCE})

_DIGITS = re.compile(r"(\d+)")


def agent_name(i: int) -> str:
    """Return the node id of agent number ``i`` ("a0", "a1", ...)."""
    return f"a{i}"


def source_name(i: int) -> str:
    """Return the node id of human source number ``i`` ("h0", "h1", ...)."""
    return f"h{i}"


def natural_key(name: object) -> tuple[tuple[str | int, ...], int, str]:
    """Sort key putting "a2" before "a10": digit runs compare as numbers.

    ``re.split`` with a capturing group alternates text and digit runs, so
    position by position the key compares str with str and int with int.
    Ties ("a1" vs "a01") go to the shorter name, then the plain string.
    """
    text = str(name)
    parts = _DIGITS.split(text)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), len(text), text


def _with_role(G: nx.Graph, role: str) -> list[str]:
    return sorted((n for n, r in G.nodes(data="role") if r == role), key=natural_key)


def agents(G: nx.Graph) -> list[str]:
    """Return the agent nodes of ``G`` in natural order."""
    return _with_role(G, AGENT)


def human_sources(G: nx.Graph) -> list[str]:
    """Return the human-source nodes of ``G`` in natural order."""
    return _with_role(G, HUMAN_SOURCE)
