"""The server's side of `GET /v1/runs/{id}/topology`, timed without HTTP or a browser: as the
route answered before its topology was kept (the stored spec loaded, a pydantic model per
node and edge), at a run's first request now (the spec loaded, the JSON written directly and
kept in Redis) and at later ones (read back from Redis). The three alternate on the same
stored run record, so a change of the machine's load touches them alike.

    python -m bench.topology_request [--agents 5000] [--repeats 5]

It writes to the benchmarks' Redis db (DRIFTLAB_BENCH_REDIS_URL, db 14) and flushes it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from bench.common import fresh_redis, mixing_spec
from service.api.models import LineageEdge, TopologyNode, TopologyPreview
from service.experiment.experiment import Experiment, load
from service.experiment.preview import topology_json
from service.experiment.settings import Settings
from service.provenance.store import ProvenanceStore
from topologies import AGENT, HUMAN_SOURCE

WAYS = ("before", "first request", "kept")


def pydantic_preview(experiment: Experiment) -> str:
    """The route's answer as it was built before: a pydantic model per node and edge."""
    nodes = [TopologyNode(id=node, role=HUMAN_SOURCE) for node in experiment.sources] + [
        TopologyNode(id=node, role=AGENT, persona=experiment.persona_of[node].name)
        for node in experiment.agents
    ]
    edges = [LineageEdge(source=str(u), target=str(v)) for u, v in experiment.graph.edges]
    preview = TopologyPreview(
        nodes=nodes,
        edges=edges,
        agents=len(experiment.agents),
        human_sources=len(experiment.sources),
    )
    return preview.model_dump_json()


def _built_before(spec: dict[str, Any], settings: Settings) -> str:
    return pydantic_preview(load(spec, settings))


def _built_now(spec: dict[str, Any], settings: Settings) -> str:
    return topology_json(load(spec, settings))


async def measure(agents: int, repeats: int) -> dict[str, list[float]]:
    """ms of each way, `repeats` times, on a stored run of a `agents`-agent small world."""
    redis = await fresh_redis()
    store = ProvenanceStore(redis)
    settings = Settings()
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    answers: dict[str, str | None] = {}
    try:
        for repeat in range(repeats):
            run_id = f"topology-{repeat}"
            await store.create_run(run_id, mixing_spec(agents, 10))

            started = time.perf_counter()
            spec = (await store.get_run(run_id))["spec"]
            answers["before"] = await asyncio.to_thread(_built_before, spec, settings)
            times["before"].append(time.perf_counter() - started)

            started = time.perf_counter()
            spec = (await store.get_run(run_id))["spec"]
            text = await asyncio.to_thread(_built_now, spec, settings)
            await store.cache_topology(run_id, text)
            times["first request"].append(time.perf_counter() - started)

            started = time.perf_counter()
            answers["kept"] = await store.topology(run_id)
            times["kept"].append(time.perf_counter() - started)
    finally:
        await redis.flushdb()
        await redis.aclose()
    before = TopologyPreview.model_validate_json(answers["before"] or "")
    if TopologyPreview.model_validate_json(answers["kept"] or "") != before:
        raise SystemExit("the kept topology differs from the one built before")
    return {way: [seconds * 1000 for seconds in found] for way, found in times.items()}


def report(times: dict[str, list[float]]) -> list[str]:
    """One line per way: each time, the median and the median's ratio to `before`."""
    before = statistics.median(times["before"])
    lines = []
    for way in WAYS:
        median = statistics.median(times[way])
        each = " / ".join(f"{ms:.1f}" for ms in times[way])
        lines.append(
            f"topology, server side, {way:<13}: {each} ms; median {median:.1f} ms "
            f"(before / this: {before / median:.1f})"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print("\n".join(report(asyncio.run(measure(args.agents, args.repeats)))))


if __name__ == "__main__":
    main()
