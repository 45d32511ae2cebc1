"""The engine end to end on the synthetic backend, against the real Redis."""

from __future__ import annotations

import gc

import pytest

from service.errors import RunExists
from service.experiment.corpus import injects
from service.experiment.experiment import load
from service.gc_tuning import YOUNG_THRESHOLD, fewer_collections
from service.provenance.message import Message
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine
from tests.conftest import spec_dict

CORPUS = [
    "In 1962 the Aurora GT appeared with a V12 of 5.9 litres; a 1964 factory fire ended it.",
    "Maria Keller designed the Aurora GT, a 1962 coupe with a 5.9-litre V12 engine.",
]


async def run(store: ProvenanceStore, run_id: str = "r", **overrides) -> list[Message]:
    result = await Engine(load(spec_dict(**overrides)), store, run_id=run_id).run()
    assert result.status == "succeeded"
    messages = [m async for m in store.iter_messages(run_id)]
    return sorted(messages, key=lambda m: (m.round, m.node))


def by_key(messages: list[Message]) -> dict[tuple[int, str], Message]:
    return {(m.round, m.node): m for m in messages}


async def test_line_is_a_transmission_chain(store):
    """On a line, agent i retells agent i-1 in round i: generation i+1, one parent each."""
    messages = by_key(await run(store, topology={"kind": "line", "n_agents": 4}, rounds=4))
    assert set(messages) == {(0, "h0"), (0, "a0"), (1, "a1"), (2, "a2"), (3, "a3")}
    human = messages[0, "h0"]
    assert (human.origin, human.generation, human.parents, human.roots) == (
        "human",
        0,
        [],
        [human.id],
    )
    for index in range(4):
        message = messages[index, f"a{index}"]
        assert message.origin == "model"
        assert message.generation == message.min_generation == index + 1
        assert message.roots == [human.id]
        parent = messages[0, "h0"] if index == 0 else messages[index - 1, f"a{index - 1}"]
        assert message.parents == [parent.id]
        assert message.human_input_share == (1.0 if index == 0 else 0.0)


async def test_merge_tags_on_a_hand_built_graph(store):
    """A merge of a human text and a gen-2 text gets generation 3, min_generation 1, share 0.5
    (m rereads h0's text, kept under memory keep_latest)."""
    edges = [["h0", "x"], ["x", "y"], ["y", "m"], ["h0", "m"]]
    messages = by_key(
        await run(
            store,
            topology={"kind": "edges", "edges": edges, "human_sources": ["h0"]},
            rounds=3,
            memory="keep_latest",
        )
    )
    human = messages[0, "h0"]
    assert messages[0, "m"].generation == 1
    merged = messages[2, "m"]
    assert sorted(merged.parents) == sorted([human.id, messages[1, "y"].id])
    assert (merged.generation, merged.min_generation) == (3, 1)
    assert merged.human_input_share == 0.5
    assert merged.roots == [human.id]
    assert (1, "m") not in messages, "m had nothing new in round 1 and must not act"


async def test_roots_collect_every_human_ancestor(store):
    """Two human sources feeding one agent: its message has both human texts as roots."""
    edges = [["h0", "a"], ["h1", "a"], ["a", "b"]]
    messages = by_key(
        await run(
            store,
            topology={"kind": "edges", "edges": edges, "human_sources": ["h0", "h1"]},
            rounds=2,
        )
    )
    roots = sorted([messages[0, "h0"].id, messages[0, "h1"].id])
    assert messages[0, "a"].roots == roots
    assert messages[1, "b"].roots == roots
    assert messages[1, "b"].n_roots == 2
    assert messages[0, "a"].human_input_share == 1.0


