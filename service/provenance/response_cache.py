"""The response cache in Redis: completions as JSON under the digest of the request that
produced them, each kept for a time to live."""

from __future__ import annotations

from redis.asyncio import Redis

from service.provenance import keys


async def cached_completion(redis: Redis, digest: str) -> bytes | str | None:
    """The completion kept for the request with this digest, as JSON; None when none is."""
    stored: bytes | str | None = await redis.get(keys.cached_completion(digest))
    return stored


async def keep_completion(redis: Redis, digest: str, completion: str, ttl_s: int) -> None:
    await redis.set(keys.cached_completion(digest), completion, ex=ttl_s)
