"""A finished study's files: study.csv, messages.parquet, study.png, summary.md, phase.png."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from service.study.plots import numeric_axes, phase_cells, plot_phase, plot_study
from service.study.results import StudyData, write_messages_parquet
from service.study.spec import StudySpec
from service.study.summary import write_summary
from service.study.tables import attractors, curves, finals, write_curves


def write_outputs(
    study: StudySpec, data: StudyData, out_dir: Path, assumptions: Sequence[str] = ()
) -> list[Path]:
    """Every output of a study whose runs are all stored; returns the paths written
    (`assumptions`: markdown lines summary.md ends with, see channel_notes)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    baseline = study.baseline or data.conditions[0]
    rows = curves(data)
    final = finals(data, study.outcome)
    written = [
        write_curves(rows, out_dir / "study.csv"),
        write_messages_parquet(data, out_dir / "messages.parquet"),
        plot_study(rows, data.conditions, out_dir / "study.png", title=f"study {study.name}"),
        write_summary(
            out_dir / "summary.md",
            name=study.name,
            outcome=study.outcome,
            baseline=baseline,
            finals=final,
            attractors=attractors(data, study.attractor_metrics),
            replicates=study.replicates,
            run_count=len(data.runs),
            assumptions=assumptions,
        ),
    ]
    numeric = numeric_axes(data.axes)
    if len(numeric) >= 2:
        x_axis, y_axis = numeric[:2]
        labels = {info.condition: info.labels for info in data.runs}
        cells = phase_cells(
            {c: f.population for c, f in final.items()}, labels, data.axes, x_axis, y_axis
        )
        written.append(plot_phase(cells, x_axis, y_axis, study.outcome, out_dir / "phase.png"))
    return written
