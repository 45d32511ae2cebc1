"""A finished study's files: runs.csv, summary.md, summary.json, manifest.json, study.csv,
messages.parquet, study.png, effects.png and phase.png."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.study.comparisons import StudyStats, study_stats
from service.study.outcomes import RunOutcome, run_outcomes, write_runs_csv
from service.study.plots import numeric_axes, phase_cells, plot_effects, plot_phase, plot_study
from service.study.results import StudyData, write_messages_parquet
from service.study.spec import StudySpec
from service.study.summary import write_summary, write_summary_json
from service.study.tables import attractors, curves, write_curves

STREAMS = (
    "graph (graph_seed)",
    "persona assignment (graph_seed)",
    "chat backend seeds (seed, replicate, round, node)",
    "injection draws and human corpus order (seed, replicate, round, source)",
    "input policy, delivery and routing draws (seed, replicate, round, node)",
)


def write_outputs(
    study: StudySpec, data: StudyData, out_dir: Path, assumptions: Sequence[str] = ()
) -> list[Path]:
    """Every output of a study whose runs are all stored; returns the paths written
    (`assumptions`: markdown lines summary.md ends with, see channel_notes)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    baseline = study.baseline or data.conditions[0]
    runs = run_outcomes(data, study.outcome)
    stats = study_stats(runs, outcome=study.outcome, baseline=baseline)
    replicates = len({run.replicate for run in runs})
    rows = curves(data)
    written = [
        write_runs_csv(runs, out_dir / "runs.csv"),
        write_summary(
            out_dir / "summary.md",
            name=study.name,
            stats=stats,
            attractors=attractors(data, study.attractor_metrics),
            replicates=replicates,
            run_count=len(runs),
            assumptions=assumptions,
        ),
        write_summary_json(
            out_dir / "summary.json", name=study.name, stats=stats, replicates=replicates
        ),
        write_manifest(out_dir / "manifest.json", study, runs, stats),
        write_curves(rows, out_dir / "study.csv"),
        write_messages_parquet(data, out_dir / "messages.parquet"),
        plot_study(rows, data.conditions, out_dir / "study.png", title=f"study {study.name}"),
    ]
    if stats.comparisons:
        written.append(plot_effects(stats, out_dir / "effects.png"))
    numeric = numeric_axes(data.axes)
    if len(numeric) >= 2:
        x_axis, y_axis = numeric[:2]
        labels = {info.condition: info.labels for info in data.runs}
        population = {
            s.condition: s.means["population"].mean
            for s in stats.conditions
            if s.means["population"].mean is not None
        }
        cells = phase_cells(population, labels, data.axes, x_axis, y_axis)
        written.append(plot_phase(cells, x_axis, y_axis, study.outcome, out_dir / "phase.png"))
    return written


def pairing(runs: list[RunOutcome]) -> dict[str, Any]:
    """Which seeds replicate i shares across every condition (common random numbers)."""
    per_replicate: dict[int, set[tuple[int, int]]] = {}
    for run in runs:
        per_replicate.setdefault(run.replicate, set()).add((run.seed, run.graph_seed))
    seeds_shared = all(len({s for s, _ in v}) == 1 for v in per_replicate.values())
    graphs_shared = all(len({g for _, g in v}) == 1 for v in per_replicate.values())
    return {
        "paired_by": "replicate index",
        "shared": [
            name
            for name, shared in (("seed", seeds_shared), ("graph_seed", graphs_shared))
            if shared
        ],
        "streams": [
            stream
            for stream in STREAMS
            if (graphs_shared if "graph_seed" in stream else seeds_shared)
        ],
        "replicates": [
            {"replicate": r, "seed": sorted(v)[0][0], "graph_seed": sorted(v)[0][1]}
            if len(v) == 1
            else {"replicate": r, "seeds": sorted(v)}
            for r, v in sorted(per_replicate.items())
        ],
    }


def write_manifest(path: Path, study: StudySpec, runs: list[RunOutcome], stats: StudyStats) -> Path:
    """manifest.json: the study as run, its conditions and the seeds replicates share."""
    body = {
        "name": study.name,
        "outcome": study.outcome,
        "baseline": stats.baseline,
        "replicates": study.replicates,
        "replicates_run": len({run.replicate for run in runs}),
        "vary_graph": study.vary_graph,
        "conditions": list(dict.fromkeys(run.condition for run in runs)),
        "runs": len(runs),
        "pairing": pairing(runs),
        "statistics": {
            "unit": "run",
            "interval": "95% t over runs; logit scale for proportions",
            "test": "paired t over replicates vs the baseline on the same source text",
            "correction": "Holm, one family per compared measure",
            "power": "paired replicates for 80% power at the observed d_z",
        },
    }
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    return path
