"""Distributed runs: `driftlab worker` processes take agent steps from a Redis stream."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
import yaml
from redis.exceptions import ResponseError

from service.errors import RunFailed, SpecError
from service.experiment.experiment import load
from service.experiment.settings import Settings
from service.provenance import keys
from service.run import step_worker as worker_module
from service.run.engine import Engine
from service.run.step_worker import StepWorker, WorkerOptions
from tests.conftest import cli_process, cli_result, spec_dict
from tests.test_durability import comparable

pytestmark = pytest.mark.timeout(240)


async def cli(*args: str, cwd: Path) -> asyncio.subprocess.Process:
    return await cli_process(*args, cwd=cwd)


async def finished(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    return await cli_result(process, 200)


async def pending_of(redis, consumer: bytes) -> int:
    for info in await redis.xinfo_consumers(keys.STEPS, keys.STEP_WORKERS):
        if info["name"] == consumer:
            return int(info["pending"])
    return 0


def test_distributed_and_a_process_pool_are_refused_together():
    """`distributed: true` with `workers: 2` is one clear spec problem."""
    with pytest.raises(SpecError, match="cannot be combined with workers: 2"):
        load(spec_dict(distributed=True, workers=2))


async def test_three_workers_one_killed_complete_a_2000_step_run(store, tmp_path):
    """Three workers run a 2,000-step synthetic run; one is SIGKILLed while it holds steps;
    the others claim them after the redelivery time; every step's message exists once and
    equals the in-process run's; the survivors exit cleanly on SIGTERM."""
    spec = spec_dict(
        topology={"kind": "mixing", "n_agents": 200, "k": 4, "human_sources": 4},
        rounds=16,
        injection={"rate": 0.5},
        human_corpus=["A fresh human text about the Aurora GT and its V12 from 1962."],
        concurrency=32,
    )
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    code, _, err = await finished(
        await cli("run", str(spec_path), "--run-id", "here", cwd=tmp_path)
    )
    assert code == 0, err
    here = await store.get_run("here")
    assert here["counts"]["model"] >= 2000

    workers = [
        await cli("worker", "--concurrency", "16", "--redelivery", "2", cwd=tmp_path)
        for _ in range(3)
    ]
    try:
        await run_with_workers(store, spec_path, workers, tmp_path)
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
    there = await store.get_run("there")
    assert there["counts"] == here["counts"]
    assert await store.count_messages("there") == there["counts"]["messages"]
    assert await comparable(store, "there") == await comparable(store, "here")
    assert await store.failed_steps("there") == []


async def run_with_workers(store, spec_path: Path, workers: list, tmp_path: Path) -> None:
    run = await cli("run", str(spec_path), "--distributed", "--run-id", "there", cwd=tmp_path)
    victim = workers[0]
    for _ in range(3000):
        try:
            consumers = await store.redis.xinfo_consumers(keys.STEPS, keys.STEP_WORKERS)
        except ResponseError:  # no stream yet
            consumers = []
        held = {c["name"]: int(c["pending"]) for c in consumers}
        name = next((n for n in held if f":{victim.pid}:".encode() in n), None)
        if name and held[name] > 0 and await store.count_messages("there") > 300:
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the victim worker never held a step mid-run")
    victim.send_signal(signal.SIGKILL)
    await victim.wait()
    assert await pending_of(store.redis, name) > 0  # the dead worker left steps behind

    code, out, err = await finished(run)
    assert code == 0, err
    assert "run there succeeded" in out
    assert await pending_of(store.redis, name) == 0  # claimed and done by the others
    for worker in workers[1:]:
        worker.send_signal(signal.SIGTERM)
    for worker in workers[1:]:
        worker_code, worker_out, worker_err = await finished(worker)
        assert worker_code == 0, worker_err
        assert "stopped after" in worker_out


async def test_a_step_redelivered_too_often_is_dead_lettered(store, monkeypatch):
    """A step whose worker keeps dying on it (here: the step raises) is redelivered after the
    idle time, then dead-lettered after max_deliveries; the run reports it as failed steps."""

    async def crashing_step(*args, **kwargs):
        raise RuntimeError("the worker fell over")

    monkeypatch.setattr(worker_module, "agent_step", crashing_step)
    worker = StepWorker(
        store.redis,
        Settings(),
        WorkerOptions(concurrency=4, redelivery_s=0.2, max_deliveries=2, block_ms=50),
    )
    serving = asyncio.create_task(worker.serve())
    try:
        spec = spec_dict(distributed=True, rounds=2)
        with pytest.raises(RunFailed, match="given up after 2 deliveries"):
            await asyncio.wait_for(Engine(load(spec), store, run_id="doomed").run(), 60)
    finally:
        worker.stop()
        await asyncio.wait_for(serving, 30)
    [failed] = await store.failed_steps("doomed")
    assert failed.kind == "dead_letter" and failed.node == "a0"
    dead = await store.redis.lrange(keys.dead_letters("doomed"), 0, -1)
    assert len(dead) == 1 and b"given up after 2 deliveries" in dead[0]
    record = await store.get_run("doomed")
    assert record["status"] == "failed" and record["faults"]["dead_letter"] == 1
