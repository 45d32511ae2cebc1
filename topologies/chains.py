"""The ``line`` builder: agents in a chain."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import networkx as nx

from ._checks import check_int, check_sequence, is_int
from .errors import TopologyError
from .roles import AGENT, HUMAN_SOURCE, agent_name, source_name

__all__ = ["line"]


def line(n_agents: int, *, sources: int = 1, attach_at: Sequence[int] = ()) -> nx.DiGraph:
    """Return a chain of agents a0 -> a1 -> ... fed by human sources.

    Parameters
    ----------
    n_agents : int
        Number of agents in the chain, at least 1.
    sources : int
        Number of human sources feeding ``a0`` (h0 .. h{sources-1}), at least 1.
    attach_at : sequence of int
        Agent indexes that each get one extra human source, named after the
        ``sources`` ones in the order given. A repeated index gets one per entry.
    """
    n_agents = check_int("n_agents", n_agents, minimum=1, what="a line needs at least one agent")
    sources = check_int("sources", sources, minimum=1, what="a line needs at least one source")
    extra = []
    for index in check_sequence("attach_at", attach_at):
        if not is_int(index) or not 0 <= index < n_agents:
            raise TopologyError(
                "attach_at",
                f"attach_at entries must be agent indexes in 0..{n_agents - 1}, got {index!r}",
            )
        extra.append(int(index))

    names = [agent_name(i) for i in range(n_agents)]
    G = nx.DiGraph(kind="line")
    G.add_nodes_from(names, role=AGENT)
    G.add_edges_from(pairwise(names))
    targets = [0] * sources + extra
    hs = [source_name(i) for i in range(len(targets))]
    G.add_nodes_from(hs, role=HUMAN_SOURCE)
    G.add_edges_from((h, names[t]) for h, t in zip(hs, targets, strict=True))
    return G
