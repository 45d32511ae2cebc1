"""Concurrency: mixing-network runs against a loopback OpenAI-compatible stub.

1. 50 ms stub, limits 16 and 64: driftlab's calls per second over the ceiling a bare aiohttp
   client reaches against the same stub at the same limit, measured in the same run.
2. 1 s stub (what hosted models answer in), limits 16, 64 and 256: calls per second over the
   ideal, limit / latency.

Beside each: driftlab's CPU seconds per call (its process and step workers). The wall time is
the rounds' own; half the agents have a human source, so every round keeps the limit busy,
and each round holds several batches of `limit` calls. Each transport of the openai backend
named by --transports (DRIFTLAB_OPENAI_TRANSPORT: `sdk`, `aiohttp`) is measured in turn, in
the same run, against the same baseline.

    python -m bench.concurrency [--workers 1] [--batches 16] [--rounds 2]
        [--transports sdk,aiohttp] [--cases ceiling,ideal]
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
from service.worker import preload_backends

CEILING_CASE = (0.05, (16, 64))  # latency, limits: compared with a bare client
IDEAL_CASE = (1.0, (16, 64, 256))  # latency, limits: compared with limit / latency


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
    """(calls per second, CPU seconds per call, calls) of one run at `limit`."""
    spec = mixing_spec(
        agents, rounds, backend="openai", model="stub", concurrency=limit, workers=workers
    )
    spec["topology"]["human_sources"] = agents // 2
    preload_backends()  # the SDK's import is a one-off of the process, not a cost per call
    redis = await fresh_redis()
    engine = Engine(load(spec), ProvenanceStore(redis), run_id=f"c{limit}")
    cpu_started = cpu_seconds()
    result = await engine.run()
    cpu = cpu_seconds() - cpu_started
    wall = sum(result.round_seconds)
    await redis.flushdb()
    await redis.aclose()
    calls = result.counts["model"]
    return calls / wall, cpu / calls, calls


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


def start_stub(latency: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    stub = subprocess.Popen(
        [sys.executable, "-m", "agents.openai_stub", "--port", str(port), "--latency", str(latency)]
    )
    os.environ["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    os.environ["OPENAI_API_KEY"] = "bench"
    return stub, f"http://127.0.0.1:{port}/v1/chat/completions"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1, help="step worker processes")
    parser.add_argument("--batches", type=int, default=16, help="calls per round / limit")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--transports", default="sdk,aiohttp", help="comma-separated")
    parser.add_argument("--cases", default="ceiling,ideal", help="comma-separated")
    args = parser.parse_args()
    transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    cases = {"ceiling": (CEILING_CASE, True), "ideal": (IDEAL_CASE, False)}
    for case in args.cases.split(","):
        (latency, limits), against_bare = cases[case.strip()]
        stub, url = start_stub(latency)
        try:
            await wait_until_up(url)
            for limit in limits:
                agents = 2 * limit * args.batches  # about limit * batches calls a round
                for transport in transports:
                    os.environ["DRIFTLAB_OPENAI_TRANSPORT"] = transport
                    rate, cpu, calls = await measure(limit, agents, args.rounds, args.workers)
                    if against_bare:
                        bare = await raw_client(url, limit, calls)
                        versus = f"bare aiohttp {bare:,.0f}/s; driftlab/bare {rate / bare:.3f}"
                    else:
                        ideal = limit / latency
                        versus = f"ideal {ideal:,.0f}/s; driftlab/ideal {rate / ideal:.3f}"
                    print(
                        f"latency {latency * 1000:.0f} ms, limit {limit:>3}, {transport:>7}: "
                        f"{calls} calls, driftlab {rate:,.1f}/s, {versus}; "
                        f"driftlab CPU {cpu * 1000:.2f} ms/call",
                        flush=True,
                    )
        finally:
            stub.terminate()
            stub.wait()


if __name__ == "__main__":
    asyncio.run(main())
