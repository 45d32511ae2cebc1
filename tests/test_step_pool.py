"""Step workers: agent steps in worker processes give the same messages as the engine alone."""

from __future__ import annotations

import json
import os

import pytest

from agents.openai_stub import IN_FLIGHT, REQUESTS
from service.errors import RunFailed, SpecError, WorkerFailed
from service.experiment.experiment import load
from service.provenance import keys
from service.run import step_pool
from service.run.engine import Engine
from tests.conftest import spec_dict

TIMING_FIELDS = ("created_at", "latency_ms")


def network_spec(**overrides):
    """A mixing network with injection, tag loss and a weighting policy: every draw matters."""
    return spec_dict(
        topology={"kind": "mixing", "graph": "small_world", "n_agents": 120, "human_sources": 4},
        rounds=5,
        injection={"rate": 0.3},
        human_corpus=["A fresh human account of the same car.", "Another human version."],
        policy={"kind": "prefer_human", "weight": 3},
        provenance={"tag_loss": 0.3, "detector": {"tpr": 0.9, "fpr": 0.05}},
        personas=["editor", "tabloid", "scientist", "skeptic"],
        **overrides,
    )


async def stored_records(redis, run_id):
    raw = await redis.hgetall(keys.messages(run_id))
    records = {}
    for payload in raw.values():
        record = json.loads(payload.decode().replace(f'"{run_id}:', '"'))  # ids name the run
        for name in TIMING_FIELDS:
            record.pop(name)
        record.pop("run")
        records[record["id"]] = record
    return records


async def test_workers_give_the_same_messages_as_the_engine_alone(store, redis):
    """Same spec and seed: identical records (ids, tags, observed tags, texts, prompts) with
    the steps run in the engine's process and in three worker processes."""
    results = {}
    for workers in (1, 3):
        run_id = f"w{workers}"
        result = await Engine(load(network_spec(workers=workers)), store, run_id=run_id).run()
        assert result.status == "succeeded"
        results[workers] = (result.counts, result.drift, await stored_records(redis, run_id))
    assert results[1] == results[3]
    assert results[3][0]["model"] > 200


async def test_workers_call_an_openai_endpoint(openai_endpoint, store, redis):
    """Steps in workers reach the endpoint: one request per model message, all stored."""
    server = await openai_endpoint(jitter_s=0.005)
    spec = network_spec(backend="openai", model="stub-model", workers=2, concurrency=8)
    result = await Engine(load(spec), store, run_id="wo").run()
    records = await stored_records(redis, "wo")
    model = [r for r in records.values() if r["origin"] == "model"]
    assert len(model) == result.counts["model"] == len(server.app[REQUESTS]) > 100
    assert all(r["model"] == "stub-model" and r["text"].startswith("stub-model") for r in model)


def test_workers_must_be_positive():
    with pytest.raises(SpecError) as caught:
        load(spec_dict(workers=0))
    assert [p.field for p in caught.value.problems] == ["workers"]


async def test_a_worker_that_dies_fails_the_run_clearly(store, monkeypatch):
    """A worker process that exits mid-slice fails the run with WorkerFailed, no hang."""
    monkeypatch.setattr(step_pool, "_run_slice", _die)  # forked workers inherit the patch
    with pytest.raises(WorkerFailed, match="step worker process died in round 0"):
        await Engine(load(network_spec(workers=2)), store, run_id="wdead").run()
    record = await store.get_run("wdead")
    assert record["status"] == "failed"
    assert "WorkerFailed" in record["error"]


def _die(*_args):
    os._exit(3)


async def test_every_failed_step_is_reported(openai_endpoint, store):
    """Steps failing together are all reported, not only the first: each is stored as a
    failed step, and the run's one error line says how many of the round's steps failed."""
    server = await openai_endpoint(fail_status=400)
    spec = network_spec(backend="openai", model="stub-model", concurrency=8, workers=1)
    with pytest.raises(RunFailed) as caught:
        await Engine(load(spec), store, run_id="many").run()
    failed = await store.failed_steps("many")
    assert len(failed) == len(server.app[REQUESTS]) > 1
    assert f"{len(failed)} of {len(failed)} agent steps failed" in str(caught.value)
    record = await store.get_run("many")
    assert record["status"] == "failed" and "HTTP 400" in record["error"]
    assert record["counts"]["messages"] == await store.count_messages("many")


@pytest.mark.parametrize("workers", [4, 3])
async def test_workers_hold_exactly_the_concurrency_limit(openai_endpoint, store, workers):
    """Limit 16 over 3 or 4 workers: the endpoint sees 16 calls in flight at once, never
    more (each worker runs its share, and a round is spread over all of them)."""
    server = await openai_endpoint(latency_s=0.15)
    spec = spec_dict(
        backend="openai",
        model="stub-model",
        topology={"kind": "mixing", "graph": "small_world", "n_agents": 400, "human_sources": 40},
        rounds=3,
        concurrency=16,
        workers=workers,
    )
    result = await Engine(load(spec), store, run_id="limit").run()
    assert server.app[IN_FLIGHT].peak == 16
    assert result.counts["model"] > 300
