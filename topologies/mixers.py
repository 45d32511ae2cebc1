"""The ``mixing`` builder: agents on a random or complete mixing graph."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence

import networkx as nx

from ._checks import check_int, check_labels, check_probability, check_seed, is_int
from .errors import TopologyError
from .roles import AGENT, HUMAN_SOURCE, agent_name, source_name

__all__ = ["MIXING_GRAPHS", "mixing"]

MIXING_GRAPHS = ("small_world", "scale_free", "random", "complete")


def _small_world(n: int, k: int, p: float, seed: int | None) -> nx.Graph:
    try:
        return nx.connected_watts_strogatz_graph(n, k, p, seed=seed)
    except nx.NetworkXError:  # no connected rewiring found within the tries
        return nx.watts_strogatz_graph(n, k, p, seed=seed)


def _generator(
    graph: str, n: int, k: int, p: float, m: int, seed: int | None
) -> Callable[[], nx.Graph]:
    """Validate the parameters ``graph`` uses and return its generator."""
    if graph == "small_world":
        if not is_int(k) or k < 2 or k % 2 or k >= n:
            raise TopologyError(
                "k",
                f"small_world needs an even k with 2 <= k < n_agents={n}, got k={k!r}",
            )
        k, p = int(k), check_probability("p", p)
        return lambda: _small_world(n, k, p, seed)
    if graph == "scale_free":
        m = check_int("m", m, minimum=1, what="scale_free needs m >= 1")
        if m >= n:
            raise TopologyError("m", f"scale_free needs m < n_agents={n}, got m={m!r}")
        return lambda: nx.barabasi_albert_graph(n, m, seed=seed)
    if graph == "random":
        p = check_probability("p", p)
        return lambda: nx.fast_gnp_random_graph(n, p, seed=seed)
    return lambda: nx.complete_graph(n)


def _source_targets(
    human_sources: int, attach_to: Sequence[str] | None, names: list[str], seed: int | None
) -> list[str]:
    """Return the agent each human source feeds, in source order."""
    if attach_to is not None:
        targets = check_labels("attach_to", attach_to)
        if len(targets) != human_sources:
            raise TopologyError(
                "attach_to",
                f"attach_to needs one agent per human source ({human_sources}), "
                f"got {len(targets)} in attach_to={attach_to!r}",
            )
        known = set(names)
        for name in targets:
            if name not in known:
                raise TopologyError("attach_to", f"attach_to names unknown agent {name!r}")
        return targets
    if human_sources > len(names):
        raise TopologyError(
            "human_sources",
            f"cannot attach human_sources={human_sources} to distinct agents "
            f"among n_agents={len(names)}",
        )
    return [names[i] for i in random.Random(seed).sample(range(len(names)), human_sources)]


def _both_ways(edges: Iterable[tuple[int, int]], names: list[str]) -> Iterable[tuple[str, str]]:
    for u, v in edges:
        a, b = names[u], names[v]
        yield a, b
        yield b, a


def mixing(
    graph: str,
    n_agents: int,
    *,
    k: int = 4,
    p: float = 0.1,
    m: int = 2,
    human_sources: int = 1,
    attach_to: Sequence[str] | None = None,
    seed: int | None = None,
) -> nx.DiGraph:
    """Return agents on a mixing graph, every link usable both ways.

    Parameters
    ----------
    graph : str
        One of ``MIXING_GRAPHS``: "small_world" (connected Watts-Strogatz with
        ``k`` neighbours and rewiring probability ``p``), "scale_free"
        (Barabasi-Albert attaching ``m`` edges per node), "random" (G(n, p)) or
        "complete". Parameters the chosen graph does not use are ignored.
    n_agents : int
        Number of agents a0 .. a{n-1}, at least 2.
    human_sources : int
        Number of human sources h0 .., each feeding one agent.
    attach_to : sequence of str, optional
        The agent fed by each human source; by default distinct agents drawn
        at random.
    seed : int, optional
        Seeds both the graph generator and the draw of attached agents.
    """
    if graph not in MIXING_GRAPHS:
        raise TopologyError(
            "graph", f"graph must be one of {', '.join(MIXING_GRAPHS)}; got graph={graph!r}"
        )
    n_agents = check_int("n_agents", n_agents, minimum=2, what="a mixing graph needs two agents")
    seed = check_seed(seed)
    generate = _generator(graph, n_agents, k, p, m, seed)
    human_sources = check_int(
        "human_sources", human_sources, minimum=0, what="human_sources cannot be negative"
    )
    names = [agent_name(i) for i in range(n_agents)]
    targets = _source_targets(human_sources, attach_to, names, seed)

    G = nx.DiGraph(kind="mixing", mixing=graph)
    G.add_nodes_from(names, role=AGENT)
    G.add_edges_from(_both_ways(generate().edges(), names))
    hs = [source_name(i) for i in range(human_sources)]
    G.add_nodes_from(hs, role=HUMAN_SOURCE)
    G.add_edges_from(zip(hs, targets, strict=True))
    return G
