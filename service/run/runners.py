"""Step runners: how a round's agent steps are executed. The engine uses only `StepRunner`;
in-process, worker-process and distributed (`driftlab worker`) runners implement it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from service.provenance.store import ProvenanceStore
from service.run.distributed import DistributedRunner
from service.run.step import RunContext
from service.run.step_batch import ContextRunner, Outcome, StepInput, run_steps_stored
from service.run.step_pool import StepPool


class StepRunner(Protocol):
    """An async context manager: leaving it normally waits for the runner's work to end;
    leaving it with an exception (a cancelled or failed run) stops that work at once."""

    def run(
        self, round_: int, inputs: Sequence[StepInput], human_ids: list[str]
    ) -> AsyncIterator[Outcome]:
        """(index into `inputs`, outcome) for every step, each record stored before its
        outcome is yielded; at most the spec's `concurrency` backend calls at once."""
        ...

    async def __aenter__(self) -> StepRunner: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None: ...


class InProcessRunner(ContextRunner):
    """Steps run in the engine's own event loop."""

    async def run(
        self, round_: int, inputs: Sequence[StepInput], human_ids: list[str]
    ) -> AsyncIterator[Outcome]:
        if human_ids is not self.ctx.human_ids:
            self.ctx.human_ids[:] = human_ids
        concurrency = self.ctx.experiment.spec.concurrency
        for outcome in await run_steps_stored(self.ctx, self.store, round_, inputs, concurrency):
            yield outcome


def open_runner(ctx: RunContext, store: ProvenanceStore) -> StepRunner:
    """`driftlab worker` processes for a distributed run; in-process for one worker; a pool
    of `workers` processes otherwise."""
    spec = ctx.experiment.spec
    if spec.distributed:
        return DistributedRunner(ctx, store)
    if spec.workers == 1:
        return InProcessRunner(ctx, store)
    return StepPool(ctx.experiment, ctx.successors, store, ctx.run_id, ctx.replicate, spec.workers)
