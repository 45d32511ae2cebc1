"""Scale: a 100,000-agent small-world network, 10 rounds, synthetic backend, no embedder
(about a million messages). Reports wall time, messages per second, the peak resident memory
of the driftlab process and Redis `used_memory` (and its peak), separately.

    python -m bench.scale [--agents 100000] [--rounds 10] [--sources 20000] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from bench.common import fresh_redis, mixing_spec
from service.experiment.experiment import load
from service.gc_tuning import fewer_collections
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_peak_rss_mb() -> float:
    """The largest peak resident set among finished child processes (the step workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--sources",
        type=int,
        default=20_000,
        help="human sources on random agents (so most agents act each round)",
    )
    parser.add_argument("--workers", type=int, default=1, help="step worker processes")
    args = parser.parse_args()
    redis = await fresh_redis()
    spec = mixing_spec(args.agents, args.rounds, workers=args.workers)
    spec["topology"]["human_sources"] = args.sources
    started = time.perf_counter()
    experiment = load(spec)
    built = time.perf_counter()
    baseline_rss = peak_rss_mb()

    def progress(report) -> None:
        print(
            f"  round {report.round}: {report.messages:,} messages in {report.seconds:.1f} s, "
            f"peak RSS {peak_rss_mb():,.0f} MB",
            flush=True,
        )

    engine = Engine(experiment, ProvenanceStore(redis), run_id="scale", on_round=progress)
    with fewer_collections():  # as the CLI runs it
        result = await engine.run()
    finished = time.perf_counter()
    info = await redis.info("memory")
    messages = result.counts["messages"]
    print(
        f"agents {args.agents:,}, rounds {args.rounds}, sources {args.sources:,}, "
        f"workers {args.workers}: "
        f"{messages:,} messages"
    )
    print(
        f"graph + spec: {built - started:.1f} s; run: {finished - built:.1f} s "
        f"({messages / (finished - built):,.0f} messages/s)"
    )
    print(
        f"driftlab peak RSS: {peak_rss_mb():,.0f} MB (after building the graph: "
        f"{baseline_rss:,.0f} MB)"
    )
    if args.workers > 1:
        print(
            f"step workers: {args.workers}, largest worker peak RSS {worker_peak_rss_mb():,.0f} MB"
        )
    print(
        f"Redis used_memory: {info['used_memory'] / 2**20:,.0f} MB "
        f"(peak {info['used_memory_peak'] / 2**20:,.0f} MB)"
    )
    await redis.flushdb()
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
