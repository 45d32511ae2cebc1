"""Engine overhead: the engine's own cost per message, with the null backend (a fixed text at
once) and no embedder, against raw pipelined redis-py writes of the same records measured in
the same run. Also: where the engine's CPU time per message goes (a profiled run, every
function in a named bucket: bench.engine_profile), and the synthetic channel's own
throughput per core.

    python -m bench.engine_overhead [--agents 2000] [--rounds 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import statistics
import time

from redis.asyncio import Redis

from agents.backend import ChatRequest
from agents.personas import BUILTIN_PERSONAS
from agents.synthetic import SyntheticBackend
from bench import engine_profile
from bench.common import SOURCE, fresh_redis, mixing_spec
from service.experiment.experiment import load
from service.provenance import keys
from service.provenance.store import WRITE_CHUNK, ProvenanceStore
from service.run.engine import Engine


async def engine_run(
    redis: Redis, agents: int, rounds: int, run_id: str
) -> tuple[float, float, int]:
    """(wall seconds of the rounds, CPU seconds of the run, messages) of one run; half the
    agents have a human source, so most agents act every round."""
    spec = mixing_spec(agents, rounds, backend="null")
    spec["topology"]["human_sources"] = agents // 2
    engine = Engine(load(spec), ProvenanceStore(redis), run_id=run_id)
    cpu = time.process_time()
    result = await engine.run()
    return sum(result.round_seconds), time.process_time() - cpu, result.counts["messages"]


async def raw_seconds(redis: Redis, source_run: str, run_id: str, rounds: int) -> float:
    """The same records, the same HSET chunks per round, one XADD per round: nothing else."""
    stored = await redis.hgetall(keys.messages(source_run))
    per_round: dict[int, list[tuple[bytes, bytes]]] = {}
    for field, payload in stored.items():
        per_round.setdefault(int(field.decode().split(":")[2]), []).append((field, payload))
    key = keys.messages(run_id)
    started = time.perf_counter()
    for round_ in range(rounds):
        records = per_round.get(round_, [])
        async with redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(records), WRITE_CHUNK):
                pipe.hset(key, mapping=dict(records[start : start + WRITE_CHUNK]))
            await pipe.execute()
        await redis.xadd(keys.events(run_id), {"data": "{}"}, maxlen=10_000, approximate=True)
    return time.perf_counter() - started


async def breakdown(redis: Redis, agents: int, rounds: int) -> dict[str, float]:
    """Each bucket's share of the engine's profiled time (bench.engine_profile), largest
    first."""
    profile = cProfile.Profile()
    profile.enable()
    await engine_run(redis, agents, rounds, "profiled")
    profile.disable()
    seconds = engine_profile.breakdown(pstats.Stats(profile))
    seconds.pop(engine_profile.IDLE, None)  # shares of CPU time, not of waiting
    total = sum(seconds.values())
    return {k: v / total for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])}


async def synthetic_per_core(calls: int = 3000) -> float:
    """Retellings per CPU second by the synthetic channel alone."""
    backend = SyntheticBackend()
    persona = BUILTIN_PERSONAS["editor"]
    rng = random.Random(1)
    requests = [
        ChatRequest(
            system="s",
            user="u",
            inputs=(SOURCE,),
            persona=persona,
            task="retell",
            temperature=0.7,
            max_tokens=200,
            seed=rng.randrange(2**31),
        )
        for _ in range(calls)
    ]

    started = time.process_time()
    for request in requests:
        await backend.complete(request)
    return calls / (time.process_time() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    redis = await fresh_redis()
    ratios, cpu_per_message = [], []
    for repeat in range(args.repeats):
        wall, cpu, messages = await engine_run(redis, args.agents, args.rounds, f"e{repeat}")
        raw = await raw_seconds(redis, f"e{repeat}", f"raw{repeat}", args.rounds)
        ratios.append(raw / wall)
        cpu_per_message.append(cpu / messages * 1e6)
        print(
            f"repeat {repeat}: {messages} messages; engine {messages / wall:,.0f} msg/s, "
            f"raw pipelined writes {messages / raw:,.0f} msg/s, ratio {raw / wall:.3f}; "
            f"engine CPU {cpu / messages * 1e6:.0f} µs/message"
        )
        await redis.flushdb()
    cpu_us = statistics.median(cpu_per_message)
    print(f"median ratio engine/raw: {statistics.median(ratios):.3f}; CPU {cpu_us:.0f} µs/msg")
    shares = await breakdown(redis, args.agents, args.rounds)
    print("CPU per message by bucket (profiled shares of the median CPU):")
    for bucket, share in shares.items():
        print(f"  {bucket:40s} {share * cpu_us:5.1f} µs  {share:5.1%}")
    print(f"synthetic channel alone: {await synthetic_per_core():,.0f} retellings/s per core")
    await redis.flushdb()
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
