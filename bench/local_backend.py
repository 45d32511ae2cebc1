"""The local backend against a bare llama-cpp-python loop on the same prompts and seeds, and
the local embedder batched against one text at a time, measured in the same run.

    python bench/local_backend.py [--prompts 6] [--max-tokens 128] [--texts 256]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from agents.agent import Agent
from agents.local_chat import LocalChatBackend
from agents.local_embedding import LocalEmbedder
from agents.personas import BUILTIN_PERSONAS
from agents.tasks import InputText
from bench.common import SOURCE

PERSONAS = ("editor", "tabloid", "scientist", "teacher", "skeptic", "copywriter")


def requests(count: int, max_tokens: int, backend: LocalChatBackend) -> list:
    return [
        Agent(
            BUILTIN_PERSONAS[PERSONAS[i % len(PERSONAS)]],
            backend,
            "summarize",
            max_tokens=max_tokens,
        ).request([InputText(SOURCE)], seed=i)
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
    args = parser.parse_args()
    asyncio.run(chat(args.prompts, args.max_tokens, args.rounds))
    embedding(args.texts)


if __name__ == "__main__":
    main()
