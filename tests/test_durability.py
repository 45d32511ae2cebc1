"""Runs that outlive their process: leases, `interrupted`, `resume`, a Redis restart, and
`delete` of a live run; with real processes (the CLI) against a loopback endpoint."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from redis.asyncio import Redis

from agents.openai_stub import REQUESTS, create_stub_app
from service.provenance import keys
from service.provenance.redis_conn import reconnecting
from service.provenance.store import ProvenanceStore
from service.status import RunStatus
from tests.conftest import SOURCE_TEXT, cli_process, cli_result, free_port, test_redis_url
from tests.redis_process import RedisServer

LEASE_S = 2.0
pytestmark = pytest.mark.timeout(180)


def spec(url: str, **overrides) -> dict:
    """A 24-agent small-world network on the endpoint: about 200 calls."""
    spec = {
        "name": "durable",
        "seed": 4,
        "backend": "openai",
        "model": "stub-model",
        "base_url": url,
        "embedder": "none",
        "source": {"text": SOURCE_TEXT},
        "topology": {"kind": "mixing", "n_agents": 24, "k": 4, "human_sources": 2},
        "injection": {"rate": 0.3},
        "human_corpus": ["A fresh human text about the Aurora GT, built in 1962.", "Another."],
        "rounds": 10,
        "concurrency": 4,
        "personas": ["editor", "tabloid"],
    }
    spec.update(overrides)
    return spec


async def cli(*args: str, cwd: Path, redis_url: str | None = None) -> asyncio.subprocess.Process:
    return await cli_process(
        *args,
        cwd=cwd,
        OPENAI_API_KEY="test-key",
        DRIFTLAB_REDIS_URL=redis_url or test_redis_url(),
        DRIFTLAB_LEASE_S=str(LEASE_S),
    )


async def finished(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    return await cli_result(process, 120)


async def wait_for_messages(store: ProvenanceStore, run_id: str, at_least: int) -> None:
    for _ in range(600):
        if await store.redis.exists(keys.run(run_id)) and (
            await store.count_messages(run_id) >= at_least
        ):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} never stored {at_least} messages")


async def comparable(store: ProvenanceStore, run_id: str) -> dict[str, dict]:
    """A run's messages without what differs between two runs of one spec: the run id and
    the timings."""
    found = {}
    async for message in store.iter_messages(run_id):
        record = json.loads(message.model_dump_json().replace(run_id, "RUN"))
        for name in ("run", "created_at", "latency_ms"):
            record.pop(name)
        found[record["id"]] = record
    return found


async def test_sigkilled_run_is_interrupted_then_resumed_to_the_same_messages(
    aiohttp_server, store, tmp_path
):
    """SIGKILL the process of a run: `runs` shows it `interrupted` within the lease time;
    `resume` completes it, calling the endpoint only for steps not stored; its messages,
    humans list and round events equal an uninterrupted run's."""
    server = await aiohttp_server(create_stub_app(latency_s=0.03))
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec(str(server.make_url("/v1")))))

    reference = await cli("run", str(spec_path), "--run-id", "whole", cwd=tmp_path)
    assert (await finished(reference))[0] == 0
    reference_calls = len(server.app[REQUESTS])

    victim = await cli("run", str(spec_path), "--run-id", "cut", cwd=tmp_path)
    await wait_for_messages(store, "cut", 60)
    victim.kill()
    await victim.wait()
    model_at_kill = sum([m.origin == "model" async for m in store.iter_messages("cut")])
    assert (await store.get_run("cut"))["status"] in ("running", "interrupted")
    await asyncio.sleep(LEASE_S + 0.2)
    code, listing, _ = await finished(await cli("runs", cwd=tmp_path))
    assert code == 0
    [line] = [row for row in listing.splitlines() if " cut " in row]
    assert "interrupted" in line
    code, listing, _ = await finished(await cli("runs", "--json", cwd=tmp_path))
    assert code == 0
    by_id = {run["id"]: run for run in map(json.loads, listing.splitlines())}
    assert by_id["cut"]["status"] == "interrupted" and by_id["whole"]["status"] == "succeeded"

    calls_before = len(server.app[REQUESTS])
    code, out, err = await finished(await cli("resume", "cut", cwd=tmp_path))
    assert code == 0, err
    assert "run cut succeeded" in out
    assert 0 < model_at_kill < reference_calls
    assert len(server.app[REQUESTS]) - calls_before == reference_calls - model_at_kill
    assert await comparable(store, "cut") == await comparable(store, "whole")
    assert await store.human_ids("cut") == [
        h.replace("whole", "cut") for h in await store.human_ids("whole")
    ]
    rounds = [e["round"] for _, e in await store.events("cut") if e["type"] == "round"]
    assert rounds == sorted(set(rounds)) == list(range(len(rounds)))
    record = await store.get_run("cut")
    assert record["status"] == "succeeded" and "resumed_at" in record
    assert record["counts"] == (await store.get_run("whole"))["counts"]


