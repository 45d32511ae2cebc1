"""The ``from_edges`` builder: an arbitrary graph from edges or a file."""

from __future__ import annotations

import os
from collections.abc import Sequence

import networkx as nx

from ._checks import check_labels, check_sequence
from .errors import TopologyError
from .readers import read_graph
from .roles import AGENT, HUMAN_SOURCE, ROLES, agents

__all__ = ["from_edges"]


MAX_REPORTED = 5


def _from_list(edges: object) -> nx.DiGraph:
    """The graph of an edge list; self-loops and repeated edges are refused, all listed."""
    G = nx.DiGraph()
    loops: list[str] = []
    repeats: list[str] = []
    for index, edge in enumerate(check_sequence("edges", edges)):
        try:
            u, v = check_labels("edges", edge)
        except ValueError as exc:  # a TopologyError or a pair of the wrong length
            raise TopologyError(
                "edges", f"each edge must be a pair of node names, got {edge!r}"
            ) from exc
        if u == v:
            loops.append(f"{index} ({u!r} -> {v!r})")
        elif G.has_edge(u, v):
            repeats.append(f"{index} ({u!r} -> {v!r})")
        G.add_edge(u, v)
    found = [
        f"{what} at {_listed(where)}"
        for what, where in (("self-loops", loops), ("repeated edges", repeats))
        if where
    ]
    if found:
        raise TopologyError(
            "edges", f"{' and '.join(found)}; an agent does not hear itself, nor anyone twice"
        )
    return G


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_REPORTED])
    return shown + (f" and {len(items) - MAX_REPORTED} more" if len(items) > MAX_REPORTED else "")


def _with_str_ids(F: nx.Graph) -> nx.DiGraph:
    """Copy ``F`` as a DiGraph with str node ids; undirected links go both ways."""
    G = nx.DiGraph()
    G.graph.update(F.graph)
    G.add_nodes_from((str(n), d) for n, d in F.nodes(data=True))
    for u, v, d in F.edges(data=True):
        G.add_edge(str(u), str(v), **d)
        if not F.is_directed():
            G.add_edge(str(v), str(u), **d)
    return G


def _assign_roles(G: nx.DiGraph, field: str, named: Sequence[str]) -> None:
    """Roles from the file (default agent), then the named human sources; a human source
    must hear no one."""
    for node, role in G.nodes(data="role"):
        if role is None:
            G.nodes[node]["role"] = AGENT
        elif role not in ROLES:
            raise TopologyError(
                field, f"node {node!r} has role={role!r}; roles are {AGENT!r}, {HUMAN_SOURCE!r}"
            )
    for node in named:
        if node not in G:
            raise TopologyError("human_sources", f"human_sources names unknown node {node!r}")
        G.nodes[node]["role"] = HUMAN_SOURCE
    for node, role in G.nodes(data="role"):
        if role == HUMAN_SOURCE and G.in_degree(node):
            heard = next(iter(G.predecessors(node)))
            raise TopologyError(
                "human_sources",
                f"human source {node!r} must have no in-edges, but hears {heard!r}",
            )


def from_edges(
    edges: Sequence[Sequence[str | int]] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    human_sources: Sequence[str] = (),
) -> nx.DiGraph:
    """Return a graph given as an edge list or read from a file.

    Give exactly one of ``edges`` (pairs ``(u, v)``: v hears u) or ``path``
    (a ``.graphml`` file or a node-link ``.json`` file; an undirected graph
    becomes bidirectional). Node ids are kept, converted to str.

    A node's role is ``human_source`` if it is listed in ``human_sources``,
    else its ``role`` attribute from the file if it has one, else ``agent``.
    Human sources must have no in-edges and at least one agent must remain.
    """
    if edges is not None and path is not None:
        raise TopologyError("path", f"give edges or path, not both; got path={path!r} too")
    if edges is None and path is None:
        raise TopologyError("edges", "give edges or path, got edges=None and path=None")
    field = "edges" if path is None else "path"
    G = _from_list(edges) if path is None else _with_str_ids(read_graph(path))
    loops = [f"{u!r} -> {v!r}" for u, v in nx.selfloop_edges(G)]
    if loops:
        raise TopologyError(field, f"self-loops at {_listed(loops)}; an agent does not hear itself")
    G.graph["kind"] = "edges"
    named = check_labels("human_sources", human_sources)
    _assign_roles(G, field, named)
    if not G:
        given = f"edges={edges!r}" if path is None else f"path={path!r}"
        raise TopologyError(field, f"the graph has no nodes, got {given}")
    if not agents(G):
        raise TopologyError(
            "human_sources" if named else field,
            f"the graph needs at least one agent, but all {len(G)} nodes are human sources "
            f"(human_sources={human_sources!r})",
        )
    return G
