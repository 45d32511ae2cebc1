"""A run's shared counters in Redis, read and written by every process of the run: its
budget spent so far (LLM calls and tokens) and the call slots of a distributed run (a
sorted set of token -> expiry, so a slot of a worker that died expires)."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from service.provenance import keys

TAKE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
    return 1
end
return 0
"""  # ARGV: now, limit, expiry, token


async def reserve_call(redis: Redis, run_id: str) -> tuple[int, int]:
    """Count one more LLM call of the run: its calls (this one included) and tokens so far."""
    key = keys.budget(run_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(key, "calls", 1)
        pipe.hget(key, "tokens")
        calls, tokens = await pipe.execute()
    return int(calls), int(tokens or 0)


async def add_spending(redis: Redis, run_id: str, calls: int, tokens: int) -> None:
    """Add further calls (retries) and tokens to what the run spent."""
    key = keys.budget(run_id)
    async with redis.pipeline(transaction=True) as pipe:
        if calls:
            pipe.hincrby(key, "calls", calls)
        if tokens:
            pipe.hincrby(key, "tokens", tokens)
        await pipe.execute()


async def take_call_slot(redis: Redis, run_id: str, token: str, limit: int, hold_s: float) -> bool:
    """Take one of the run's `limit` call slots as `token`, held at most `hold_s` seconds;
    False when all are taken."""
    now = time.time()
    taken = await redis.eval(TAKE_SLOT, 1, keys.in_flight(run_id), now, limit, now + hold_s, token)
    return bool(taken)


async def give_call_slot(redis: Redis, run_id: str, token: str) -> None:
    await redis.zrem(keys.in_flight(run_id), token)
