"""The driftlab command line: run, dry-run, resume, list, export, delete and analyze runs,
run studies, show lineage, and serve as a worker of distributed runs."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from agents.embedding import make_embedder
from agents.kinds import BACKEND_KINDS, EMBEDDER_KINDS
from service.api.serve import serve
from service.api.settings import ApiSettings
from service.calibrate.command import add_calibrate_command
from service.cli_errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    describe,
    settings_error,
)
from service.dashboard_open import open_dashboard
from service.doctor import Verdict, diagnose
from service.errors import BadInput
from service.experiment.dry_run import estimate
from service.experiment.experiment import Experiment, apply_overrides, load
from service.experiment.run_ids import check_run_id
from service.experiment.settings import Settings
from service.experiment.spec_file import read_spec_file
from service.gc_tuning import fewer_collections
from service.measure.analyze import (
    ANALYSES,
    Original,
    embed_all,
    metric_table,
    original_of_spec,
    read_exported,
    rescore,
    write_table_csv,
)
from service.measure.drift_table import SHOWN_COLUMNS
from service.measure.export import FORMATS, export_run, iter_records
from service.measure.report import format_value
from service.provenance.redis_conn import RedisConnection, open_redis
from service.provenance.store import ProvenanceStore
from service.run.engine import RunResult, new_run_id
from service.run.lease import live_holder, request_cancel
from service.runs import RunHooks, RunOutcome, resume_run, run_spec
from service.status import RunStatus
from service.study.comparisons import MIN_RELIABLE_REPLICATES
from service.study.run_study import run_study
from service.study.runner import Prepared, prepare_runs
from service.study.spec import aa_study, plan, read_study
from service.terminal.lineage_views import (
    LINEAGE_FORMATS,
    full_message_id,
    lineage_for_cli,
    parse_depth,
)
from service.terminal.out_dirs import remember_out_dir, resume_out_dir
from service.terminal.plot_command import add_plot_command
from service.terminal.progress import RunProgress, StudyProgress
from service.terminal.run_args import with_run_ids_resolved
from service.terminal.tables import fitted_table, runs_table
from service.terminal.version import version_text
from service.worker import WorkerOptions, preload_backends, run_worker

DRIFT_HEADERS = dict(
    zip(
        SHOWN_COLUMNS,
        ("gen", "n", "euclid", "cosine", "words", "unique", "TTR", "facts"),
        strict=True,
    )
)
ROUNDS_SHOWN = 12
ROUND_HEADERS = {
    "round": "round",
    "spoke_share": "spoke",
    "ever_spoke_share": "ever",
    "fact_retention": "facts:msg",
    "population_fact_retention": "facts:pop",
    "length_words": "words:msg",
    "population_length_words": "words:pop",
    "euclidean": "eucl:msg",
    "population_euclidean": "eucl:pop",
}
CANCELLED_NOTE = "the run is marked cancelled; messages written so far are kept"

ANALYSIS_SHOWN = (
    "fact_retention",
    "length_words",
    "rare_word_retention",
    "entropy_ratio",
    "rouge_l",
    "chrf",
    "cosine",
    "cosine_parents",
    "diversity_cosine",
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def main(argv: list[str] | None = None) -> int:
    """Run one command; any failure ends in one message and its exit code (docs/spec.md)."""
    args = _parser().parse_args(argv)
    try:
        try:
            args.settings = Settings()
        except ValidationError as exc:
            raise settings_error(exc) from exc
        command = with_run_ids_resolved(args, args.handler)
        return asyncio.run(_stopped_by_sigterm_as_by_ctrl_c(command))
    except KeyboardInterrupt:
        err.print(f"interrupted: {CANCELLED_NOTE}")
        return EXIT_INTERRUPTED
    except _Terminated:
        err.print(f"terminated: {CANCELLED_NOTE}")
        return EXIT_TERMINATED
    except Exception as exc:
        if args.debug:
            traceback.print_exception(exc, file=sys.stderr)
        failure = describe(exc)
        err.print(failure.headline, markup=False, soft_wrap=True)
        for line in failure.details:
            err.print(line, markup=False, soft_wrap=True)
        return failure.code


class _Terminated(Exception):
    """The process received SIGTERM."""


async def _stopped_by_sigterm_as_by_ctrl_c(command: Awaitable[int]) -> int:
    """SIGTERM cancels the command as Ctrl-C does (a run ends `cancelled`). Signals reach
    only the main thread: called from another one (a test), the command runs as is."""
    if threading.current_thread() is not threading.main_thread():
        return await command
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        return await command
    except asyncio.CancelledError:
        if terminated:
            raise _Terminated from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftlab", description="Simulate text drift across networks of LLM agents."
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    parser.add_argument("--version", action="version", version=version_text())
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", parents=[common], help="run an experiment spec (YAML or JSON)")
    run.add_argument("spec", type=Path)
    run.add_argument("--backend", choices=BACKEND_KINDS)
    run.add_argument("--model")
    run.add_argument("--embedder", choices=EMBEDDER_KINDS)
    run.add_argument("--rounds", type=_positive_int)
    run.add_argument("--seed", type=int)
    run.add_argument(
        "--graph-seed", type=int, help="seed of the graph and persona draw (default: --seed)"
    )
    run.add_argument(
        "--replicate",
        type=_non_negative_int,
        default=0,
        help="replicate index: other dynamics on the same graph (default 0)",
    )
    run.add_argument("--concurrency", type=_positive_int)
    run.add_argument(
        "--workers", type=_positive_int, help="processes running agent steps (default 1)"
    )
    run.add_argument(
        "--distributed",
        action="store_true",
        help="queue agent steps in Redis for `driftlab worker` processes",
    )
    run.add_argument("--run-id")
    run.add_argument("--out", type=Path, help="output directory (default runs/RUN_ID)")
    run.add_argument(
        "--format",
        default="jsonl",
        type=_comma_list("formats", FORMATS),
        help=f"message export formats, comma-separated from {', '.join(FORMATS)}",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print graph size, LLM calls and a token estimate; call nothing",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    run.set_defaults(handler=_run)

    runs = commands.add_parser("runs", parents=[common], help="list stored runs")
    runs.add_argument(
        "--json", action="store_true", help="one JSON object per line: id, status, created, counts"
    )
    runs.add_argument("--wide", action="store_true", help="whole ids and times")
    runs.set_defaults(handler=_runs)

    export = commands.add_parser("export", parents=[common], help="write a stored run's files")
    export.add_argument("run")
    export.add_argument("--out", type=Path)
    export.add_argument("--format", default="jsonl", type=_comma_list("formats", FORMATS))
    export.set_defaults(handler=_export)

    delete = commands.add_parser("delete", parents=[common], help="delete a stored run")
    delete.add_argument("run")
    delete.add_argument(
        "--force", action="store_true", help="cancel the run first if a process is running it"
    )
    delete.set_defaults(handler=_delete)

    resume = commands.add_parser(
        "resume", parents=[common], help="continue an interrupted or cancelled run"
    )
    resume.add_argument("run")
    resume.add_argument(
        "--out", type=Path, help="output directory (default: the run's first --out)"
    )
    resume.add_argument("--format", default="jsonl", type=_comma_list("formats", FORMATS))
    resume.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    resume.set_defaults(handler=_resume)

    worker = commands.add_parser(
        "worker", parents=[common], help="run agent steps of distributed runs from Redis"
    )
    worker.add_argument(
        "--concurrency", type=_positive_int, default=64, help="steps in hand at once (64)"
    )
    worker.add_argument(
        "--redelivery",
        type=_positive_float,
        default=30.0,
        help="seconds a step may sit idle with a dead worker before another takes it (30)",
    )
    worker.add_argument(
        "--max-deliveries",
        type=_positive_int,
        default=5,
        help="deliveries of one step before it goes to the run's dead letters (5)",
    )
    worker.set_defaults(handler=_worker)

    lineage = commands.add_parser(
        "lineage", parents=[common], help="print a message's ancestors back to humans"
    )
    lineage.add_argument("run")
    lineage.add_argument("message", help="a message id, with or without its run id")
    lineage.add_argument(
        "--depth",
        type=parse_depth,
        default=False,
        help="parent links shown, or all (tree: 3; others: all)",
    )
    lineage.add_argument("--format", choices=LINEAGE_FORMATS, default="tree")
    lineage.set_defaults(handler=_lineage)

    study = commands.add_parser(
        "study",
        parents=[common],
        help="run a study: a base spec, a grid of variations and replicates (docs/studies.md)",
    )
    study.add_argument("spec", type=Path)
    study.add_argument("--replicates", type=_positive_int)
    study.add_argument("--backend", choices=BACKEND_KINDS, help="for every condition")
    study.add_argument("--parallel", type=_positive_int, help="runs at once (default: the study's)")
    study.add_argument("--out", type=Path, help="output directory (default studies/NAME)")
    study.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    study.add_argument(
        "--aa",
        action="store_true",
        help="A/A check: the baseline against itself under two names with independent seeds",
    )
    study.set_defaults(handler=_study)

    analyze = commands.add_parser(
        "analyze",
        parents=[common],
        help="re-score a stored run or an exported messages.jsonl offline (no chat model)",
    )
    analyze.add_argument("target", help="a run id, or a messages.jsonl file or its directory")
    analyze.add_argument(
        "--embedder",
        choices=EMBEDDER_KINDS,
        default="none",
        help="embed every message: distances to the original and parents, diversity per round",
    )
    analyze.add_argument("--embedder-model")
    analyze.add_argument(
        "--metrics",
        default="text",
        type=_comma_list("metrics", ANALYSES),
        help=f"comma-separated from {', '.join(ANALYSES)} (default: text)",
    )
    analyze.add_argument("--out", type=Path, help="output directory (default: .../analysis)")
    analyze.set_defaults(handler=_analyze)

    serve = commands.add_parser("serve", parents=[common], help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=_positive_int, default=8080, help="port (8080)")
    serve.set_defaults(handler=_serve)

    dashboard = commands.add_parser(
        "dashboard", parents=[common], help="open the web dashboard (serving it if none runs)"
    )
    dashboard.add_argument("--port", type=_positive_int, default=8080, help="port (8080)")
    dashboard.add_argument("--no-browser", action="store_true", help="only print its address")
    dashboard.set_defaults(handler=_dashboard)

    doctor = commands.add_parser(
        "doctor",
        parents=[common],
        help="check Redis, the bundled model and its llama.cpp build, the backends",
    )
    doctor.add_argument("--json", action="store_true", help="one JSON object per check")
    doctor.set_defaults(handler=_doctor)
    add_calibrate_command(commands, common)
    add_plot_command(commands, common)
    return parser


def _whole_number_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number no smaller than `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


_positive_int = _whole_number_at_least(1)
_non_negative_int = _whole_number_at_least(0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _comma_list(what: str, allowed: Sequence[str]) -> Callable[[str], list[str]]:
    """An argument type: a non-empty comma-separated list of names from `allowed`."""

    def parse(text: str) -> list[str]:
        chosen = [f.strip() for f in text.split(",") if f.strip()]
        unknown = [f for f in chosen if f not in allowed]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(
                f"{what} must come from {', '.join(allowed)}; got {text!r}"
            )
        return chosen

    return parse


async def _with_store(
    settings: Settings, action: Callable[[ProvenanceStore], Awaitable[int]]
) -> int:
    connection: RedisConnection = await open_redis(settings, announce=_notice)
    try:
        store = ProvenanceStore(connection.client, events_maxlen=settings.events_maxlen)
        return await action(store)
    finally:
        await connection.aclose()


def _notice(text: str) -> None:
    err.print(f"[dim]{text}[/]", markup=True, highlight=False)


def _writable_dir(path: Path) -> Path:
    """`path` if it is, or can become, a directory we may write in; BadInput if not."""
    try:
        existing = next(p for p in (path, *path.parents) if p.exists())
        usable = existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot use --out {str(path)!r}: {exc}") from None
    if not usable:
        raise BadInput(
            f"cannot write the run's files under {str(path)!r}: {existing} is not a "
            "directory this user may write in"
        )
    return path


async def _run(args: argparse.Namespace) -> int:
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
        _print_estimate(experiment.spec.name, estimate(experiment, args.replicate))
        return EXIT_OK
    run_id = args.run_id or new_run_id(experiment.spec.name)
    out_dir = _writable_dir(args.out or Path("runs") / run_id)

    async def go(store: ProvenanceStore) -> int:
        await remember_out_dir(store.redis, run_id, out_dir)
        with (
            fewer_collections(),
            RunProgress(experiment.spec.rounds, err, quiet=args.quiet) as on_round,
        ):
            done = await run_spec(
                experiment,
                store,
                run_id=run_id,
                replicate=args.replicate,
                out_dir=out_dir,
                formats=args.format,
                hooks=RunHooks(notice=_notice, started=_print_start, round=on_round),
                lease_s=settings.lease_s,
            )
        return _report(done)

    return await _with_store(settings, go)


async def _resume(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    check_run_id(args.run, settings)

    async def go(store: ProvenanceStore) -> int:
        record = await store.get_run(args.run)
        out_dir = _writable_dir(await resume_out_dir(store.redis, args.run, args.out))
        with RunProgress(int(record.get("rounds", 0)) or 1, err, quiet=args.quiet) as on_round:
            done = await resume_run(
                store,
                args.run,
                settings,
                out_dir=out_dir,
                formats=args.format,
                hooks=RunHooks(notice=_notice, started=_print_start, round=on_round),
            )
        return _report(done)

    return await _with_store(settings, go)


def _report(done: RunOutcome) -> int:
    """Print a finished run's drift, status line, faults and files; its exit code."""
    result: RunResult = done.result
    _print_drift(done.views.get("drift", result.drift))
    _print_rounds(done.views.get("drift_by_round", []))
    out.print(
        f"run {done.run_id} {result.status.value}: {result.counts['messages']} messages "
        f"({result.counts['skips']} silent) -> {done.out_dir}/",
        markup=False,
        soft_wrap=True,
    )
    if result.faults:
        summary = ", ".join(f"{kind} {n}" for kind, n in sorted(result.faults.items()))
        out.print(f"  faults survived or failed: {summary}", markup=False)
    for path in done.written:
        out.print(f"  {path}", markup=False)
    if result.status is RunStatus.BUDGET_EXCEEDED:
        err.print(
            f"error: {result.notices[-1]}; the messages so far are kept and exported",
            markup=False,
            soft_wrap=True,
        )
        return EXIT_FAILED
    return EXIT_OK


