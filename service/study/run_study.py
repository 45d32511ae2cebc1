"""Running a study end to end: its runs, then its files. What `driftlab study` and
`POST /v1/studies` both call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from service.provenance.store import ProvenanceStore
from service.study.outputs import write_outputs
from service.study.results import collect
from service.study.runner import Prepared, StudyHooks, StudyRuns, run_all
from service.study.spec import StudySpec
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
) -> StudyOutcome:
    """Run the study's runs not yet completed (see `run_all`), then write its outputs
    (study.csv, messages.parquet, study.png, summary.md, phase.png,
    transmission.csv, transmission.md) to `out_dir`."""
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
    written = write_outputs(study, data, out_dir)
    written += write_transmission(await run_transmission(store, prepared), out_dir)
    return StudyOutcome(runs, written)
