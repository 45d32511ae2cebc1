"""`driftlab study`: a base spec, a grid of variations and replicates, with its progress."""

from __future__ import annotations

import argparse
from pathlib import Path

from service.cli.console import err, notice, out, with_store, writable_dir
from service.cli.display import EXIT_OK
from service.experiment.settings import Settings
from service.provenance.store import ProvenanceStore
from service.study.comparisons import MIN_RELIABLE_REPLICATES
from service.study.run_study import run_study
from service.study.runner import Prepared, prepare_runs
from service.study.spec import aa_study, plan, read_study
from service.terminal.progress import StudyProgress


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
        with StudyProgress(prepared, err, notice, quiet=args.quiet) as hooks:
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
