"""The ``line`` builder: agents in a chain, or in parallel chains."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import networkx as nx

from ._checks import check_int, check_sequence, is_int
from .errors import TopologyError
from .roles import AGENT, HUMAN_SOURCE, agent_name, source_name

__all__ = ["line"]


def line(
    n_agents: int, *, sources: int = 1, attach_at: Sequence[int] = (), chains: int = 1
) -> nx.DiGraph:
    """Return a chain of agents a0 -> a1 -> ... fed by human sources, or ``chains``
    parallel chains sharing the agents between them.

    Parameters
    ----------
    n_agents : int
        Number of agents over all chains, at least 1 (a multiple of ``chains``).
    sources : int
        Number of human sources feeding the head of each chain, at least 1.
    attach_at : sequence of int
        Agent indexes that each get one extra human source, named after the
        ``sources`` ones in the order given. A repeated index gets one per entry.
        Only with one chain.
    chains : int
        Number of parallel chains of ``n_agents / chains`` agents each: chain c
        holds agents ``c*L .. c*L + L - 1`` and its own ``sources`` human sources
        (h0 .. for chain 0, then chain 1's, ...).
    """
    n_agents = check_int("n_agents", n_agents, minimum=1, what="a line needs at least one agent")
    sources = check_int("sources", sources, minimum=1, what="a line needs at least one source")
    chains = check_int("chains", chains, minimum=1, what="a line needs at least one chain")
    if n_agents % chains:
        raise TopologyError(
            "chains",
            f"n_agents={n_agents} does not split into chains={chains} chains of equal length",
        )
    extra = []
    for index in check_sequence("attach_at", attach_at):
        if chains > 1:
            raise TopologyError("attach_at", "attach_at needs a single chain (chains: 1)")
        if not is_int(index) or not 0 <= index < n_agents:
            raise TopologyError(
                "attach_at",
                f"attach_at entries must be agent indexes in 0..{n_agents - 1}, got {index!r}",
            )
        extra.append(int(index))

    length = n_agents // chains
    names = [agent_name(i) for i in range(n_agents)]
    G = nx.DiGraph(kind="line")
    G.add_nodes_from(names, role=AGENT)
    for chain in range(chains):
        G.add_edges_from(pairwise(names[chain * length : (chain + 1) * length]))
    targets = [chain * length for chain in range(chains) for _ in range(sources)] + extra
    hs = [source_name(i) for i in range(len(targets))]
    G.add_nodes_from(hs, role=HUMAN_SOURCE)
    G.add_edges_from((h, names[t]) for h, t in zip(hs, targets, strict=True))
    return G
