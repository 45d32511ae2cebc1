"""The consumer behind `driftlab worker`: runs agent steps of distributed runs from Redis, on
any machine.

Reads the steps stream as one consumer of the workers' group, at most `concurrency` steps
at once; claims steps that another worker left idle for `redelivery_s` seconds; keeps its
own in-flight steps from looking idle; dead-letters a step delivered more than
`max_deliveries` times, or written in a wire format version it does not know. Once stopped
it reads nothing new and finishes the steps in hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis.asyncio import Redis

from agents.pool import BackendPool
from service.errors import RunNotFound, UnknownWireVersion
from service.experiment.experiment import load
from service.experiment.settings import Settings
from service.provenance.message import FailedStep
from service.provenance.step_queue import (
    claim_idle_steps,
    commit_step,
    dead_letter,
    deliveries,
    drop_step,
    ensure_group,
    keep_steps_claimed,
    leave_group,
    read_new_steps,
    step_done,
)
from service.provenance.store import ProvenanceStore, as_text
from service.run.binding import RunScope, bound_context
from service.run.lease import holder_name
from service.run.step import Emitted, Failed, RunContext, Settled, Skipped, agent_step
from service.run.wire import decode_steps, encode_outcomes
from service.run.worker_presence import keep_announcing
from service.status import RunStatus

DEAD_LETTER = "dead_letter"
STATUS_TTL_S = 1.0  # how long a worker trusts a run's status before reading it again
log = logging.getLogger("driftlab.worker")


@dataclass
class WorkerOptions:
    """How one worker process behaves."""

    concurrency: int = 64
    redelivery_s: float = 30.0
    max_deliveries: int = 5
    block_ms: int = 200


@dataclass
class _RunState:
    ctx: RunContext
    pool: BackendPool
    running: bool = True
    checked: float = field(default_factory=time.monotonic)


@dataclass
class StepWorker:
    """One consumer of the steps stream."""

    redis: Redis
    settings: Settings
    options: WorkerOptions
    name: str = field(default_factory=holder_name)
    steps_done: int = 0
    _runs: dict[str, _RunState] = field(default_factory=dict)
    _in_flight: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def store(self) -> ProvenanceStore:
        return ProvenanceStore(self.redis)

    def stop(self) -> None:
        self._stopping.set()

    async def serve(self) -> None:
        """Process steps until `stop`; then finish the steps in hand."""
        await ensure_group(self.redis)
        keeper = asyncio.create_task(self._keep_claimed())
        beat = asyncio.create_task(keep_announcing(self.redis, self.name))
        idle_ms, block_ms = round(self.options.redelivery_s * 1000), self.options.block_ms
        try:
            while not self._stopping.is_set():
                free = self.options.concurrency - len(self._in_flight)
                if free <= 0:
                    await asyncio.wait(
                        list(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED
                    )
                    continue
                claimed = await claim_idle_steps(self.redis, self.name, idle_ms, free)
                for entry_id, fields in claimed:
                    self._start(entry_id, fields, redelivered=True)
                if not claimed:
                    fresh = await read_new_steps(self.redis, self.name, free, block_ms)
                    for entry_id, fields in fresh:
                        self._start(entry_id, fields, redelivered=False)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            if self._in_flight:
                await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            for state in self._runs.values():
                await state.pool.aclose()
            await leave_group(self.redis, self.name)

    async def _keep_claimed(self) -> None:
        """Reset the idle time of the steps in hand, so no one else claims them."""
        while True:
            await asyncio.sleep(self.options.redelivery_s / 3)
            if self._in_flight:
                await keep_steps_claimed(self.redis, self.name, list(self._in_flight))

    def _start(self, entry_id: str, fields: dict[bytes, bytes], *, redelivered: bool) -> None:
        task = asyncio.create_task(self._handle_reporting(entry_id, fields, redelivered))
        self._in_flight[entry_id] = task
        task.add_done_callback(lambda _: self._in_flight.pop(entry_id, None))

    async def _handle_reporting(
        self, entry_id: str, fields: dict[bytes, bytes], redelivered: bool
    ) -> None:
        """A step that raises stays pending: it is redelivered, then dead-lettered."""
        run_id = as_text(fields.get(b"run", b"?"))
        try:
            await self._handle(entry_id, fields, redelivered)
        except Exception as exc:
            log.warning(
                "step %s failed: %s: %s",
                entry_id,
                type(exc).__name__,
                exc,
                extra={"run_id": run_id},
            )

    async def _handle(self, entry_id: str, fields: dict[bytes, bytes], redelivered: bool) -> None:
        """Run one step and commit it. A redelivered step may be done already (the commit
        is atomic: it is done exactly when its done mark exists), or delivered too often."""
        run_id = as_text(fields[b"run"])
        round_, index = int(fields[b"round"]), int(fields[b"index"])
        state = await self._run_state(run_id, int(fields[b"replicate"]))
        if state is None:  # the run is gone or over: its steps are dropped
            await drop_step(self.redis, entry_id)
            return
        try:
            [item] = decode_steps(fields[b"input"])
        except UnknownWireVersion as exc:
            log.error(
                "step %s of run %s refused and dead-lettered: %s",
                entry_id,
                run_id,
                exc,
                extra={"run_id": run_id},
            )
            node = _node_named_in(fields[b"input"])
            reason = f"step refused by worker {self.name}: {exc}"
            await self._dead_letter(state.ctx, round_, index, node, entry_id, reason)
            return
        if redelivered:
            if await step_done(self.redis, run_id, round_, index):
                await drop_step(self.redis, entry_id)
                return
            delivered = await deliveries(self.redis, entry_id)
            if delivered > self.options.max_deliveries:
                reason = (
                    f"step given up after {delivered - 1} deliveries (workers died or "
                    "stalled while running it)"
                )
                await self._dead_letter(state.ctx, round_, index, item.node, entry_id, reason)
                return
        await self._known_humans(state.ctx, int(fields[b"humans"]))
        outcome = await agent_step(
            state.ctx, round_, item.node, item.inbox, item.anchor, item.stored
        )
        message = None
        kept: Settled | Skipped | Failed
        if isinstance(outcome, Emitted):
            message = (outcome.message.id, outcome.message.model_dump_json())
            kept = Settled.of(outcome)
        else:
            kept = outcome
        payload = encode_outcomes([(index, kept)])
        await commit_step(self.redis, run_id, round_, index, message, payload, entry_id)
        self.steps_done += 1

    async def _dead_letter(
        self,
        ctx: RunContext,
        round_: int,
        index: int,
        node: str,
        entry_id: str,
        reason: str,
    ) -> None:
        """Record the step in the run's dead letters and commit it as a failed step."""
        record = FailedStep(
            run=ctx.run_id,
            replicate=ctx.replicate,
            round=round_,
            node=node,
            agent=None,
            backend=ctx.backend_of.get(node, "unknown"),
            reason=reason,
            kind=DEAD_LETTER,
            attempts=0,
            errors=[f"{DEAD_LETTER}: {reason}"],
            created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        )
        await dead_letter(self.redis, ctx.run_id, record.model_dump_json())
        payload = encode_outcomes([(index, Failed(record))])
        await commit_step(self.redis, ctx.run_id, round_, index, None, payload, entry_id)

    async def _run_state(self, run_id: str, replicate: int) -> _RunState | None:
        """The run's context while it is running (its status read at most every second)."""
        known = self._runs.get(run_id)
        if known is not None and time.monotonic() - known.checked < STATUS_TTL_S:
            return known if known.running else None
        try:
            record = await self.store.get_run(run_id)
        except RunNotFound:
            self._runs.pop(run_id, None)
            return None
        if known is not None:
            known.running = record["status"] == RunStatus.RUNNING.value
            known.checked = time.monotonic()
            return known if known.running else None
        if record["status"] != RunStatus.RUNNING.value:
            return None
        if run_id not in self._runs:
            experiment = load(record["spec"], self.settings)
            pool = BackendPool()
            scope = RunScope(self.redis, run_id, shared_limit=True)
            ctx = bound_context(experiment, pool, scope, replicate)
            self._runs[run_id] = _RunState(ctx, pool)
        return self._runs[run_id]

    async def _known_humans(self, ctx: RunContext, count: int) -> None:
        """The run's first `count` human ids (the roots a step's tags may name)."""
        if len(ctx.human_ids) < count:
            ctx.human_ids[:] = await self.store.human_ids(ctx.run_id)


def _node_named_in(raw: bytes) -> str:
    """The node a step document of any version names, if it names one."""
    with contextlib.suppress(ValueError, AttributeError):
        node = json.loads(raw).get("node")
        if isinstance(node, str):
            return node
    return "unknown"
