"""Several generations decoded together by llama.cpp: continuous batching in one worker thread.

One llama.cpp context holds `max_batch` sequences, each with its own KV cache of `n_ctx`
cells (a `llama_batch` carries tokens of several sequence ids). At every step the thread
admits queued generations into free slots, decodes one batch (the next token of every running
sequence plus as much of the admitted prompts as `n_batch` allows), samples each sequence
with its own sampler chain and seed, and hands finished generations back. Sampling and
attention are set up as `Llama.create_chat_completion` sets them up (flash attention off: its
CPU kernel rounds a prompt differently depending on how its rows are split into batches), so
a sequence's text is, as far as measured, the one-at-a-time path's for the same seed; but
llama.cpp does not promise that a row rounds alike in every batch (see docs/spec.md).

A prompt starts from the longest prefix some sequence's cache already holds (agents.llama_prefix):
the agents of a round that share a persona and its inputs prefill their prompt once. A job whose
prefix another sequence is still prefilling waits a step for it.

Memory is bounded by `max_batch`: the KV cache takes `max_batch * n_ctx` cells (about 23 kB
each for the bundled SmolLM2-135M), allocated once when the context is created; the prefixes
kept for reuse live in those cells.
"""

from __future__ import annotations

import queue
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agents.llama_prefix import MIN_COPIED, Placement, SequenceCells, shared_prefix

PENALTY_LAST_N = 64  # llama-cpp-python's default window (`last_n_tokens_size`)
TOP_K, TOP_P, MIN_P, TYPICAL_P = 40, 0.95, 0.05, 1.0  # create_chat_completion's defaults


@dataclass(frozen=True, slots=True)
class Generated:
    """One finished generation: its tokens, and why it ended (`stop` or `length`)."""

    tokens: list[int]
    prompt_tokens: int
    finish_reason: str


@dataclass(slots=True)
class Generation:
    """A generation asked of the decoder: the prompt's tokens, how to sample, where to deliver
    the result (called in the decoder thread with a Generated or an exception). Setting
    `cancelled` drops it at the next step."""

    prompt: list[int]
    max_tokens: int
    temperature: float
    seed: int | None
    stop: tuple[bytes, ...]
    deliver: Callable[[Generated | BaseException], None]
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass(slots=True)
class _Slot:
    """A running sequence: its generation, sampler, position and tokens so far."""

    job: Generation
    sampler: Any
    fed: int = 0  # prompt tokens in the KV cache (a reused prefix included)
    tokens: list[int] = field(default_factory=list)
    text: bytearray = field(default_factory=bytearray)
    logits_at: int = -1  # its row in the batch just decoded, if it asked for logits


