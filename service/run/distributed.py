"""Agent steps as durable units of work in Redis, for `driftlab worker` processes on any
machine: the third step runner, on a Redis Streams consumer group (docs/scaling.md).

The engine adds a round's steps to the stream `driftlab:steps`; workers read them with
XREADGROUP, run the step, and commit its message, its "done" mark (the outcome, keyed by
the step's index in the round) and the XACK in one Lua script, so a step delivered twice
writes nothing twice. A step whose worker died is claimed by another with XAUTOCLAIM once
it was idle `redelivery_s` seconds; after `max_deliveries` deliveries it goes to the run's
dead-letter list and counts as a failed step. The round ends when every step is done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from service.errors import WorkerFailed
from service.provenance import keys
from service.run.step_batch import ContextRunner, Outcome, StepInput
from service.run.wire import decode_outcomes, encode_steps
from service.run.worker_presence import BEAT_S, SILENT_AFTER_S, live_workers

POLL_S = 0.02
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


async def ensure_group(redis: Redis) -> None:
    """Create the workers' consumer group (and the stream) unless they exist."""
    try:
        await redis.xgroup_create(keys.STEPS, keys.STEP_WORKERS, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


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


class _Presence:
    """Fails a run (WorkerFailed) once the workers it had all stayed silent SILENT_AFTER_S
    seconds; a run that never had one waits for the first (it may be started later)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.had_workers = False
        self.checked = 0.0

    async def check(self, round_: int) -> None:
        now = time.monotonic()
        if now - self.checked < BEAT_S:
            return
        self.checked = now
        if await live_workers(self.redis, SILENT_AFTER_S):
            self.had_workers = True
        elif self.had_workers:
            raise WorkerFailed(
                f"every `driftlab worker` went silent for {SILENT_AFTER_S:.0f} s in round "
                f"{round_}; the run is marked failed, the messages stored so far are kept "
                "(start workers and resume it)"
            )


class DistributedRunner(ContextRunner):
    """Queues a round's steps for workers and yields their outcomes as they are done; steps
    still queued for a run that ended are dropped by the workers."""

    async def run(
        self, round_: int, inputs: Sequence[StepInput], human_ids: list[str]
    ) -> AsyncIterator[Outcome]:
        redis = self.store.redis
        run_id = self.ctx.run_id
        await ensure_group(redis)
        done, order = keys.done(run_id, round_), keys.done_order(run_id, round_)
        await redis.delete(done, order)
        async with redis.pipeline(transaction=False) as pipe:
            for index, item in enumerate(inputs):
                pipe.xadd(
                    keys.STEPS,
                    {
                        "run": run_id,
                        "replicate": self.ctx.replicate,
                        "round": round_,
                        "index": index,
                        "humans": len(human_ids),
                        "input": encode_steps([item]),
                    },
                )
            await pipe.execute()
        seen = 0
        presence = _Presence(redis)
        try:
            while seen < len(inputs):
                indexes = await redis.lrange(order, seen, -1)
                if not indexes:
                    await presence.check(round_)
                    await asyncio.sleep(POLL_S)
                    continue
                seen += len(indexes)
                for stored_index, raw in zip(
                    indexes, await redis.hmget(done, indexes), strict=True
                ):
                    assert isinstance(raw, bytes), "a step in the order list has no outcome"
                    [(_, outcome)] = decode_outcomes(raw)
                    yield int(stored_index), outcome
        finally:
            await redis.delete(done, order)
