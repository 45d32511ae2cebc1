"""Scale-out: a distributed run's steps per second with 1, 2 and 4 `driftlab worker`
processes against a loopback OpenAI-compatible stub with 1 s latency, over the ideal
min(spec concurrency, workers x worker concurrency) / latency. Half the agents have a human
source, so each round offers more steps than the calls allowed in flight. The time is the
rounds' own (worker start-up excluded).

    python -m bench.scaleout [--workers 1 2 4] [--worker-concurrency 64] [--concurrency 256]
                             [--agents 8192] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time

from bench.common import BENCH_REDIS_URL, fresh_redis, mixing_spec
from bench.concurrency import free_port, wait_until_up
from service.experiment.experiment import load
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine

LATENCY_S = 1.0


def start_workers(count: int, concurrency: int, env: dict[str, str]) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker", "--concurrency", str(concurrency)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


async def workers_ready(workers: list[subprocess.Popen]) -> None:
    """Wait until every worker has printed its banner (imports take seconds)."""
    for worker in workers:
        assert worker.stderr is not None
        banner = await asyncio.to_thread(worker.stderr.readline)
        if not banner.startswith(b"worker:"):
            raise RuntimeError(f"a worker did not start: {banner.decode(errors='replace')}")


async def measure(
    url: str, workers: int, worker_concurrency: int, concurrency: int, agents: int, rounds: int
) -> tuple[float, float]:
    """(steps per second, ratio to the ideal) of one distributed run."""
    redis = await fresh_redis()
    spec = mixing_spec(
        agents,
        rounds,
        backend="openai",
        model="stub",
        base_url=url,
        concurrency=concurrency,
        distributed=True,
    )
    spec["topology"]["human_sources"] = agents // 2
    env = {**os.environ, "DRIFTLAB_REDIS_URL": BENCH_REDIS_URL}
    processes = start_workers(workers, worker_concurrency, env)
    try:
        await workers_ready(processes)
        result = await Engine(load(spec), ProvenanceStore(redis), run_id="scaleout").run()
    finally:
        stop_workers(processes)
        await redis.aclose()
    steps = result.counts["model"]
    per_second = steps / sum(result.round_seconds)
    ideal = min(concurrency, workers * worker_concurrency) / LATENCY_S
    return per_second, per_second / ideal


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--worker-concurrency", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--agents", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "bench")  # the stub takes any key
    port = free_port()
    stub = subprocess.Popen(
        [sys.executable, "-m", "agents.openai_stub", "--port", str(port), "--latency", "1.0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        await wait_until_up(f"{url}/chat/completions")
        print(f"{'workers':>7} {'ideal/s':>8} {'steps/s':>8} {'ratio':>6}")
        for workers in args.workers:
            started = time.perf_counter()
            per_second, ratio = await measure(
                url,
                workers,
                args.worker_concurrency,
                args.concurrency,
                args.agents,
                args.rounds,
            )
            ideal = min(args.concurrency, workers * args.worker_concurrency) / LATENCY_S
            print(
                f"{workers:>7} {ideal:>8.0f} {per_second:>8.1f} {ratio:>6.2f}"
                f"   ({time.perf_counter() - started:.0f} s with start-up)",
                flush=True,
            )
    finally:
        stub.terminate()
        stub.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