async def test_same_seed_same_messages_whatever_the_concurrency(store):
    """Texts and observed tags depend on the seed only, not on the concurrency limit."""
    common = dict(
        topology={
            "kind": "mixing",
            "graph": "small_world",
            "n_agents": 30,
            "k": 4,
            "human_sources": 2,
        },
        rounds=5,
        human_corpus=CORPUS,
        injection={"rate": 0.5},
        provenance={"tag_loss": 0.4, "detector": {"tpr": 0.8, "fpr": 0.1}},
        policy={"kind": "prefer_human", "weight": 4},
        personas=["editor", "tabloid", "teacher"],
    )
    serial = await run(store, run_id="serial", concurrency=1, **common)
    parallel = await run(store, run_id="parallel", concurrency=64, **common)
    assert len(serial) == len(parallel) > 80
    for a, b in zip(serial, parallel, strict=True):
        assert (a.round, a.node, a.text, a.observed, a.generation) == (
            b.round,
            b.node,
            b.text,
            b.observed,
            b.generation,
        )
        assert [p.split(":", 1)[1] for p in a.parents] == [p.split(":", 1)[1] for p in b.parents]
    other_seed = await run(store, run_id="other", concurrency=8, seed=99, **common)
    assert [m.text for m in other_seed] != [m.text for m in serial]


async def test_injection_emits_fresh_corpus_texts(store):
    """With rate 1 a source emits a corpus text every later round, without replacement."""
    messages = await run(store, rounds=5, human_corpus=CORPUS, injection={"rate": 1.0})
    human = [m for m in messages if m.origin == "human"]
    assert [m.round for m in human] == [0, 1, 2, 3, 4]
    assert human[0].text == spec_dict()["source"]["text"]
    assert sorted(m.text for m in human[1:3]) == sorted(CORPUS)
    assert sorted(m.text for m in human[3:5]) == sorted(CORPUS)
    assert messages_of(messages, "a0", 1).parents == [human[1].id]


def messages_of(messages: list[Message], node: str, round_: int) -> Message:
    return next(m for m in messages if m.node == node and m.round == round_)


async def test_injection_rate_zero_never_injects(store):
    """Without injection only round 0 has human text."""
    messages = await run(store, rounds=4, human_corpus=CORPUS)
    assert [m.round for m in messages if m.origin == "human"] == [0]


async def test_human_only_policy_leaves_downstream_agents_silent(store, redis):
    """On a line with human_only only agent 0 speaks; agent 1 stays silent, the skip stored."""
    messages = await run(store, rounds=3, policy={"kind": "human_only"})
    assert {(m.round, m.node) for m in messages} == {(0, "h0"), (0, "a0")}
    skips = await store.skips("r")
    assert list(skips) == ["0:1:a1"]
    assert "human_only" in skips["0:1:a1"]
    run_record = await store.get_run("r")
    assert run_record["counts"]["skips"] == 1


async def test_label_policy_writes_observed_tags_into_the_prompt(store):
    """With label, the prompt shows each input's observed provenance."""
    messages = by_key(await run(store, rounds=2, policy="label"))
    assert messages[0, "a0"].prompt.count("[Human-written]") == 1
    assert "[AI-generated, 1 generation from a human text]" in messages[1, "a1"].prompt
    plain = by_key(await run(store, run_id="plain", rounds=2))
    assert "[" not in plain[1, "a1"].prompt


async def test_anchor_policy_keeps_the_remembered_human_text(store):
    """With anchor, an agent that once saw human text keeps reading it after newer model texts."""
    edges = [["h0", "a"], ["a", "b"], ["b", "a"]]
    messages = by_key(
        await run(
            store,
            topology={"kind": "edges", "edges": edges, "human_sources": ["h0"]},
            rounds=4,
            policy="anchor",
            max_inputs=1,
        )
    )
    human = messages[0, "h0"]
    assert messages[2, "a"].parents == [human.id]
    plain = by_key(
        await run(
            store,
            run_id="plain",
            topology={"kind": "edges", "edges": edges, "human_sources": ["h0"]},
            rounds=4,
            policy="latest",
            max_inputs=1,
        )
    )
    assert plain[2, "a"].parents == [plain[1, "b"].id]


async def test_observed_tags_recorded_per_receiver(store):
    """Each message stores what every out-neighbour observed; true tags stay exact."""
    messages = await run(
        store,
        topology={"kind": "mixing", "graph": "complete", "n_agents": 6, "human_sources": 1},
        rounds=3,
        provenance={"tag_loss": 1.0},
    )
    for message in messages:
        assert message.observed, message.id
        assert all(not o.tagged and o.origin == "unknown" for o in message.observed.values())
    agent_message = next(m for m in messages if m.node == "a0" and m.round == 1)
    assert set(agent_message.observed) == {"a1", "a2", "a3", "a4", "a5"}


