"""Exports of a stored run: messages.jsonl, failed_steps.jsonl, drift.csv, manifest.json, and
flat CSV / Parquet."""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import IO, Any

from service.measure.choices import FORMATS
from service.measure.csv_files import dump_csv, write_csv
from service.measure.drift_table import CORE_METRICS, JUDGED, METRICS, TAIL_METRICS, DriftTable
from service.measure.manifest import build_manifest
from service.measure.plots import plot_drift
from service.measure.report import SHOWN, write_report
from service.measure.transmission import TRANSMISSION_COLUMNS, Transmission
from service.measure.views import (
    ANCESTRY_COLUMNS,
    MIN_GENERATION_COLUMNS,
    ROUND_COLUMNS,
    DriftViews,
)
from service.provenance.store import ProvenanceStore
from topologies.roles import natural_key

DRIFT_COLUMNS = (
    "generation",
    "n",
    *CORE_METRICS,
    "n_embedded",
    *JUDGED,
    "n_judged",
    *TAIL_METRICS,
)
VIEW_FILES = {
    "drift_by_round": ROUND_COLUMNS,
    "drift_by_min_generation": MIN_GENERATION_COLUMNS,
    "drift_by_ancestry": ANCESTRY_COLUMNS,
    "transmission_by_round": TRANSMISSION_COLUMNS,
}


async def iter_records(
    store: ProvenanceStore, run_id: str, chunk: int = 1000
) -> AsyncIterator[dict[str, Any]]:
    """Every message of a run as a JSON-ready dict, embedding distances and the fact judge's
    verdict merged into `drift`,
    ordered by replicate, round, human sources first, then node; read in chunks, so a large
    run is never held in memory at once."""
    await store.get_run(run_id)
    distances = await store.embeddings(run_id)
    verdicts = await store.judgements(run_id)
    humans = set(await store.human_ids(run_id))
    prefix = f"{run_id}:"

    def order(message_id: str) -> tuple[int, int, bool, tuple]:
        replicate, round_, node = message_id.removeprefix(prefix).split(":", 2)
        return int(replicate), int(round_), message_id not in humans, natural_key(node)

    ids = sorted(await store.message_ids(run_id), key=order)
    for start in range(0, len(ids), chunk):
        batch = ids[start : start + chunk]
        for message_id, raw in zip(batch, await store.raw_messages(run_id, batch), strict=True):
            if raw is None:
                continue
            record = json.loads(raw)
            record["drift"].update(distances.get(message_id, {}))
            record["drift"].update(verdicts.get(message_id, {}))
            yield record


def jsonl_line(record: dict[str, Any]) -> str:
    """One exported record as a messages.jsonl line."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def add_record(table: DriftTable, record: dict[str, Any]) -> None:
    """Count one exported record in a drift table."""
    drift = record["drift"]
    table.add(record["generation"], {name: drift.get(name) for name in (*METRICS, *JUDGED)})


def drift_rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-generation drift table of `records` (for re-scoring stored records)."""
    table = DriftTable()
    for record in records:
        add_record(table, record)
    return table.rows()


def views_of(run: dict[str, Any]) -> DriftViews:
    """An empty set of drift views for a stored run record."""
    facts = run.get("spec", {}).get("source", {}).get("facts")
    rounds = len(run.get("round_seconds") or [])
    return DriftViews(int(run.get("agents") or 0), has_facts=bool(facts), rounds=rounds)


async def export_run(
    store: ProvenanceStore,
    run_id: str,
    out_dir: Path,
    formats: Iterable[str] = ("jsonl",),
    on_progress: Callable[[int], None] = lambda steps: None,
) -> list[Path]:
    """Write a run's files into `out_dir` (drift tables, manifest, plot, report and the
    messages in each of `formats`); returns the paths written. `on_progress` is told of each
    message read."""
    return (await export_run_views(store, run_id, out_dir, formats, on_progress=on_progress))[0]


