"""Runs started over HTTP: background tasks in the server's loop under a concurrency limit."""

from __future__ import annotations

import asyncio
import contextlib

from service.api.settings import ApiSettings
from service.experiment.experiment import Experiment
from service.provenance.store import ProvenanceStore
from service.runs import RunHooks, run_spec


class RunTasks:
    """Starts each run as a task; beyond `max_concurrent_runs` a run waits (`queued`)."""

    def __init__(
        self, store: ProvenanceStore, settings: ApiSettings, hooks: RunHooks | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.hooks = hooks
        self.slots = asyncio.Semaphore(settings.max_concurrent_runs)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.queued: set[str] = set()

    def start(self, run_id: str, experiment: Experiment) -> None:
        self.queued.add(run_id)
        task = asyncio.create_task(self._run(run_id, experiment), name=f"run {run_id}")
        self.tasks[run_id] = task
        task.add_done_callback(lambda _: self._forget(run_id))

    async def _run(self, run_id: str, experiment: Experiment) -> None:
        async with self.slots:
            self.queued.discard(run_id)
            await run_spec(
                experiment,
                self.store,
                run_id=run_id,
                out_dir=self.settings.runs_dir / run_id,
                lease_s=self.settings.lease_s,
                hooks=self.hooks,
            )

    def _forget(self, run_id: str) -> None:
        self.tasks.pop(run_id, None)
        self.queued.discard(run_id)

    def cancel(self, run_id: str) -> bool:
        """Cancel the run if this server runs it; whether it did."""
        task = self.tasks.get(run_id)
        if task is None:
            return False
        task.cancel()
        return True

    async def wait(self, run_id: str) -> None:
        task = self.tasks.get(run_id)
        if task is not None:
            with contextlib.suppress(BaseException):
                await task

    async def aclose(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
