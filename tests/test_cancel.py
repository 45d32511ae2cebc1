"""A run stopped mid-round by Ctrl-C or SIGTERM: the command exits as documented, the run ends
`cancelled` with counts that match the messages stored, and no worker process outlives it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import pytest
import yaml
from redis.asyncio import Redis

from service.experiment.experiment import load
from service.provenance import keys
from service.provenance.message import FailedStep
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine
from tests.conftest import cli_process, spec_dict


def children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def start_run(tmp_path: Path, workers: int) -> asyncio.subprocess.Process:
    """`driftlab run` in a subprocess: a 40-agent network on the loopback stub, 0.2 s a call."""
    spec = spec_dict(
        backend="openai",
        model="stub-model",
        topology={"kind": "mixing", "graph": "small_world", "n_agents": 40, "human_sources": 8},
        rounds=5,
        concurrency=4,
        workers=workers,
    )
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    return await cli_process("run", "s.yaml", "--run-id", "stopped", cwd=tmp_path)


async def in_second_round(redis) -> None:
    async def first_round_done() -> bool:
        events = await ProvenanceStore(redis).events("stopped")
        return any(event["type"] == "round" for _, event in events)

    await wait_for(first_round_done)
    await asyncio.sleep(0.6)  # round 1: about 30 steps of 0.2 s, 4 at a time


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux_only
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    ("sent", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["int", "term"]
)
async def test_a_run_stopped_mid_round_ends_cancelled(
    sent, exit_code, workers, openai_endpoint, redis, tmp_path
):
    await openai_endpoint(latency_s=0.2)
    command = await start_run(tmp_path, workers)
    await in_second_round(redis)
    workers_seen = children_of(command.pid)
    assert len(workers_seen) >= (workers if workers > 1 else 0)
    command.send_signal(sent)
    _, stderr = await asyncio.wait_for(command.communicate(), 60)
    assert command.returncode == exit_code, stderr.decode()
    assert "marked cancelled" in stderr.decode()
    record = await redis.hgetall(keys.run("stopped"))
    assert record[b"status"] == b"cancelled"
    stored = await redis.hlen(keys.messages("stopped"))
    counts = yaml.safe_load(record[b"counts"])
    assert counts["messages"] == stored > 8
    assert counts["human"] + counts["model"] == stored
    await asyncio.sleep(0.2)
    assert not [pid for pid in workers_seen if alive(pid)]


@linux_only
async def test_workers_die_with_a_killed_engine(openai_endpoint, redis, tmp_path):
    """SIGKILL leaves the engine no chance to clean up: the kernel ends its workers."""
    await openai_endpoint(latency_s=0.2)
    command = await start_run(tmp_path, workers=2)
    await in_second_round(redis)
    workers_seen = children_of(command.pid)
    assert len(workers_seen) >= 2
    command.kill()
    await command.wait()

    async def all_gone() -> bool:
        return not [pid for pid in workers_seen if alive(pid)]

    await wait_for(all_gone, timeout=5)


class SwallowingStore(ProvenanceStore):
    """The real store, but one of its writes swallows a cancellation that arrives during it,
    as a library's suppressed or shielded wait can."""

    def __init__(self, redis: Redis, swallow_in_round: int) -> None:
        super().__init__(redis)
        self.calls = 0
        self.swallow_in_round = swallow_in_round

    async def record_failed_steps(self, run_id: str, failed: list[FailedStep]) -> None:
        self.calls += 1  # once a round, after its steps ran
        if self.calls != self.swallow_in_round:
            return await super().record_failed_steps(run_id, failed)
        task = asyncio.current_task()
        assert task is not None
        task.cancel()  # the stop arrives while this write is under way
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.01)
            await super().record_failed_steps(run_id, failed)


async def test_a_cancellation_swallowed_mid_round_still_stops_the_run(redis: Redis) -> None:
    """A cancel swallowed inside a round, after its steps ran (where nothing else in the round
    would raise it again), ends the run `cancelled` at that round's end instead of letting it
    run on to `succeeded`."""
    store = SwallowingStore(redis, swallow_in_round=2)
    experiment = load(spec_dict(rounds=8))
    with pytest.raises(asyncio.CancelledError):
        await Engine(experiment, store, run_id="swallowed").run()
    record = await store.get_run("swallowed")
    assert record["status"] == "cancelled"
    assert len(record["round_seconds"]) <= 2 < 8
