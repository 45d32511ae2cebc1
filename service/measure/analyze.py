"""Re-scoring stored messages offline: text metrics again, the opt-in overlap metrics, and
with an embedder, distances to the original and to each message's parents and diversity per
round. No chat model is called."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.embedding import Embedder
from service.errors import BadInput
from service.experiment.spec import Fact
from service.measure.csv_files import write_csv
from service.measure.diversity import mean_pairwise_cosine, rms_pairwise_euclidean
from service.measure.drift_table import METRICS as TABLE_METRICS
from service.measure.metrics import cosine_distance, distance_to_parents, euclidean, text_metrics
from service.measure.overlap import chrf, rouge_l
from service.measure.stats import summarize

OVERLAP = {"rouge_l": rouge_l, "chrf": chrf}
EMBEDDED = ("euclidean", "cosine", "euclidean_parents", "cosine_parents")
ROUND_METRICS = (*TABLE_METRICS, "rouge_l", "chrf", "euclidean_parents", "cosine_parents")
EMBED_BATCH = 256
FACT_FIELDS = ("fact_retention", "facts_retained")


@dataclass(frozen=True)
class Original:
    """What messages are measured against: the source text and its facts."""

    text: str
    facts: list[Fact]


def original_of_spec(spec: dict[str, Any]) -> Original:
    source = spec.get("source") or {}
    return Original(source["text"], [Fact.model_validate(f) for f in source.get("facts", [])])


def read_exported(path: Path) -> tuple[list[dict[str, Any]], Original]:
    """Records of an exported run: `path` is messages.jsonl or the directory holding it. The
    original comes from manifest.json beside it, or else from the round-0 human message (then
    without facts)."""
    file = path / "messages.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise BadInput(f"no messages.jsonl at {str(path)!r}")
    records = []
    with file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadInput(f"{file}:{number}: not a JSON line ({exc.msg})") from None
            if not isinstance(record, dict) or "text" not in record:
                raise BadInput(f"{file}:{number}: not a driftlab message (no text)")
            records.append(record)
    manifest = file.parent / "manifest.json"
    if manifest.is_file():
        spec = json.loads(manifest.read_text(encoding="utf-8")).get("spec") or {}
        if spec.get("source"):
            return records, original_of_spec(spec)
    first = next((r for r in records if r.get("origin") == "human" and r.get("round") == 0), None)
    if first is None:
        raise BadInput(f"{file}: no manifest.json beside it and no round-0 human message")
    return records, Original(first["text"], [])


Progress = Callable[[int], None]
"""Told the number of steps just done: one per message re-scored, one per text embedded."""


def analysis_steps(records: list[dict[str, Any]], embedder: Embedder | None) -> int:
    """How many steps write_analysis reports: re-scoring, then embedding (with the original)."""
    return len(records) + (len(records) + 1 if embedder is not None else 0)


def rescore(
    records: Iterable[dict[str, Any]],
    original: Original,
    analyses: list[str],
    on_progress: Progress | None = None,
) -> None:
    """Replace each record's drift metrics by freshly computed ones (in place)."""
    for record in records:
        drift = record.setdefault("drift", {})
        if "text" in analyses:
            fresh = text_metrics(record["text"], original.facts, original.text).model_dump()
            if not original.facts:  # facts unknown here: keep what the run measured
                fresh = {k: v for k, v in fresh.items() if k not in FACT_FIELDS}
            drift.update(fresh)
        for name in analyses:
            if name in OVERLAP:
                drift[name] = OVERLAP[name](record["text"], original.text)
        if on_progress is not None:
            on_progress(1)


async def embed_all(
    records: list[dict[str, Any]],
    original: Original,
    embedder: Embedder,
    on_progress: Progress | None = None,
) -> dict[int, dict[str, float]]:
    """Embed every message and the original: distances to the original and to the parents
    go into each record's drift; returns diversity per round (model messages)."""
    texts = [original.text, *(r["text"] for r in records)]
    chunks = []
    for start in range(0, len(texts), EMBED_BATCH):
        batch = texts[start : start + EMBED_BATCH]
        chunks.append(await embedder.embed(batch))
        if on_progress is not None:
            on_progress(len(batch))
    vectors = np.vstack(chunks)
    origin, rest = vectors[0], vectors[1:]
    index = {r["id"]: i for i, r in enumerate(records) if "id" in r}
    by_round: dict[int, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        drift = record.setdefault("drift", {})
        drift["euclidean"] = float(euclidean(rest[i], origin))
        drift["cosine"] = float(cosine_distance(rest[i], origin))
        parents = [index[p] for p in record.get("parents", []) if p in index]
        near = distance_to_parents(rest[i], rest[parents]) if parents else None
        if near is not None:
            drift["euclidean_parents"], drift["cosine_parents"] = near
        if record.get("origin") == "model":
            by_round[int(record["round"])].append(i)
    return {
        round_: {
            "diversity_cosine": mean_pairwise_cosine(rest[rows]),
            "diversity_euclidean": rms_pairwise_euclidean(rest[rows]),
        }
        for round_, rows in sorted(by_round.items())
    }


def metric_table(
    records: list[dict[str, Any]], by: str, extra: dict[int, dict[str, float]] | None = None
) -> list[dict[str, Any]]:
    """Mean of each metric per `by` ("generation": every message; "round": model messages),
    with n, and the per-round `extra` columns (diversity) where given."""
    cells: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    counts: dict[int, int] = defaultdict(int)
    for record in records:
        if by == "round" and record.get("origin") != "model":
            continue
        step = int(record[by])
        counts[step] += 1
        for name in ROUND_METRICS:
            value = record.get("drift", {}).get(name)
            if value is not None:
                cells[step][name].append(float(value))
    rows = []
    for step in sorted(counts):
        row: dict[str, Any] = {by: step, "n": counts[step]}
        for name in ROUND_METRICS:
            row[name] = summarize(cells[step][name]).mean
        row.update((extra or {}).get(step, {}))
        rows.append(row)
    return rows


def write_table_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    """`rows` as CSV, with every column any row has, in order of first appearance."""
    return write_csv(rows, path, dict.fromkeys(name for row in rows for name in row))


@dataclass(frozen=True)
class Analysis:
    """A re-scored run: its table by round and the files written."""

    by_round: list[dict[str, Any]]
    written: list[Path]


async def write_analysis(
    records: list[dict[str, Any]],
    original: Original,
    analyses: list[str],
    embedder: Embedder | None,
    out_dir: Path,
    on_progress: Progress | None = None,
) -> Analysis:
    """Re-score `records` with `analyses` (and `embedder`, closed afterwards), then write the
    messages and the tables by generation and by round under `out_dir`; `on_progress` counts
    analysis_steps."""
    rescore(records, original, analyses, on_progress)
    diversity: dict[int, dict[str, float]] = {}
    if embedder is not None:
        try:
            diversity = await embed_all(records, original, embedder, on_progress)
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
    return Analysis(by_round, written)
