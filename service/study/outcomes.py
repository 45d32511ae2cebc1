"""One outcome per run (the unit of every interval and test of a study), the silence rule,
and runs.csv: one row per run, from which the summary's numbers are recomputed."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.study.results import StudyData, metric

# The silence rule: an agent that never spoke is scored as the empty text would be, for
# every metric: it states no fact, keeps no rare word, has no words. The empty text has no
# embedding, so a run with silent agents has no population value for `euclidean`.
EMPTY_TEXT: dict[str, float | None] = {
    "fact_retention": 0.0,
    "rare_word_retention": 0.0,
    "length_words": 0.0,
    "type_token_ratio": 0.0,
    "euclidean": None,
}
PROPORTIONS = frozenset({"fact_retention", "rare_word_retention", "type_token_ratio"})
MEASURES = (
    "final",
    "speakers",
    "population",
    "spoke_share",
    "final_spoke_share",
    "turns_spoken",
)
SHARES = frozenset({"spoke_share", "final_spoke_share", "turns_spoken"})


@dataclass(frozen=True)
class RunOutcome:
    """A run's outcome at its end.

    final: mean over the messages of the last round (the agents that spoke in it).
    speakers: mean over the agents that ever spoke, each agent's latest text.
    population: mean over every agent, a silent agent scored as the empty text.
    spoke_share: agents that ever spoke / agents. final_spoke_share: agents that wrote in the
    last round / agents. turns_spoken: of the turns with something to read, the share in
    which the input policy let the agent write.
    """

    run: str
    condition: str
    replicate: int
    seed: int
    graph_seed: int
    labels: dict[str, str] = field(default_factory=dict)
    final: float | None = None
    speakers: float | None = None
    population: float | None = None
    spoke_share: float | None = None
    final_spoke_share: float | None = None
    turns_spoken: float | None = None
    messages: int = 0

    def measure(self, name: str) -> float | None:
        value = getattr(self, name)
        return None if value is None else float(value)


def run_outcomes(data: StudyData, outcome: str) -> list[RunOutcome]:
    """Every run's outcome, in plan order."""
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in data.rows:
        if row["origin"] == "model":
            by_run[row["run"]].append(row)
    result = []
    for info in data.runs:
        rows = by_run[info.run_id]
        last_round = info.rounds - 1
        latest: dict[str, dict[str, Any]] = {}
        final: list[float] = []
        final_speakers = set()
        for row in rows:
            if row["round"] == last_round:
                final_speakers.add(row["node"])
                if (value := metric(row, outcome)) is not None:
                    final.append(value)
            if row["node"] not in latest or row["round"] > latest[row["node"]]["round"]:
                latest[row["node"]] = row
        spoken = [v for row in latest.values() if (v := metric(row, outcome)) is not None]
        agents = len(info.agents)
        silent = agents - len(latest)
        empty = EMPTY_TEXT.get(outcome)
        population: float | None = None
        if agents and (silent == 0 or empty is not None) and len(spoken) == len(latest):
            population = (sum(spoken) + silent * (empty or 0.0)) / agents
        turns = len(rows) + info.skips
        result.append(
            RunOutcome(
                run=info.run_id,
                condition=info.condition,
                replicate=info.replicate,
                seed=info.seed,
                graph_seed=info.graph_seed,
                labels=dict(info.labels),
                final=_mean(final),
                speakers=_mean(spoken),
                population=population,
                spoke_share=len(latest) / agents if agents else None,
                final_spoke_share=len(final_speakers) / agents if agents else None,
                turns_spoken=len(rows) / turns if turns else None,
                messages=len(rows),
            )
        )
    return result


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


FIXED_COLUMNS = ("run", "condition", "replicate", "seed", "graph_seed", *MEASURES, "messages")


def write_runs_csv(runs: list[RunOutcome], path: Path) -> Path:
    """runs.csv: one row per run; its axes as `axis.FIELD` columns; empty where undefined."""
    axes = list(dict.fromkeys(axis for run in runs for axis in run.labels))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([*FIXED_COLUMNS, *(f"axis.{axis}" for axis in axes)])
        for run in runs:
            values = [getattr(run, name) for name in FIXED_COLUMNS]
            labels = [run.labels.get(axis, "") for axis in axes]
            writer.writerow(["" if v is None else _text(v) for v in values] + labels)
    return path


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def read_runs_csv(path: Path) -> list[RunOutcome]:
    """The runs of a runs.csv, as written by write_runs_csv."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        RunOutcome(
            run=row["run"],
            condition=row["condition"],
            replicate=int(row["replicate"]),
            seed=int(row["seed"]),
            graph_seed=int(row["graph_seed"]),
            labels={k.removeprefix("axis."): v for k, v in row.items() if k.startswith("axis.")},
            messages=int(row["messages"]),
            **{name: float(row[name]) if row[name] else None for name in MEASURES},
        )
        for row in rows
    ]
