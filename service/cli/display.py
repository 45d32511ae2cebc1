"""How the command line shows a run: progress by round, drift tables, the dry-run estimate
and the closing report."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from service.cli.console import err, out
from service.experiment.experiment import Experiment
from service.lifecycle import RunOutcome, RunResult, RunStatus
from service.measure.drift_table import SHOWN_COLUMNS
from service.measure.report import format_value
from service.terminal.tables import fitted_table

EXIT_OK, EXIT_FAILED = 0, 1
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


def report(done: RunOutcome) -> int:
    """Print a finished run's drift, status line, faults and files; its exit code."""
    result: RunResult = done.result
    print_drift(done.views.get("drift", result.drift))
    print_rounds(done.views.get("drift_by_round", []))
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


def print_run_header(record: dict[str, Any], rounds_done: int) -> None:
    """A stored run's identity, status, size, times and counts, one fact a line."""
    counts = record.get("counts") or {}
    lines = [
        ("run", record["id"]),
        ("status", record.get("status", "?")),
        ("error", record.get("error")),
        ("backend", f"{record.get('backend')} (embedder {record.get('embedder')})"),
        ("size", f"{record.get('agents')} agents, {rounds_done} of {record.get('rounds')} rounds"),
        ("created", record.get("created_at")),
        ("finished", record.get("finished_at")),
        ("counts", ", ".join(f"{kind} {n}" for kind, n in counts.items()) or None),
        (
            "faults",
            ", ".join(f"{kind} {n}" for kind, n in sorted(record.get("faults", {}).items())),
        ),
    ]
    for label, value in lines:
        if value:
            out.print(f"{label:<9} {value}", markup=False, soft_wrap=True)


def print_start(run_id: str, experiment: Experiment) -> None:
    err.print(
        f"run [bold]{run_id}[/]: {len(experiment.agents)} agents, "
        f"{experiment.spec.rounds} rounds, backend {experiment.backend}, "
        f"embedder {experiment.embedder}"
    )


def print_drift(rows: list[dict[str, Any]]) -> None:
    headers = dict(DRIFT_HEADERS)
    if any(row.get("n_judged") for row in rows):
        headers |= {"judged_fact_retention": "judged", "invented_claims": "invented"}
    title = "drift from the original, by generation (means)"
    out.print(fitted_table(title, headers, rows, width=out.width))


def print_rounds(rows: list[dict[str, Any]]) -> None:
    """Messages written beside the whole population, for a few rounds and the last one."""
    if not rows:
        return
    step = max(1, -(-len(rows) // ROUNDS_SHOWN))
    shown = [row for row in rows if row["round"] % step == 0 or row is rows[-1]]
    title = "by round: means over the messages written (msg) and the whole population (pop)"
    if step > 1:
        title += f"; one round in {step}, all in drift_by_round.csv"
    out.print(fitted_table(title, ROUND_HEADERS, shown, digits=2, width=out.width))
    last = rows[-1]
    out.print(
        f"last round: {last['spoke']} of {last['agents']} agents spoke "
        f"({last['spoke_share']:.0%}); facts retained {format_value(last['fact_retention'])} "
        f"over the messages written, {format_value(last['population_fact_retention'])} over "
        "the whole population",
        markup=False,
        soft_wrap=True,
    )


def print_estimate(name: str, est: Any) -> None:
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
