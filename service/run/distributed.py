"""Agent steps as durable units of work in Redis, for `driftlab worker` processes on any
machine: the third step runner, on a Redis Streams consumer group (docs/scaling.md; its
Redis commands are the store's, service/provenance/step_queue.py).

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

from service.errors import WorkerFailed
from service.provenance.step_queue import clear_round, done_steps, enqueue_steps, ensure_group
from service.provenance.store import Fields
from service.provenance.workers import live_workers
from service.run.step_batch import ContextRunner, Outcome, StepInput
from service.run.wire import decode_outcomes, encode_steps
from service.run.worker_presence import BEAT_S, SILENT_AFTER_S

POLL_S = 0.02


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
        steps: list[Fields] = [
            {
                "run": run_id,
                "replicate": self.ctx.replicate,
                "round": round_,
                "index": index,
                "humans": len(human_ids),
                "input": encode_steps([item]),
            }
            for index, item in enumerate(inputs)
        ]
        await enqueue_steps(redis, run_id, round_, steps)
        seen = 0
        presence = _Presence(redis)
        try:
            while seen < len(inputs):
                done = await done_steps(redis, run_id, round_, seen)
                if not done:
                    await presence.check(round_)
                    await asyncio.sleep(POLL_S)
                    continue
                seen += len(done)
                for index, raw in done:
                    [(_, outcome)] = decode_outcomes(raw)
                    yield index, outcome
        finally:
            await clear_round(redis, run_id, round_)
