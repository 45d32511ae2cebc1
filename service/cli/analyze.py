"""`driftlab analyze`: re-score a stored run or an exported messages.jsonl offline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from agents.embedding import make_embedder
from service.cli.console import err, out, with_store, writable_dir
from service.cli.display import EXIT_OK
from service.experiment.run_ids import check_run_id
from service.measure.analyze import (
    Original,
    analysis_steps,
    original_of_spec,
    read_exported,
    write_analysis,
)
from service.measure.export import iter_records
from service.measure.report import format_value
from service.provenance.store import ProvenanceStore
from service.terminal.progress import Ticker

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


async def analyze(args: argparse.Namespace) -> int:
    target = Path(args.target)
    if target.exists():
        records, original = read_exported(target)
        base = target if target.is_dir() else target.parent
        return await _analyze(args, records, original, args.out or base / "analysis")
    check_run_id(args.target, args.settings)

    async def go(store: ProvenanceStore) -> int:
        run = await store.get_run(args.target)
        records = [record async for record in iter_records(store, args.target)]
        out_dir = args.out or Path("runs") / args.target / "analysis"
        return await _analyze(args, records, original_of_spec(run["spec"]), out_dir)

    return await with_store(args.settings, go)


async def _analyze(
    args: argparse.Namespace, records: list[dict[str, Any]], original: Original, out_dir: Path
) -> int:
    writable_dir(out_dir)
    embedder = make_embedder(args.embedder, args.embedder_model)
    steps = analysis_steps(records, embedder)
    with Ticker("analyze", steps, err, quiet=args.quiet) as ticker:
        done = await write_analysis(
            records, original, args.metrics, embedder, out_dir, ticker.counter("steps")
        )
    by_round = done.by_round
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
    for path in done.written:
        out.print(f"  {path}", markup=False)
    return EXIT_OK