def _print_start(run_id: str, experiment: Experiment) -> None:
    err.print(
        f"run [bold]{run_id}[/]: {len(experiment.agents)} agents, "
        f"{experiment.spec.rounds} rounds, backend {experiment.backend}, "
        f"embedder {experiment.embedder}"
    )


def _print_drift(rows: list[dict[str, Any]]) -> None:
    headers = dict(DRIFT_HEADERS)
    if any(row.get("n_judged") for row in rows):
        headers |= {"judged_fact_retention": "judged", "invented_claims": "invented"}
    out.print(fitted_table("drift from the original, by generation (means)", headers, rows))


def _print_rounds(rows: list[dict[str, Any]]) -> None:
    """Messages written beside the whole population, for a few rounds and the last one."""
    if not rows:
        return
    step = max(1, -(-len(rows) // ROUNDS_SHOWN))
    shown = [row for row in rows if row["round"] % step == 0 or row is rows[-1]]
    title = "by round: means over the messages written (msg) and the whole population (pop)"
    if step > 1:
        title += f"; every {step}th round, all in drift_by_round.csv"
    out.print(fitted_table(title, ROUND_HEADERS, shown, digits=2))
    last = rows[-1]
    out.print(
        f"last round: {last['spoke']} of {last['agents']} agents spoke "
        f"({last['spoke_share']:.0%}); facts retained {format_value(last['fact_retention'])} "
        f"over the messages written, {format_value(last['population_fact_retention'])} over "
        "the whole population",
        markup=False,
        soft_wrap=True,
    )


def _print_estimate(name: str, est: Any) -> None:
    table = Table(title=f"dry run: {name} (nothing called)", show_header=False)
    for label, value in (
        ("nodes / edges", f"{est.nodes} / {est.edges}"),
        ("agents / human sources", f"{est.agents} / {est.human_sources}"),
        ("rounds", est.rounds),
        ("LLM calls (at most)", est.llm_calls),
        ("human messages", est.human_messages),
        ("prompt tokens (est.)", f"{est.prompt_tokens:,}"),
        ("completion tokens (est.)", f"{est.completion_tokens:,}"),
        ("total tokens (est.)", f"{est.total_tokens:,}"),
    ):
        table.add_row(label, str(value))
    out.print(table)


async def _runs(args: argparse.Namespace) -> int:
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

    return await _with_store(args.settings, go)


async def _export(args: argparse.Namespace) -> int:
    check_run_id(args.run, args.settings)
    out_dir = _writable_dir(args.out or Path("runs") / args.run)

    async def go(store: ProvenanceStore) -> int:
        written = await export_run(store, args.run, out_dir, args.format)
        for path in written:
            out.print(str(path), markup=False)
        return EXIT_OK

    return await _with_store(args.settings, go)


async def _delete(args: argparse.Namespace) -> int:
    check_run_id(args.run, args.settings)

    async def go(store: ProvenanceStore) -> int:
        if args.force and await live_holder(store.redis, args.run):
            err.print(f"cancelling run {args.run} first", markup=False)
            await request_cancel(store.redis, args.run, args.settings.lease_s)
        await store.delete_run(args.run)
        out.print(f"deleted run {args.run}", markup=False)
        return EXIT_OK

    return await _with_store(args.settings, go)


async def _worker(args: argparse.Namespace) -> int:
    options = WorkerOptions(
        concurrency=args.concurrency,
        redelivery_s=args.redelivery,
        max_deliveries=args.max_deliveries,
    )

    async def go(store: ProvenanceStore) -> int:
        preload_backends()
        err.print(
            f"worker: up to {options.concurrency} steps at once; Ctrl-C or SIGTERM stops it "
            "after the steps in hand",
            markup=False,
        )
        worker = await run_worker(store.redis, args.settings, options)
        out.print(f"worker {worker.name} stopped after {worker.steps_done} steps", markup=False)
        return EXIT_OK

    return await _with_store(args.settings, go)


async def _lineage(args: argparse.Namespace) -> int:
    check_run_id(args.run, args.settings)

    async def go(store: ProvenanceStore) -> int:
        await store.get_run(args.run)
        message = full_message_id(args.run, args.message)
        ancestors = await store.ancestors(args.run, message)
        shown = lineage_for_cli(args.run, message, ancestors, args.depth, args.format)
        out.print(shown, markup=False, soft_wrap=True, highlight=False, crop=False)
        return EXIT_OK

    return await _with_store(args.settings, go)


async def _study(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    study, base = read_study(args.spec, settings)
    updates = {"replicates": args.replicates, "parallel": args.parallel}
    study = study.model_copy(update={k: v for k, v in updates.items() if v is not None})
    if args.aa:
        study = aa_study(study, base)

    def replan(replicates: int | None = None) -> list[Prepared]:
        return prepare_runs(plan(study, base, replicates), settings, {"backend": args.backend})

    prepared = replan()
    out_dir = _writable_dir(args.out or Path("studies") / study.name)
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
        with StudyProgress(prepared, err, _notice, quiet=args.quiet) as hooks:
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

    return await _with_store(settings, go)


async def _analyze(args: argparse.Namespace) -> int:
    target = Path(args.target)
    if target.exists():
        records, original = read_exported(target)
        base = target if target.is_dir() else target.parent
        return await _write_analysis(args, records, original, args.out or base / "analysis")
    check_run_id(args.target, args.settings)

    async def go(store: ProvenanceStore) -> int:
        run = await store.get_run(args.target)
        records = [record async for record in iter_records(store, args.target)]
        out_dir = args.out or Path("runs") / args.target / "analysis"
        return await _write_analysis(args, records, original_of_spec(run["spec"]), out_dir)

    return await _with_store(args.settings, go)


async def _write_analysis(
    args: argparse.Namespace, records: list[dict[str, Any]], original: Original, out_dir: Path
) -> int:
    _writable_dir(out_dir)
    rescore(records, original, args.metrics)
    diversity: dict[int, dict[str, float]] = {}
    embedder = make_embedder(args.embedder, args.embedder_model)
    if embedder is not None:
        try:
            diversity = await embed_all(records, original, embedder)
        finally:
            await embedder.aclose()
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "messages.jsonl").open("w", encoding="utf-8") as jsonl:
        for record in records:
            jsonl.write(json.dumps(record, ensure_ascii=False) + "\n")
    by_round = metric_table(records, "round", diversity)
    written = [
        out_dir / "messages.jsonl",
        write_table_csv(metric_table(records, "generation"), out_dir / "by_generation.csv"),
        write_table_csv(by_round, out_dir / "by_round.csv"),
    ]
    shown = [
        "round",
        "n",
        *(c for c in ANALYSIS_SHOWN if any(r.get(c) is not None for r in by_round)),
    ]
    table = Table(title=f"{len(records)} messages re-scored, by round (model messages, means)")
    for column in shown:
        table.add_column(column, justify="right")
    for row in by_round:
        table.add_row(*(format_value(row.get(c)) for c in shown))
    out.print(table)
    for path in written:
        out.print(f"  {path}", markup=False)
    return EXIT_OK


async def _serve(args: argparse.Namespace) -> int:
    try:
        settings = ApiSettings()
    except ValidationError as exc:
        raise settings_error(exc) from exc
    await serve(settings, args.host, args.port, announce=_notice)
    return EXIT_OK


async def _dashboard(args: argparse.Namespace) -> int:
    try:
        settings = ApiSettings()
    except ValidationError as exc:
        raise settings_error(exc) from exc
    await open_dashboard(settings, args.port, browser=not args.no_browser, announce=_notice)
    return EXIT_OK


async def _doctor(args: argparse.Namespace) -> int:
    findings = await diagnose(args.settings)
    if args.json:
        for finding in findings:
            out.print(json.dumps(dataclasses.asdict(finding)), markup=False, soft_wrap=True)
    else:
        table = Table(title="driftlab doctor")
        for column in ("check", "verdict", "detail"):
            table.add_column(column)
        for finding in findings:
            table.add_row(finding.check, finding.verdict.value, finding.detail)
        out.print(table)
    failed = any(f.verdict is Verdict.FAILED for f in findings)
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
