"""The response cache: completions kept in Redis, keyed by everything that shapes them
(endpoint, model, messages, sampling settings, seed), shared by every process. Only
successful completions are kept, never errors. Off by default: with it, replicates that
send the same request share one answer."""

from __future__ import annotations

import hashlib
import json

from redis.asyncio import Redis

from agents.backend import ChatBackend, ChatRequest, Completion, WrappedBackend
from service.provenance.response_cache import cached_completion, keep_completion


def request_digest(endpoint: str, request: ChatRequest) -> str:
    """The digest a request's completion is cached under."""
    identity = json.dumps(
        {
            "endpoint": endpoint,
            "model": request.model,
            "messages": [request.system, request.user],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
        },
        sort_keys=True,
    )
    return hashlib.sha256(identity.encode()).hexdigest()


class CachingBackend(WrappedBackend):
    """Answers a request seen before from Redis (attempts 0, `cached` set); otherwise asks
    `inner` and keeps the completion for `ttl_s` seconds."""

    def __init__(self, inner: ChatBackend, endpoint: str, redis: Redis, ttl_s: int) -> None:
        super().__init__(inner)
        self.endpoint = endpoint
        self.redis = redis
        self.ttl_s = ttl_s

    async def complete(self, request: ChatRequest) -> Completion:
        digest = request_digest(self.endpoint, request)
        stored = await cached_completion(self.redis, digest)
        if stored is not None:
            return Completion.model_validate_json(stored).model_copy(
                update={"attempts": 0, "errors": (), "cached": True, "latency_ms": 0.0}
            )
        completion = await self.inner.complete(request)
        await keep_completion(self.redis, digest, completion.model_dump_json(), self.ttl_s)
        return completion
