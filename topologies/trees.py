"""The ``tree`` builder: a balanced tree of agents."""

from __future__ import annotations

import networkx as nx

from ._checks import check_int
from .roles import AGENT, HUMAN_SOURCE, agent_name, source_name

__all__ = ["tree"]


def tree(branching: int, depth: int) -> nx.DiGraph:
    """Return a balanced tree of agents fed at the root by human source h0.

    Agents are named in breadth-first order (root ``a0``; the children of
    agent ``i`` are ``b*i+1 .. b*i+b``) and edges point parent -> child.
    ``depth`` counts the levels below the root, so there are
    ``sum(branching**i for i in range(depth + 1))`` agents.
    """
    branching = check_int(
        "branching", branching, minimum=1, what="a tree needs at least one child per node"
    )
    depth = check_int("depth", depth, minimum=0, what="a tree depth cannot be negative")

    n = sum(branching**i for i in range(depth + 1))
    names = [agent_name(i) for i in range(n)]
    G = nx.DiGraph(kind="tree")
    G.add_nodes_from(names, role=AGENT)
    G.add_edges_from((names[(c - 1) // branching], names[c]) for c in range(1, n))
    G.add_node(source_name(0), role=HUMAN_SOURCE)
    G.add_edge(source_name(0), names[0])
    return G
