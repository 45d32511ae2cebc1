"""Chain vs network at matched cost (turns_per_round, parallel chains, forests), the
transmission view (merges, generations, reach, human-text reads) and a target reach."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from service.api.app import create_app
from service.errors import SpecError
from service.experiment.dry_run import estimate
from service.experiment.experiment import load
from service.experiment.schedule import Pending
from service.experiment.settings import Settings
from service.measure.export import export_run
from service.measure.transmission import Transmission
from service.provenance.message import Message
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine
from service.run.reach import ReachController
from service.study.run_study import run_study
from service.study.runner import prepare_runs
from service.study.spec import parse_study, plan
from tests.conftest import spec_dict
from tests.test_api import api_settings, finished, start
from topologies import line, tree

CORPUS = [
    "A fresh human account of the same events, written by a second witness.",
    "Another human-written version, shorter, naming the same people and dates.",
    "A third human retelling with the facts in a different order.",
]
STUDY_BASE = Path(__file__).parent / "data" / "study-base.yaml"
AGENTS = 28
TURNS = 4
MATCHED_COST = {
    "chains": {"kind": "line", "n_agents": AGENTS, "chains": TURNS},
    "forest": {"kind": "tree", "branching": 2, "depth": 2, "trees": TURNS},
    "small-world": {
        "kind": "mixing",
        "graph": "small_world",
        "n_agents": AGENTS,
        "k": 4,
        "p": 0.1,
        "human_sources": TURNS,
    },
}


async def run(store: ProvenanceStore, run_id: str, **overrides) -> list[Message]:
    result = await Engine(load(spec_dict(**overrides)), store, run_id=run_id).run()
    assert result.status == "succeeded"
    return [m async for m in store.iter_messages(run_id)]


# --- topologies ------------------------------------------------------------------------------


def test_parallel_chains_split_the_agents_and_each_has_its_own_source() -> None:
    """6 agents in 3 chains: a0->a1, a2->a3, a4->a5, h_i feeding the head of chain i."""
    G = line(6, chains=3)
    agent_edges = {(u, v) for u, v in G.edges if u.startswith("a")}
    assert agent_edges == {("a0", "a1"), ("a2", "a3"), ("a4", "a5")}
    assert sorted((u, v) for u, v in G.edges if u.startswith("h")) == [
        ("h0", "a0"),
        ("h1", "a2"),
        ("h2", "a4"),
    ]


def test_chains_must_split_the_agents_evenly() -> None:
    with pytest.raises(ValueError, match="does not split into chains=4"):
        line(6, chains=4)
    with pytest.raises(SpecError, match=r"topology\.chains"):
        load(spec_dict(topology={"kind": "line", "n_agents": 6, "chains": 4}))


def test_a_forest_repeats_the_tree_with_a_source_per_tree() -> None:
    """Two binary trees of depth 1: a0->a1,a2 and a3->a4,a5; h0 feeds a0, h1 feeds a3."""
    G = tree(2, 1, trees=2)
    assert G.number_of_nodes() == 8
    assert set(G.successors("a3")) == {"a4", "a5"}
    assert list(G.successors("h1")) == ["a3"]


# --- the schedule ----------------------------------------------------------------------------


def test_a_limited_take_serves_the_longest_waiting_and_keeps_the_rest() -> None:
    import random

    pending = Pending(["a", "b", "c", "d"])
    pending.reached("d")
    assert pending.take(1, random.Random(0)) == ["d"]
    pending.reached("c")
    pending.take(0, random.Random(0))  # a round in which nobody may act
    pending.reached("a")
    pending.reached("b")
    assert pending.take(1, random.Random(0)) == ["c"]  # waiting since an earlier turn
    assert sorted(pending.take(5, random.Random(0))) == ["a", "b"]
    assert not pending


async def test_matched_cost_every_condition_makes_the_same_calls_per_round(store) -> None:
    """Parallel chains, a forest and a small world of 28 agents fed by 4 sources, at most 4
    turns a round: each condition makes exactly 4 LLM calls in each of 7 rounds, the network
    merges (some messages have 2+ parents) and the chains and trees never do."""
    rounds = AGENTS // TURNS
    per_round: dict[str, list[int]] = {}
    merged: dict[str, float] = {}
    for name, topology in MATCHED_COST.items():
        messages = await run(
            store, name, topology=topology, rounds=rounds, turns_per_round=TURNS, max_inputs=3
        )
        model = [m for m in messages if m.origin == "model"]
        calls = Counter(m.round for m in model for _ in range(m.attempts))
        per_round[name] = [calls[r] for r in range(rounds)]
        merged[name] = sum(len(m.parents) >= 2 for m in model) / len(model)
    for name, calls in per_round.items():
        assert all(abs(c - TURNS) <= 0.05 * TURNS for c in calls), (name, calls)
    assert merged["chains"] == merged["forest"] == 0
    assert merged["small-world"] > 0.2


async def test_the_dry_run_counts_the_limited_turns() -> None:
    experiment = load(spec_dict(topology=MATCHED_COST["small-world"], rounds=7, turns_per_round=4))
    assert estimate(experiment).llm_calls == 28


# --- the transmission view -------------------------------------------------------------------


def _record(round_: int, parents: int, humans: int, generation: int, min_generation: int):
    return {
        "origin": "model",
        "round": round_,
        "parents": [f"p{i}" for i in range(parents)],
        "human_input_share": humans / parents,
        "generation": generation,
        "min_generation": min_generation,
        "attempts": 1,
    }


def test_transmission_counts_merges_reads_and_reach() -> None:
    """Round 0: one message reading a human text; round 1: a merge of 3 (one human) and a
    retelling of a retelling of a retelling."""
    view = Transmission(rounds=3)
    view.add({"origin": "human", "round": 0})
    view.add(_record(0, 1, 1, 1, 1))
    view.add(_record(1, 3, 1, 4, 1))
    view.add(_record(1, 1, 0, 4, 4))
    rows = view.by_round()
    assert [r["model"] for r in rows] == [1, 2, 0]
    assert rows[1]["merged_share"] == 0.5 and rows[1]["parents_mean"] == 2
    assert rows[1]["reach_1"] == 0.5 and rows[1]["reach_3"] == 0.5
    totals = view.totals()
    assert totals["human_reads"] == 2 and totals["reach_1"] == pytest.approx(2 / 3)
    assert totals["generation_max"] == 4 and totals["llm_calls_per_round"] == 1


async def test_an_export_writes_the_transmission_view(store, tmp_path: Path) -> None:
    """transmission_by_round.csv, and the totals in the manifest and the run record."""
    topology = MATCHED_COST["small-world"]
    await Engine(load(spec_dict(topology=topology, rounds=4)), store, run_id="t").run()
    written = await export_run(store, "t", tmp_path)
    assert tmp_path / "transmission_by_round.csv" in written
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["transmission"]["model"] == manifest["counts"]["model"]
    assert (await store.get_run("t"))["transmission"] == manifest["transmission"]
    assert "## Transmission" in (tmp_path / "report.md").read_text()


# --- target reach ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", [0.2, 0.5])
async def test_a_target_reach_is_hit_within_five_points(store, target: float) -> None:
    """A 28-agent small world with one source: without help about 1% of the model messages
    read a human text; with `injection.reach` the run's share is within 0.05 of the target,
    and the fresh texts come from the corpus, tagged human."""
    topology = {**MATCHED_COST["small-world"], "human_sources": 1}
    messages = await run(
        store,
        f"reach-{target}",
        topology=topology,
        rounds=12,
        human_corpus=CORPUS,
        injection={"reach": target},
    )
    model = [m for m in messages if m.origin == "model"]
    direct = sum(m.min_generation == 1 for m in model) / len(model)
    assert abs(direct - target) <= 0.05
    fresh = [m for m in messages if m.node == "fresh"]
    assert fresh and all(m.origin == "human" and m.text in CORPUS for m in fresh)


def test_the_controller_makes_up_a_shortfall_next_round() -> None:
    """With half the fresh deliveries read, it offers about twice as many."""
    import random

    controller = ReachController(0.5)
    acting = [f"a{i}" for i in range(20)]
    first = controller.receivers(acting, set(), random.Random(0))
    assert len(first) == 10
    controller.update({node: node in first[:5] for node in acting}, first)
    second = controller.receivers(acting, set(), random.Random(1))
    assert len(second) > 10


def test_a_target_reach_needs_a_corpus() -> None:
    with pytest.raises(SpecError, match=r"injection\.reach > 0 needs human_corpus"):
        load(spec_dict(injection={"reach": 0.2}))


async def test_the_api_serves_the_transmission_view(aiohttp_client, redis, tmp_path) -> None:
    """GET /v1/runs/{id}/drift holds the totals and the table; ?table=transmission is CSV."""
    api = await aiohttp_client(create_app(api_settings(tmp_path)))
    run_id = await start(api, spec_dict(topology=MATCHED_COST["small-world"], rounds=3))
    await finished(api, run_id)
    drift = await (await api.get(f"/v1/runs/{run_id}/drift")).json()
    assert drift["transmission"]["model"] == sum(r["model"] for r in drift["transmission_by_round"])
    response = await api.get(
        f"/v1/runs/{run_id}/drift", params={"table": "transmission"}, headers={"Accept": "text/csv"}
    )
    assert (await response.text()).startswith("round,model,llm_calls,parents_mean")


async def test_a_study_reports_each_runs_reach_beside_its_condition(store, tmp_path: Path) -> None:
    """Two target reaches, one replicate each: transmission.csv has one row per run with the
    reach it achieved, transmission.md one row per condition."""
    study, base = parse_study(
        {"name": "r", "base": str(STUDY_BASE), "grid": {"injection.reach": [0, 0.4]}}, tmp_path
    )
    prepared = prepare_runs(plan(study, base), Settings(), {})
    outcome = await run_study(study, prepared, store, tmp_path)
    assert tmp_path / "transmission.csv" in outcome.written
    with (tmp_path / "transmission.csv").open(newline="") as handle:
        rows = {row["condition"]: row for row in csv.DictReader(handle)}
    assert float(rows["injection.reach=0"]["reach_1"]) < 0.1
    assert abs(float(rows["injection.reach=0.4"]["reach_1"]) - 0.4) <= 0.05
    assert "| injection.reach=0.4 |" in (tmp_path / "transmission.md").read_text()
