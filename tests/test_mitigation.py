"""Mitigation policies compared end to end on the synthetic backend, against the real Redis."""

from __future__ import annotations

import statistics

from service.experiment.experiment import load
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
    the persona's trust in the labels changes what it writes."""
    common = {"topology": MIXING, "rounds": 5, "personas": ["scientist", "editor"]}
    plain = await run(store, "all", policy="all", **common)
    labelled = await run(store, "label", policy="label", **common)
    by_key = {(m.round, m.node): m for m in plain}
    pairs = [(by_key[m.round, m.node], m) for m in labelled if m.origin == "model"]
    assert len(pairs) == len(labelled) - 1
    assert all(_local(a.parents) == _local(b.parents) for a, b in pairs)
    differing = sum(a.text != b.text for a, b in pairs)
    assert differing > 0.5 * len(pairs)
    assert all("[Human-written]" in b.prompt for a, b in pairs if b.human_input_share)
    retention = [
        statistics.mean(m.drift.fact_retention for m in ms if m.origin == "model")
        for ms in (plain, labelled)
    ]
    assert retention[0] != retention[1]
