"""Exports of a stored run: messages.jsonl, drift.csv, manifest.json, and flat CSV / Parquet."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from service.drift_table import METRICS, DriftTable
from service.manifest import build_manifest
from service.plots import plot_drift
from service.report import write_report
from service.store import ProvenanceStore
from topologies.roles import natural_key

FORMATS = ("jsonl", "csv", "parquet")
DRIFT_COLUMNS = ("generation", "n", *METRICS, "n_embedded")


async def load_records(store: ProvenanceStore, run_id: str) -> list[dict[str, Any]]:
    """Every message of a run as a JSON-ready dict, embedding distances merged into `drift`,
    ordered by replicate, round, human sources first, then node."""
    await store.get_run(run_id)
    distances = await store.embeddings(run_id)
    records = []
    async for message in store.iter_messages(run_id):
        record = message.model_dump(mode="json")
        record["drift"].update(distances.get(message.id, {}))
        records.append(record)
    records.sort(
        key=lambda r: (r["replicate"], r["round"], r["origin"] != "human", natural_key(r["node"]))
    )
    return records


def drift_rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-generation drift table of `records`."""
    table = DriftTable()
    for record in records:
        drift = record["drift"]
        table.add(record["generation"], {name: drift.get(name) for name in METRICS})
    return table.rows()


async def export_run(
    store: ProvenanceStore, run_id: str, out_dir: Path, formats: Iterable[str] = ("jsonl",)
) -> list[Path]:
    """Write a run's files into `out_dir` (drift table, manifest, plot, report and the
    messages in each of `formats`); returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run = await store.get_run(run_id)
    records = await load_records(store, run_id)
    rows = drift_rows(records)
    manifest = build_manifest(run)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    written = [
        write_drift_csv(rows, out_dir / "drift.csv"),
        out_dir / "manifest.json",
        plot_drift(rows, out_dir / "drift.png", title=f"{run['id']} ({run.get('backend')})"),
        write_report(run, records, rows, out_dir / "report.md"),
    ]
    for fmt in formats:
        if fmt == "jsonl":
            written.append(write_jsonl(records, out_dir / "messages.jsonl"))
        elif fmt == "csv":
            written.append(write_flat_csv(records, out_dir / "messages.csv"))
        elif fmt == "parquet":
            written.append(write_parquet(records, out_dir / "messages.parquet"))
        else:
            raise ValueError(f"unknown export format {fmt!r}; expected one of {list(FORMATS)}")
    return written


def write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def write_drift_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=DRIFT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


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
    columns, rows = _flat_rows(records)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(records: list[dict[str, Any]], path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns, rows = _flat_rows(records)
    table = pa.table({name: [row.get(name) for row in rows] for name in columns})
    pq.write_table(table, path)
    return path
