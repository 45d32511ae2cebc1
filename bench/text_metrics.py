"""Per-message cost of the text metrics: the core set (length, vocabulary, facts), the tail
metrics the engine now adds (characters, rare words, entropy), and the opt-in overlap
metrics (ROUGE-L, chrF), each against the engine's own wall time per message on the
synthetic backend, measured in the same run.

    python -m bench.text_metrics [--agents 1000] [--rounds 5] [--texts 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from bench.common import SOURCE, fresh_redis, mixing_spec
from service.experiment.experiment import load
from service.experiment.spec import Fact
from service.measure.metrics import text_metrics
from service.measure.overlap import chrf, rouge_l
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine


async def engine_seconds_per_message(agents: int, rounds: int) -> tuple[float, list[str]]:
    redis = await fresh_redis()
    try:
        experiment = load(mixing_spec(agents, rounds))
        started = time.perf_counter()
        result = await Engine(experiment, ProvenanceStore(redis), run_id="bench-metrics").run()
        seconds = time.perf_counter() - started
        texts = [m.text async for m in ProvenanceStore(redis).iter_messages("bench-metrics")]
        return seconds / result.counts["messages"], texts
    finally:
        await redis.flushdb()
        await redis.aclose()


def per_text(texts: list[str], work: Callable[[str], object]) -> float:
    started = time.process_time()
    for text in texts:
        work(text)
    return (time.process_time() - started) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--texts", type=int, default=2000)
    args = parser.parse_args()
    engine, texts = asyncio.run(engine_seconds_per_message(args.agents, args.rounds))
    texts = (texts * (args.texts // max(len(texts), 1) + 1))[: args.texts]
    facts = [Fact(name="engine", patterns=[r"5\.9.litre", "V12"])]
    rows = {
        "core text metrics": per_text(texts, lambda t: text_metrics(t, facts)),
        "core + tail (engine now)": per_text(texts, lambda t: text_metrics(t, facts, SOURCE)),
        "ROUGE-L": per_text(texts, lambda t: rouge_l(t, SOURCE)),
        "chrF": per_text(texts, lambda t: chrf(t, SOURCE)),
    }
    print(f"engine wall time per message: {engine * 1e6:.0f} us")
    print("| metric | CPU us per message | ratio to the engine's time per message |")
    print("|---|---|---|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds * 1e6:.0f} | {seconds / engine:.2f} |")


if __name__ == "__main__":
    main()
