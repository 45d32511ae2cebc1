"""Running a study end to end: its runs, then its files. What `driftlab study` and
`POST /v1/studies` both call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service.provenance.store import ProvenanceStore
from service.study.channel_notes import channel_section
from service.study.comparisons import study_stats
from service.study.outcomes import run_outcomes
from service.study.outputs import write_outputs
from service.study.results import StudyData, collect
from service.study.runner import Prepared, StudyHooks, StudyRuns, run_all
from service.study.spec import AUTO_START, StudySpec
from service.study.transmission import run_transmission, write_transmission


@dataclass(frozen=True)
class StudyOutcome:
    runs: StudyRuns
    written: list[Path]


async def run_study(
    study: StudySpec,
    prepared: list[Prepared],
    store: ProvenanceStore,
    out_dir: Path,
    *,
    hooks: StudyHooks | None = None,
    slots: asyncio.Semaphore | None = None,
    lease_s: float = 30.0,
    replan: Callable[[int], list[Prepared]] | None = None,
) -> StudyOutcome:
    """Run the study's runs not yet completed (see `run_all`), then write its outputs
    (runs.csv, summary.md, summary.json, manifest.json, study.csv, messages.parquet,
    study.png, phase.png, transmission.csv, transmission.md) to `out_dir`. With
    `replicates: auto` and `replan` (the prepared runs for a number of replicates),
    replicates are added until every comparison's 95% interval is at most `target_ci_width`
    wide or `replicates_cap` is reached."""

    async def run(items: list[Prepared]) -> tuple[StudyRuns, StudyData]:
        done = await run_all(
            items,
            store,
            out_dir,
            parallel=study.parallel,
            hooks=hooks,
            slots=slots,
            lease_s=lease_s,
        )
        return done, await collect(store, items, study.metrics)

    runs, data = await run(prepared)
    count = AUTO_START
    while study.replicates == "auto" and replan is not None and count < study.replicates_cap:
        width = _widest_interval(study, data)
        if width is not None and width <= study.target_ci_width:
            break
        count = min(study.replicates_cap, count + max(2, count // 2))
        more, data = await run(replan(count))
        runs.ran += more.ran
        runs.prepared = more.prepared
    experiments = [(item.planned.condition.name, item.experiment) for item in runs.prepared]
    notes = channel_section(experiments, data.axes)
    written = write_outputs(study, data, out_dir, notes)
    written += write_transmission(await run_transmission(store, runs.prepared), out_dir)
    return StudyOutcome(runs, written)


def _widest_interval(study: StudySpec, data: StudyData) -> float | None:
    baseline = study.baseline or data.conditions[0]
    outcomes = run_outcomes(data, study.outcome)
    return study_stats(outcomes, outcome=study.outcome, baseline=baseline).widest_interval()
