"""Shared pieces of the benchmarks: a short source text, a spec builder, a Redis to write to."""

from __future__ import annotations

import os
from typing import Any

from redis.asyncio import Redis

BENCH_REDIS_URL = os.environ.get("DRIFTLAB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

SOURCE = (
    "The Aurora GT was launched in 1962 with a 5.9-litre V12 engine producing about 320 "
    "horsepower. Only 1,240 cars were built before a fire at the factory in 1964 destroyed "
    "the tooling. Designer Maria Keller later called it her favourite car."
)
FACTS = [
    {"name": "engine", "patterns": [r"5\.9.litre", "V12"]},
    {"name": "launch", "patterns": ["1962"]},
]


def mixing_spec(n_agents: int, rounds: int, **overrides: Any) -> dict[str, Any]:
    """A small-world network with one human source, synthetic backend, no embedder."""
    spec: dict[str, Any] = {
        "name": "bench",
        "seed": 1,
        "backend": "synthetic",
        "embedder": "none",
        "source": {"text": SOURCE, "facts": FACTS},
        "topology": {
            "kind": "mixing",
            "graph": "small_world",
            "n_agents": n_agents,
            "k": 6,
            "p": 0.1,
            "human_sources": 1,
        },
        "personas": ["editor", "tabloid", "scientist", "teacher", "skeptic", "copywriter"],
        "rounds": rounds,
        "max_inputs": 3,
        "concurrency": 64,
    }
    spec.update(overrides)
    return spec


async def fresh_redis() -> Redis:
    client = Redis.from_url(BENCH_REDIS_URL)
    await client.flushdb()
    return client
