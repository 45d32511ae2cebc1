"""Seeds: the graph's own seed (graph_seed, default seed) and replicates that share one graph."""

from __future__ import annotations

import json

from service.experiment.experiment import load
from service.lifecycle import run_spec
from tests.conftest import spec_dict
from tests.test_cli import driftlab, write_spec
from topologies.build import build

MIXING = {
    "kind": "mixing",
    "graph": "small_world",
    "n_agents": 16,
    "k": 4,
    "p": 0.3,
    "human_sources": 2,
}


def edges(**overrides) -> set[tuple[str, str]]:
    return set(load(spec_dict(topology=MIXING, **overrides)).graph.edges)


def test_without_graph_seed_the_graph_is_the_one_seed_always_built():
    """graph_seed defaults to seed, so an existing spec keeps its graph: the builder called
    with the seed, as before graph_seed existed."""
    params = {k: v for k, v in MIXING.items() if k != "kind"}
    assert edges(seed=7) == set(build("mixing", params, seed=7).edges)
    assert edges(seed=7) == edges(seed=7, graph_seed=7)
    assert edges(seed=7) != edges(seed=8)


def test_graph_seed_fixes_the_graph_and_random_personas_while_seed_varies():
    """With graph_seed set, changing seed leaves the graph and a random persona assignment
    unchanged; changing graph_seed changes them."""
    assert edges(seed=1, graph_seed=3) == edges(seed=2, graph_seed=3)
    assert edges(seed=1, graph_seed=3) != edges(seed=1, graph_seed=4)
    personas = ["editor", "tabloid", "scientist"]

    def assigned(**seeds) -> dict[str, str]:
        experiment = load(
            spec_dict(topology=MIXING, personas=personas, assignment="random", **seeds)
        )
        return {node: p.name for node, p in experiment.persona_of.items()}

    assert assigned(seed=1, graph_seed=3) == assigned(seed=2, graph_seed=3)
    assert assigned(seed=1, graph_seed=3) != assigned(seed=1, graph_seed=4)


async def test_replicates_share_the_graph_and_differ_in_dynamics(store, tmp_path):
    """Two replicates of one spec run on one graph (same edges in the experiment they share)
    with their own draws: message ids and records carry the replicate, and texts differ."""
    experiment = load(spec_dict(topology=MIXING, rounds=4, policy="all", max_inputs=1))
    texts = {}
    for replicate in (0, 3):
        run_id = f"rep{replicate}"
        done = await run_spec(
            experiment, store, run_id=run_id, replicate=replicate, out_dir=tmp_path / run_id
        )
        assert done.result.status == "succeeded"
        messages = [m async for m in store.iter_messages(run_id)]
        assert all(m.replicate == replicate for m in messages)
        assert all(m.id.startswith(f"{run_id}:{replicate}:") for m in messages)
        texts[replicate] = {(m.round, m.node): m.text for m in messages if m.origin == "model"}
        assert (await store.get_run(run_id))["replicate"] == replicate
    shared = texts[0].keys() & texts[3].keys()
    assert len(shared) >= 10
    assert sum(texts[0][k] != texts[3][k] for k in shared) > len(shared) / 2


async def test_cli_picks_the_replicate_and_the_graph_seed(tmp_path, redis):
    """`--replicate 2` runs replicate 2; `--graph-seed` lands in the spec and the manifest."""
    spec = write_spec(tmp_path / "s.yaml", topology=MIXING, rounds=2)
    result = driftlab(
        "run", str(spec), "--replicate", "2", "--graph-seed", "11", "--out", "o", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "o" / "messages.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert records and all(r["replicate"] == 2 for r in records)
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert int(manifest["replicate"]) == 2
    assert (manifest["seed"], manifest["graph_seed"]) == (5, 11)
    refused = driftlab("run", str(spec), "--replicate", "-1", cwd=tmp_path)
    assert refused.returncode == 2 and "at least 0" in refused.stderr