async def export_run_views(
    store: ProvenanceStore,
    run_id: str,
    out_dir: Path,
    formats: Iterable[str] = ("jsonl",),
    ending: str | None = None,
    on_progress: Callable[[int], None] = lambda steps: None,
) -> tuple[list[Path], dict[str, list[dict[str, Any]]]]:
    """export_run, also returning the drift tables by name, as the run record keeps them:
    `drift` (by generation, with the fact judge's columns) and the views.
    JSONL streams; CSV and Parquet need the flattened records in memory. `ending` is the
    status the files report for a run exported while `exporting` (the one it ends with)."""
    formats = list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format {unknown[0]!r}; expected one of {list(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    run = await store.get_run(run_id)
    run["status"] = ending or run["status"]
    table = DriftTable()
    views = views_of(run)
    transmission = Transmission(views.rounds)
    first: list[dict[str, Any]] = []
    last: deque[dict[str, Any]] = deque(maxlen=SHOWN)
    kept: list[dict[str, Any]] = []
    written: list[Path] = []
    jsonl_path = out_dir / "messages.jsonl"
    with contextlib.ExitStack() as files:
        jsonl = (
            files.enter_context(jsonl_path.open("w", encoding="utf-8"))
            if "jsonl" in formats
            else None
        )
        async for record in iter_records(store, run_id):
            add_record(table, record)
            views.add(record)
            transmission.add(record)
            if len(first) < SHOWN:
                first.append(record)
            last.append(record)
            if jsonl is not None:
                jsonl.write(jsonl_line(record))
            if "csv" in formats or "parquet" in formats:
                kept.append(record)
            on_progress(1)
    rows = table.rows()
    failed_path = out_dir / "failed_steps.jsonl"
    with failed_path.open("w", encoding="utf-8") as failed:
        for step in await store.failed_steps(run_id):
            failed.write(step.model_dump_json() + "\n")
    tables = {"drift": rows, **views.tables(), "transmission_by_round": transmission.by_round()}
    run["transmission"] = transmission.totals()
    await store.update_run(run_id, transmission=run["transmission"])
    manifest = build_manifest(run, tables)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shown_last = [r for r in last if all(r is not f for f in first)]
    written += [
        write_drift_csv(rows, out_dir / "drift.csv"),
        *(
            write_drift_csv(tables[name], out_dir / f"{name}.csv", columns)
            for name, columns in VIEW_FILES.items()
        ),
        out_dir / "manifest.json",
        *plot_drift(rows, out_dir / "drift.png", title=f"run {run['id']} ({run.get('backend')})"),
        write_report(run, first, shown_last, rows, out_dir / "report.md", tables),
        failed_path,
    ]
    if "jsonl" in formats:
        written.append(jsonl_path)
    if "csv" in formats:
        written.append(write_flat_csv(kept, out_dir / "messages.csv"))
    if "parquet" in formats:
        written.append(write_parquet(kept, out_dir / "messages.parquet"))
    return written, tables


def write_drift_csv(
    rows: list[dict[str, Any]], path: Path, columns: Iterable[str] = DRIFT_COLUMNS
) -> Path:
    return write_csv(rows, path, columns)


MAPS = frozenset({"observed"})


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted columns (usage.total_tokens); lists, and maps keyed by
    data rather than by schema (`observed`, keyed by receiver node), become JSON strings, so
    every run has the same columns however large its network."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name in MAPS:
            flat[name] = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, ensure_ascii=False)
        else:
            flat[name] = value
    return flat


def _flat_rows(records: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    rows = [flatten(r) for r in records]
    columns = list(dict.fromkeys(name for row in rows for name in row))
    return columns, rows


def write_flat_csv(records: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        dump_flat_csv(records, out)
    return path


def dump_flat_csv(records: list[dict[str, Any]], out: IO[str]) -> None:
    """`records` flattened, as CSV with one column per flattened field."""
    columns, rows = _flat_rows(records)
    dump_csv(rows, out, columns)


def write_parquet(records: list[dict[str, Any]], path: Path) -> Path:
    with path.open("wb") as out:
        dump_parquet(records, out)
    return path


def dump_parquet(records: list[dict[str, Any]], out: IO[bytes]) -> None:
    """`records` flattened, as a Parquet file with one column per flattened field."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns, rows = _flat_rows(records)
    table = pa.table({name: [row.get(name) for row in rows] for name in columns})
    pq.write_table(table, out)
