"""The curves of a study (per round and per generation, one mean per run, then their mean
and interval over runs) and its attractor fits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.measure.attractor import Attractor, attractor
from service.measure.csv_files import write_csv
from service.study.inference import replicate_mean
from service.study.outcomes import PROPORTIONS
from service.study.results import METRICS, StudyData, metric

CURVE_COLUMNS = (
    "condition", "by", "step", "metric", "n", "mean", "sd", "ci_low", "ci_high", "messages"
)  # fmt: skip


def curves(data: StudyData) -> list[dict[str, Any]]:
    """Per condition, per round (model messages) and per generation (all messages), per
    metric: each run's mean over its messages there, then n (runs), mean, sd and the 95% t
    interval over those run means (inside [0, 1] for proportions); `messages` counts the
    messages there (descriptive)."""
    per_run: dict[tuple[str, str, int, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in data.rows:
        for name in METRICS:
            value = metric(row, name)
            if value is None:
                continue
            per_run[row["condition"], "generation", row["generation"], name][row["run"]].append(
                value
            )
            if row["origin"] == "model":
                per_run[row["condition"], "round", row["round"], name][row["run"]].append(value)
    order = {c: i for i, c in enumerate(data.conditions)}
    rows = []
    for key in sorted(per_run, key=lambda k: (order[k[0]], k[1], METRICS.index(k[3]), k[2])):
        condition, by, step, name = key
        runs = per_run[key].values()
        s = replicate_mean([sum(v) / len(v) for v in runs], bounded=name in PROPORTIONS)
        rows.append(
            {
                "condition": condition,
                "by": by,
                "step": step,
                "metric": name,
                "n": s.n,
                "mean": s.mean,
                "sd": s.sd,
                "ci_low": s.ci_low,
                "ci_high": s.ci_high,
                "messages": sum(len(values) for values in runs),
            }
        )
    return rows


def write_curves(rows: list[dict[str, Any]], path: Path) -> Path:
    return write_csv(rows, path, CURVE_COLUMNS)


@dataclass(frozen=True)
class AttractorRow:
    group: str
    metric: str
    fit: Attractor | None


def attractors(data: StudyData, metrics: Sequence[str]) -> list[AttractorRow]:
    """Per condition without its source axis, per metric: final value of each chain (mean of
    its final round's messages) regressed on the value of its source text."""
    initial: dict[tuple[str, str], float] = {}
    finals_of: dict[tuple[str, str], list[float]] = defaultdict(list)
    group_of = {info.run_id: info.group for info in data.runs}
    final_round = {info.run_id: info.rounds - 1 for info in data.runs}
    for row in data.rows:
        for name in metrics:
            value = metric(row, name)
            if value is None:
                continue
            if row["origin"] == "human" and row["round"] == 0:
                initial[row["run"], name] = value
            elif row["origin"] == "model" and row["round"] == final_round[row["run"]]:
                finals_of[row["run"], name].append(value)
    points: dict[tuple[str, str], tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for (run, name), start in initial.items():
        ends = finals_of.get((run, name))
        if ends:
            xs, ys = points[group_of[run], name]
            xs.append(start)
            ys.append(sum(ends) / len(ends))
    groups = list(dict.fromkeys(group_of[info.run_id] for info in data.runs))
    fits = {key: attractor(*xy) for key, xy in points.items()}
    return [
        AttractorRow(group, name, fits.get((group, name))) for group in groups for name in metrics
    ]
