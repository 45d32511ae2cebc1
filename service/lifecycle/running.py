"""Running one spec end to end: what every face (CLI, HTTP API, studies) calls to start or
resume a run.

It refuses a run id that is taken, opens the embedder, runs the engine (which opens the
backends and claims the run id atomically) and, while the run is `exporting` and still
leased, judges it and writes its drift views and exports: a run is `succeeded` only once
its exports exist."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.pool import BackendPool
from service.errors import RunExists
from service.experiment.experiment import Experiment, load, open_embedder
from service.experiment.settings import Settings
from service.lifecycle.ids import NewRun, new_run
from service.lifecycle.run_logging import logging_run
from service.measure.export import export_run_views
from service.measure.judging import judge_run
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine
from service.run.report import RoundReport, RunResult


@dataclass(frozen=True)
class RunHooks:
    """What a face shows while a run goes: notices, the resolved experiment once it starts,
    and each finished round."""

    notice: Callable[[str], None] = lambda text: None
    started: Callable[[str, Experiment], None] = lambda run_id, experiment: None
    round: Callable[[RoundReport], None] | None = None


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    result: RunResult
    out_dir: Path
    written: list[Path]
    views: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


async def start_run(
    run: NewRun,
    store: ProvenanceStore,
    *,
    formats: Iterable[str] = ("jsonl",),
    hooks: RunHooks | None = None,
    lease_s: float = 30.0,
    resume: bool = False,
) -> RunOutcome:
    """Run `run` and export it to its directory, keeping its drift views in the run record.
    Raises RunExists when the id is taken, before anything is opened or, should another
    process claim it meanwhile, before anything is written. With `resume`, continues the
    stored run instead (see `resume_run`)."""
    hooks = hooks or RunHooks()
    run_id, experiment = run.run_id, run.experiment
    if not resume and await store.run_exists(run_id):
        raise RunExists(run_id)
    run_experiment, embedder = open_embedder(experiment)
    for notice in run_experiment.notices:
        hooks.notice(notice)
    hooks.started(run_id, run_experiment)
    exported: dict[str, Any] = {}

    async def wrap_up(result: RunResult) -> None:
        if experiment.spec.judge is not None and result.status == "succeeded":
            async with BackendPool() as pool:
                judged = await judge_run(store, run_id, experiment.spec, pool)
            result.notices.extend(judged)
        written, views = await export_run_views(
            store, run_id, run.out_dir, formats, ending=result.status.value
        )
        await store.update_run(run_id, None, **views)
        exported.update(written=written, views=views)

    async with AsyncExitStack() as stack:
        stack.enter_context(logging_run(run_id))  # the run's log records carry its id
        if embedder is not None:
            await stack.enter_async_context(aclosing(embedder))
        engine = Engine(
            run_experiment,
            store,
            run_id=run_id,
            replicate=run.replicate,
            embedder=embedder,
            on_round=hooks.round,
            lease_s=lease_s,
            resume=resume,
            wrap_up=wrap_up,
        )
        result = await engine.run()
    for notice in result.notices[len(run_experiment.notices) :]:
        hooks.notice(notice)
    return RunOutcome(run_id, result, run.out_dir, exported["written"], exported["views"])


async def run_spec(
    experiment: Experiment,
    store: ProvenanceStore,
    *,
    run_id: str | None = None,
    replicate: int = 0,
    out_dir: Path | None = None,
    formats: Iterable[str] = ("jsonl",),
    hooks: RunHooks | None = None,
    lease_s: float = 30.0,
) -> RunOutcome:
    """Run replicate `replicate` of `experiment` under `run_id` (a fresh one when None) and
    export it to `out_dir` (default runs/RUN_ID): `start_run` of `new_run`."""
    run = new_run(experiment, run_id=run_id, replicate=replicate, out_dir=out_dir)
    return await start_run(run, store, formats=formats, hooks=hooks, lease_s=lease_s)


async def resume_run(
    store: ProvenanceStore,
    run_id: str,
    settings: Settings,
    *,
    out_dir: Path | None = None,
    formats: Iterable[str] = ("jsonl",),
    hooks: RunHooks | None = None,
) -> RunOutcome:
    """Continue an interrupted or cancelled run with its stored spec, from its last
    completed steps, and export it."""
    record = await store.get_run(run_id)
    experiment = load(record["spec"], settings)
    run = new_run(
        experiment, run_id=run_id, replicate=int(record.get("replicate", 0)), out_dir=out_dir
    )
    return await start_run(
        run, store, formats=formats, hooks=hooks, lease_s=settings.lease_s, resume=True
    )