class BatchDecoder:
    """Decodes the generations submitted to it in batches of up to `max_batch` sequences,
    in a thread of its own (started on the first `submit`, stopped by `close`); with
    `reuse_prefixes` off every prompt is prefilled whole."""

    def __init__(
        self,
        llama: Any,
        *,
        max_batch: int,
        n_ctx: int,
        n_threads: int,
        reuse_prefixes: bool = True,
    ) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self._llama_cpp = llama_cpp
        self.llama = llama
        self.max_batch = max_batch
        self.n_ctx = n_ctx
        self.n_batch = min(512, max_batch * n_ctx)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = max_batch * n_ctx
        params.n_batch = params.n_ubatch = self.n_batch
        params.n_seq_max = max_batch
        params.kv_unified = False  # one KV cache of n_ctx cells per sequence
        # as `Llama` runs it: llama.cpp's CPU flash attention rounds a prompt's rows
        # differently depending on how they are split into batches
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.n_threads = params.n_threads_batch = n_threads
        self._context = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self._batch = _internals.LlamaBatch(
            n_tokens=self.n_batch, embd=0, n_seq_max=1, verbose=False
        )
        self._cells = SequenceCells(llama_cpp, self._context.ctx, max_batch)
        self.reuse_prefixes = reuse_prefixes
        self._inbox: queue.Queue[Generation | None] = queue.Queue()
        self._deferred: deque[Generation] = deque()  # waiting for a prefix being prefilled
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.peak = 0  # the most sequences ever decoded in one step
        self.prompt_tokens = 0  # over every admitted prompt
        self.reused_tokens = 0  # of those, taken from a cache instead of prefilled

    def submit(self, job: Generation) -> None:
        """Queue `job` (from any thread); its result is delivered from the decoder thread."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="llama-batch", daemon=True)
                self._thread.start()
        self._inbox.put(job)

    def close(self) -> None:
        """Finish the running generations, stop the thread and free the context (blocking)."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._inbox.put(None)
            thread.join()
        self._batch.close()
        self._context.close()

    def _serve(self) -> None:
        slots: dict[int, _Slot] = {}
        stopping = False
        while not stopping or slots or self._deferred:
            stopping = self._admit(slots, may_wait=not stopping) or stopping
            for seq in [s for s, slot in slots.items() if slot.job.cancelled.is_set()]:
                self._free(slots, seq)
            try:
                self._step(slots)
            except Exception as exc:  # handed to every caller waiting on this batch
                for seq in list(slots):
                    slots[seq].job.deliver(exc)
                    self._free(slots, seq)
                    self._cells.clear(seq)

    def _step(self, slots: dict[int, _Slot]) -> None:
        if slots:
            self.peak = max(self.peak, len(slots))
            self._decode(slots)
            for seq in [s for s, slot in slots.items() if slot.logits_at >= 0]:
                self._sample(slots, seq)

    def _admit(self, slots: dict[int, _Slot], *, may_wait: bool) -> bool:
        """Move deferred, then queued generations into free slots (waiting for one when idle,
        if `may_wait`); True once the stop signal has been read."""
        deferred, self._deferred = self._deferred, deque()
        for waiting in deferred:
            self._place(slots, waiting)
        while len(slots) < self.max_batch:
            try:
                job = self._inbox.get(block=may_wait and not slots and not self._deferred)
            except queue.Empty:
                return False
            if job is None:
                return True
            self._place(slots, job)
        return False

    def _place(self, slots: dict[int, _Slot], job: Generation) -> None:
        """Start `job` in the free sequence holding most of its prompt, or defer it while a
        running sequence prefills a longer prefix of it (or while no sequence is free)."""
        if job.cancelled.is_set():
            return
        if len(slots) == self.max_batch:
            self._deferred.append(job)
            return
        prompt = job.prompt
        placement = self._cells.place(prompt, set(slots))
        if not self.reuse_prefixes:
            placement = Placement(placement.seq, 0)
        else:
            coming = max(
                (
                    shared_prefix(s.job.prompt, prompt)
                    for s in slots.values()
                    if s.fed < len(s.job.prompt)
                ),
                default=0,
            )
            if min(coming, len(prompt) - 1) >= placement.reused + MIN_COPIED:
                self._deferred.append(job)
                return
        self._cells.apply(placement)
        self.prompt_tokens += len(prompt)
        self.reused_tokens += placement.reused
        slots[placement.seq] = _Slot(
            job,
            sampler_chain(self.llama.n_vocab(), job.seed, job.temperature),
            fed=placement.reused,
        )

    def _decode(self, slots: dict[int, _Slot]) -> None:
        """One llama_decode: each generating sequence's last token, then prompt chunks."""
        batch = self._batch.batch
        batch.n_tokens = 0

        def add(token: int, position: int, seq: int, logits: bool) -> None:
            i = batch.n_tokens
            batch.token[i], batch.pos[i] = token, position
            batch.seq_id[i][0], batch.n_seq_id[i], batch.logits[i] = seq, 1, logits
            batch.n_tokens = i + 1

        decoded: dict[int, list[int]] = {}
        for seq, slot in slots.items():
            slot.logits_at = -1
            if slot.fed == len(slot.job.prompt):
                add(slot.tokens[-1], slot.fed + len(slot.tokens) - 1, seq, True)
                slot.logits_at = batch.n_tokens - 1
                decoded[seq] = slot.tokens[-1:]
        for seq, slot in slots.items():
            prompt = slot.job.prompt
            room = self.n_batch - batch.n_tokens
            if slot.fed == len(prompt) or room == 0:
                continue
            chunk = prompt[slot.fed : slot.fed + room]
            for offset, token in enumerate(chunk):
                add(token, slot.fed + offset, seq, slot.fed + offset == len(prompt) - 1)
            slot.fed += len(chunk)
            if slot.fed == len(prompt):
                slot.logits_at = batch.n_tokens - 1
            decoded[seq] = chunk
        self._context.decode(self._batch)
        for seq, tokens in decoded.items():
            self._cells.extend(seq, tokens)

    def _sample(self, slots: dict[int, _Slot], seq: int) -> None:
        slot = slots[seq]
        llama_cpp = self._llama_cpp
        token = llama_cpp.llama_sampler_sample(
            slot.sampler.sampler, self._context.ctx, slot.logits_at
        )
        if llama_cpp.llama_vocab_is_eog(self.llama._model.vocab, token):
            self._finish(slots, seq, "stop")
            return
        slot.tokens.append(token)
        slot.text += self.llama._model.token_to_piece(token)
        if any(stop in slot.text for stop in slot.job.stop):
            self._finish(slots, seq, "stop")
        elif len(slot.tokens) >= self._token_limit(slot.job):
            self._finish(slots, seq, "length")

    def _token_limit(self, job: Generation) -> int:
        """`max_tokens`, cut to what the sequence's context has room for (as llama-cpp-python
        does for a single call)."""
        room = self.n_ctx - len(job.prompt)
        return job.max_tokens if 0 < job.max_tokens < room else room

    def _finish(self, slots: dict[int, _Slot], seq: int, reason: str) -> None:
        slot = slots[seq]
        slot.job.deliver(Generated(slot.tokens, len(slot.job.prompt), reason))
        self._free(slots, seq)

    def _free(self, slots: dict[int, _Slot], seq: int) -> None:
        """End `seq`'s generation; its cells stay, for a later prompt with the same prefix."""
        slots.pop(seq).sampler.close()


def sampler_chain(n_vocab: int, seed: int | None, temperature: float) -> Any:
    """The sampler chain llama-cpp-python builds for a chat completion with its default
    settings, seeded as it seeds one."""
    from llama_cpp import _internals

    sampler = _internals.LlamaSampler()
    sampler.add_penalties(
        n_vocab=n_vocab,
        penalty_last_n=PENALTY_LAST_N,
        penalty_repeat=1.0,
        penalty_freq=0.0,
        penalty_present=0.0,
    )
    seed = seed if seed is not None else random.getrandbits(32)
    if temperature < 0:
        sampler.add_dist(seed)
    elif temperature == 0:
        sampler.add_greedy()
    else:
        sampler.add_top_k(TOP_K)
        sampler.add_typical(TYPICAL_P, 1)
        sampler.add_top_p(TOP_P, 1)
        sampler.add_min_p(MIN_P, 1)
        sampler.add_temp(temperature)
        sampler.add_dist(seed)
    return sampler
