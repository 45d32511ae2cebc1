"""The local backend against a bare llama-cpp-python loop on the same prompts and seeds; the
local backend decoding a round's calls together against one at a time; and the local embedder
batched against one text at a time, each pair measured in the same run.

    python -m bench.local_backend [--parts chat,round,embedding] [--prompts 6]
        [--max-tokens 128] [--texts 256] [--round-agents 16] [--max-batch 16] [--seeds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from agents.agent import Agent
from agents.llama_prefix import MIN_COPIED, shared_prefix
from agents.local_chat import LocalChatBackend
from agents.local_embedding import LocalEmbedder
from agents.personas import BUILTIN_PERSONAS
from agents.tasks import InputText
from bench import llama_limits
from bench.common import FACTS, SOURCE
from service.experiment.spec import Fact
from service.measure.metrics import facts_retained, words

PERSONAS = ("editor", "tabloid", "scientist", "teacher", "skeptic", "copywriter")


def requests(count: int, max_tokens: int, backend: LocalChatBackend, first_seed: int = 0) -> list:
    return [
        Agent(
            BUILTIN_PERSONAS[PERSONAS[i % len(PERSONAS)]],
            backend,
            "summarize",
            max_tokens=max_tokens,
        ).request([InputText(SOURCE)], seed=first_seed + i)
        for i in range(count)
    ]


def bare_loop(llama, batch) -> tuple[int, float]:
    """llama-cpp-python called directly, as a user would without driftlab."""
    tokens, started = 0, time.perf_counter()
    for request in batch:
        response = llama.create_chat_completion(
            messages=[
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            seed=request.seed,
        )
        tokens += response["usage"]["completion_tokens"]
    return tokens, time.perf_counter() - started


async def through_driftlab(backend: LocalChatBackend, batch) -> tuple[int, float]:
    tokens, started = 0, time.perf_counter()
    for request in batch:
        tokens += (await backend.complete(request)).usage.completion_tokens
    return tokens, time.perf_counter() - started


async def chat(prompts: int, max_tokens: int, rounds: int) -> None:
    backend = LocalChatBackend()
    llama = backend.load()
    batch = requests(prompts, max_tokens, backend)
    bare_loop(llama, batch[:1])  # warm-up
    totals = {"bare": [0, 0.0], "driftlab": [0, 0.0]}
    for _ in range(rounds):  # interleaved, so drift in machine load hits both alike
        for name in ("bare", "driftlab"):
            if name == "bare":
                tokens, seconds = bare_loop(llama, batch)
            else:
                tokens, seconds = await through_driftlab(backend, batch)
            totals[name][0] += tokens
            totals[name][1] += seconds
    rates = {name: tokens / seconds for name, (tokens, seconds) in totals.items()}
    print(
        f"chat: {prompts} prompts x {rounds} rounds, max_tokens {max_tokens}, "
        f"{backend.n_threads} threads"
    )
    print(
        f"  bare llama-cpp-python: {rates['bare']:.1f} completion tokens/s "
        f"({totals['bare'][0]} tokens)"
    )
    print(
        f"  driftlab local backend: {rates['driftlab']:.1f} completion tokens/s "
        f"({totals['driftlab'][0]} tokens)"
    )
    print(f"  ratio driftlab/bare: {rates['driftlab'] / rates['bare']:.3f}")
    await backend.aclose()


async def one_round(backend: LocalChatBackend, batch: list) -> tuple[list, float]:
    """Every agent of a round calling at once, as the engine does; (completions, seconds)."""
    started = time.perf_counter()
    completions = await asyncio.gather(*(backend.complete(request) for request in batch))
    return completions, time.perf_counter() - started


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def batched_round(agents: int, max_tokens: int, max_batch: int, seeds: int) -> None:
    """Rounds of `agents` concurrent calls one at a time (max_batch 1), decoded together with
    every prompt prefilled whole, and decoded together reusing shared prefixes, alternating
    which goes first; calls per second, and the texts' fact retention and length per seed on
    each side; then llama.cpp's own limits on the round's prompts."""
    facts = [Fact.model_validate(f) for f in FACTS]
    rss_before = resident_mb()
    sides = {
        "one at a time": LocalChatBackend(),
        "batched, whole prompts": LocalChatBackend(max_batch=max_batch, reuse_prefixes=False),
        "batched, prefixes reused": LocalChatBackend(max_batch=max_batch),
    }
    for backend in sides.values():  # warm-up: load the model (and the batch context)
        await one_round(backend, requests(1, 8, backend))
    rss_after = resident_mb()
    seconds = dict.fromkeys(sides, 0.0)
    calls = dict.fromkeys(sides, 0)
    answer_tokens = dict.fromkeys(sides, 0)
    retention: dict[str, list[float]] = {name: [] for name in sides}
    length: dict[str, list[float]] = {name: [] for name in sides}
    identical = dict.fromkeys(sides, 0)
    for seed in range(seeds):
        order = list(sides)[seed % len(sides) :] + list(sides)[: seed % len(sides)]
        texts = {}
        for name in order:
            batch = requests(agents, max_tokens, sides[name], first_seed=1000 * seed)
            completions, took = await one_round(sides[name], batch)
            seconds[name] += took
            calls[name] += len(completions)
            answer_tokens[name] += sum(c.usage.completion_tokens for c in completions)
            texts[name] = [c.text for c in completions]
            retention[name].append(
                statistics.fmean(len(facts_retained(t, facts)) / len(facts) for t in texts[name])
            )
            length[name].append(statistics.fmean(len(words(t)) for t in texts[name]))
        first = texts["one at a time"]
        for name in sides:
            identical[name] += sum(a == b for a, b in zip(texts[name], first, strict=True))
    rates = {name: calls[name] / seconds[name] for name in sides}
    print(
        f"round: {agents} agents x {seeds} seeds, max_tokens {max_tokens}, max_batch "
        f"{max_batch}, {sides['one at a time'].n_threads} threads"
    )
    for name in sides:
        print(
            f"  {name}: {rates[name]:.2f} calls/s ({rates[name] / rates['one at a time']:.2f}x), "
            f"{answer_tokens[name] / calls[name]:.1f} answer tokens a call, identical texts "
            f"{identical[name]} of {agents * seeds}; per seed fact retention "
            f"{[round(r, 3) for r in retention[name]]}, words {[round(w, 1) for w in length[name]]}"
        )
    reused, prompt_tokens = sides["batched, prefixes reused"].reused_prompt_tokens
    print(f"  prompt tokens taken from a cache when reusing prefixes: {reused} of {prompt_tokens}")
    print(f"  resident memory: {rss_before:.0f} MB before loading, {rss_after:.0f} MB with all")
    backend = sides["batched, prefixes reused"]
    prompts = [backend.prompt_tokens(r) for r in requests(agents, max_tokens, backend)]
    answer = answer_tokens["one at a time"] / calls["one at a time"]
    for side in sides.values():
        await side.aclose()
    alone = LocalChatBackend()
    try:
        limits = llama_limits.measure(
            alone.load(), prompts, generated=round(answer), n_threads=alone.n_threads
        )
    finally:
        await alone.aclose()
    llama_limits.report(limits, [len(p) for p in prompts], prefilled(prompts), answer)


def prefilled(prompts: list[list[int]]) -> int:
    """The prompt tokens left to prefill when each prompt reuses the longest prefix it shares
    with an earlier one (as the batch decoder does)."""
    total = 0
    for i, prompt in enumerate(prompts):
        shared = max((shared_prefix(prompt, p) for p in prompts[:i]), default=0)
        shared = min(shared, len(prompt) - 1)
        total += len(prompt) - (shared if shared >= MIN_COPIED else 0)
    return total


def embedding(texts: int) -> None:
    embedder = LocalEmbedder()
    corpus = [
        f"{SOURCE} Variant {i}: {' '.join(SOURCE.split()[: 5 + i % 30])}" for i in range(texts)
    ]
    embedder.encode(corpus[:8])  # warm-up
    started = time.perf_counter()
    embedder.encode(corpus)
    batched = texts / (time.perf_counter() - started)
    started = time.perf_counter()
    for text in corpus:
        embedder.encode([text])
    single = texts / (time.perf_counter() - started)
    print(
        f"embedding: {texts} texts; batched (batch {embedder.batch_size}) {batched:.1f} "
        f"texts/s, one at a time {single:.1f} texts/s, ratio {batched / single:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--parts", default="chat,round,embedding", help="comma-separated")
    parser.add_argument("--round-agents", type=int, default=16)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    parts = {part.strip() for part in args.parts.split(",")}
    if "chat" in parts:
        asyncio.run(chat(args.prompts, args.max_tokens, args.rounds))
    if "round" in parts:
        asyncio.run(batched_round(args.round_agents, args.max_tokens, args.max_batch, args.seeds))
    if "embedding" in parts:
        embedding(args.texts)


if __name__ == "__main__":
    main()