async def test_a_second_run_with_a_stored_id_is_refused_and_writes_nothing(store):
    """Creating a run claims its id: the same id again is refused, the first run untouched."""
    first = await run(store, rounds=3)
    with pytest.raises(RunExists):
        await run(store, rounds=5)
    assert await store.count_messages("r") == len(first)
    assert (await store.get_run("r"))["spec"]["rounds"] == 3


async def test_run_record_and_events(store):
    """The run record ends succeeded with counts; the event stream has a round event each."""
    await run(store, rounds=3)
    record = await store.get_run("r")
    assert record["status"] == "succeeded"
    assert record["counts"]["messages"] == 4
    assert record["counts"]["human"] == 1
    events = [e for _, e in await store.events("r")]
    assert [e["round"] for e in events if e["type"] == "round"] == [0, 1, 2]
    assert events[-1] == {"type": "status", "status": "succeeded"}


async def test_drift_table_counts_messages_per_generation(store):
    """The run's drift table has one row per generation with the message count."""
    result = await Engine(load(spec_dict(rounds=3)), store, run_id="d").run()
    assert [(r["generation"], r["n"]) for r in result.drift] == [(0, 1), (1, 1), (2, 1), (3, 1)]
    assert result.drift[0]["fact_retention"] == 1.0
    assert result.drift[0]["euclidean"] is None


@pytest.mark.parametrize("concurrency", [1, 7])
async def test_all_messages_written_before_the_run_ends(store, concurrency):
    """Every model message's parents are themselves stored (no dangling lineage)."""
    messages = await run(
        store,
        topology={"kind": "mixing", "graph": "scale_free", "n_agents": 20, "m": 2},
        rounds=4,
        concurrency=concurrency,
    )
    ids = {m.id for m in messages}
    assert all(set(m.parents) <= ids for m in messages)


async def test_the_engine_leaves_the_garbage_collector_to_the_program(store):
    """Process-wide settings are the program's choice: a run does not change them."""
    before = gc.get_threshold()
    during: list[tuple[int, ...]] = []
    engine = Engine(
        load(spec_dict(rounds=2)),
        store,
        run_id="gc",
        on_round=lambda _: during.append(gc.get_threshold()),
    )
    await engine.run()
    assert during == [before, before]


def test_overlapping_users_restore_the_collector_when_the_last_ends():
    """Collections are fewer while any user is inside; the last to leave restores them."""
    before = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD and gc.get_freeze_count() > 0
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_a_run_stops_early_once_nothing_can_happen(store):
    """A 3-agent line asked for 10,000 rounds stops after round 3, and says so."""
    experiment = load(spec_dict(topology={"kind": "line", "n_agents": 3}, rounds=10_000))
    result = await Engine(experiment, store, run_id="early").run()
    assert result.status == "succeeded" and len(result.round_seconds) == 3
    assert "stopped after round 3 of 10000" in result.notices[-1]
    assert (await store.get_run("early"))["notices"][-1] == result.notices[-1]


async def test_a_run_with_injection_stops_only_after_the_last_injection(store):
    """With injection, the run goes on until the last injected text has reached the end of
    the line: the same draws the engine makes decide when that is."""
    rounds, n_agents, rate = 120, 3, 0.05

    def injections(seed: int) -> list[int]:
        return [r for r in range(1, rounds) if injects(rate, seed, 0, r, "h0")]

    seed = next(s for s in range(100) if injections(s) and max(injections(s)) < rounds // 2)
    last = max(injections(seed))
    raw = spec_dict(
        topology={"kind": "line", "n_agents": n_agents},
        rounds=rounds,
        seed=seed,
        injection={"rate": rate},
        human_corpus=CORPUS,
    )
    result = await Engine(load(raw), store, run_id="inj").run()
    assert len(result.round_seconds) == last + n_agents
    assert "no human source will inject again" in result.notices[-1]
    messages = [m async for m in store.iter_messages("inj")]
    assert max(m.round for m in messages) == last + n_agents - 1
    assert sum(m.origin == "human" for m in messages) == 1 + len(injections(seed))
