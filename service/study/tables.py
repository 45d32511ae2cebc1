"""The numbers of a study: curves by round and generation, final values per condition over
the messages written and over the whole population, speaking shares, attractors."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.measure.attractor import Attractor, attractor
from service.measure.stats import Summary, summarize
from service.study.results import METRICS, StudyData, metric

CURVE_COLUMNS = ("condition", "by", "step", "metric", "n", "mean", "sd", "ci_low", "ci_high")
ZERO_WHEN_SILENT = frozenset({"fact_retention", "rare_word_retention"})


def curves(data: StudyData) -> list[dict[str, Any]]:
    """Per condition, per round (model messages) and per generation (all messages), per
    metric: n, mean, sd and 95% CI over the messages pooled across replicates."""
    cells: dict[tuple[str, str, int, str], list[float]] = defaultdict(list)
    for row in data.rows:
        for name in METRICS:
            value = metric(row, name)
            if value is None:
                continue
            cells[row["condition"], "generation", row["generation"], name].append(value)
            if row["origin"] == "model":
                cells[row["condition"], "round", row["round"], name].append(value)
    order = {c: i for i, c in enumerate(data.conditions)}
    rows = []
    for key in sorted(cells, key=lambda k: (order[k[0]], k[1], METRICS.index(k[3]), k[2])):
        condition, by, step, name = key
        s = summarize(cells[key])
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
            }
        )
    return rows


def write_curves(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=CURVE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


@dataclass(frozen=True)
class Final:
    """A condition's outcome at the end: over the final round's messages, over the whole
    population (every agent's latest text), and how many agent-rounds had a speaker."""

    condition: str
    messages: list[float]
    population: list[float]
    spoke_share: float
    ever_spoke_share: float
    spoke_when_reading: float


def finals(data: StudyData, outcome: str) -> dict[str, Final]:
    """Final values of `outcome` per condition. Population: each agent's latest message at
    the end of the run; an agent that never spoke counts as retaining nothing for retention
    outcomes and is left out of the others (its share is reported beside)."""
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in data.rows:
        if row["origin"] == "model":
            by_run[row["run"]].append(row)
    messages: dict[str, list[float]] = defaultdict(list)
    population: dict[str, list[float]] = defaultdict(list)
    agent_rounds: dict[str, int] = defaultdict(int)
    spoke: dict[str, int] = defaultdict(int)
    agents_total: dict[str, int] = defaultdict(int)
    ever: dict[str, int] = defaultdict(int)
    skips: dict[str, int] = defaultdict(int)
    for info in data.runs:
        rows = by_run[info.run_id]
        final_round = info.rounds - 1
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:
            value = metric(row, outcome)
            if row["round"] == final_round and value is not None:
                messages[info.condition].append(value)
            if row["node"] not in latest or row["round"] > latest[row["node"]]["round"]:
                latest[row["node"]] = row
        for agent in info.agents:
            last = latest.get(agent)
            value = metric(last, outcome) if last else None
            if value is None and last is None and outcome in ZERO_WHEN_SILENT:
                value = 0.0
            if value is not None:
                population[info.condition].append(value)
        agent_rounds[info.condition] += len(info.agents) * info.rounds
        spoke[info.condition] += len(rows)
        agents_total[info.condition] += len(info.agents)
        ever[info.condition] += len(latest)
        skips[info.condition] += info.skips
    return {
        c: Final(
            c,
            messages[c],
            population[c],
            spoke[c] / agent_rounds[c] if agent_rounds[c] else 0.0,
            ever[c] / agents_total[c] if agents_total[c] else 0.0,
            spoke[c] / (spoke[c] + skips[c]) if spoke[c] + skips[c] else 0.0,
        )
        for c in data.conditions
    }


def final_summaries(final: Final) -> tuple[Summary, Summary]:
    return summarize(final.messages), summarize(final.population)


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
