"""Structural and validation tests for the ``topologies`` package."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from topologies import (
    AGENT,
    HUMAN_SOURCE,
    MIXING_GRAPHS,
    TopologyError,
    agents,
    from_edges,
    human_sources,
    line,
    mixing,
    tree,
)
from topologies.build import build


def _agent_part(G: nx.DiGraph) -> nx.DiGraph:
    return G.subgraph(agents(G))


def _assert_conventions(G: nx.DiGraph, kind: str) -> None:
    assert isinstance(G, nx.DiGraph)
    assert G.graph["kind"] == kind
    assert all(isinstance(n, str) for n in G)
    assert {r for _, r in G.nodes(data="role")} <= {AGENT, HUMAN_SOURCE}
    assert all(G.in_degree(h) == 0 for h in human_sources(G))


def _assert_bidirectional(G: nx.DiGraph) -> None:
    A = _agent_part(G)
    assert all(A.has_edge(v, u) for u, v in A.edges())


def _expect_error(call: Any, field: str, shown: str) -> None:
    with pytest.raises(TopologyError) as info:
        call()
    assert info.value.field == field
    assert shown in str(info.value)


# --- line -------------------------------------------------------------------


def test_line_is_directed_path_fed_by_one_source() -> None:
    """line(5) is a0->...->a4 plus h0->a0, isomorphic to a directed path plus a source."""
    G = line(5)
    _assert_conventions(G, "line")
    assert (G.number_of_nodes(), G.number_of_edges()) == (6, 5)
    assert agents(G) == ["a0", "a1", "a2", "a3", "a4"]
    assert human_sources(G) == ["h0"]
    expected = nx.path_graph(5, create_using=nx.DiGraph)
    expected.add_edge("src", 0)
    assert nx.is_isomorphic(G, expected)
    assert set(G.edges()) == {("h0", "a0"), ("a0", "a1"), ("a1", "a2"), ("a2", "a3"), ("a3", "a4")}


def test_line_extra_sources_and_attach_at() -> None:
    """sources feed a0; each attach_at index gets one more source, in order."""
    G = line(4, sources=2, attach_at=[2, 3])
    _assert_conventions(G, "line")
    assert human_sources(G) == ["h0", "h1", "h2", "h3"]
    assert [(h, next(iter(G.successors(h)))) for h in human_sources(G)] == [
        ("h0", "a0"),
        ("h1", "a0"),
        ("h2", "a2"),
        ("h3", "a3"),
    ]
    assert G.number_of_edges() == 3 + 4


def test_line_single_agent() -> None:
    """A one-agent line is just h0 -> a0."""
    assert set(line(1).edges()) == {("h0", "a0")}


@pytest.mark.parametrize(
    ("kwargs", "field", "shown"),
    [
        ({"n_agents": 0}, "n_agents", "n_agents=0"),
        ({"n_agents": 2.0}, "n_agents", "n_agents=2.0"),
        ({"n_agents": 3, "sources": 0}, "sources", "sources=0"),
        ({"n_agents": 3, "sources": True}, "sources", "sources=True"),
        ({"n_agents": 3, "attach_at": [3]}, "attach_at", "3"),
        ({"n_agents": 3, "attach_at": [-1]}, "attach_at", "-1"),
        ({"n_agents": 3, "attach_at": "1"}, "attach_at", "attach_at='1'"),
    ],
)
def test_line_rejects_bad_arguments(kwargs: dict[str, Any], field: str, shown: str) -> None:
    """line names the bad argument and its value."""
    _expect_error(lambda: line(**kwargs), field, shown)


# --- tree -------------------------------------------------------------------


def test_tree_binary_depth_three() -> None:
    """tree(2, 3) has 15 agents and a source, shaped like a balanced binary tree."""
    G = tree(2, 3)
    _assert_conventions(G, "tree")
    assert len(agents(G)) == 15
    assert human_sources(G) == ["h0"]
    assert G.number_of_edges() == 14 + 1
    assert list(G.successors("h0")) == ["a0"]
    expected = nx.bfs_tree(nx.balanced_tree(2, 3), 0)
    assert nx.is_isomorphic(_agent_part(G), expected)


def test_tree_names_in_bfs_order() -> None:
    """Children of agent i are b*i+1 .. b*i+b and edges point parent -> child."""
    G = tree(3, 2)
    assert len(agents(G)) == 1 + 3 + 9
    assert sorted(G.successors("a0")) == ["a1", "a2", "a3"]
    assert sorted(G.successors("a2")) == ["a7", "a8", "a9"]
    assert list(G.predecessors("a12")) == ["a3"]


def test_tree_degenerate_shapes() -> None:
    """Depth 0 is one agent; branching 1 is a chain."""
    assert set(tree(4, 0).edges()) == {("h0", "a0")}
    assert nx.is_isomorphic(_agent_part(tree(1, 4)), nx.path_graph(5, create_using=nx.DiGraph))


@pytest.mark.parametrize(
    ("args", "field", "shown"),
    [
        ((0, 2), "branching", "branching=0"),
        ((2, -1), "depth", "depth=-1"),
        ((2, 1.5), "depth", "depth=1.5"),
    ],
)
def test_tree_rejects_bad_arguments(args: tuple[Any, Any], field: str, shown: str) -> None:
    """tree names the bad argument and its value."""
    _expect_error(lambda: tree(*args), field, shown)


# --- mixing -----------------------------------------------------------------


def test_small_world_regular_before_rewiring() -> None:
    """With p=0 every agent hears and tells exactly k agents, both ways."""
    G = mixing("small_world", 20, k=4, p=0.0, human_sources=2, seed=1)
    _assert_conventions(G, "mixing")
    A = _agent_part(G)
    _assert_bidirectional(G)
    assert len(A) == 20
    assert all(A.out_degree(a) == 4 and A.in_degree(a) == 4 for a in A)
    assert len(human_sources(G)) == 2
    assert G.number_of_edges() == 20 * 4 + 2


def test_small_world_rewired_keeps_edge_count() -> None:
    """Rewiring keeps n*k/2 links, each usable both ways, and stays connected."""
    G = mixing("small_world", 30, k=4, p=0.5, seed=3)
    A = _agent_part(G)
    _assert_bidirectional(G)
    assert A.number_of_edges() == 30 * 4
    assert nx.is_strongly_connected(A)


def test_mixing_is_reproducible_with_seed() -> None:
    """The same seed gives the same graph and sources; another seed differs."""
    for graph in ("small_world", "scale_free", "random"):
        first = mixing(graph, 40, p=0.2, human_sources=3, seed=7)
        again = mixing(graph, 40, p=0.2, human_sources=3, seed=7)
        other = mixing(graph, 40, p=0.2, human_sources=3, seed=8)
        assert set(first.edges()) == set(again.edges())
        assert set(first.edges()) != set(other.edges())


def test_mixing_random_sources_feed_distinct_agents() -> None:
    """Without attach_to each source feeds a different agent."""
    G = mixing("complete", 5, human_sources=5, seed=0)
    fed = [next(iter(G.successors(h))) for h in human_sources(G)]
    assert sorted(fed) == agents(G)
    assert all(G.out_degree(h) == 1 for h in human_sources(G))


def test_mixing_attach_to_is_honoured() -> None:
    """attach_to[i] is the agent fed by h{i}, repeats allowed."""
    G = mixing("complete", 4, human_sources=3, attach_to=["a3", "a1", "a3"])
    assert [list(G.successors(h)) for h in human_sources(G)] == [["a3"], ["a1"], ["a3"]]


def test_mixing_other_graphs() -> None:
    """scale_free, random and complete have the expected link counts."""
    sf = mixing("scale_free", 50, m=2, seed=2)
    assert _agent_part(sf).number_of_edges() == 2 * 2 * (50 - 2)
    _assert_bidirectional(sf)
    full = mixing("random", 10, p=1.0, seed=2)
    assert _agent_part(full).number_of_edges() == 10 * 9
    empty = mixing("random", 10, p=0.0, seed=2)
    assert _agent_part(empty).number_of_edges() == 0
    complete = mixing("complete", 6, human_sources=0)
    assert complete.number_of_edges() == 6 * 5
    assert human_sources(complete) == []
    assert complete.graph["mixing"] == "complete"


@pytest.mark.parametrize(
    ("args", "kwargs", "field", "shown"),
    [
        (("ring", 10), {}, "graph", "small_world, scale_free, random, complete"),
        (("ring", 10), {}, "graph", "graph='ring'"),
        (("complete", 1), {}, "n_agents", "n_agents=1"),
        (("small_world", 10), {"k": 3}, "k", "k=3"),
        (("small_world", 10), {"k": 10}, "k", "k=10"),
        (("small_world", 10), {"k": 0}, "k", "k=0"),
        (("small_world", 10), {"p": 1.5}, "p", "p=1.5"),
        (("random", 10), {"p": -0.1}, "p", "p=-0.1"),
        (("scale_free", 10), {"m": 0}, "m", "m=0"),
        (("scale_free", 10), {"m": 10}, "m", "m=10"),
        (("complete", 10), {"human_sources": -1}, "human_sources", "human_sources=-1"),
        (("complete", 10), {"human_sources": 11}, "human_sources", "human_sources=11"),
        (("complete", 3), {"human_sources": 2, "attach_to": ["a0"]}, "attach_to", "['a0']"),
        (("complete", 3), {"attach_to": ["a9"]}, "attach_to", "'a9'"),
        (("complete", 3), {"seed": "x"}, "seed", "seed='x'"),
    ],
)
def test_mixing_rejects_bad_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], field: str, shown: str
) -> None:
    """mixing names the bad argument and its value."""
    _expect_error(lambda: mixing(*args, **kwargs), field, shown)


def test_mixing_graph_names_are_exported() -> None:
    """MIXING_GRAPHS lists the four graphs mixing accepts."""
    assert MIXING_GRAPHS == ("small_world", "scale_free", "random", "complete")


# --- from_edges -------------------------------------------------------------


def test_from_edges_list_keeps_names_as_str() -> None:
    """Edge-list node ids are kept as str; listed human sources get that role."""
    G = from_edges([("news", "x"), ("x", 3), (3, "x")], human_sources=["news"])
    _assert_conventions(G, "edges")
    assert set(G) == {"news", "x", "3"}
    assert agents(G) == ["3", "x"]
    assert human_sources(G) == ["news"]
    assert set(G.edges()) == {("news", "x"), ("x", "3"), ("3", "x")}


def test_from_edges_graphml_undirected_becomes_bidirectional(tmp_path: Path) -> None:
    """An undirected GraphML graph is read with each link both ways."""
    file = tmp_path / "u.graphml"
    nx.write_graphml(nx.Graph([("p", "q"), ("q", "r")]), file)
    G = from_edges(path=file, human_sources=[])
    _assert_conventions(G, "edges")
    assert set(G.edges()) == {("p", "q"), ("q", "p"), ("q", "r"), ("r", "q")}
    assert agents(G) == ["p", "q", "r"]


def test_from_edges_graphml_roles(tmp_path: Path) -> None:
    """GraphML role attributes are kept; human_sources adds more sources."""
    D = nx.DiGraph([("p", "q"), ("q", "r"), ("s", "t")])
    nx.set_node_attributes(D, {"s": HUMAN_SOURCE, "t": AGENT}, "role")
    file = tmp_path / "d.graphml"
    nx.write_graphml(D, file)
    G = from_edges(path=str(file), human_sources=["p"])
    _assert_conventions(G, "edges")
    assert human_sources(G) == ["p", "s"]
    assert agents(G) == ["q", "r", "t"]


def test_from_edges_undirected_source_link_is_refused(tmp_path: Path) -> None:
    """A human source on an undirected link would hear its neighbour, so it is refused."""
    F = nx.Graph([("s", "t")])
    F.nodes["s"]["role"] = HUMAN_SOURCE
    file = tmp_path / "u.graphml"
    nx.write_graphml(F, file)
    _expect_error(lambda: from_edges(path=file), "human_sources", "'s'")


@pytest.mark.parametrize("key", ["edges", "links"])
def test_from_edges_node_link_json(tmp_path: Path, key: str) -> None:
    """Node-link JSON is read with either an 'edges' or a 'links' list; ids become str."""
    data = {
        "directed": True,
        "multigraph": False,
        "graph": {},
        "nodes": [{"id": 0}, {"id": 1}, {"id": 2, "role": HUMAN_SOURCE}],
        key: [{"source": 0, "target": 1}, {"source": 2, "target": 0}],
    }
    file = tmp_path / "g.json"
    file.write_text(json.dumps(data))
    G = from_edges(path=file)
    _assert_conventions(G, "edges")
    assert set(G.edges()) == {("0", "1"), ("2", "0")}
    assert agents(G) == ["0", "1"]
    assert human_sources(G) == ["2"]


def test_from_edges_json_undirected_is_bidirectional(tmp_path: Path) -> None:
    """An undirected node-link graph gives both directions of each link."""
    file = tmp_path / "u.json"
    data = {
        "directed": False,
        "nodes": [{"id": 0}, {"id": 1}, {"id": 2}],
        "links": [{"source": 0, "target": 1}, {"source": 1, "target": 2}],
    }
    file.write_text(json.dumps(data))
    G = from_edges(path=file)
    assert set(G.edges()) == {("0", "1"), ("1", "0"), ("1", "2"), ("2", "1")}


def test_from_edges_file_errors(tmp_path: Path) -> None:
    """Missing, unsupported, corrupt or badly-roled files raise on field 'path'."""
    missing = tmp_path / "missing.graphml"
    _expect_error(lambda: from_edges(path=missing), "path", "missing.graphml")
    _expect_error(lambda: from_edges(path=tmp_path / "g.txt"), "path", "g.txt")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{not json")
    _expect_error(lambda: from_edges(path=corrupt), "path", "corrupt.json")
    no_edges = tmp_path / "no_edges.json"
    no_edges.write_text(json.dumps({"nodes": [{"id": "a"}]}))
    _expect_error(lambda: from_edges(path=no_edges), "path", "no_edges.json")
    bad_role = tmp_path / "bad_role.graphml"
    nx.write_graphml(nx.DiGraph([("a", "b")]), bad_role)
    F = nx.read_graphml(bad_role)
    F.nodes["b"]["role"] = "moderator"
    nx.write_graphml(F, bad_role)
    _expect_error(lambda: from_edges(path=bad_role), "path", "'moderator'")


@pytest.mark.parametrize(
    ("args", "kwargs", "field", "shown"),
    [
        ((), {}, "edges", "edges=None"),
        (([("a", "b")],), {"path": "g.json"}, "path", "g.json"),
        (([("a", "b", "c")],), {}, "edges", "('a', 'b', 'c')"),
        (([("a", 1.5)],), {}, "edges", "1.5"),
        (([],), {}, "edges", "edges=[]"),
        (([("a", "b")],), {"human_sources": ["b"]}, "human_sources", "'b'"),
        (([("a", "b")],), {"human_sources": ["z"]}, "human_sources", "'z'"),
        (([("a", "b")],), {"human_sources": "a"}, "human_sources", "human_sources='a'"),
        ((["ab"],), {}, "edges", "'ab'"),
    ],
)
def test_from_edges_rejects_bad_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], field: str, shown: str
) -> None:
    """from_edges names the bad argument and its value."""
    _expect_error(lambda: from_edges(*args, **kwargs), field, shown)


def test_from_edges_needs_an_agent() -> None:
    """Making every node a human source is refused."""
    _expect_error(
        lambda: from_edges([("a", "b")], human_sources=["a", "b"]), "human_sources", "'b'"
    )


# --- helpers, errors, build -------------------------------------------------


def test_helpers_sort_naturally() -> None:
    """agents and human_sources list nodes in natural order (a2 before a10)."""
    G = line(12, sources=11)
    assert agents(G) == [f"a{i}" for i in range(12)]
    assert human_sources(G) == [f"h{i}" for i in range(11)]
    F = from_edges([("x10", "x9"), ("x9", "b"), ("b", "x1"), ("x1", "x01")])
    assert agents(F) == ["b", "x1", "x01", "x9", "x10"]


def test_topology_error_is_value_error_and_pickles() -> None:
    """TopologyError is a ValueError whose field survives pickling."""
    err = TopologyError("n_agents", "a line needs at least one agent, got n_agents=0")
    assert isinstance(err, ValueError)
    assert str(err) == "a line needs at least one agent, got n_agents=0"
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.field, str(copy)) == (err.field, str(err))


def test_build_dispatches_each_kind() -> None:
    """build(kind, params) equals calling the builder; seed reaches mixing only."""
    assert set(build("line", {"n_agents": 3, "sources": 2}).edges()) == set(
        line(3, sources=2).edges()
    )
    assert set(build("tree", {"branching": 2, "depth": 2}, seed=5).edges()) == set(
        tree(2, 2).edges()
    )
    params = {"graph": "small_world", "n_agents": 12, "k": 4, "p": 0.3, "human_sources": 2}
    built = build("mixing", params, seed=9)
    assert set(built.edges()) == set(mixing(**params, seed=9).edges())
    assert built.graph["kind"] == "mixing"
    edges = build("edges", {"edges": [["h", "a"]], "human_sources": ["h"]})
    assert edges.graph["kind"] == "edges"
    assert human_sources(edges) == ["h"]


@pytest.mark.parametrize(
    ("kind", "params", "field", "shown"),
    [
        ("ring", {}, "kind", "kind='ring'"),
        ("line", {"n_agents": 3, "depth": 2}, "depth", "'depth'"),
        ("tree", {"branching": 2}, "depth", "'depth'"),
        ("mixing", {"graph": "complete", "n_agents": 3, "seed": 1}, "seed", "'seed'"),
        ("line", [("n_agents", 3)], "params", "params="),
        ("line", {"n_agents": 0}, "n_agents", "n_agents=0"),
    ],
)
def test_build_rejects_bad_input(kind: str, params: Any, field: str, shown: str) -> None:
    """build names an unknown kind, unexpected or missing parameters, and builder errors."""
    _expect_error(lambda: build(kind, params), field, shown)
