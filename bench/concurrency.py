"""Concurrency: mixing-network runs against a loopback OpenAI-compatible stub.

1. 50 ms stub, limits 16 and 64: driftlab's calls per second over the ceiling a bare aiohttp
   client reaches against the same stub at the same limit, measured in the same run.
2. 1 s stub (what hosted models answer in), limits 16, 64 and 256: calls per second over the
   ideal, limit / latency.

Beside each: driftlab's CPU seconds per call (its process and step workers), and the bare
client's (this process while it runs). The wall time is the rounds' own; half the agents have
a human source, so every round keeps the limit busy, and each round holds several batches of
`limit` calls. Each transport of the openai backend named by --transports
(DRIFTLAB_OPENAI_TRANSPORT: `sdk`, `aiohttp`) is measured in turn, in the same run, against
the same baseline. The runs have the garbage-collector settings the CLI gives a run
(`service.gc_tuning`); the bare client has Python's defaults. With --repeat N every case is
measured N times in turn and the median ratio of each is printed at the end (a loaded machine
moves single runs). With --burn the bare client runs a second time burning, after each
answer, the CPU a call costs driftlab beyond the bare client: the ratio a client as costly as
driftlab reaches.

    python -m bench.concurrency [--workers 1] [--batches 16] [--rounds 2]
        [--transports sdk,aiohttp] [--cases ceiling,ideal] [--repeat 1] [--burn]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict

import aiohttp

from bench.common import fresh_redis, mixing_spec
from service.experiment.experiment import load
from service.gc_tuning import fewer_collections
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
    with fewer_collections():  # as the CLI runs it; the bare client runs with Python's own
        result = await engine.run()
    cpu = cpu_seconds() - cpu_started
    wall = sum(result.round_seconds)
    await redis.flushdb()
    await redis.aclose()
    calls = result.counts["model"]
    return calls / wall, cpu / calls, calls


def spin(cpu_s: float) -> None:
    """Burn `cpu_s` seconds of this thread's CPU time."""
    until = time.thread_time() + cpu_s
    while time.thread_time() < until:
        pass


async def raw_client(
    url: str, limit: int, calls: int, extra_cpu_s: float = 0.0
) -> tuple[float, float]:
    """Baseline: bare aiohttp posts of a same-sized chat request, `limit` at a time: (calls
    per second, CPU seconds per call). With `extra_cpu_s`, each answer is followed by that
    much CPU work (what a client costing as much CPU per call as driftlab could reach)."""
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
            if extra_cpu_s:  # inside the gate: a driftlab step holds its slot throughout
                spin(extra_cpu_s)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started, cpu_started = time.perf_counter(), cpu_seconds()
        await asyncio.gather(*(one(session) for _ in range(calls)))
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    return calls / wall, cpu / calls


def start_stub(latency: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    stub = subprocess.Popen(
        [sys.executable, "-m", "agents.openai_stub", "--port", str(port), "--latency", str(latency)]
    )
    os.environ["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    os.environ["OPENAI_API_KEY"] = "bench"
    return stub, f"http://127.0.0.1:{port}/v1/chat/completions"


Ratios = dict[tuple[int, int, str], list[float]]  # (latency ms, limit, transport) -> ratios


async def one_case(
    latency: float, limits: tuple[int, ...], against_bare: bool, args: argparse.Namespace
) -> Ratios:
    """Every limit and transport of one case, `args.repeat` times in turn, each printed."""
    ratios: Ratios = defaultdict(list)
    transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    stub, url = start_stub(latency)
    try:
        await wait_until_up(url)
        for _ in range(args.repeat):
            for limit in limits:
                agents = 2 * limit * args.batches  # about limit * batches calls a round
                for transport in transports:
                    os.environ["DRIFTLAB_OPENAI_TRANSPORT"] = transport
                    rate, cpu, calls = await measure(limit, agents, args.rounds, args.workers)
                    if against_bare:
                        bare, bare_cpu = await raw_client(url, limit, calls)
                        ratio = rate / bare
                        versus = (
                            f"bare aiohttp {bare:,.0f}/s ({bare_cpu * 1000:.2f} ms CPU/call); "
                            f"driftlab/bare {ratio:.3f}"
                        )
                        if args.burn:
                            extra = max(0.0, cpu - bare_cpu)
                            burnt, _ = await raw_client(url, limit, calls, extra)
                            ratios[(round(latency * 1000), limit, "bare+cpu")].append(burnt / bare)
                            versus += (
                                f"; bare + {extra * 1e6:.0f} us CPU/call {burnt:,.0f}/s, "
                                f"its ratio {burnt / bare:.3f}"
                            )
                    else:
                        ideal = limit / latency
                        ratio = rate / ideal
                        versus = f"ideal {ideal:,.0f}/s; driftlab/ideal {ratio:.3f}"
                    ratios[(round(latency * 1000), limit, transport)].append(ratio)
                    print(
                        f"latency {latency * 1000:.0f} ms, limit {limit:>3}, {transport:>7}: "
                        f"{calls} calls, driftlab {rate:,.1f}/s, {versus}; "
                        f"driftlab CPU {cpu * 1000:.2f} ms/call",
                        flush=True,
                    )
    finally:
        stub.terminate()
        stub.wait()
    return ratios


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1, help="step worker processes")
    parser.add_argument("--batches", type=int, default=16, help="calls per round / limit")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--transports", default="sdk,aiohttp", help="comma-separated")
    parser.add_argument("--cases", default="ceiling,ideal", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every case, in turn")
    parser.add_argument(
        "--burn",
        action="store_true",
        help="also run the bare client with driftlab's extra CPU per call burnt after each call",
    )
    args = parser.parse_args()
    cases = {"ceiling": (CEILING_CASE, True), "ideal": (IDEAL_CASE, False)}
    ratios: Ratios = {}
    for case in args.cases.split(","):
        (latency, limits), against_bare = cases[case.strip()]
        ratios |= await one_case(latency, limits, against_bare, args)
    if args.repeat > 1:
        for (latency_ms, limit, transport), found in ratios.items():
            listed = ", ".join(f"{r:.3f}" for r in found)
            print(
                f"latency {latency_ms} ms, limit {limit:>3}, {transport:>7}: median ratio "
                f"{statistics.median(found):.3f} of {len(found)} runs ({listed})"
            )


if __name__ == "__main__":
    asyncio.run(main())
