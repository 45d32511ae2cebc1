"""`driftlab study`: a base spec, a grid of variations and replicates, with its progress."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from service.cli.console import err, notice, out, with_store, writable_dir
from service.cli.display import EXIT_OK
from service.experiment.settings import Settings
from service.lifecycle import RoundReport
from service.provenance.store import ProvenanceStore
from service.study.comparisons import MIN_RELIABLE_REPLICATES
from service.study.run_study import run_study
from service.study.runner import Prepared, StudyHooks, prepare_runs
from service.study.spec import Planned, aa_study, plan, read_study


async def study(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    study, base = read_study(args.spec, settings)
    updates = {"replicates": args.replicates, "parallel": args.parallel}
    study = study.model_copy(update={k: v for k, v in updates.items() if v is not None})
    if args.aa:
        study = aa_study(study, base)

    def replan(replicates: int | None = None) -> list[Prepared]:
        return prepare_runs(plan(study, base, replicates), settings, {"backend": args.backend})

    prepared = replan()
    out_dir = writable_dir(args.out or Path("studies") / study.name)
    conditions = len({item.planned.condition.index for item in prepared})
    err.print(
        f"study [bold]{study.name}[/]: {conditions} conditions x {study.replicates} "
        f"replicates = {len(prepared)} runs, {study.parallel} at a time"
    )
    if study.replicates != "auto" and study.replicates < MIN_RELIABLE_REPLICATES:
        err.print(
            f"warning: {study.replicates} replicates per condition; intervals and p values "
            f"are unreliable below {MIN_RELIABLE_REPLICATES}",
            markup=False,
        )

    async def go(store: ProvenanceStore) -> int:
        with StudyProgress(prepared) as hooks:
            outcome = await run_study(
                study,
                prepared,
                store,
                out_dir,
                hooks=hooks,
                lease_s=settings.lease_s,
                replan=replan,
            )
        runs = outcome.runs
        out.print(
            f"study {study.name}: {len(runs.ran)} runs done now, {len(runs.kept)} kept from "
            f"before -> {out_dir}/",
            markup=False,
            soft_wrap=True,
        )
        for path in outcome.written:
            out.print(f"  {path}", markup=False)
        return EXIT_OK

    return await with_store(settings, go)


class StudyProgress:
    """One progress bar over every round of every run of a study (one line per finished run
    when not on a terminal)."""

    def __init__(self, prepared: list[Prepared]) -> None:
        self.rounds = {p.planned.run_id: p.experiment.spec.rounds for p in prepared}
        self.done: dict[str, int] = dict.fromkeys(self.rounds, 0)
        self.total = len(prepared)
        self.finished = 0
        self.bar: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> StudyHooks:
        if err.is_terminal:
            self.bar = Progress(
                TextColumn("study"),
                BarColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=err,
            )
            self.task = self.bar.add_task("rounds", total=sum(self.rounds.values()), info="")
            self.bar.start()
        return StudyHooks(round=self._round, finished=self._finished, notice=self.notice)

    def _round(self, planned: Planned, report: RoundReport) -> None:
        self.done[planned.run_id] = self.done.get(planned.run_id, 0) + 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1)

    def _finished(self, planned: Planned, status: str) -> None:
        self.finished += 1
        self.total = max(self.total, self.finished)  # `replicates: auto` adds runs
        done = self.done.get(planned.run_id, 0)
        rounds = self.rounds.setdefault(planned.run_id, done)
        left = rounds - done
        self.done[planned.run_id] = rounds
        info = f"{self.finished}/{self.total} runs"
        if self.bar is not None:
            self.bar.update(self.task, advance=left, info=info)
        else:
            err.print(
                f"{info}: {planned.run_id} [{planned.condition.name}] replicate "
                f"{planned.replicate}: {status}",
                markup=False,
                soft_wrap=True,
            )

    def notice(self, planned: Planned, text: str) -> None:
        if planned.replicate == 0:
            notice(f"{planned.condition.name}: {text}")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