async def test_delete_of_a_live_run_is_refused_and_force_cancels_it(
    aiohttp_server, store, tmp_path
):
    """`delete` while a process runs the run exits 2 and deletes nothing; `delete --force`
    cancels the run (its process ends `cancelled`), then leaves no key behind."""
    server = await aiohttp_server(create_stub_app(latency_s=0.05))
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec(str(server.make_url("/v1")), rounds=40)))
    running = await cli("run", str(spec_path), "--run-id", "busy", cwd=tmp_path)
    await wait_for_messages(store, "busy", 10)

    code, _, err = await finished(await cli("delete", "busy", cwd=tmp_path))
    assert code == 2 and "still running" in err
    assert await store.redis.exists(keys.run("busy"))

    code, out, err = await finished(await cli("delete", "--force", "busy", cwd=tmp_path))
    assert code == 0, err
    assert "deleted run busy" in out
    run_code, _, run_err = await finished(running)
    assert run_code == 130 and "cancelled" in run_err and "Traceback" not in run_err
    await asyncio.sleep(0.5)
    assert await store.redis.keys(f"{keys.PREFIX}:run:{{busy}}*") == []
    assert await store.redis.zscore(keys.RUNS, "busy") is None


async def test_a_run_survives_a_redis_restart(aiohttp_server, tmp_path):
    """Kill (SIGKILL) a Redis with AOF mid-run and start it again on the same port and data:
    the run reconnects with backoff and succeeds, with the same messages as a run on a
    Redis that stayed up."""
    server = await aiohttp_server(create_stub_app(latency_s=0.03))
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec(str(server.make_url("/v1")))))
    port = free_port()
    redis_server = RedisServer(port, tmp_path / "redis")
    await redis_server.start()
    url = f"redis://127.0.0.1:{port}/0"
    client = Redis.from_url(url, retry=reconnecting())
    store = ProvenanceStore(client)
    try:
        reference = await cli(
            "run", str(spec_path), "--run-id", "steady", cwd=tmp_path, redis_url=url
        )
        assert (await finished(reference))[0] == 0
        run = await cli("run", str(spec_path), "--run-id", "bumpy", cwd=tmp_path, redis_url=url)
        await wait_for_messages(store, "bumpy", 60)
        assert (await store.get_run("bumpy"))["status"] == "running"
        await redis_server.kill()
        await asyncio.sleep(1.0)
        await redis_server.start()
        code, out, err = await finished(run)
        assert code == 0, err
        assert "run bumpy succeeded" in out
        assert await comparable(store, "bumpy") == await comparable(store, "steady")
        record = await store.get_run("bumpy")
        assert record["counts"]["messages"] == await store.count_messages("bumpy")
    finally:
        await client.aclose()
        await redis_server.kill()


async def test_a_running_record_without_a_lease_reads_interrupted(store):
    """A `running` record with no lease (its process gone) reads as `interrupted`; with a
    live lease it stays `running`; only a live lease blocks `delete`."""
    await store.create_run("orphan", {"name": "x"})
    await store.update_run("orphan", RunStatus.RUNNING)
    assert (await store.get_run("orphan"))["status"] == "interrupted"
    await store.redis.set(keys.lease("orphan"), "someone", px=5000)
    assert (await store.get_run("orphan"))["status"] == "running"
