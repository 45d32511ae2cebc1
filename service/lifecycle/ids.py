"""Run ids: minted here and nowhere else."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from service.experiment.experiment import Experiment

RUNS_DIR = Path("runs")


@dataclass(frozen=True)
class NewRun:
    """A run about to start: its experiment, id, replicate and output directory."""

    experiment: Experiment
    run_id: str
    replicate: int
    out_dir: Path


def new_run(
    experiment: Experiment,
    *,
    run_id: str | None = None,
    replicate: int = 0,
    out_dir: Path | None = None,
    runs_dir: Path = RUNS_DIR,
) -> NewRun:
    """The run of `experiment` under `run_id`, or under a fresh id when None; its files go to
    `out_dir` (default `runs_dir`/RUN_ID)."""
    run_id = run_id or _mint(experiment.spec.name)
    return NewRun(experiment, run_id, replicate, out_dir or runs_dir / run_id)


def _mint(name: str) -> str:
    """A fresh, sortable run id: name, UTC time and a random suffix."""
    return f"{name}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
