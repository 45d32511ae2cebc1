"""Inbox memory: a delivery read once (consume) or reread until replaced (keep_latest)."""

from __future__ import annotations

from service.experiment.experiment import load
from service.provenance.message import Message
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine
from tests.conftest import spec_dict
from tests.test_engine import CORPUS

MIXING = {
    "kind": "mixing",
    "graph": "small_world",
    "n_agents": 12,
    "k": 4,
    "p": 0.2,
    "human_sources": 2,
}


async def run(store: ProvenanceStore, run_id: str, **overrides) -> list[Message]:
    spec = spec_dict(topology=MIXING, rounds=6, **overrides)
    result = await Engine(load(spec), store, run_id=run_id).run()
    assert result.status == "succeeded"
    return [m async for m in store.iter_messages(run_id)]


def _human_parents(messages: list[Message]) -> dict[str, list[str]]:
    """Model message id -> the ids of its human parents."""
    humans = {m.id for m in messages if m.origin == "human"}
    return {m.id: [p for p in m.parents if p in humans] for m in messages if m.origin == "model"}


async def test_consume_without_injection_leaves_no_human_text_after_round_0(store):
    """With memory consume (the default) and injection 0, no message after round 0 has a human
    parent: human text reaches later rounds only through model messages, and every text of
    round r stands exactly r + 1 model steps from the source."""
    messages = await run(store, "consume")
    assert load(spec_dict()).spec.memory == "consume"
    by_id = {m.id: m for m in messages}
    parents = _human_parents(messages)
    later = [m for m in messages if m.origin == "model" and m.round > 0]
    assert len(later) >= 5 * 12 * 0.8
    assert all(not parents[m.id] for m in later)
    assert any(parents[m.id] for m in messages if m.origin == "model" and m.round == 0)
    for message in later:
        assert message.generation == message.min_generation == message.round + 1
        assert all(by_id[p].round == message.round - 1 for p in message.parents)


async def test_keep_latest_rereads_the_source(store):
    """With memory keep_latest the round-0 source text stays in its neighbours' inboxes and is
    read again in later rounds."""
    messages = await run(store, "keep", memory="keep_latest")
    parents = _human_parents(messages)
    reread = [m for m in messages if m.origin == "model" and m.round > 0 and parents[m.id]]
    assert len(reread) >= 3


async def test_consume_with_injection_reads_only_fresh_human_text(store):
    """With injection, every human parent of a message is a text emitted in that same round."""
    messages = await run(store, "fresh", injection={"rate": 0.5}, human_corpus=CORPUS)
    by_id = {m.id: m for m in messages}
    parents = _human_parents(messages)
    fresh = [(m, p) for m in messages if m.origin == "model" for p in parents[m.id]]
    assert any(m.round > 0 for m, _ in fresh)
    assert all(by_id[p].round == m.round for m, p in fresh)


async def test_the_anchor_policy_keeps_its_anchor_under_consume(store):
    """The anchor is the anchor policy's own memory: under consume it still rereads the source."""
    messages = await run(store, "anchor", policy="anchor")
    parents = _human_parents(messages)
    assert any(parents[m.id] for m in messages if m.origin == "model" and m.round > 0)
