"""Running many agents' steps of one round, at most `concurrency` backend calls at once: the
loop the in-process engine and every worker process share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, Self

from agents.backend import Completion
from service.provenance.policies import Delivery
from service.provenance.store import WRITE_CHUNK, ProvenanceStore
from service.run.record_writer import RecordWriter
from service.run.step import (
    Emitted,
    Failed,
    RunContext,
    Settled,
    Skipped,
    agent_step,
    agent_step_now,
)


class StepInput(NamedTuple):
    """What one agent reads in a round: its inbox (by sender) and its remembered human text;
    and, when a resumed run replays a stored step, the completion it got then."""

    node: str
    inbox: list[Delivery]
    anchor: Delivery | None
    stored: Completion | None = None


class ContextRunner:
    """A step runner over one run's context and store that opens nothing of its own."""

    def __init__(self, ctx: RunContext, store: ProvenanceStore) -> None:
        self.ctx = ctx
        self.store = store

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        """Nothing to stop: work left behind (a distributed run's queued steps) is the
        workers' to drop."""


OnOutcome = Callable[[int, Emitted | Skipped | Failed], Awaitable[None]]
Outcome = tuple[int, Settled | Skipped | Failed]


async def run_steps(
    ctx: RunContext,
    round_: int,
    inputs: Sequence[StepInput],
    concurrency: int,
    on_outcome: OnOutcome,
) -> None:
    """Every input's step; `on_outcome(index, outcome)` as each finishes (in any order).
    After a step fails no new step starts, the ones in flight finish, and every failure is
    raised: alone, or together in an ExceptionGroup."""
    work = iter(enumerate(inputs))
    failures: list[Exception] = []

    async def worker() -> None:
        for index, item in work:
            if failures:
                return
            try:
                outcome = await agent_step(
                    ctx, round_, item.node, item.inbox, item.anchor, item.stored
                )
            except Exception as exc:
                failures.append(exc)
                return
            await on_outcome(index, outcome)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(inputs))):
                group.create_task(worker())
    except ExceptionGroup as failed:
        failures.extend(failed.exceptions)
    if failures:
        raise one_or_group(failures)


def one_or_group(failures: Sequence[BaseException]) -> BaseException:
    """The failure itself when there is one; otherwise an ExceptionGroup of all of them
    (nested groups flattened)."""
    leaves: list[Exception] = []
    for failure in failures:
        if isinstance(failure, ExceptionGroup):
            leaves.extend(_leaves(failure))
        elif isinstance(failure, Exception):
            leaves.append(failure)
        else:
            return failure
    if len(leaves) == 1:
        return leaves[0]
    return ExceptionGroup(f"{len(leaves)} agent steps failed", leaves)


def _leaves(group: ExceptionGroup) -> list[Exception]:
    found: list[Exception] = []
    for member in group.exceptions:
        found.extend(_leaves(member) if isinstance(member, ExceptionGroup) else [member])
    return found


async def run_steps_stored(
    ctx: RunContext,
    store: ProvenanceStore,
    round_: int,
    inputs: Sequence[StepInput],
    concurrency: int,
    start: int = 0,
) -> list[Outcome]:
    """Every input's step with its record stored: (start + index, outcome), in completion
    order, returned once every record is written. Should a step raise, the records of the
    steps that succeeded are still written."""
    writer = RecordWriter(store, ctx.run_id)
    outcomes: list[Outcome] = []
    if ctx.immediate:
        try:
            for first in range(0, len(inputs), WRITE_CHUNK):
                _steps_now(ctx, round_, inputs, first, writer, outcomes, start)
                await writer.flush()  # lets the event loop run between chunks
        finally:
            await writer.flush()
        return outcomes

    async def keep(index: int, outcome: Emitted | Skipped | Failed) -> None:
        settled = await writer.add(outcome) if isinstance(outcome, Emitted) else outcome
        outcomes.append((start + index, settled))

    try:
        await run_steps(ctx, round_, inputs, concurrency, keep)
    finally:
        await writer.flush()
    return outcomes


def _steps_now(
    ctx: RunContext,
    round_: int,
    inputs: Sequence[StepInput],
    first: int,
    writer: RecordWriter,
    outcomes: list[Outcome],
    start: int,
) -> None:
    """The steps of one chunk of `inputs` (from `first`, at most WRITE_CHUNK), on immediate
    backends: one after another, without a task or an await each; records kept by `writer`."""
    for index in range(first, min(first + WRITE_CHUNK, len(inputs))):
        item = inputs[index]
        outcome = agent_step_now(ctx, round_, item.node, item.inbox, item.anchor, item.stored)
        settled = writer.keep(outcome) if isinstance(outcome, Emitted) else outcome
        outcomes.append((start + index, settled))
