"""What each sequence's KV cache holds, so a prompt starts from the longest prefix already
computed: its own sequence's cells kept from an earlier generation, or another sequence's
cells copied over (llama.cpp's `llama_memory_seq_cp`), instead of prefilling it again.

With one KV cache per sequence (`kv_unified` off), llama.cpp copies a sequence to another
only whole: the copy moves the source's `n_ctx` cells (about 23 kB each for the bundled model)
before the next decode, and the cells past the shared prefix are then removed. A copy is only
made when it saves at least `MIN_COPIED` prompt tokens; reusing a sequence's own cells costs
nothing. The last prompt token is always decoded again, so its logits are fresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_COPIED = 16  # prompt tokens a copy must save: fewer are cheaper to prefill than to copy


def shared_prefix(a: list[int], b: list[int]) -> int:
    """How many leading tokens `a` and `b` have in common."""
    differ = (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)
    return next(differ, min(len(a), len(b)))


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a prompt goes: its sequence, how many of its tokens are already there once
    placed, and the sequence copied from first (None: the sequence's own cells)."""

    seq: int
    reused: int
    source: int | None = None


class SequenceCells:
    """The tokens at positions 0..n-1 of each sequence's KV cache, kept after a generation
    ends until the sequence is needed for another prompt (the memory is allocated anyway)."""

    def __init__(self, llama_cpp: Any, context: Any, max_batch: int) -> None:
        self._llama_cpp = llama_cpp
        self._memory = llama_cpp.llama_get_memory(context)
        self._held: list[list[int]] = [[] for _ in range(max_batch)]

    def extend(self, seq: int, tokens: list[int]) -> None:
        """Record that `tokens` were decoded into `seq` after what it held."""
        self._held[seq].extend(tokens)

    def clear(self, seq: int) -> None:
        """Empty `seq` (its cells no longer match what was recorded, e.g. after an error)."""
        self._llama_cpp.llama_memory_seq_rm(self._memory, seq, -1, -1)
        self._held[seq].clear()

    def place(self, prompt: list[int], busy: set[int]) -> Placement:
        """The free sequence for `prompt` that leaves the least to prefill."""
        usable = len(prompt) - 1  # the last token is decoded again for its logits
        free = [seq for seq in range(len(self._held)) if seq not in busy]
        own = max(free, key=lambda seq: shared_prefix(self._held[seq], prompt))
        kept = min(shared_prefix(self._held[own], prompt), usable)
        source = max(range(len(self._held)), key=lambda seq: shared_prefix(self._held[seq], prompt))
        copied = min(shared_prefix(self._held[source], prompt), usable)
        if copied >= kept + MIN_COPIED:
            target = min((seq for seq in free if seq != source), key=lambda s: len(self._held[s]))
            return Placement(target, copied, source)
        return Placement(own, kept)

    def apply(self, placement: Placement) -> None:
        """Make the sequence hold exactly the reused prefix (copying it first if need be)."""
        llama_cpp, seq = self._llama_cpp, placement.seq
        if placement.source is not None:
            llama_cpp.llama_memory_seq_rm(self._memory, seq, -1, -1)
            llama_cpp.llama_memory_seq_cp(self._memory, placement.source, seq, -1, -1)
            self._held[seq] = list(self._held[placement.source])
        llama_cpp.llama_memory_seq_rm(self._memory, seq, placement.reused, -1)
        del self._held[seq][placement.reused :]
