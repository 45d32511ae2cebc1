"""Mitigation policies compared end to end on the synthetic backend, against the real Redis."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.experiment.experiment import load
from service.measure.export import iter_records, views_of
from service.provenance.message import Message
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine
from tests.conftest import spec_dict

MIXING = {"kind": "mixing", "graph": "small_world", "n_agents": 12, "k": 4, "p": 0.2}


async def run(store: ProvenanceStore, run_id: str, **overrides) -> list[Message]:
    result = await Engine(load(spec_dict(**overrides)), store, run_id=run_id).run()
    assert result.status == "succeeded"
    return [m async for m in store.iter_messages(run_id)]


def _local(ids: list[str]) -> list[str]:
    """Message ids without their run id."""
    return [i.split(":", 1)[1] for i in ids]


async def test_label_differs_from_all_on_the_synthetic_backend(store):
    """The same network and seed with `label` instead of `all`: the same inputs are read, but
    the persona's trust in the labels changes what it writes. Every text is retold (none
    passed on as a fixed point: settled_change 1), so that labels have texts to act on."""
    common = {
        "topology": MIXING,
        "rounds": 5,
        "personas": ["scientist", "editor"],
        "channel": {"settled_change": 1.0},
    }
    plain = await run(store, "all", policy="all", **common)
    labelled = await run(store, "label", policy="label", **common)
    by_key = {(m.round, m.node): m for m in plain}
    pairs = [(by_key[m.round, m.node], m) for m in labelled if m.origin == "model"]
    assert len(pairs) == len(labelled) - 1
    assert all(_local(a.parents) == _local(b.parents) for a, b in pairs)
    differing = sum(a.text != b.text for a, b in pairs)
    assert differing > 0.5 * len(pairs)
    assert all("[Human-written]" in b.prompt for a, b in pairs if b.human_input_share)


async def test_receivers_observe_the_senders_min_generation_and_human_share(store):
    """With intact tags each receiver sees the sender's true min_generation and human input
    share; with every tag lost and no detector it sees neither."""
    edges = [["h0", "a"], ["a", "b"], ["h0", "b"], ["b", "c"]]
    topology = {"kind": "edges", "edges": edges, "human_sources": ["h0"]}
    common = {"topology": topology, "rounds": 3, "memory": "keep_latest"}  # b rereads h0
    intact = await run(store, "intact", **common)
    checked = 0
    for message in intact:
        for seen in message.observed.values():
            assert seen.tagged
            assert seen.min_generation == message.min_generation
            assert seen.human_input_share == message.human_input_share
            checked += 1
    assert checked >= 5
    assert any(0 < (m.human_input_share or 0) < 1 for m in intact)
    lost = await run(store, "lost", provenance={"tag_loss": 1.0}, **common)
    for message in lost:
        for seen in message.observed.values():
            assert (seen.tagged, seen.min_generation, seen.human_input_share) == (False, None, None)


CONCORDE = yaml.safe_load(Path("examples/telephone-chain.yaml").read_text())["source"]
CORPUS = yaml.safe_load(Path("examples/mixing-injection.yaml").read_text())["human_corpus"]
# Fresh human text half the time from each of three sources: with every delivery read once
# (memory: consume), that is the only human text after round 0, and what the policies find.
NETWORK = {
    "source": CONCORDE,
    "human_corpus": CORPUS,
    "injection": {"rate": 0.5},
    "topology": {
        "kind": "mixing",
        "graph": "small_world",
        "n_agents": 20,
        "k": 4,
        "p": 0.1,
        "human_sources": 3,
    },
    "rounds": 10,
    "max_inputs": 2,
    "personas": ["editor", "scientist"],
}
SEEDS = range(6)


@dataclass(frozen=True)
class Final:
    """One run's last round: fact retention over the messages written and over the whole
    population (each agent's latest text; silent agents retain nothing), the mean
    min_generation of the messages written, and the share of agents that spoke."""

    written: float
    population: float
    min_generation: float
    spoke: float


async def _final_round(store, policy: dict, tag_loss: float, **changes: Any) -> list[Final]:
    """Per seed, the last round of the network under `policy` and `tag_loss`."""
    results = []
    network = {**NETWORK, **changes}
    for seed in SEEDS:
        run_id = f"{sorted(policy.items())}-{tag_loss}-{sorted(changes.items())}-{seed}"
        messages = await run(
            store, run_id, seed=seed, policy=policy, provenance={"tag_loss": tag_loss}, **network
        )
        views = views_of(await store.get_run(run_id))
        async for record in iter_records(store, run_id):
            views.add(record)
        last_row = views.by_round()[-1]
        last = [m for m in messages if m.round == network["rounds"] - 1 and m.origin == "model"]
        results.append(
            Final(
                statistics.mean(m.drift.fact_retention for m in last) if last else 0.0,
                last_row["population_fact_retention"],
                statistics.mean(m.min_generation for m in last) if last else math.inf,
                last_row["spoke_share"],
            )
        )
    return results


def _mean(results: list[Final], name: str) -> float:
    return statistics.mean(getattr(r, name) for r in results)


async def test_min_generation_policy_keeps_more_facts_population_wide_while_most_agents_speak(
    store,
):
    """With intact tags, reading only inputs observed within k of a human text keeps more facts
    than `all` in the last round, over the whole population (silent agents count with their
    latest text, or as retaining nothing), while at least 80% of the agents still speak in it.
    With every tag lost and no detector nothing qualifies: the advantage is gone."""
    plain = await _final_round(store, {"kind": "all"}, 0.0)
    near = await _final_round(store, {"kind": "min_generation", "k": 4}, 0.0)
    lost = await _final_round(store, {"kind": "min_generation", "k": 4}, 1.0)
    advantage = _mean(near, "population") - _mean(plain, "population")
    assert advantage > 0.03
    assert _mean(near, "written") > _mean(plain, "written") + 0.03
    assert _mean(near, "min_generation") < _mean(plain, "min_generation") - 1
    assert all(r.spoke >= 0.8 for r in near)
    assert _mean(lost, "population") - _mean(plain, "population") < advantage - 0.1


async def test_share_weighting_lowers_population_drift_only_while_tags_survive(store):
    """Reading one input a turn, chosen with weight (1 + observed human share)^8: with intact
    tags the whole population keeps far more facts than under `all` while every agent speaks;
    the advantage shrinks as tag loss rises and is gone when every tag is lost (no detector)."""
    one_input = {"max_inputs": 1}
    weighted = {"kind": "share_weighted", "weight": 8}
    plain = await _final_round(store, {"kind": "all"}, 0.0, **one_input)
    advantage = {
        loss: _mean(await _final_round(store, weighted, loss, **one_input), "population")
        - _mean(plain, "population")
        for loss in (0.0, 0.5, 1.0)
    }
    assert advantage[0.0] > 0.15
    assert advantage[0.5] < advantage[0.0] - 0.05
    assert abs(advantage[1.0]) < 0.05


async def test_share_weighting_brings_inputs_nearer_to_human_text_only_while_tags_survive(store):
    """share_weighted pulls the last round at least one generation nearer to a human text than
    `all` with intact tags; with every tag lost (no detector) the advantage is gone."""
    plain = await _final_round(store, {"kind": "all"}, 0.0)
    intact = await _final_round(store, {"kind": "share_weighted", "weight": 3}, 0.0)
    lost = await _final_round(store, {"kind": "share_weighted", "weight": 3}, 1.0)
    assert _mean(plain, "min_generation") - _mean(intact, "min_generation") > 1
    assert _mean(lost, "min_generation") > _mean(plain, "min_generation") - 0.5
    assert all(r.spoke == 1 for r in intact + lost)
