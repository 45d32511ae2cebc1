"""Studies started over HTTP: each a background task running `run_study` (as `driftlab study`
does), its state in a Redis hash so it can be read while it runs and after a restart, and a
lease (a key with an expiry, renewed while it runs) telling a live study from a lost one."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.completion import run_to_completion
from service.api.models import StudyCondition, StudyProgress, StudyRun, StudyView
from service.api.runner import RunTasks
from service.api.settings import ApiSettings
from service.errors import Category, DriftlabError, LeaseHeld, RunNotFound, StudyIncomplete
from service.lifecycle import Lease, RunControl
from service.provenance.leases import request_stop, study_lease_keys
from service.provenance.store import Fields, ProvenanceStore
from service.provenance.studies import StudyRecords
from service.status import RunStatus
from service.study.run_study import run_study
from service.study.runner import Prepared, StudyHooks
from service.study.spec import MAX_NAME_IN_RUN_ID, StudySpec

OUTPUT_FILES = (
    "summary.md", "study.csv", "study.png", "phase.png", "messages.parquet",
    "summary.json", "runs.csv", "manifest.json",
)  # fmt: skip
log = logging.getLogger("driftlab.api")


class StudyNotFound(DriftlabError, KeyError):
    """No study started over HTTP has this id."""

    category = Category.NOT_FOUND
    template = "no study {0!r}"


class StudyActive(DriftlabError, RuntimeError):
    """The study is running now (in this server or another one sharing the Redis)."""

    category = Category.CONFLICT
    template = "study {0!r} is running; wait for it to end, or cancel it first"


def study_id(study: StudySpec, prepared: list[Prepared]) -> str:
    """The study's name and a digest of its run ids: the same study posted again (after it
    ended or was lost) gets the same id and resumes, keeping the runs that succeeded."""
    run_ids = json.dumps([item.planned.run_id for item in prepared])
    digest = hashlib.blake2b(run_ids.encode(), digest_size=4).hexdigest()
    return f"{study.name[:MAX_NAME_IN_RUN_ID]}-{digest}"


class StudyTasks:
    """Runs each study as a task; its runs share the server's run slots (RunTasks.slots) and
    count against the caller's run limit until each has finished."""

    def __init__(self, store: ProvenanceStore, settings: ApiSettings, runs: RunTasks) -> None:
        self.store = store
        self.records = StudyRecords(store)
        self.settings = settings
        self.runs = runs
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def out_dir(self, study_id: str) -> Path:
        return self.settings.runs_dir / "studies" / study_id

    async def start(
        self, study_id: str, study: StudySpec, prepared: list[Prepared], caller: str
    ) -> None:
        """Record the study and start it; TooManyRuns when the caller is at its run limit,
        StudyActive when the study is running already."""
        self.runs.admit(caller)
        lease = Lease(
            self.store.redis,
            study_id,
            self.settings.lease_s,
            leased=study_lease_keys(study_id),
        )
        if study_id in self.tasks:
            raise StudyActive(study_id)
        try:
            await lease.take()
        except LeaseHeld:
            raise StudyActive(study_id) from None
        seen: dict[str, StudyCondition] = {}
        for item in prepared:
            condition = item.planned.condition
            seen.setdefault(
                condition.name, StudyCondition(name=condition.name, labels=condition.labels)
            )
        record: Fields = {
            "name": study.name,
            "status": RunStatus.RUNNING.value,
            "outcome": study.outcome,
            "started_at": _now(),
            "conditions": json.dumps([c.model_dump() for c in seen.values()]),
            "runs": json.dumps(
                [
                    [p.planned.run_id, p.planned.condition.name, p.planned.replicate]
                    for p in prepared
                ]
            ),
        }
        await self.records.start(study_id, record)
        self.runs.hold(caller, [item.planned.run_id for item in prepared])
        task = asyncio.create_task(
            self._run(study_id, study, prepared, lease), name=f"study {study_id}"
        )
        self.tasks[study_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(study_id, None))

    async def _run(
        self, study_id: str, study: StudySpec, prepared: list[Prepared], lease: Lease
    ) -> None:
        owner = asyncio.current_task()
        assert owner is not None, "a study runs in a task"
        lease.hold(owner)
        hooks = StudyHooks(
            round=lambda planned, report: self.runs.observe_round(report),
            finished=lambda planned, status: self.runs.release(planned.run_id),
        )
        status, error = RunStatus.FAILED, ""
        try:
            await run_study(
                study,
                prepared,
                self.store,
                self.out_dir(study_id),
                hooks=hooks,
                slots=self.runs.slots,
                lease_s=self.settings.lease_s,
            )
            status = RunStatus.SUCCEEDED
        except asyncio.CancelledError:
            status = RunStatus.CANCELLED
            raise
        except StudyIncomplete as exc:
            error = str(exc)
        except Exception as exc:  # the study's state must say it failed, whatever the cause
            error = self.runs.describe(exc)
            log.warning("study %s ended with %s", study_id, error)
        finally:
            for item in prepared:
                self.runs.release(item.planned.run_id)
            await run_to_completion(self._finish(study_id, lease, status, error))

    async def _finish(self, study_id: str, lease: Lease, status: RunStatus, error: str) -> None:
        fields: Fields = {"status": status.value, "error": error, "finished_at": _now()}
        await self.records.update(study_id, fields)
        await lease.release()

    async def view(self, study_id: str) -> StudyView:
        """The study as stored; `running` without a live lease is `interrupted` (its server
        is gone; posting the study again resumes it)."""
        record = await self.records.get(study_id)
        if record is None:
            raise StudyNotFound(study_id)
        status = RunStatus(record["status"])
        runs = [
            StudyRun(
                id=run_id,
                condition=condition,
                replicate=replicate,
                status=await self._status(run_id),
            )
            for run_id, condition, replicate in json.loads(record["runs"])
        ]
        finished = [run for run in runs if run.status.finished]
        out_dir = self.out_dir(study_id)
        return StudyView(
            id=study_id,
            name=record["name"],
            outcome=record["outcome"],
            status=status,
            error=record.get("error") or None,
            conditions=[StudyCondition(**c) for c in json.loads(record["conditions"])],
            runs=runs,
            progress=StudyProgress(
                total=len(runs),
                finished=len(finished),
                succeeded=sum(run.status is RunStatus.SUCCEEDED for run in runs),
                fraction=len(finished) / len(runs) if runs else 1.0,
            ),
            outputs=[name for name in OUTPUT_FILES if (out_dir / name).is_file()]
            if status is RunStatus.SUCCEEDED
            else [],
            started_at=record.get("started_at"),
            finished_at=record.get("finished_at"),
        )

    async def is_live(self, study_id: str) -> bool:
        """Whether a server (this one or another sharing the Redis) runs the study now."""
        return study_id in self.tasks or await self.records.leased(study_id)

    async def cancel(self, study_id: str) -> bool:
        """Stop the study and wait until it has (it ends `cancelled`, its live runs too);
        False when nothing runs it."""
        task = self.tasks.get(study_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            return True
        if not await self.records.leased(study_id):
            return False
        leased = study_lease_keys(study_id)
        await request_stop(self.store.redis, leased, self.settings.lease_s, f"study {study_id!r}")
        return True

    async def delete(self, study_id: str, *, force: bool = False) -> None:
        """Remove the study and its runs' data: StudyNotFound for an unknown one,
        StudyActive while it is live unless `force` (which cancels it first). Files it
        wrote under the runs directory stay, as a deleted run's exports do."""
        view = await self.view(study_id)
        if await self.is_live(study_id):
            if not force:
                raise StudyActive(study_id)
            await self.cancel(study_id)
        runs = RunControl(self.store, self.settings.lease_s, self.runs)
        for run in view.runs:
            with contextlib.suppress(RunNotFound):
                await runs.delete(run.id, force=force)
        await self.records.delete(study_id)

    async def page(self, cursor: int, limit: int) -> tuple[list[StudyView], int]:
        """Studies newest first from position `cursor`, at most `limit`, and how many there
        are."""
        ids, total = await self.records.page(cursor, limit)
        items = []
        for one in ids:
            with contextlib.suppress(StudyNotFound):  # deleted meanwhile
                items.append(await self.view(one))
        return items, total

    async def _status(self, run_id: str) -> RunStatus:
        try:
            record: dict[str, Any] = await self.store.get_run(run_id)
        except RunNotFound:
            return RunStatus.QUEUED
        return RunStatus(record.get("status", RunStatus.QUEUED))

    async def aclose(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
