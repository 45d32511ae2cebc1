"""Running a study end to end: its runs, then its files. What `driftlab study` and
`POST /v1/studies` both call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from service.provenance.store import ProvenanceStore
from service.study.channel_notes import channel_section
from service.study.outputs import write_outputs
from service.study.results import collect
from service.study.runner import Prepared, StudyHooks, StudyRuns, run_all
from service.study.spec import StudySpec


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
) -> StudyOutcome:
    """Run the study's runs not yet completed (see `run_all`), then write its outputs
    (study.csv, messages.parquet, study.png, summary.md, phase.png) to `out_dir`."""
    runs = await run_all(
        prepared,
        store,
        out_dir,
        parallel=study.parallel,
        hooks=hooks,
        slots=slots,
        lease_s=lease_s,
    )
    data = await collect(store, prepared, study.metrics)
    experiments = [(item.planned.condition.name, item.experiment) for item in prepared]
    notes = channel_section(experiments, data.axes)
    return StudyOutcome(runs, write_outputs(study, data, out_dir, notes))
