"""What the terminal shows: tables within 80 columns, one line per row; lineage cut at a
depth and written as tree, JSON, GraphML and dot."""

from __future__ import annotations

import io
import json
from xml.etree import ElementTree

import networkx as nx
import pytest
from rich.console import Console

from service.cli.display import ROUND_HEADERS
from service.provenance.message import Message
from service.terminal.lineage_views import lineage_document, render_tree, within_depth
from service.terminal.tables import fitted_table, runs_table


def rendered(renderable, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text().splitlines()


def stored_runs(count: int) -> list[dict]:
    return [
        {
            "id": f"mixing-with-injection-20261203-0814{i:02d}-4a70e8",
            "status": "succeeded",
            "backend": "synthetic",
            "rounds": 40,
            "counts": {"messages": 2401},
            "finished_at": "2026-12-03T08:14:39.123+00:00",
        }
        for i in range(count)
    ]


def test_runs_table_fits_80_columns_with_unique_prefixes():
    """Every line fits 80 columns, each run is one line, and its id cell is a prefix that
    starts no other run's id."""
    runs = stored_runs(12)
    lines = rendered(runs_table(runs))
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if "succeeded" in line]
    assert len(rows) == len(runs)
    for line, run in zip(rows, runs, strict=True):
        shown = line.split()[0]
        assert run["id"].startswith(shown)
        assert sum(other["id"].startswith(shown) for other in runs) == 1


def test_wide_runs_table_shows_whole_ids():
    lines = "\n".join(rendered(runs_table(stored_runs(2), wide=True), width=200))
    assert "mixing-with-injection-20261203-081401-4a70e8" in lines


def test_drift_table_fits_80_columns_and_drops_unmeasured_columns():
    headers = {"generation": "gen", "n": "n", "euclidean": "euclid", "length_words": "words",
               "unique_words": "unique", "type_token_ratio": "TTR", "fact_retention": "facts",
               "rare_word_retention": "rare", "entropy_ratio": "entropy"}  # fmt: skip
    rows = [
        {"generation": g, "n": 1200, "euclidean": None, "length_words": 1234.5678,
         "unique_words": 321.5, "type_token_ratio": 0.5, "fact_retention": 0.25,
         "rare_word_retention": 0.125, "entropy_ratio": 0.9}
        for g in range(30)
    ]  # fmt: skip
    lines = rendered(fitted_table("drift from the original, by generation (means)", headers, rows))
    assert max(len(line) for line in lines) <= 80
    assert "euclid" not in "\n".join(lines)
    assert sum("1234.568" in line for line in lines) == 30


def test_columns_that_do_not_fit_are_left_out_whole_and_named():
    """The by-round table's nine columns at 80: the last ones are left out (the caption says
    which) rather than every header cut to an ellipsis; at 200 all are shown."""
    rows = [{key: 1234.5 if key.startswith("pop") else 0.25 for key in ROUND_HEADERS} for _ in "ab"]
    lines = rendered(fitted_table("by round", ROUND_HEADERS, rows, digits=2, width=80))
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80 and "…" not in text
    shown = next(line.split() for line in lines if line.split()[:1] == ["round"])
    left_out = text.split("left out at this width: ")[1].split()
    assert shown == list(ROUND_HEADERS.values())[: len(shown)] and len(shown) < len(ROUND_HEADERS)
    assert [name.strip(",") for name in left_out] == list(ROUND_HEADERS.values())[len(shown) :]
    wide = "\n".join(rendered(fitted_table("by round", ROUND_HEADERS, rows, width=200), 200))
    assert "left out" not in wide and all(header in wide for header in ROUND_HEADERS.values())


def make_message(
    run: str, round_: int, node: str, parents: list[str], origin: str = "model"
) -> Message:
    generation = 0 if origin == "human" else round_
    return Message.model_construct(
        id=f"{run}:0:{round_}:{node}", run=run, replicate=0, round=round_, node=node,
        agent=None if origin == "human" else f"agent-{node}", origin=origin,
        generation=generation, parents=parents, text=f"text of {node} " * 3,
    )  # fmt: skip


def diamond_chain(levels: int) -> dict[str, Message]:
    """A human text h, then per level two messages each reading both of the level below."""
    messages = {"R:0:0:h": make_message("R", 0, "h", [], origin="human")}
    below = ["R:0:0:h"]
    for level in range(1, levels + 1):
        current = []
        for node in ("a", "b"):
            message = make_message("R", level, f"{node}{level}", below)
            messages[message.id] = message
            current.append(message.id)
        below = current
    return messages


@pytest.mark.parametrize("depth", [0, 1, 2, None])
def test_depth_limits_the_ancestors_shown(depth):
    messages = diamond_chain(5)
    top = "R:0:5:a5"
    shown = within_depth(top, messages, depth)
    expected = 1 + 2 * min(depth, 5) if depth is not None else 12
    if depth is None:
        expected = len(within_depth(top, messages, None))
        assert expected == len([m for m in messages if m != "R:0:5:b5"])
    assert len(shown) == expected
    document = json.loads(lineage_document(top, messages, depth, "json"))
    assert {node["id"] for node in document["nodes"]} == set(shown)
    assert all(node["depth"] <= (depth if depth is not None else 99) for node in document["nodes"])


def test_compact_tree_draws_each_message_once_and_says_what_is_cut():
    messages = diamond_chain(8)
    tree = render_tree("R:0:8:a8", messages, 3)
    lines = tree.splitlines()
    drawn = [line for line in lines if '"' in line]
    assert len(drawn) == 1 + 2 * 3  # each message within depth 3 once
    assert "not shown" in tree and "--depth" in lines[-1]
    assert len(lines) < 20


def test_graphml_and_dot_hold_the_same_graph():
    messages = diamond_chain(3)
    top = "R:0:3:a3"
    graphml = lineage_document(top, messages, None, "graphml")
    graph = nx.parse_graphml(graphml)
    assert graph.number_of_nodes() == 6 and graph.number_of_edges() == 8
    assert graph.nodes["R:0:0:h"]["origin"] == "human"
    dot = lineage_document(top, messages, None, "dot")
    assert dot.startswith("digraph lineage {") and dot.count("->") == 8
    ElementTree.fromstring(graphml)
