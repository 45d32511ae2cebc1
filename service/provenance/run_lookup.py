"""Run ids as users type them: the full id, any unique prefix, or `latest` / `latest~N` (the
newest stored run, the Nth before it). One resolver for the CLI and the HTTP API."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import cast

from redis.asyncio import Redis

from service.errors import RunNotFound
from service.provenance import keys

LATEST = re.compile(r"latest(?:~(\d+))?")
CANDIDATES_SHOWN = 10
MIN_SHOWN_PREFIX = 6


class AmbiguousRunId(RunNotFound):
    """A prefix that starts more than one stored run id (CLI exit 2, HTTP 404)."""

    def __init__(self, prefix: str, candidates: Sequence[str]) -> None:
        super().__init__(prefix, list(candidates))

    def __str__(self) -> str:
        prefix, candidates = self.args
        shown = ", ".join(candidates[:CANDIDATES_SHOWN])
        more = len(candidates) - CANDIDATES_SHOWN
        tail = f" and {more} more" if more > 0 else ""
        return (
            f"run id prefix {prefix!r} matches {len(candidates)} runs: {shown}{tail}; "
            "type more of the id"
        )


class TooFewRuns(RunNotFound):
    """`latest~N` with N runs or fewer stored."""

    def __str__(self) -> str:
        text, stored = self.args
        return f"{text!r} names no run: {stored} runs are stored"


async def stored_run_ids(redis: Redis) -> list[str]:
    """Every stored run id, oldest first."""
    raw = cast(list[bytes], await redis.zrange(keys.RUNS, 0, -1))
    return [item.decode() for item in raw]


async def resolve_run_id(redis: Redis, text: str, *, latest: bool = True) -> str:
    """The stored run `text` names: itself if stored; with `latest`, the newest run for
    `latest` and the Nth before it for `latest~N`; else the one run whose id starts with it.
    AmbiguousRunId when several do; `text` unchanged when none does (the caller's own lookup
    then says the run is not found)."""
    if await redis.zscore(keys.RUNS, text) is not None:
        return text
    ids = await stored_run_ids(redis)
    match = LATEST.fullmatch(text) if latest else None
    if match:
        back = int(match.group(1) or 0)
        if back >= len(ids):
            raise TooFewRuns(text, len(ids))
        return ids[-1 - back]
    candidates = [run_id for run_id in ids if run_id.startswith(text)]
    if len(candidates) > 1:
        raise AmbiguousRunId(text, candidates)
    return candidates[0] if candidates else text


def shortest_unique_prefixes(ids: Sequence[str], minimum: int = MIN_SHOWN_PREFIX) -> list[str]:
    """For each id, its shortest prefix that no other id starts with, at least `minimum`
    characters and carried on to the end of the word it stops in (words end at `-`), so a
    prefix reads as whole words: `mixing-20261203-081400`, not `mixing-20261203-0814`."""
    ordered = sorted(set(ids))
    shortest: dict[str, int] = {}
    for before, after in itertools.pairwise(ordered):
        common = _common_length(before, after)
        shortest[before] = max(shortest.get(before, 0), common + 1)
        shortest[after] = max(shortest.get(after, 0), common + 1)
    shown = []
    for run_id in ids:
        length = max(minimum, shortest.get(run_id, 1))
        word_end = run_id.find("-", length)
        shown.append(run_id if word_end < 0 else run_id[:word_end])
    return shown


def _common_length(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length
