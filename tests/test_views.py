"""Drift views: by round over the messages written and over the whole population, by
min_generation and by fresh human ancestry; on hand-made records and on real runs."""

from __future__ import annotations

import csv
import json
import statistics

import pytest

from service.experiment.experiment import load
from service.lifecycle import run_spec
from service.measure.views import DriftViews
from tests.conftest import spec_dict
from tests.test_engine import CORPUS


def record(
    id_: str,
    round_: int,
    node: str,
    *,
    facts: float | None,
    words: int = 10,
    origin: str = "model",
    generation: int = 1,
    min_generation: int | None = None,
    parents: tuple[str, ...] = (),
    euclidean: float | None = None,
) -> dict:
    drift = {
        "length_words": words,
        "unique_words": words,
        "type_token_ratio": 1.0,
        "fact_retention": facts,
    }
    if euclidean is not None:
        drift |= {"euclidean": euclidean, "cosine": euclidean / 10}
    return {
        "id": id_,
        "round": round_,
        "node": node,
        "origin": origin,
        "generation": 0 if origin == "human" else generation,
        "min_generation": min_generation if min_generation is not None else generation,
        "parents": list(parents),
        "drift": drift,
    }


def test_population_counts_silent_agents_and_keeps_latest_texts():
    """Three agents: retention of the population divides by all three (an agent that never
    spoke retains nothing), each agent counts with its latest text, lengths are over the agents
    that have spoken, and a round nobody spoke in still has its row."""
    views = DriftViews(3, has_facts=True, rounds=4)
    for item in (
        record("h", 0, "h0", facts=1.0, origin="human"),
        record("a0", 0, "a", facts=1.0, words=30, parents=("h",)),
        record("b1", 1, "b", facts=0.5, words=10, parents=("a0",), generation=2),
        record("a2", 2, "a", facts=0.0, words=20, parents=("b1",), generation=3),
    ):
        views.add(item)
    rows = views.by_round()
    assert [r["spoke"] for r in rows] == [1, 1, 1, 0]
    assert [r["ever_spoke"] for r in rows] == [1, 2, 2, 2]
    assert rows[0]["population_fact_retention"] == pytest.approx(1 / 3)
    assert rows[1]["population_fact_retention"] == pytest.approx(1.5 / 3)
    assert rows[2]["population_fact_retention"] == pytest.approx(0.5 / 3)
    assert rows[3]["population_fact_retention"] == pytest.approx(0.5 / 3)
    assert rows[2]["fact_retention"] == 0.0 and rows[3]["fact_retention"] is None
    assert rows[2]["population_length_words"] == pytest.approx(15)
    assert rows[1]["spoke_share"] == pytest.approx(1 / 3)


def test_fresh_ancestry_follows_human_roots_emitted_after_round_0():
    """A message descends from fresh human text if any ancestor is a human text of a later
    round; the round-0 source does not count."""
    views = DriftViews(2, has_facts=True)
    for item in (
        record("h0", 0, "h0", facts=1.0, origin="human"),
        record("a0", 0, "a", facts=1.0, parents=("h0",)),
        record("h1", 1, "h0", facts=1.0, origin="human"),
        record("a1", 1, "a", facts=0.9, parents=("h1",)),
        record("b1", 1, "b", facts=0.1, parents=("a0",), generation=2),
        record("b2", 2, "b", facts=0.8, parents=("a1",), generation=2),
    ):
        views.add(item)
    table = {(r["round"], r["fresh_human"]): r for r in views.by_ancestry()}
    assert set(table) == {(0, False), (1, True), (1, False), (2, True)}
    assert table[1, True]["fact_retention"] == pytest.approx(0.9)
    by_min = {r["min_generation"]: r["n"] for r in views.by_min_generation()}
    assert by_min == {1: 2, 2: 2}


def test_distances_weigh_each_embedded_text_by_its_generations_sampling():
    """Generation 1 has four messages and one embedded, generation 2 one of one: in a round
    holding both, the generation-1 distance stands for four texts."""
    views = DriftViews(5, has_facts=False)
    views.add(record("h", 0, "h0", facts=None, origin="human", euclidean=0.0))
    for i, node in enumerate("abcd"):
        views.add(record(f"{node}0", 0, node, facts=None, euclidean=1.0 if i == 0 else None))
    views.add(record("e1", 1, "e", facts=None, generation=2, parents=("a0",), euclidean=2.0))
    rows = views.by_round()
    assert rows[0]["euclidean"] == pytest.approx(1.0) and rows[0]["n_embedded"] == 1
    assert rows[1]["population_euclidean"] == pytest.approx((4 * 1.0 + 2.0) / 5)
    assert rows[1]["population_n_embedded"] == 2
    assert rows[1]["population_fact_retention"] is None


async def test_a_run_keeps_both_measures_in_its_record_files_and_manifest(store, tmp_path):
    """On a network where `human_only` silences most agents, the population's retention (each
    agent's latest text, silent agents as none) is recomputed here from the messages and
    matches the run's table, and sits below the retention of the messages written."""
    spec = spec_dict(
        topology={"kind": "mixing", "graph": "small_world", "n_agents": 12, "k": 4, "p": 0.2},
        rounds=5,
        policy="human_only",
        injection={"rate": 0.6},
        human_corpus=CORPUS,
    )
    done = await run_spec(load(spec), store, run_id="views", out_dir=tmp_path)
    messages = [m async for m in store.iter_messages("views")]
    model = [m for m in messages if m.origin == "model"]
    rows = done.views["drift_by_round"]
    assert len(rows) == len(done.result.round_seconds) >= 3
    for row in rows:
        upto = [m for m in model if m.round <= row["round"]]
        latest = {m.node: m for m in sorted(upto, key=lambda m: m.round)}
        written = [m for m in model if m.round == row["round"]]
        assert row["spoke"] == len(written)
        expected = sum(m.drift.fact_retention for m in latest.values()) / 12
        assert row["population_fact_retention"] == pytest.approx(expected)
        if written:
            mean = statistics.mean(m.drift.fact_retention for m in written)
            assert row["fact_retention"] == pytest.approx(mean)
    last = rows[-1]
    assert all(row["spoke_share"] < 0.5 for row in rows)
    spoken = [row for row in rows if row["spoke"]]
    assert all(r["population_fact_retention"] < r["fact_retention"] - 0.2 for r in spoken)
    stored = await store.get_run("views")
    assert stored["drift_by_round"] == json.loads(json.dumps(rows))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["drift_by_round"][-1]["spoke"] == last["spoke"]
    with (tmp_path / "drift_by_round.csv").open() as table:
        exported = list(csv.DictReader(table))
    assert [int(r["spoke"]) for r in exported] == [r["spoke"] for r in rows]
    report = (tmp_path / "report.md").read_text()
    assert "facts (population)" in report and "facts (written)" in report
    assert (tmp_path / "drift.csv").read_text().startswith("generation,n,length_words")
