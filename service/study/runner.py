"""Running a study: every planned run through `run_spec`, a few at a time, skipping runs a
previous attempt completed (their ids are deterministic), so an interrupted study resumes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.errors import Problem, SpecError, StudyIncomplete, describe_failure
from service.experiment.experiment import Experiment, apply_overrides, load
from service.experiment.settings import Settings
from service.lifecycle import RoundReport, RunHooks, run_spec
from service.provenance.store import ProvenanceStore
from service.status import RunStatus
from service.study.spec import Planned


@dataclass(frozen=True)
class StudyHooks:
    """What a face shows while a study goes."""

    round: Callable[[Planned, RoundReport], None] = lambda planned, report: None
    finished: Callable[[Planned, str], None] = lambda planned, status: None
    notice: Callable[[Planned, str], None] = lambda planned, text: None


@dataclass
class Prepared:
    planned: Planned
    experiment: Experiment


@dataclass
class StudyRuns:
    """The runs of a study, with which of them were run now and which were kept."""

    prepared: list[Prepared]
    ran: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def prepare_runs(
    planned: list[Planned], settings: Settings, overrides: dict[str, Any]
) -> list[Prepared]:
    """Every condition validated and built before anything runs; all problems reported at
    once, each under the condition it belongs to."""
    prepared, problems = [], []
    for item in planned:
        try:
            experiment = load(apply_overrides(item.raw, **overrides), settings)
        except SpecError as exc:
            if item.replicate == 0:
                problems += [
                    Problem(f"condition [{item.condition.name}] {p.field}", p.message)
                    for p in exc.problems
                ]
            continue
        prepared.append(Prepared(item, experiment))
    if problems:
        raise SpecError(problems)
    return prepared


async def run_all(
    prepared: list[Prepared],
    store: ProvenanceStore,
    out_dir: Path,
    *,
    parallel: int,
    hooks: StudyHooks | None = None,
    slots: asyncio.Semaphore | None = None,
    lease_s: float = 30.0,
) -> StudyRuns:
    """Run what is not yet completed, at most `parallel` runs at once (and each holding one of
    `slots`, a limit shared with other runs, when given); a run left behind unfinished
    (failed, cancelled, interrupted) is deleted and run again. A run that fails does not stop
    the others; StudyIncomplete names every failed run at the end."""
    hooks = hooks or StudyHooks()
    runs = StudyRuns(prepared)
    gate = asyncio.Semaphore(parallel)
    shared = slots or contextlib.nullcontext()

    async def one(item: Prepared) -> None:
        planned = item.planned
        if await store.run_exists(planned.run_id):
            run = await store.get_run(planned.run_id)
            if run.get("status") == RunStatus.SUCCEEDED.value:
                runs.kept.append(planned.run_id)
                hooks.finished(planned, "kept")
                return
            await store.delete_run(planned.run_id)
        async with gate, shared:
            try:
                outcome = await run_spec(
                    item.experiment,
                    store,
                    run_id=planned.run_id,
                    replicate=planned.replicate,
                    out_dir=out_dir / "runs" / planned.run_id,
                    lease_s=lease_s,
                    hooks=RunHooks(
                        notice=lambda text: hooks.notice(planned, text),
                        round=lambda report: hooks.round(planned, report),
                    ),
                )
            except Exception as exc:  # one failed run must not stop the others
                runs.failed[planned.run_id] = describe_failure(exc)
                hooks.finished(planned, f"failed: {runs.failed[planned.run_id]}")
                return
        runs.ran.append(planned.run_id)
        hooks.finished(planned, outcome.result.status.value)

    async with asyncio.TaskGroup() as group:
        for item in prepared:
            group.create_task(one(item))
    if runs.failed:
        raise StudyIncomplete(runs.failed)
    return runs
