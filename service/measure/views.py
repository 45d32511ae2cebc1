"""Drift views of a run beside the per-generation table: by round (over the messages written
and over the whole population of agents, with the share that spoke), by min_generation, and
by round and fresh human ancestry. Fed the run's records in order (round, humans first).

Embedding distances exist for a sample of each generation only; wherever a view mixes
generations, each embedded text weighs (messages of its generation) / (embedded of its
generation), so a mean estimates the mean over every text it stands for.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from service.measure.drift_table import CORE_METRICS as METRICS
from service.measure.drift_table import EMBEDDING_METRICS, TEXT_METRICS

DISTANCES = EMBEDDING_METRICS
POPULATION_COLUMNS = tuple(f"population_{name}" for name in METRICS)
ROUND_COLUMNS = (
    "round",
    "agents",
    "spoke",
    "spoke_share",
    "ever_spoke",
    "ever_spoke_share",
    "n",
    *METRICS,
    "n_embedded",
    *POPULATION_COLUMNS,
    "population_n_embedded",
)
MIN_GENERATION_COLUMNS = ("min_generation", "n", *METRICS, "n_embedded")
ANCESTRY_COLUMNS = ("round", "fresh_human", "n", *METRICS, "n_embedded")


@dataclass
class _Cell:
    """Sums of one group: text metrics exactly, distances per generation (for weighting)."""

    n: int = 0
    text: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0]))
    distance: dict[tuple[str, int], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0])
    )

    def add(self, generation: int, drift: dict[str, Any], sign: int = 1) -> None:
        self.n += sign
        for name in TEXT_METRICS:
            if drift.get(name) is not None:
                total = self.text[name]
                total[0] += sign * drift[name]
                total[1] += sign
        for name in DISTANCES:
            if drift.get(name) is not None:
                total = self.distance[name, generation]
                total[0] += sign * drift[name]
                total[1] += sign

    def copy(self) -> _Cell:
        twin = _Cell(self.n)
        for key, value in self.text.items():
            twin.text[key] = list(value)
        for dkey, value in self.distance.items():
            if value[1]:
                twin.distance[dkey] = list(value)
        return twin

    def means(self, weights: dict[int, float]) -> dict[str, float | int | None]:
        row: dict[str, float | int | None] = {}
        for name in TEXT_METRICS:
            total, count = self.text.get(name, (0.0, 0))
            row[name] = total / count if count else None
        embedded = 0
        for name in DISTANCES:
            total = weight = 0.0
            for (metric, generation), (value, count) in self.distance.items():
                if metric == name and count:
                    total += weights.get(generation, 1.0) * value
                    weight += weights.get(generation, 1.0) * count
                    if name == DISTANCES[0]:
                        embedded += int(count)
            row[name] = total / weight if weight else None
        row["n_embedded"] = embedded
        return row


@dataclass
class _Round:
    spoke: int = 0
    written: _Cell = field(default_factory=_Cell)
    population: _Cell | None = None
    ever_spoke: int = 0


class DriftViews:
    """The views of one run, from its records in order: `agents` is how many agents it has,
    `has_facts` whether its source lists facts, `rounds` how many rounds it ran."""

    def __init__(self, agents: int, *, has_facts: bool, rounds: int = 0) -> None:
        self.agents = max(agents, 1)
        self.has_facts = has_facts
        self.rounds = rounds
        self._generations: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        self._rounds: dict[int, _Round] = defaultdict(_Round)
        self._min_generation: dict[int, _Cell] = defaultdict(_Cell)
        self._ancestry: dict[tuple[int, bool], _Cell] = defaultdict(_Cell)
        self._fresh: set[str] = set()
        self._latest: dict[str, tuple[int, dict[str, Any]]] = {}
        self._population = _Cell()
        self._current_round = -1

    def add(self, record: dict[str, Any]) -> None:
        """Count one record; records come ordered by round, human texts first in a round."""
        round_ = record["round"]
        while self._current_round < round_:
            self._close_round()
        generation = record["generation"]
        drift = record["drift"]
        counts = self._generations[generation]
        counts[0] += 1
        counts[1] += drift.get(DISTANCES[0]) is not None
        fresh = (record["origin"] == "human" and round_ > 0) or any(
            parent in self._fresh for parent in record["parents"]
        )
        if fresh:
            self._fresh.add(record["id"])
        if record["origin"] != "model":
            return
        self._min_generation[record["min_generation"]].add(generation, drift)
        self._ancestry[round_, fresh].add(generation, drift)
        this_round = self._rounds[round_]
        this_round.spoke += 1
        this_round.written.add(generation, drift)
        previous = self._latest.get(record["node"])
        if previous is not None:
            self._population.add(previous[0], previous[1], sign=-1)
        self._population.add(generation, drift)
        self._latest[record["node"]] = (generation, drift)

    def _close_round(self) -> None:
        if self._current_round >= 0:
            this_round = self._rounds[self._current_round]
            this_round.population = self._population.copy()
            this_round.ever_spoke = len(self._latest)
        self._current_round += 1

    def _weights(self) -> dict[int, float]:
        return {g: n / embedded for g, (n, embedded) in self._generations.items() if embedded}

    def by_round(self) -> list[dict[str, Any]]:
        """Per round: how many agents spoke, means over the messages written in it, and means
        over the population (each agent's latest text at the end of the round). Fact
        retention counts an agent that never spoke as 0; the other population means are over
        the agents that have spoken (ever_spoke)."""
        last = max(self.rounds, self._current_round + 1)
        while self._current_round < last:
            self._close_round()
        weights = self._weights()
        rows = []
        for round_ in range(last):
            this_round = self._rounds[round_]
            population = this_round.population or _Cell()
            row: dict[str, Any] = {
                "round": round_,
                "agents": self.agents,
                "spoke": this_round.spoke,
                "spoke_share": this_round.spoke / self.agents,
                "ever_spoke": this_round.ever_spoke,
                "ever_spoke_share": this_round.ever_spoke / self.agents,
                "n": this_round.written.n,
                **this_round.written.means(weights),
            }
            pop = population.means(weights)
            retained = population.text.get("fact_retention", (0.0, 0))[0]
            pop["fact_retention"] = retained / self.agents if self.has_facts else None
            for name in METRICS:
                row[f"population_{name}"] = pop[name]
            row["population_n_embedded"] = pop["n_embedded"]
            rows.append(row)
        return rows

    def by_min_generation(self) -> list[dict[str, Any]]:
        """Per min_generation of the model messages: count and means."""
        weights = self._weights()
        return [
            {"min_generation": g, "n": cell.n, **cell.means(weights)}
            for g, cell in sorted(self._min_generation.items())
        ]

    def by_ancestry(self) -> list[dict[str, Any]]:
        """Per round, model messages with and without fresh human ancestry (a human root
        emitted after round 0): count and means."""
        weights = self._weights()
        return [
            {"round": r, "fresh_human": fresh, "n": cell.n, **cell.means(weights)}
            for (r, fresh), cell in sorted(self._ancestry.items())
        ]

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every view by name (the run record's fields and the manifest's keys)."""
        return {
            "drift_by_round": self.by_round(),
            "drift_by_min_generation": self.by_min_generation(),
            "drift_by_ancestry": self.by_ancestry(),
        }
