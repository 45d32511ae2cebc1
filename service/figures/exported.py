"""Re-draw a run's or a study's figures from its exported files (drift.csv and
drift_by_round.csv of a run; study.csv of a study), with another metric, x axis or set of
conditions: what `driftlab plot` does."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from service.errors import BadInput
from service.figures.files import save
from service.figures.run_figure import drift_figure
from service.figures.study_figure import study_figure
from service.measure.choices import IMAGE_FORMATS

RUN_TABLES = {"generation": "drift.csv", "round": "drift_by_round.csv"}
FIGURE_NAMES = {
    ("run", "generation"): "drift",
    ("run", "round"): "drift_by_round",
    ("study", "round"): "study",
    ("study", "generation"): "study_by_generation",
}


def redraw(
    target: Path,
    *,
    x: str | None = None,
    metrics: Sequence[str] | None = None,
    conditions: Sequence[str] | None = None,
    out_dir: Path | None = None,
    formats: Iterable[str] = IMAGE_FORMATS,
) -> list[Path]:
    """Draw the figure of the run or study exported in `target` (its directory, or a file in
    it) into `out_dir` (default: that directory); returns the files written."""
    folder = target if target.is_dir() else target.parent
    if not target.exists() or not folder.is_dir():
        raise BadInput(f"no exported run or study at {str(target)!r}")
    manifest = _manifest(folder)
    if (folder / "study.csv").is_file():
        kind, axis = "study", x or "round"
        rows = read_csv(folder / "study.csv")
        figure = study_figure(
            rows,
            title=f"study {manifest.get('name', folder.name)}",
            x=axis,
            metrics=metrics,
            conditions=conditions,
        )
    elif (folder / "drift.csv").is_file():
        kind, axis = "run", x or "generation"
        if conditions:
            raise BadInput("--conditions selects a study's conditions; this is a run")
        table = folder / RUN_TABLES[axis]
        if not table.is_file():
            raise BadInput(f"{table.name} is missing from {str(folder)!r}: re-export the run")
        run = manifest.get("id", folder.name)
        figure = drift_figure(
            read_csv(table),
            title=f"run {run} ({manifest.get('backend', 'backend unknown')})",
            x=axis,
            metrics=metrics,
        )
    else:
        raise BadInput(
            f"{str(folder)!r} holds neither a study's study.csv nor a run's drift.csv; "
            "export the run (driftlab export RUN) or point at the study's directory"
        )
    destination = out_dir or folder
    destination.mkdir(parents=True, exist_ok=True)
    return save(figure, destination / f"{FIGURE_NAMES[kind, axis]}.png", formats)


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        return {}
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read {str(path)!r}: {exc}") from None
    return body if isinstance(body, dict) else {}


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of an exported CSV, numbers as floats and empty cells as None."""
    try:
        with path.open(newline="", encoding="utf-8") as table:
            return [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(table)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadInput(f"cannot read {str(path)!r}: {exc}") from None


def _value(text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text
