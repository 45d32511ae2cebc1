"""Where the limit of a batched round is on this machine: llama.cpp's own rates on a round's
prompts, measured with its low-level API (no driftlab code in the loop): prompt tokens/s
prefilled one prompt at a time against all prompts in one batch, generated tokens/s for one
sequence against all of them a step at a time, and the sampler chain's time per token."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from agents.llama_batching import sampler_chain

N_BATCH = 512


@dataclass(frozen=True, slots=True)
class Limits:
    """Rates measured on one context; tokens per second unless named otherwise."""

    prefill_one: float
    prefill_all: float
    generate_one: float
    generate_all: float
    sample_ms: float
    sequences: int


class _Context:
    """A context with one KV cache per sequence, set up as the batch decoder sets up its own."""

    def __init__(self, llama: Any, sequences: int, n_ctx: int, n_threads: int) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self.llama_cpp = llama_cpp
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = sequences * n_ctx
        params.n_batch = params.n_ubatch = N_BATCH
        params.n_seq_max = sequences
        params.kv_unified = False
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.n_threads = params.n_threads_batch = n_threads
        self.context = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self.batch = _internals.LlamaBatch(n_tokens=N_BATCH, embd=0, n_seq_max=1, verbose=False)
        self.memory = llama_cpp.llama_get_memory(self.context.ctx)

    def decode(self, rows: list[tuple[int, int, int, bool]]) -> float:
        """Decode (token, position, sequence, logits) rows in chunks of N_BATCH; seconds."""
        started = time.perf_counter()
        batch = self.batch.batch
        for first in range(0, len(rows), N_BATCH):
            chunk = rows[first : first + N_BATCH]
            batch.n_tokens = len(chunk)
            for i, (token, position, seq, logits) in enumerate(chunk):
                batch.token[i], batch.pos[i], batch.seq_id[i][0] = token, position, seq
                batch.n_seq_id[i], batch.logits[i] = 1, logits
            self.context.decode(self.batch)
        return time.perf_counter() - started

    def clear(self) -> None:
        self.llama_cpp.llama_memory_seq_rm(self.memory, -1, -1, -1)

    def close(self) -> None:
        self.batch.close()
        self.context.close()


def _prompt_rows(prompt: list[int], seq: int) -> list[tuple[int, int, int, bool]]:
    return [(token, i, seq, i == len(prompt) - 1) for i, token in enumerate(prompt)]


def measure(
    llama: Any, prompts: list[list[int]], *, generated: int, n_threads: int, solo: int = 4
) -> Limits:
    """The rates on `prompts` (all prefilled both ways; `generated` steps for `solo` of them
    alone and for all of them together, the prompt's tokens fed back as the next tokens)."""
    n_ctx = max(map(len, prompts)) + generated + 1
    context = _Context(llama, len(prompts), n_ctx, n_threads)
    try:
        context.decode(_prompt_rows(prompts[0], 0))  # warm-up
        context.clear()
        alone = 0.0
        for prompt in prompts:
            alone += context.decode(_prompt_rows(prompt, 0))
            context.clear()
        seconds_one = 0.0
        for prompt in prompts[:solo]:
            context.decode(_prompt_rows(prompt, 0))
            for step in range(generated):
                token = prompt[step % len(prompt)]
                seconds_one += context.decode([(token, len(prompt) + step, 0, True)])
            context.clear()
        together = context.decode(
            [row for s, p in enumerate(prompts) for row in _prompt_rows(p, s)]
        )
        seconds_all = 0.0
        for step in range(generated):
            rows = [(p[step % len(p)], len(p) + step, s, True) for s, p in enumerate(prompts)]
            seconds_all += context.decode(rows)
        sample_ms = _sampling_ms(context, llama.n_vocab(), len(prompts))
    finally:
        context.close()
    tokens = sum(map(len, prompts))
    return Limits(
        prefill_one=tokens / alone,
        prefill_all=tokens / together,
        generate_one=solo * generated / seconds_one,
        generate_all=len(prompts) * generated / seconds_all,
        sample_ms=sample_ms,
        sequences=len(prompts),
    )


def _sampling_ms(context: _Context, n_vocab: int, rows: int) -> float:
    """The sampler chain's time for one token, on the last step's logits."""
    sampler = sampler_chain(n_vocab, 1, 0.7)
    started = time.perf_counter()
    for row in range(rows):
        context.llama_cpp.llama_sampler_sample(sampler.sampler, context.context.ctx, row)
    sampler.close()
    return (time.perf_counter() - started) * 1000 / rows


def report(
    limits: Limits, prompt_tokens: list[int], unique_prompt_tokens: int, answer: float
) -> None:
    """Print the rates and what they allow for a round with these prompts and answer length:
    the round's time one call at a time, batched, and batched with shared prefixes reused."""
    n = limits.sequences
    print(f"  limits on this machine, same run (llama.cpp alone, {n} prompts of the round):")
    print(
        f"    prefill: one prompt at a time {limits.prefill_one:.0f} prompt tokens/s, "
        f"{n} in one batch {limits.prefill_all:.0f} "
        f"({limits.prefill_all / limits.prefill_one:.2f}x)"
    )
    print(
        f"    generation: batch 1 {limits.generate_one:.0f} tokens/s, batch {n} "
        f"{limits.generate_all:.0f} ({limits.generate_all / limits.generate_one:.2f}x); "
        f"sampling {limits.sample_ms:.2f} ms a token"
    )
    prompts, generated = sum(prompt_tokens), answer * n
    sampling = generated * limits.sample_ms / 1000
    sequential = prompts / limits.prefill_one + generated / limits.generate_one + sampling
    batched = prompts / limits.prefill_all + generated / limits.generate_all + sampling
    shared = unique_prompt_tokens / limits.prefill_all + generated / limits.generate_all + sampling
    print(
        f"    a round of {n} calls ({prompts} prompt tokens, {unique_prompt_tokens} once shared "
        f"prefixes are reused; {answer:.0f} answer tokens a call): one at a time "
        f"{sequential:.1f} s, batched {batched:.1f} s ({sequential / batched:.2f}x), batched "
        f"with prefixes reused {shared:.1f} s ({sequential / shared:.2f}x)"
    )
