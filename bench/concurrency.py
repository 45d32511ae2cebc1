"""Concurrency: a mixing-network run against a loopback OpenAI-compatible stub with 50 ms
latency, at several concurrency limits. Reports achieved calls per second over the ideal
(limit / latency); the same for a bare aiohttp client posting same-sized requests to the same
stub (what this machine allows at all); and the driftlab process's CPU use (CPU seconds per
wall second). The wall time is the rounds' own (start-up and imports excluded); half the
agents have a human source, so every round keeps the limit busy.

    python bench/concurrency.py [--limits 16 64 256] [--agents 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import time

import aiohttp

from bench.common import fresh_redis, mixing_spec
from service.experiment.experiment import load
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine

LATENCY_S = 0.05


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (step workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_until_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.post(url, json={}) as response:
                    if response.status == 400:
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise RuntimeError("the stub server did not start")


async def measure(limit: int, agents: int, rounds: int, workers: int) -> tuple[float, float, int]:
    spec = mixing_spec(
        agents, rounds, backend="openai", model="stub", concurrency=limit, workers=workers
    )
    spec["topology"]["human_sources"] = agents // 2
    redis = await fresh_redis()
    engine = Engine(load(spec), ProvenanceStore(redis), run_id=f"c{limit}")
    cpu_started = cpu_seconds()
    result = await engine.run()
    cpu = cpu_seconds() - cpu_started
    wall = sum(result.round_seconds)
    await redis.flushdb()
    await redis.aclose()
    calls = result.counts["model"]
    return calls / wall, cpu / wall, calls


async def raw_client(url: str, limit: int, calls: int) -> float:
    """Baseline: bare aiohttp posts of a same-sized chat request, `limit` at a time."""
    body = {
        "model": "stub",
        "temperature": 0.5,
        "max_tokens": 200,
        "seed": 1,
        "messages": [
            {"role": "system", "content": "x " * 30},
            {"role": "user", "content": "y " * 120},
        ],
    }
    headers = {"Authorization": "Bearer bench"}
    gate = asyncio.Semaphore(limit)

    async def one(session: aiohttp.ClientSession) -> None:
        async with gate, session.post(url, json=body, headers=headers) as response:
            await response.json()

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(session) for _ in range(calls)))
        return calls / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limits", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="step worker processes")
    args = parser.parse_args()
    port = free_port()
    stub = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agents.openai_stub",
            "--port",
            str(port),
            "--latency",
            str(LATENCY_S),
        ]
    )
    os.environ["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    os.environ["OPENAI_API_KEY"] = "bench"
    try:
        await wait_until_up(f"http://127.0.0.1:{port}/v1/chat/completions")
        for limit in args.limits:
            rate, cpu, calls = await measure(limit, args.agents, args.rounds, args.workers)
            raw = await raw_client(
                f"http://127.0.0.1:{port}/v1/chat/completions", limit, min(calls, limit * 20)
            )
            ideal = limit / LATENCY_S
            print(
                f"limit {limit:>4}: driftlab {calls} calls {rate:,.0f}/s = {rate / ideal:.3f} "
                f"of ideal {ideal:,.0f}/s (CPU {cpu:.2f} s/s); bare aiohttp client "
                f"{raw:,.0f}/s = {raw / ideal:.3f} of ideal; driftlab/bare {rate / raw:.3f}"
            )
    finally:
        stub.terminate()
        stub.wait()


if __name__ == "__main__":
    asyncio.run(main())
