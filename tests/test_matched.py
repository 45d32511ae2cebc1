"""Matched mode: every text goes to one receiver and is read once, in chains and networks."""

from __future__ import annotations

from collections import Counter

import pytest

from service.errors import SpecError
from service.experiment.experiment import load
from service.provenance.message import Message
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine
from tests.conftest import spec_dict

MIXING = {
    "kind": "mixing",
    "graph": "small_world",
    "n_agents": 15,
    "k": 4,
    "p": 0.2,
    "human_sources": 3,
}


async def run(store: ProvenanceStore, run_id: str, **overrides) -> list[Message]:
    spec = spec_dict(matched=True, **overrides)
    result = await Engine(load(spec), store, run_id=run_id).run()
    assert result.status == "succeeded"
    return sorted([m async for m in store.iter_messages(run_id)], key=lambda m: (m.round, m.origin))


async def test_in_a_network_every_text_is_retold_once_by_one_receiver(store):
    """Three sources on a small world, one input a turn: each text is delivered to one
    out-neighbour and read by it once (a text held back by the cap waits, it is not lost), so
    each lineage is a chain: one parent per message, generation = retellings so far."""
    rounds = 12
    messages = await run(store, "net", topology=MIXING, rounds=rounds, max_inputs=1)
    model = [m for m in messages if m.origin == "model"]
    assert all(len(m.observed) <= 1 for m in messages)
    read = Counter(p for m in model for p in m.parents)
    assert max(read.values()) == 1
    assert all(len(m.parents) == 1 for m in model)
    by_id = {m.id: m for m in messages}
    for message in model:
        assert (
            message.generation == message.min_generation == by_id[message.parents[0]].generation + 1
        )
    early = [m for m in messages if m.round < rounds - 3 and m.observed]
    assert early and all(read[m.id] == 1 for m in early)
    per_round = Counter(m.round for m in model)
    assert max(per_round.values()) <= 3 and sum(per_round.values()) >= 3 * (rounds - 3)


async def test_a_chain_and_a_network_retell_one_text_the_same_number_of_times(store):
    """One source, no injection: the line and the small world both retell the text once per
    round, one agent at a time, so round r holds the single text of generation r + 1."""
    topology = {**MIXING, "human_sources": 1}
    for name, topo in (("line", {"kind": "line", "n_agents": 8}), ("net", topology)):
        messages = await run(store, name, topology=topo, rounds=8)
        model = [m for m in messages if m.origin == "model"]
        assert [m.round for m in model] == list(range(8)), name
        assert [m.generation for m in model] == list(range(1, 9)), name


async def test_a_tree_in_matched_mode_passes_each_text_down_one_branch(store):
    """The root's text goes to one child only, and so on down: one message per level."""
    messages = await run(store, "tree", topology={"kind": "tree", "branching": 2, "depth": 3})
    model = [m for m in messages if m.origin == "model"]
    assert [m.round for m in model] == [0, 1, 2]


def test_matched_needs_memory_consume():
    with pytest.raises(SpecError, match="matched: true needs memory: consume"):
        load(spec_dict(matched=True, memory="keep_latest"))
