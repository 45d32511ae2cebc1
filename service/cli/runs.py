"""Commands on single runs: run, resume, runs, show, export, delete, lineage."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from service.cli.console import err, notice, out, with_store, writable_dir
from service.cli.display import (
    EXIT_OK,
    print_drift,
    print_estimate,
    print_rounds,
    print_run_header,
    print_start,
    report,
)
from service.experiment.dry_run import estimate
from service.experiment.experiment import apply_overrides, load
from service.experiment.run_ids import check_run_id
from service.experiment.settings import Settings
from service.experiment.spec_file import read_spec_file
from service.gc_tuning import fewer_collections
from service.lifecycle import RunControl, RunHooks, new_run, resume_run, start_run
from service.measure.export import export_run
from service.provenance.out_dirs import forget_out_dir, remember_out_dir, resume_out_dir
from service.provenance.store import ProvenanceStore
from service.terminal.lineage_views import full_message_id, lineage_for_cli
from service.terminal.progress import RunProgress, Ticker
from service.terminal.tables import runs_table


async def run(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    if args.run_id is not None:
        check_run_id(args.run_id, settings)
    raw = apply_overrides(
        read_spec_file(args.spec, settings),
        backend=args.backend,
        model=args.model,
        embedder=args.embedder,
        rounds=args.rounds,
        seed=args.seed,
        graph_seed=args.graph_seed,
        concurrency=args.concurrency,
        workers=args.workers,
        distributed=args.distributed or None,
    )
    experiment = load(raw, settings)
    if args.dry_run:
        print_estimate(experiment.spec.name, estimate(experiment, args.replicate))
        return EXIT_OK
    run = new_run(experiment, run_id=args.run_id, replicate=args.replicate, out_dir=args.out)
    writable_dir(run.out_dir)

    async def go(store: ProvenanceStore) -> int:
        await remember_out_dir(store.redis, run.run_id, run.out_dir)
        try:
            with (
                fewer_collections(),
                RunProgress(experiment.spec.rounds, err, quiet=args.quiet) as on_round,
            ):
                done = await start_run(
                    run,
                    store,
                    formats=args.format,
                    hooks=RunHooks(notice=notice, started=print_start, round=on_round),
                    lease_s=settings.lease_s,
                )
        except BaseException:
            if not await store.run_exists(run.run_id):  # refused before it was stored
                await forget_out_dir(store.redis, run.run_id)
            raise
        return report(done)

    return await with_store(settings, go)


async def resume(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    check_run_id(args.run, settings)

    async def go(store: ProvenanceStore) -> int:
        record = await store.get_run(args.run)
        out_dir = writable_dir(await resume_out_dir(store.redis, args.run, args.out))
        with RunProgress(int(record.get("rounds", 0)) or 1, err, quiet=args.quiet) as on_round:
            done = await resume_run(
                store,
                args.run,
                settings,
                out_dir=out_dir,
                formats=args.format,
                hooks=RunHooks(notice=notice, started=print_start, round=on_round),
            )
        return report(done)

    return await with_store(settings, go)


async def list_runs(args: argparse.Namespace) -> int:
    async def go(store: ProvenanceStore) -> int:
        runs = await store.list_runs()
        if args.json:
            for run in runs:
                line = {
                    "id": run["id"],
                    "status": run.get("status"),
                    "created": run.get("created_at"),
                    "counts": run.get("counts") or {},
                    "faults": run.get("faults") or {},
                }
                print(json.dumps(line), flush=True)
            return EXIT_OK
        if not runs:
            out.print("no stored runs")
            return EXIT_OK
        out.print(runs_table(runs, width=out.width, wide=args.wide))
        return EXIT_OK

    return await with_store(args.settings, go)


async def show(args: argparse.Namespace) -> int:
    check_run_id(args.run, args.settings)

    async def go(store: ProvenanceStore) -> int:
        record = await store.get_run(args.run)
        if args.json:
            print(json.dumps(record, default=str), flush=True)
            return EXIT_OK
        print_run_header(record, await store.rounds_done(record))
        if record.get("drift"):
            print_drift(record["drift"])
        print_rounds(record.get("drift_by_round") or [])
        return EXIT_OK

    return await with_store(args.settings, go)


async def export(args: argparse.Namespace) -> int:
    check_run_id(args.run, args.settings)
    out_dir = writable_dir(args.out or Path("runs") / args.run)

    async def go(store: ProvenanceStore) -> int:
        total = await store.count_messages(args.run)
        with Ticker("export", total, err, quiet=args.quiet) as ticker:
            written = await export_run(
                store, args.run, out_dir, args.format, ticker.counter("messages")
            )
        for path in written:
            out.print(str(path), markup=False)
        return EXIT_OK

    return await with_store(args.settings, go)


async def delete(args: argparse.Namespace) -> int:
    check_run_id(args.run, args.settings)

    async def go(store: ProvenanceStore) -> int:
        runs = RunControl(store, args.settings.lease_s)
        if args.force and await runs.is_live(args.run):
            err.print(f"cancelling run {args.run} first", markup=False)
        await runs.delete(args.run, force=args.force)
        out.print(f"deleted run {args.run}", markup=False)
        return EXIT_OK

    return await with_store(args.settings, go)


async def lineage(args: argparse.Namespace) -> int:
    check_run_id(args.run, args.settings)

    async def go(store: ProvenanceStore) -> int:
        await store.get_run(args.run)
        message = full_message_id(args.run, args.message)
        ancestors = await store.ancestors(args.run, message)
        shown = lineage_for_cli(args.run, message, ancestors, args.depth, args.format)
        out.print(shown, markup=False, soft_wrap=True, highlight=False, crop=False)
        return EXIT_OK

    return await with_store(args.settings, go)
