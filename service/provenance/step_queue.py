"""The steps of distributed runs in Redis (docs/scaling.md): a stream every worker reads as
one consumer group, and per round of a run a hash of done marks (the outcome by the step's
index) with the order they were done in. Committing a step writes its message, its done
mark and the acknowledgement in one Lua script, so a step delivered twice writes nothing
twice. This is every Redis command of the engine's queue (service/run/distributed.py) and
of the workers (service/run/step_worker.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from service.provenance import keys
from service.provenance.store import Fields, as_text

COMMIT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
    if ARGV[3] ~= '' then
        redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
    end
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
    redis.call('RPUSH', KEYS[3], ARGV[1])
end
redis.call('XACK', KEYS[4], ARGV[5], ARGV[6])
redis.call('XDEL', KEYS[4], ARGV[6])
"""  # KEYS: done, messages, done order, stream; ARGV: index, message id, message JSON
# (empty for none), outcome, group, entry id

Entry = tuple[str, dict[bytes, bytes]]  # a stream entry: its id and its fields


async def ensure_group(redis: Redis) -> None:
    """Create the workers' consumer group (and the stream) unless they exist."""
    try:
        await redis.xgroup_create(keys.STEPS, keys.STEP_WORKERS, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def enqueue_steps(redis: Redis, run_id: str, round_: int, steps: Sequence[Fields]) -> None:
    """Queue a round's steps (each the fields of one stream entry), its done marks cleared."""
    await clear_round(redis, run_id, round_)
    async with redis.pipeline(transaction=False) as pipe:
        for fields in steps:
            pipe.xadd(keys.STEPS, fields)
        await pipe.execute()


async def done_steps(redis: Redis, run_id: str, round_: int, seen: int) -> list[tuple[int, bytes]]:
    """The steps of the round done after the first `seen`, in the order they were done:
    each its index and its stored outcome."""
    indexes = await redis.lrange(keys.done_order(run_id, round_), seen, -1)
    if not indexes:
        return []
    outcomes = await redis.hmget(keys.done(run_id, round_), indexes)
    done = []
    for index, outcome in zip(indexes, outcomes, strict=True):
        assert isinstance(outcome, bytes), "a step in the order list has no outcome"
        done.append((int(index), outcome))
    return done


async def clear_round(redis: Redis, run_id: str, round_: int) -> None:
    await redis.delete(keys.done(run_id, round_), keys.done_order(run_id, round_))


async def step_done(redis: Redis, run_id: str, round_: int, index: int) -> bool:
    return bool(await redis.hexists(keys.done(run_id, round_), str(index)))


async def commit_step(
    redis: Redis,
    run_id: str,
    round_: int,
    index: int,
    message: tuple[str, str] | None,
    outcome: bytes,
    entry_id: str,
) -> None:
    """Store a step's message and done mark and acknowledge (and delete) its entry,
    atomically; nothing but the acknowledgement when the step was done before."""
    mid, payload = message or ("", "")
    await redis.eval(
        COMMIT,
        4,
        keys.done(run_id, round_),
        keys.messages(run_id),
        keys.done_order(run_id, round_),
        keys.STEPS,
        index,
        mid,
        payload,
        outcome,
        keys.STEP_WORKERS,
        entry_id,
    )


async def dead_letter(redis: Redis, run_id: str, record: str) -> None:
    """Add a failed step's record (JSON) to the run's dead letters."""
    await redis.rpush(keys.dead_letters(run_id), record)


async def read_new_steps(redis: Redis, consumer: str, count: int, block_ms: int) -> list[Entry]:
    """At most `count` entries no consumer was given yet, waiting up to `block_ms`."""
    reply: Any = await redis.xreadgroup(
        keys.STEP_WORKERS, consumer, {keys.STEPS: ">"}, count=count, block=block_ms
    )
    return [(as_text(i), f) for _, entries in reply for i, f in entries if f]


async def claim_idle_steps(redis: Redis, consumer: str, idle_ms: int, count: int) -> list[Entry]:
    """Entries another consumer took and left idle `idle_ms` or longer, now `consumer`'s.
    The reply is (next id, entries) from Redis 6.2, such as the embedded one, and Redis 7
    adds the ids of deleted entries."""
    reply = await redis.xautoclaim(
        keys.STEPS, keys.STEP_WORKERS, consumer, min_idle_time=idle_ms, count=count
    )
    return [(as_text(i), f) for i, f in reply[1] if f]


async def keep_steps_claimed(redis: Redis, consumer: str, entry_ids: Iterable[str]) -> None:
    """Reset the idle time of `consumer`'s entries, so no one else claims them."""
    await redis.xclaim(
        keys.STEPS,
        keys.STEP_WORKERS,
        consumer,
        min_idle_time=0,
        message_ids=[*entry_ids],
        justid=True,
    )


async def deliveries(redis: Redis, entry_id: str) -> int:
    """How many times the entry was delivered."""
    pending = await redis.xpending_range(
        keys.STEPS, keys.STEP_WORKERS, min=entry_id, max=entry_id, count=1
    )
    return int(pending[0]["times_delivered"]) if pending else 1


async def drop_step(redis: Redis, entry_id: str) -> None:
    """Acknowledge and delete the entry without running it."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xack(keys.STEPS, keys.STEP_WORKERS, entry_id)
        pipe.xdel(keys.STEPS, entry_id)
        await pipe.execute()


async def leave_group(redis: Redis, consumer: str) -> None:
    await redis.xgroup_delconsumer(keys.STEPS, keys.STEP_WORKERS, consumer)
