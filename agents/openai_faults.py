"""Faults the OpenAI-compatible stub can inject, as hosted endpoints misbehave: rate limits
with `Retry-After`, server errors, stalls, empty, malformed, non-text and huge replies."""

from __future__ import annotations

import asyncio
import json
import math
import random
from dataclasses import dataclass, field

from aiohttp import web

FAULT_KINDS = (
    "rate_limited",  # 429 with Retry-After
    "http_500",
    "http_502",
    "http_503",
    "stall",  # answers only after `stall_s`
    "empty",  # a completion with empty content
    "malformed",  # a JSON content type with a body that does not parse
    "non_text",  # content that is a list of parts, not a string
    "huge",  # a completion of `huge_chars` characters
)
RECOVERABLE = frozenset({"huge"})  # answers a usable (if over-long) text


@dataclass
class FaultPlan:
    """Which calls fail and how: the n-th chat call gets `script[n]` (None: no fault) while
    the script lasts; then each call draws a fault with chance `rate`, the kind uniformly
    from `kinds`. Every injected fault is logged as (request seed, kind)."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    stall_s: float = 5.0
    retry_after_s: float = 1.0
    huge_chars: int = 1_000_000
    seed: int = 0
    script: list[str | None] = field(default_factory=list)
    injected: list[tuple[int | None, str]] = field(default_factory=list)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = [k for k in (*self.kinds, *self.script) if k and k not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; expected some of {FAULT_KINDS}")
        self._rng = random.Random(self.seed)

    def draw(self, request_seed: int | None) -> str | None:
        """The fault to inject into this call, if any (and log it)."""
        if self.script:
            kind = self.script.pop(0)
        elif self.rate and self._rng.random() < self.rate:
            kind = self._rng.choice(self.kinds)
        else:
            return None
        if kind is None:
            return None
        self.injected.append((request_seed, kind))
        return kind


async def fault_response(plan: FaultPlan, kind: str, answer: dict) -> web.StreamResponse:
    """The response for an injected fault; `answer` is the correct completion body."""
    if kind == "rate_limited":
        return web.json_response(
            {"error": {"message": "rate limit reached", "type": "rate_limit_error"}},
            status=429,
            headers={
                "Retry-After": str(math.ceil(plan.retry_after_s)),
                "retry-after-ms": str(round(plan.retry_after_s * 1000)),
            },
        )
    if kind.startswith("http_"):
        status = int(kind.removeprefix("http_"))
        return web.json_response(
            {"error": {"message": "the server had an error", "type": "server_error"}},
            status=status,
        )
    if kind == "stall":
        await asyncio.sleep(plan.stall_s)
        return web.json_response(answer)
    if kind == "malformed":
        return web.Response(
            text='{"id": "chatcmpl-x", "choices": [{"message": {"content": "cut off',
            content_type="application/json",
        )
    message = answer["choices"][0]["message"]
    if kind == "empty":
        message["content"] = ""
    elif kind == "non_text":
        message["content"] = [{"type": "image_url", "image_url": {"url": "data:,"}}]
    elif kind == "huge":
        message["content"] = ("retelling " * (plan.huge_chars // 10 + 1))[: plan.huge_chars]
    return web.Response(text=json.dumps(answer), content_type="application/json")
