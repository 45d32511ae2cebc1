"""Shared fixtures: a real Redis on a dedicated db index, flushed around every test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from service.store import ProvenanceStore

TEST_REDIS_URL = os.environ.get("DRIFTLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

SOURCE_TEXT = (
    "The Aurora GT was launched in 1962 with a 5.9-litre V12 engine, producing about 320 "
    "horsepower. Only 1,240 cars were built, and a fire at the factory in 1964 destroyed the "
    "tooling. Designer Maria Keller later said the car was her favourite, and some collectors "
    "now pay roughly 2 million euros for one."
)
FACTS = [
    {"name": "engine", "patterns": [r"5\.9.litre", "V12"]},
    {"name": "launch", "patterns": ["1962"]},
    {"name": "designer", "patterns": ["Keller"]},
]


def spec_dict(**overrides: Any) -> dict[str, Any]:
    """A small valid synthetic spec; keyword arguments replace top-level fields."""
    spec: dict[str, Any] = {
        "name": "test",
        "seed": 5,
        "backend": "synthetic",
        "embedder": "none",
        "source": {"text": SOURCE_TEXT, "facts": FACTS},
        "topology": {"kind": "line", "n_agents": 3},
        "rounds": 3,
        "personas": ["editor", "tabloid"],
    }
    spec.update(overrides)
    return spec


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(TEST_REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def store(redis: Redis) -> ProvenanceStore:
    return ProvenanceStore(redis)
