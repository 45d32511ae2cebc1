"""Runs started over HTTP: background tasks in the server's loop under a concurrency limit,
and a limit on the runs one caller has queued or running."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from service.api.settings import ApiSettings
from service.errors import Category, DriftlabError, describe_failure
from service.lifecycle import NewRun, RoundReport, RunHooks, resume_run, start_run
from service.provenance.store import ProvenanceStore
from service.status import RunStatus

ANONYMOUS = "anonymous"
RETRY_AFTER_S = 10
log = logging.getLogger("driftlab.api")


class TooManyRuns(DriftlabError, RuntimeError):
    """The caller already has `max_runs_per_token` runs queued or running (429)."""

    category = Category.UNAVAILABLE
    template = (
        "{0} runs of this caller are queued or running, the most this server allows "
        "(DRIFTLAB_MAX_RUNS_PER_TOKEN); retry once one has finished"
    )


class RunTasks:
    """Starts each run (or resume) as a task; beyond `max_concurrent_runs` a run waits
    (`queued`).
    `owners` maps each run of this server still queued or running (a study's too) to its
    caller."""

    def __init__(
        self, store: ProvenanceStore, settings: ApiSettings, hooks: RunHooks | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.hooks = hooks
        self.slots = asyncio.Semaphore(settings.max_concurrent_runs)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.queued: set[str] = set()
        self.owners: dict[str, str] = {}

    def admit(self, caller: str) -> None:
        """TooManyRuns when `caller` has as many live runs as the settings allow."""
        limit = self.settings.max_runs_per_token
        live = sum(owner == caller for owner in self.owners.values())
        if limit is not None and live >= limit:
            raise TooManyRuns(live)

    def hold(self, caller: str, run_ids: Iterable[str]) -> None:
        """Count runs started elsewhere (a study's) against `caller` until released."""
        self.owners.update(dict.fromkeys(run_ids, caller))

    def release(self, run_id: str) -> None:
        self.owners.pop(run_id, None)

    def start(self, run: NewRun, caller: str = ANONYMOUS) -> None:
        """Start the run, or TooManyRuns (before anything starts)."""
        self._launch(
            run.run_id,
            caller,
            lambda: start_run(run, self.store, lease_s=self.settings.lease_s, hooks=self.hooks),
        )

    def resume(self, run_id: str, caller: str = ANONYMOUS) -> None:
        """Continue a stored interrupted or cancelled run from its last completed steps."""
        self._launch(
            run_id,
            caller,
            lambda: resume_run(
                self.store,
                run_id,
                self.settings,
                out_dir=self.settings.runs_dir / run_id,
                hooks=self.hooks,
            ),
        )

    def observe_round(self, report: RoundReport) -> None:
        """Pass a round of a run started elsewhere in this server (a study's) to the hooks."""
        if self.hooks is not None and self.hooks.round is not None:
            self.hooks.round(report)

    def status(self, run_id: str, stored: RunStatus) -> RunStatus:
        """The status to show for a run stored as `stored`: while this server's task for it
        lives, a resume shows `queued` until the engine marks the run running again."""
        if run_id in self.tasks and stored.resumable:
            return RunStatus.QUEUED
        return stored

    def _launch(self, run_id: str, caller: str, work: Callable[[], Awaitable[object]]) -> None:
        self.admit(caller)
        self.owners[run_id] = caller
        self.queued.add(run_id)
        task = asyncio.create_task(self._run(run_id, work), name=f"run {run_id}")
        self.tasks[run_id] = task
        task.add_done_callback(lambda done: self._forget(run_id, done))

    async def _run(self, run_id: str, work: Callable[[], Awaitable[object]]) -> None:
        async with self.slots:
            self.queued.discard(run_id)
            await work()

    def _forget(self, run_id: str, task: asyncio.Task[None]) -> None:
        self.tasks.pop(run_id, None)
        self.queued.discard(run_id)
        self.release(run_id)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning(
                "run %s ended with %s", run_id, self.describe(exc), extra={"run_id": run_id}
            )

    def describe(self, exc: BaseException) -> str:
        """An error for the logs: its type, and its message only with content logging on
        (a backend's error may quote a prompt or a reply)."""
        return describe_failure(exc) if self.settings.log_content else type(exc).__name__

    def owns(self, run_id: str) -> bool:
        """Whether this server runs (or queues) the run."""
        return run_id in self.tasks

    async def stop(self, run_id: str) -> None:
        """Cancel the run this server runs and wait until it has stopped."""
        task = self.tasks.get(run_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def aclose(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
