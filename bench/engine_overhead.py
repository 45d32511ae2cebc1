"""Engine overhead: messages stored per second by the engine (synthetic backend, no embedder)
against raw pipelined redis-py writes of the same commands, measured in the same run; and
the engine's write path alone (serialise, buffer, flush) over the same messages.

    python -m bench.engine_overhead [--agents 2000] [--rounds 10] [--repeats 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from redis.asyncio import Redis

from bench.common import fresh_redis, mixing_spec
from service.experiment.experiment import load
from service.provenance import keys
from service.provenance.message import Message
from service.provenance.store import WRITE_CHUNK, ProvenanceStore
from service.provenance.tags import Carried
from service.run.engine import Engine
from service.run.record_writer import RecordWriter
from service.run.step import Emitted


async def engine_rate(
    redis: Redis, n_agents: int, rounds: int, run_id: str, workers: int
) -> tuple[float, int]:
    experiment = load(mixing_spec(n_agents, rounds, workers=workers))
    started = time.perf_counter()
    result = await Engine(experiment, ProvenanceStore(redis), run_id=run_id).run()
    seconds = time.perf_counter() - started
    return result.counts["messages"] / seconds, result.counts["messages"]


async def raw_rate(redis: Redis, source_run: str, run_id: str, rounds: int) -> float:
    """The same records, the same HSET chunks per round, one XADD per round: nothing else."""
    stored = await redis.hgetall(keys.messages(source_run))
    per_round: dict[int, list[tuple[bytes, bytes]]] = {}
    for field, payload in stored.items():
        round_ = int(field.decode().split(":")[2])
        per_round.setdefault(round_, []).append((field, payload))
    key = keys.messages(run_id)
    started = time.perf_counter()
    for round_ in range(rounds):
        records = per_round.get(round_, [])
        async with redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(records), WRITE_CHUNK):
                pipe.hset(key, mapping=dict(records[start : start + WRITE_CHUNK]))
            await pipe.execute()
        await redis.xadd(keys.events(run_id), {"data": "{}"}, maxlen=10_000, approximate=True)
    return len(stored) / (time.perf_counter() - started)


async def write_path_rate(redis: Redis, source_run: str, run_id: str) -> float:
    """The engine's own write path alone (serialise each message, buffer, flush in chunks)
    over the same messages, rebuilt from the store."""
    stored = await redis.hgetall(keys.messages(source_run))
    messages = [Message.model_validate_json(payload) for payload in stored.values()]
    carried = Carried("x", "", "model", 1, 1, 0, 0)
    writer = RecordWriter(ProvenanceStore(redis), run_id)
    started = time.perf_counter()
    for message in messages:
        await writer.add(Emitted(message, carried))
    await writer.flush()
    return len(messages) / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="step worker processes")
    args = parser.parse_args()
    redis = await fresh_redis()
    ratios, write_ratios = [], []
    for repeat in range(args.repeats):
        engine, messages = await engine_rate(
            redis, args.agents, args.rounds, f"e{repeat}", args.workers
        )
        raw = await raw_rate(redis, f"e{repeat}", f"raw{repeat}", args.rounds)
        write_path = await write_path_rate(redis, f"e{repeat}", f"w{repeat}")
        ratios.append(engine / raw)
        write_ratios.append(write_path / raw)
        print(
            f"repeat {repeat}: {messages} messages; engine {engine:,.0f} msg/s, "
            f"raw pipelined writes {raw:,.0f} msg/s, ratio {engine / raw:.3f}; "
            f"engine write path alone {write_path:,.0f} msg/s, ratio {write_path / raw:.3f}"
        )
        await redis.flushdb()
    print(
        f"median ratio engine/raw: {statistics.median(ratios):.3f}; "
        f"write path/raw: {statistics.median(write_ratios):.3f}"
    )
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
