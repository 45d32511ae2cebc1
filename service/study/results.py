"""A study's stored messages, read back from Redis into flat rows, one per message, with
the condition and replicate attached (and the opt-in overlap metrics computed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.measure.export import flatten, iter_records
from service.measure.overlap import chrf, rouge_l
from service.provenance.store import ProvenanceStore
from service.study.runner import Prepared
from service.study.spec import SOURCE_AXIS

METRICS = (
    "fact_retention",
    "length_words",
    "unique_words",
    "type_token_ratio",
    "length_chars",
    "rare_word_retention",
    "entropy_ratio",
    "euclidean",
    "cosine",
    "rouge_l",
    "chrf",
    "judged_fact_retention",
)
EXTRA = {"rouge_l": rouge_l, "chrf": chrf}
LEFT_OUT = ("observed", "system", "prompt")


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    condition: str
    replicate: int
    agents: list[str]
    rounds: int
    group: str
    labels: dict[str, str]
    skips: int
    seed: int
    graph_seed: int


@dataclass
class StudyData:
    """Every message of a study as flat rows, and what each run was."""

    rows: list[dict[str, Any]]
    runs: list[RunInfo]
    conditions: list[str]
    axes: dict[str, dict[str, Any]]


async def collect(
    store: ProvenanceStore, prepared: list[Prepared], extra: Iterable[str] = ()
) -> StudyData:
    """Read every run of the study from the store, in plan order."""
    extra = list(extra)
    rows: list[dict[str, Any]] = []
    runs: list[RunInfo] = []
    conditions: list[str] = []
    axes: dict[str, dict[str, Any]] = {}
    for item in prepared:
        planned, experiment = item.planned, item.experiment
        condition = planned.condition
        if condition.name not in conditions:
            conditions.append(condition.name)
            for axis, label in condition.labels.items():
                axes.setdefault(axis, {})[label] = condition.values[axis]
        source = experiment.spec.source.text
        group = ", ".join(
            f"{axis}={label}" for axis, label in condition.labels.items() if axis != SOURCE_AXIS
        )
        runs.append(
            RunInfo(
                planned.run_id,
                condition.name,
                planned.replicate,
                list(experiment.agents),
                experiment.spec.rounds,
                group or "all",
                dict(condition.labels),
                len(await store.skips(planned.run_id)),
                experiment.spec.seed,
                experiment.spec.structure_seed,
            )
        )
        async for record in iter_records(store, planned.run_id):
            for name in extra:
                record["drift"][name] = EXTRA[name](record["text"], source)
            row = {k: v for k, v in flatten(record).items() if k not in LEFT_OUT}
            row["condition"] = condition.name
            for axis, label in condition.labels.items():
                row[f"axis.{axis}"] = label
            rows.append(row)
    return StudyData(rows, runs, conditions, axes)


def metric(row: dict[str, Any], name: str) -> float | None:
    value = row.get(f"drift.{name}")
    return float(value) if value is not None else None


def write_messages_parquet(data: StudyData, path: Path) -> Path:
    """Every message of every run: the messages.jsonl fields flattened as in `driftlab
    export` (without `observed`, `system` and `prompt`), plus `condition` and `axis.*`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(dict.fromkeys(name for row in data.rows for name in row))
    table = pa.table({name: [row.get(name) for row in data.rows] for name in columns})
    pq.write_table(table, path)
    return path
