"""Running one spec end to end: the one function every face (CLI, HTTP API, workers) calls.

It refuses a run id that is taken, opens the embedder, runs the engine (which opens the
backends and claims the run id atomically), writes the exports and reports notices."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass
from pathlib import Path

from service.errors import RunExists
from service.experiment.experiment import Experiment, open_embedder
from service.measure.export import export_run
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine, RoundReport, RunResult, new_run_id


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


async def run_spec(
    experiment: Experiment,
    store: ProvenanceStore,
    *,
    run_id: str | None = None,
    replicate: int = 0,
    out_dir: Path | None = None,
    formats: Iterable[str] = ("jsonl",),
    hooks: RunHooks | None = None,
) -> RunOutcome:
    """Run replicate `replicate` of `experiment` under `run_id` (a fresh one when None) and
    export it to `out_dir` (default runs/RUN_ID). Raises RunExists when the id is taken,
    before anything is opened or, should another process claim it meanwhile, before
    anything is written."""
    hooks = hooks or RunHooks()
    run_id = run_id or new_run_id(experiment.spec.name)
    if await store.run_exists(run_id):
        raise RunExists(run_id)
    run_experiment, embedder = open_embedder(experiment)
    for notice in run_experiment.notices:
        hooks.notice(notice)
    hooks.started(run_id, run_experiment)
    async with AsyncExitStack() as stack:
        if embedder is not None:
            await stack.enter_async_context(aclosing(embedder))
        engine = Engine(
            run_experiment,
            store,
            run_id=run_id,
            replicate=replicate,
            embedder=embedder,
            on_round=hooks.round,
        )
        result = await engine.run()
    for notice in result.notices[len(run_experiment.notices) :]:
        hooks.notice(notice)
    out_dir = out_dir or Path("runs") / run_id
    written = await export_run(store, run_id, out_dir, formats)
    return RunOutcome(run_id, result, out_dir, written)
