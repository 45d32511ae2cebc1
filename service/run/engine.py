"""The in-process engine: runs an experiment round by round and stores every message."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack

from agents.backend import BackendError, Completion, Usage
from agents.completion import run_to_completion
from agents.embedding import Embedder
from agents.pool import BackendPool
from service.errors import RunFailed, describe_failure
from service.experiment.corpus import FRESH_NODE, fresh_text, next_injection
from service.experiment.experiment import Experiment
from service.experiment.preview import topology_json
from service.experiment.rng import Purpose, derive_seed
from service.experiment.schedule import Pending, source_emits, turn_rng
from service.measure.drift_table import DriftTable
from service.measure.manifest import versions
from service.provenance.leases import cancel_requested
from service.provenance.message import FailedStep, TextMetrics
from service.provenance.store import ProvenanceStore
from service.run.binding import RunScope, bound_context
from service.run.budget import BudgetExceeded
from service.run.clock import now_iso
from service.run.embedding_sample import EmbeddingSample
from service.run.inbox import deliver_to, holds_human, new_inbox
from service.run.lease import Lease, stop_if_asked
from service.run.reach import ReachController, fresh_rng
from service.run.record_writer import RecordWriter
from service.run.replay import Replay
from service.run.report import MESSAGE_COUNTS, RoundReport, RunResult
from service.run.round_drift import round_drift
from service.run.runners import StepRunner, open_runner
from service.run.step import (
    Emitted,
    Failed,
    RunContext,
    Settled,
    Skipped,
    fault_kind,
    human_step,
)
from service.run.step_batch import StepInput
from service.status import RunStatus

WrapUp = Callable[[RunResult], Awaitable[None]]
WRAPPED_UP = (RunStatus.SUCCEEDED, RunStatus.BUDGET_EXCEEDED)  # the ends with exports
UNFINISHED = (RunStatus.FAILED, RunStatus.CANCELLED)  # exported as far as they got


class Engine:
    """Runs one experiment (one seed, one replicate) and writes it to the provenance store."""

    def __init__(
        self,
        experiment: Experiment,
        store: ProvenanceStore,
        *,
        run_id: str,
        replicate: int = 0,
        pool: BackendPool | None = None,  # shared backends; the engine closes only its own
        embedder: Embedder | None = None,
        on_round: Callable[[RoundReport], None] | None = None,
        lease_s: float = 30.0,
        resume: bool = False,
        wrap_up: WrapUp | None = None,
    ) -> None:
        self.experiment = experiment
        self.spec = experiment.spec
        self.store = store
        self.run_id = run_id
        self.replicate = replicate
        self._owns_pool = pool is None
        self.pool = pool or BackendPool()
        self.embedder = embedder
        self.on_round = on_round
        self.lease_s = lease_s
        self.resume = resume
        self.wrap_up = wrap_up
        self._replay: Replay | None = None
        self.table = DriftTable()
        self.counts = dict.fromkeys((*MESSAGE_COUNTS, "skips", "failed_steps"), 0)
        self.faults: dict[str, int] = {}
        self.notices = list(experiment.notices)
        self._inboxes = {node: new_inbox(self.spec) for node in experiment.agents}
        self._pending = Pending(experiment.agents)
        self._injected = dict.fromkeys(experiment.sources, 0)
        self._next_injection: int | None = None
        reach = self.spec.injection.reach
        self._reach = ReachController(reach) if reach else None
        self._fresh_handed = 0
        self._status = RunStatus.QUEUED
        self._started = self._finished = ""
        self._round_seconds: list[float] = []
        self._sample = EmbeddingSample(
            self.spec.embed_sample,
            random.Random(
                derive_seed(self.spec.seed, replicate, 0, "embedding-sample", Purpose.SAMPLE)
            ),
        )

    async def run(self) -> RunResult:
        """Run every round, then the embedding metrics; the run record tracks the status.
        The run is leased for its whole course; a resumed run replays its stored steps.
        However the run ends, the step runner stops first, then the final status is written
        (even if cancelled again meanwhile), then the lease is released, then the backends
        close. With `wrap_up`, a run that ends with exports to write is `exporting` until
        `wrap_up` (still under the lease) has written them, and only then final."""
        spec = self.spec
        async with AsyncExitStack() as stack:
            if self._owns_pool:
                await stack.enter_async_context(self.pool)
            scope = RunScope(self.store.redis, self.run_id)
            ctx = bound_context(self.experiment, self.pool, scope, self.replicate)
            if self.resume:
                self._replay = await Replay.load(self.store, self.run_id, self.replicate)
            else:
                await self._create()
            await stack.enter_async_context(Lease(self.store.redis, self.run_id, self.lease_s))
            await self._mark_running()
            stack.push_async_exit(self._wrap_up)
            stack.push_async_exit(self._finish)
            runner = await stack.enter_async_context(open_runner(ctx, self.store))
            for round_ in range(spec.rounds):
                stop_if_asked()
                self._round_seconds.append(await self._round(ctx, runner, round_))
                if round_ + 1 < spec.rounds and self._quiet_after(round_):
                    self.notices.append(
                        f"stopped after round {round_ + 1} of {spec.rounds}: no agent has "
                        "anything to read and no human source will inject again"
                    )
                    break
            stop_if_asked()
            await self._embed()
        return self._result()

    def _result(self) -> RunResult:
        return RunResult(
            self.run_id,
            self._status,
            dict(self.counts),
            dict(self.faults),
            self.table.rows(),
            self.notices,
            self._started,
            self._finished,
            self._round_seconds,
        )

    async def _create(self) -> None:
        spec = self.spec
        await self.store.create_run(
            self.run_id,
            spec.model_dump(mode="json"),
            replicate=self.replicate,
            backend=self.experiment.backend,
            embedder=self.experiment.embedder,
            rounds=spec.rounds,
            agents=len(self.experiment.agents),
            versions=versions(),
        )
        # the graph it runs on, kept from the start: a dashboard draws it at once
        graph = await asyncio.to_thread(topology_json, self.experiment)
        await self.store.cache_topology(self.run_id, graph)

    async def _mark_running(self) -> None:
        now = now_iso()
        if self._replay is None:
            self._started = now
            await self.store.update_run(self.run_id, RunStatus.RUNNING, started_at=now)
        else:
            await self.store.clear_error(self.run_id)
            await self.store.update_run(self.run_id, RunStatus.RUNNING, resumed_at=now)
            self._started = (await self.store.get_run(self.run_id)).get("started_at", now)
        event = {"type": "status", "status": RunStatus.RUNNING.value}
        await self.store.add_event(self.run_id, event | {"resumed": self._replay is not None})

    async def _finish(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        """The final status; a spent budget ends the run without an error."""
        if exc_type is None:
            self._status = RunStatus.SUCCEEDED
        elif issubclass(exc_type, asyncio.CancelledError | KeyboardInterrupt):
            self._status = RunStatus.CANCELLED
        elif issubclass(exc_type, BudgetExceeded):
            self._status = RunStatus.BUDGET_EXCEEDED
            self.notices.append(str(exc))
        else:
            self._status = RunStatus.FAILED
        await run_to_completion(self._write_status(exc))
        return self._status is RunStatus.BUDGET_EXCEEDED

    async def _wrap_up(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        """Run `wrap_up` for a run that ended with exports to write, then make its status
        final; should `wrap_up` fail or be cancelled, the run ends so instead."""
        if self.wrap_up is None:
            return False
        if exc_type is not None:
            await self._export_unfinished()
            return False
        if self._status not in WRAPPED_UP:
            return False
        try:
            await self.wrap_up(self._result())
        except BaseException as failure:
            cancelled = isinstance(failure, asyncio.CancelledError | KeyboardInterrupt)
            self._status = RunStatus.CANCELLED if cancelled else RunStatus.FAILED
            error = {} if cancelled else {"error": describe_failure(failure)}
            await run_to_completion(self._settle(**error))
            raise
        await self._settle()
        return False

    async def _export_unfinished(self) -> None:
        """Export a run that ended `failed`, or `cancelled` by a signal to this process (its
        status already final): the messages stored so far, its failed steps and its counts.
        A failing export leaves a notice; it never hides why the run ended."""
        if self.wrap_up is None or self._status not in UNFINISHED:
            return
        if self._status is RunStatus.CANCELLED and await cancel_requested(
            self.store.redis, self.run_id
        ):
            return  # being deleted or cancelled from outside: its owner decides what stays
        try:
            await run_to_completion(self.wrap_up(self._result()))
        except Exception as failure:
            self.notices.append(f"exports not written: {describe_failure(failure)}")
            await run_to_completion(self.store.update_run(self.run_id, notices=self.notices))

    async def _settle(self, **fields: str) -> None:
        """Write the final status after the wrap-up, and announce it."""
        await self.store.update_run(self.run_id, self._status, notices=self.notices, **fields)
        await self.store.add_event(self.run_id, {"type": "status", "status": self._status.value})

    async def _write_status(self, exc: BaseException | None) -> None:
        if self._status is not RunStatus.SUCCEEDED:
            await self._recount()
        if self._status is RunStatus.FAILED and exc is not None:
            await self.store.update_run(self.run_id, error=describe_failure(exc))
        if self._status is RunStatus.BUDGET_EXCEEDED:
            await self.store.update_run(self.run_id, error=str(exc))
        self._finished = now_iso()
        wrapping_up = self.wrap_up is not None and self._status in WRAPPED_UP
        stored = RunStatus.EXPORTING if wrapping_up else self._status
        await self.store.update_run(
            self.run_id,
            stored,
            finished_at=self._finished,
            counts=self.counts,
            faults=self.faults,
            drift=self.table.rows(),
            notices=self.notices,
            round_seconds=self._round_seconds,
        )
        await self.store.add_event(self.run_id, {"type": "status", "status": stored.value})

    async def _recount(self) -> None:
        """A run that stopped early may have stored messages it had not counted yet (a round
        cut short): counts and drift table are rebuilt from the stored records."""
        self.counts.update(dict.fromkeys(MESSAGE_COUNTS, 0))
        self.table = DriftTable()
        async for message in self.store.iter_messages(self.run_id):
            self._count(message.origin, message.generation, message.usage, message.drift)
            self.counts["llm_calls"] += message.attempts
        for step in await self.store.failed_steps(self.run_id):
            self.counts["llm_calls"] += step.attempts

    async def _round(self, ctx: RunContext, runner: StepRunner, round_: int) -> float:
        if self._announces(round_):
            event = {"type": "round_started", "round": round_, "rounds": self.spec.rounds}
            await self.store.add_event(self.run_id, event)
        counts, faults = dict(self.counts), dict(self.faults)
        started = time.perf_counter()
        writer = RecordWriter(self.store, self.run_id)
        sources = [await writer.add(e) for e in self._human_emissions(ctx, round_)]
        await writer.flush()
        await self.store.record_humans(
            self.run_id, [s.carried.id for s in sources], len(ctx.human_ids) - len(sources)
        )
        self._account_and_deliver(sources, round_)
        spec = self.spec
        acting = self._pending.take(spec.turns_per_round, turn_rng(spec, self.replicate, round_))
        fresh = await self._hand_fresh_text(ctx, round_, acting)
        outcomes = await self._run_agents(ctx, runner, round_, acting)
        for node in acting:
            inbox = self._inboxes[node]
            inbox.end_turn()
            if inbox.has_unread:
                self._pending.reached(node)
        settled = [o for o in outcomes if isinstance(o, Settled)]
        skipped = {
            f"{self.replicate}:{o.round}:{o.node}": o.reason
            for o in outcomes
            if isinstance(o, Skipped)
        }
        await self.store.record_skips(self.run_id, skipped)
        self.counts["skips"] += len(skipped)
        unfunded = [o for o in outcomes if isinstance(o, Failed) and o.unfunded]
        failed = [o for o in outcomes if isinstance(o, Failed) and not o.unfunded]
        await self._record_failures(failed)
        self._account_and_deliver(settled, round_)
        if self._reach is not None:
            direct = {item.node: item.carried.min_generation == 1 for item in settled}
            self._reach.update(direct, [node for item in fresh for node in item.observed])
        humans = [*sources, *fresh]
        seconds = time.perf_counter() - started
        report = RoundReport(
            round_,
            self.spec.rounds,
            len(humans) + len(settled),
            len(humans),
            len(skipped),
            len(failed),
            seconds,
            message_ids=tuple(item.carried.id for item in (*humans, *settled)),
            failed_nodes=tuple(item.node for item in failed),
            counts={k: v - counts[k] for k, v in self.counts.items()},
            faults={k: v - faults.get(k, 0) for k, v in self.faults.items() if v != faults.get(k)},
            latencies_ms=tuple(item.latency_ms for item in settled if item.attempts),
            live_view=round_drift(self.run_id, self.replicate, [*sources, *settled]),
        )
        if self._announces(round_):
            await self.store.add_event(self.run_id, report.event())
        if self.on_round:
            self.on_round(report)
        if unfunded:
            raise BudgetExceeded(f"round {round_ + 1}: {unfunded[0].record.reason}")
        self._apply_on_error(round_, failed, called=len(settled) + len(failed))
        return seconds

    def _announces(self, round_: int) -> bool:
        """Whether the round's events are sent: not when a resumed run replays a round whose
        events its earlier process sent."""
        return self._replay is None or round_ > self._replay.last_event_round

    async def _record_failures(self, failed: list[Failed]) -> None:
        await self.store.record_failed_steps(self.run_id, [f.record for f in failed])
        self.counts["failed_steps"] += len(failed)
        for item in failed:
            self.counts["llm_calls"] += item.record.attempts
            self._count_faults(fault_kind(e) for e in item.record.errors)
        if failed:
            self._count_faults(["failed_step"] * len(failed))

    def _count_faults(self, kinds: Iterable[str]) -> None:
        for kind in kinds:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    def _apply_on_error(self, round_: int, failed: list[Failed], called: int) -> None:
        """Fail the run when the spec's `on_error` says so (after the round is stored)."""
        if not failed:
            return
        on_error = self.spec.on_error
        share = len(failed) / called
        if on_error.action == "continue" and share <= on_error.max_failed_share:
            return
        first = failed[0].record
        rule = (
            "on_error: fail"
            if on_error.action == "fail"
            else f"more than on_error.max_failed_share={on_error.max_failed_share:g}"
        )
        raise RunFailed(
            f"round {round_ + 1}: {len(failed)} of {called} agent steps failed ({rule}); "
            f"first, node {first.node}: {first.reason}"
        )

    def _quiet_after(self, round_: int) -> bool:
        """Whether no later round could emit anything: every inbox is read and no source
        injects again (the injection draws are the run's own, so this is exact)."""
        if self._pending:
            return False
        if self._next_injection is not None and self._next_injection > round_:
            return False
        spec = self.spec
        self._next_injection = next_injection(
            spec.injection.rate,
            spec.seed,
            self.replicate,
            self.experiment.sources,
            round_,
            spec.rounds,
        )
        return self._next_injection is None

    def _human_emissions(self, ctx: RunContext, round_: int) -> list[Emitted]:
        spec = self.spec
        emitted = []
        for source in self.experiment.sources:
            if not source_emits(spec, self.replicate, round_, source):
                continue
            if round_ == 0:
                text = spec.source.text
            else:
                text = fresh_text(
                    spec.human_corpus, spec.seed, self.replicate, source, self._injected[source]
                )
                self._injected[source] += 1
            emitted.append(human_step(ctx, round_, source, text))
        return emitted

    async def _hand_fresh_text(
        self, ctx: RunContext, round_: int, acting: list[str]
    ) -> list[Settled]:
        """Under a target reach: this round's fresh human text, stored and delivered to the
        acting agents the controller picks (none or one message)."""
        if self._reach is None or not acting:
            return []
        spec = self.spec
        rng = fresh_rng(spec.seed, self.replicate, round_)
        holding = {n for n in acting if holds_human(self._inboxes[n])}
        receivers = self._reach.receivers(acting, holding, rng)
        if not receivers:
            return []
        text = fresh_text(
            spec.human_corpus, spec.seed, self.replicate, FRESH_NODE, self._fresh_handed
        )
        self._fresh_handed += 1
        writer = RecordWriter(self.store, self.run_id)
        fresh = await writer.add(human_step(ctx, round_, FRESH_NODE, text, receivers))
        await writer.flush()
        await self.store.record_humans(self.run_id, [fresh.carried.id], len(ctx.human_ids) - 1)
        self._account(fresh)
        deliver_to(self._inboxes, fresh.node, fresh.carried, fresh.observed, round_)
        return [fresh]

    async def _run_agents(
        self, ctx: RunContext, runner: StepRunner, round_: int, active: list[str]
    ) -> list[Settled | Skipped | Failed]:
        """Every active agent's step through the runner (records already stored), results
        kept in a fixed order. A resumed run passes the stored completion of a step done
        before, and keeps a step that failed before failed."""
        stored: dict[str, Completion] = {}
        failed: dict[str, FailedStep] = {}
        if self._replay is not None:
            stored, failed = await self._replay.stored_steps(round_, active)
        inputs = [
            StepInput(
                node, self._inboxes[node].contents(), self._inboxes[node].anchor, stored.get(node)
            )
            for node in active
            if node not in failed
        ]
        results: list[Settled | Skipped | Failed | None] = [None] * len(inputs)
        async for index, outcome in runner.run(round_, inputs, ctx.human_ids):
            results[index] = outcome
        replayed: list[Settled | Skipped | Failed] = [Failed(failed[n]) for n in failed]
        return [r for r in results if r is not None] + replayed

    def _account_and_deliver(self, settled: list[Settled], round_: int) -> None:
        """Count and deliver stored messages, in a fixed order (never completion order)."""
        for item in settled:
            self._account(item)
            deliver_to(self._inboxes, item.node, item.carried, item.observed, round_)
            self._pending.reached_all(item.observed)

    def _account(self, item: Settled) -> None:
        carried = item.carried
        self._count(carried.origin, carried.generation, item.usage, item.drift)
        self.counts["llm_calls"] += item.attempts
        if item.faults:
            self._count_faults(item.faults)
        self._reserve_for_embedding(carried.generation, carried.id, carried.text)

    def _count(self, origin: str, generation: int, usage: Usage, drift: TextMetrics) -> None:
        self.counts["messages"] += 1
        self.counts[origin] += 1
        self.counts["prompt_tokens"] += usage.prompt_tokens
        self.counts["completion_tokens"] += usage.completion_tokens
        self.table.add_text_metrics(generation, drift)

    def _reserve_for_embedding(self, generation: int, message_id: str, text: str) -> None:
        if self.embedder is not None:
            self._sample.offer(generation, message_id, text)

    async def _embed(self) -> None:
        if self.embedder is None:
            return
        try:
            measured = await self._sample.distances(self.embedder, self.spec.source.text)
        except BackendError as exc:
            self.notices.append(f"embedding metrics skipped: {exc}")
            return
        stored = {}
        for generation, by_message in measured.items():
            for message_id, values in by_message.items():
                stored[message_id] = values
                self.table.add_values(generation, values)
        if stored:
            await self.store.write_embeddings(self.run_id, stored)
