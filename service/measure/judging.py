"""The optional fact judge, run over a stored run: a sample of model messages per generation,
each judged against the original by a chat model; verdicts kept in the run's `judgements`."""

from __future__ import annotations

import asyncio
import heapq
from collections import defaultdict
from hashlib import blake2b
from typing import Any

from agents.backend import BackendError, ChatRequest
from agents.judge import JUDGE_SYSTEM, FactQuote, JudgeError, judge_prompt, parse_verdict
from agents.kinds import DEFAULT_CHAT_MODELS
from agents.persona import Persona
from agents.pool import BackendConfig, BackendPool
from service.experiment.spec import ExperimentSpec, fact_regexes
from service.provenance.store import ProvenanceStore

JUDGE_PERSONA = Persona(name="judge", system=JUDGE_SYSTEM, temperature=0.0)


def fact_quotes(spec: ExperimentSpec) -> list[FactQuote]:
    """Each fact with the span of the original its first matching pattern finds."""
    quotes = []
    for fact in spec.source.facts:
        for pattern in fact_regexes(tuple(fact.patterns), fact.whole_words):
            found = pattern.search(spec.source.text)
            if found:
                quotes.append(FactQuote(fact.name, found.group(0)))
                break
    return quotes


async def judge_run(
    store: ProvenanceStore, run_id: str, spec: ExperimentSpec, pool: BackendPool
) -> list[str]:
    """Judge the sampled model messages of `run_id` (the same sample for the same seed and
    messages) and store the verdicts; returns notices (a failing judge is one, not an error)."""
    judge = spec.judge
    if judge is None:
        return []
    config = BackendConfig(
        kind=judge.backend,
        model=judge.model or DEFAULT_CHAT_MODELS[judge.backend],
        base_url=judge.base_url,
        api_key_env=judge.api_key_env,
        n_threads=spec.local.n_threads,
        n_ctx=spec.local.n_ctx,
    )
    try:
        backend = pool.get(config)
    except BackendError as exc:
        return [f"fact judge skipped: {exc}"]
    chosen = await _sample(store, run_id, spec.seed, judge.sample)
    quotes = fact_quotes(spec)
    names = [q.name for q in quotes]
    gate = asyncio.Semaphore(spec.concurrency)
    verdicts: dict[str, dict[str, Any]] = {}

    async def one(message_id: str, text: str) -> None:
        prompt = judge_prompt(spec.source.text, quotes, text)
        async with gate:
            completion = await backend.complete(
                ChatRequest(
                    system=JUDGE_SYSTEM,
                    user=prompt,
                    inputs=(text,),
                    persona=JUDGE_PERSONA,
                    task="judge",
                    model=judge.model,
                    temperature=0.0,
                    max_tokens=judge.max_tokens,
                    seed=0,
                )
            )
        try:
            verdict = parse_verdict(completion.text, names)
        except JudgeError as exc:
            verdicts[message_id] = {"judge_error": str(exc)}
            return
        verdicts[message_id] = {
            "judged_fact_retention": verdict.correct_share,
            "invented_claims": verdict.invented,
            "judged_facts": verdict.facts,
        }

    notices = []
    try:
        async with asyncio.TaskGroup() as group:
            for message_id, text in chosen:
                group.create_task(one(message_id, text))
    except* BackendError as failed:
        notices.append(f"fact judge stopped: {failed.exceptions[0]}")
    await store.write_judgements(run_id, verdicts)
    unreadable = sum("judge_error" in v for v in verdicts.values())
    if unreadable:
        notices.append(f"fact judge: {unreadable} answers were not a verdict (kept as errors)")
    return notices


async def _sample(
    store: ProvenanceStore, run_id: str, seed: int, size: int | str
) -> list[tuple[str, str]]:
    """(id, text) of up to `size` model messages per generation, by a seeded hash of the id
    (all with "all"), in id order."""
    heaps: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    async for message in store.iter_messages(run_id):
        if message.origin != "model":
            continue
        rank = -int.from_bytes(
            blake2b(f"{seed}|{message.id}".encode(), digest_size=8).digest(), "big"
        )
        heap = heaps[message.generation]
        if size == "all" or len(heap) < int(size):
            heapq.heappush(heap, (rank, message.id, message.text))
        elif rank > heap[0][0]:
            heapq.heapreplace(heap, (rank, message.id, message.text))
    return sorted((mid, text) for heap in heaps.values() for _, mid, text in heap)
