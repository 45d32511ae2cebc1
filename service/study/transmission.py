"""transmission.csv and transmission.md: how texts travelled in each run of a study (merges,
generations reached, reach and human-text reads, the run record's `transmission` totals),
one row per run, and per condition the mean over runs with a 95% t-interval (each run one
observation). Exposure to human text is thus reported beside every effect a study shows."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from service.measure.csv_files import write_csv
from service.measure.stats import summarize
from service.measure.transmission import RUN_OUTCOMES
from service.provenance.store import ProvenanceStore
from service.study.runner import Prepared

RUN_COLUMNS = ("run", "condition", "replicate", *RUN_OUTCOMES)
SHOWN = (
    "reach_1",
    "reach_3",
    "human_reads_per_message",
    "parents_mean",
    "merged_share",
    "generation_max",
    "llm_calls_per_round",
)


async def run_transmission(
    store: ProvenanceStore, prepared: list[Prepared]
) -> list[dict[str, Any]]:
    """Each run's transmission totals (as its export stored them), in plan order."""
    rows = []
    for item in prepared:
        planned = item.planned
        totals = (await store.get_run(planned.run_id)).get("transmission") or {}
        rows.append(
            {
                "run": planned.run_id,
                "condition": planned.condition.name,
                "replicate": planned.replicate,
                **{name: totals.get(name) for name in RUN_OUTCOMES},
            }
        )
    return rows


def write_transmission(rows: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """transmission.csv (per run) and transmission.md (per condition, over runs)."""
    per_run = out_dir / "transmission.csv"
    write_csv(rows, per_run, RUN_COLUMNS)
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        for name in SHOWN:
            if row[name] is not None:
                values[row["condition"]][name].append(float(row[name]))
    lines = [
        "# Transmission per condition",
        "",
        "Mean over runs [95% t-interval] (n runs). `reach_1`: share of model messages that "
        "read a human text directly; `reach_3`: within 3 retellings of one; human reads per "
        "message: human texts read per model message; parents: inputs merged per model "
        "message; merged: share with 2 or more parents; generation: the longest retelling "
        "chain reached; calls per round: LLM calls over the rounds run.",
        "",
        "| condition | " + " | ".join(SHOWN) + " |",
        "|---|" + "---|" * len(SHOWN),
    ]
    for condition in dict.fromkeys(row["condition"] for row in rows):
        cells = []
        for name in SHOWN:
            s = summarize(values[condition][name])
            if s.mean is None:
                cells.append("-")
            elif s.ci_low is None:
                cells.append(f"{s.mean:.3f} (n={s.n})")
            else:
                cells.append(f"{s.mean:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}] (n={s.n})")
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    summary = out_dir / "transmission.md"
    summary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [per_run, summary]
