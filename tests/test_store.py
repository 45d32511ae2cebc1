"""Provenance store: lineage queries, run listing and deletion, on the real Redis."""

from __future__ import annotations

import pytest

from service.errors import MessageNotFound, RunNotFound
from service.experiment.experiment import load
from service.measure.export import iter_records
from service.provenance import keys
from service.run.engine import Engine
from service.status import RunStatus
from service.terminal.lineage_views import render_tree
from tests.conftest import spec_dict

DIAMOND = {
    "kind": "edges",
    "edges": [["h0", "a"], ["a", "b"], ["a", "c"], ["b", "d"], ["c", "d"]],
    "human_sources": ["h0"],
}


async def diamond_run(store, run_id="L"):
    await Engine(load(spec_dict(topology=DIAMOND, rounds=3)), store, run_id=run_id).run()


async def test_ancestors_reach_the_human_root(store):
    """The ancestor DAG of a merge holds both branches and the human source once."""
    await diamond_run(store)
    ancestors = await store.ancestors("L", "L:0:2:d")
    assert set(ancestors) == {"L:0:2:d", "L:0:1:b", "L:0:1:c", "L:0:0:a", "L:0:0:h0"}
    assert ancestors["L:0:0:h0"].origin == "human"


async def test_descendants_of_the_human_text(store):
    """Every model message descends from the only human text; a leaf has none."""
    await diamond_run(store)
    assert set(await store.descendants("L", "L:0:0:h0")) == {
        "L:0:0:a",
        "L:0:1:b",
        "L:0:1:c",
        "L:0:2:d",
    }
    assert await store.descendants("L", "L:0:2:d") == []


async def test_lineage_queries_on_unknown_ids(store):
    """Unknown messages raise MessageNotFound naming the id."""
    await diamond_run(store)
    with pytest.raises(MessageNotFound, match="nope"):
        await store.ancestors("L", "nope")
    with pytest.raises(MessageNotFound):
        await store.descendants("L", "nope")


async def test_render_lineage_draws_a_shared_ancestor_once(store):
    """The indented tree shows the merge's shared ancestor once, then a reference."""
    await diamond_run(store)
    text = render_tree("L:0:2:d", await store.ancestors("L", "L:0:2:d"), None)
    lines = text.splitlines()
    assert lines[0].startswith("0:2:d  ") and " g3 r2 " in lines[0]
    assert lines[1].startswith("  0:1:b  ")
    assert lines[3].startswith("      0:0:h0  human g0 r0 ")
    assert sum(line.strip() == "↑ 0:0:a" for line in lines) == 1


async def test_list_and_delete_runs(store, redis):
    """Runs are listed in creation order; deleting one removes all its keys."""
    await diamond_run(store, "first")
    await diamond_run(store, "second")
    assert [r["id"] for r in await store.list_runs()] == ["first", "second"]
    await store.delete_run("first")
    assert [r["id"] for r in await store.list_runs()] == ["second"]
    for key in keys.all_for_run("first"):
        assert not await redis.exists(key)
    assert await store.count_messages("second") == 5
    with pytest.raises(RunNotFound):
        await store.delete_run("first")


async def test_rounds_done_of_a_running_and_a_finished_run(store, redis):
    """The rounds `driftlab show` and the run listing give: a running run's by its last event
    (a round's start or its end), a finished or interrupted one's by its round times."""
    await store.create_run("live", spec_dict(rounds=3))
    await store.update_run("live", RunStatus.RUNNING)
    await redis.set(keys.lease("live"), "test", px=60_000)

    async def done() -> int:
        return await store.rounds_done(await store.get_run("live"))

    assert await done() == 0
    await store.add_event("live", {"type": "status", "status": "running"})
    assert await done() == 0
    for round_ in range(3):
        await store.add_event("live", {"type": "round_started", "round": round_})
        assert await done() == round_
        await store.add_event("live", {"type": "round", "round": round_})
        assert await done() == round_ + 1
    await store.update_run("live", round_seconds=[0.5, 0.5])
    await redis.delete(keys.lease("live"))
    assert (await store.get_run("live"))["status"] == "interrupted" and await done() == 2
    await store.update_run("live", RunStatus.SUCCEEDED, round_seconds=[0.5] * 3)
    assert await done() == 3


async def test_keys_share_one_prefix(store, redis):
    """Every key a run writes starts with the driftlab prefix."""
    await diamond_run(store)
    stored = [k.decode() async for k in redis.scan_iter()]
    assert stored and all(k.startswith(keys.PREFIX + ":") for k in stored)


async def test_records_stream_in_order_across_chunks(store):
    """Records come ordered by round, human sources first, then node, whatever the chunking."""
    topology = {"kind": "mixing", "graph": "complete", "n_agents": 11, "human_sources": 2}
    await Engine(load(spec_dict(topology=topology, rounds=3)), store, run_id="S").run()
    ordered = [r["id"] async for r in iter_records(store, "S", chunk=4)]
    assert ordered == [r["id"] async for r in iter_records(store, "S", chunk=1000)]
    assert ordered[:2] == ["S:0:0:h0", "S:0:0:h1"]
    rounds = [int(i.split(":")[2]) for i in ordered]
    assert rounds == sorted(rounds)
    round_one = [i.split(":")[3] for i in ordered if i.split(":")[2] == "1"]
    assert round_one == [f"a{n}" for n in range(11)]
    assert await store.human_ids("S") == ["S:0:0:h0", "S:0:0:h1"]
