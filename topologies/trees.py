"""The ``tree`` builder: a balanced tree of agents, or a forest of them."""

from __future__ import annotations

import networkx as nx

from ._checks import check_int
from .roles import AGENT, HUMAN_SOURCE, agent_name, source_name

__all__ = ["tree"]


def tree(branching: int, depth: int, *, trees: int = 1) -> nx.DiGraph:
    """Return a balanced tree of agents fed at the root by human source h0, or a forest of
    ``trees`` such trees, tree t fed by its own source h{t}.

    Agents are named in breadth-first order (root ``a0``; the children of
    agent ``i`` are ``b*i+1 .. b*i+b``) and edges point parent -> child; tree t's
    agents follow tree t-1's (``a{t*n}`` is its root).
    ``depth`` counts the levels below the root, so each tree has
    ``n = sum(branching**i for i in range(depth + 1))`` agents.
    """
    branching = check_int(
        "branching", branching, minimum=1, what="a tree needs at least one child per node"
    )
    depth = check_int("depth", depth, minimum=0, what="a tree depth cannot be negative")
    trees = check_int("trees", trees, minimum=1, what="a forest needs at least one tree")

    n = sum(branching**i for i in range(depth + 1))
    names = [agent_name(i) for i in range(n * trees)]
    G = nx.DiGraph(kind="tree")
    G.add_nodes_from(names, role=AGENT)
    for t in range(trees):
        offset = t * n
        G.add_edges_from(
            (names[offset + (c - 1) // branching], names[offset + c]) for c in range(1, n)
        )
        G.add_node(source_name(t), role=HUMAN_SOURCE)
        G.add_edge(source_name(t), names[offset])
    return G
