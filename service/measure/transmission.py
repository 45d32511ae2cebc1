"""How texts travelled in a run, per round and in total: merges, generations reached and
human-text exposure. Fed the run's records (any order within a round is fine).

- `parents_mean`: parents per model message; `merged_share`: the share with two or more;
- `human_reads`: human texts read (human parents, summed over model messages);
- `reach_k` (k = 1, 2, 3): the share of model messages within k retellings of a human text
  (`min_generation <= k`); `reach_1` is the share that read a human text directly;
- `generation_max`: the longest retelling chain reached (the largest `generation`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

REACH_WITHIN = (1, 2, 3)
REACH_COLUMNS = tuple(f"reach_{k}" for k in REACH_WITHIN)
TRANSMISSION_COLUMNS = (
    "round",
    "model",
    "llm_calls",
    "parents_mean",
    "merged_share",
    "human_reads",
    *REACH_COLUMNS,
    "generation_max",
)
RUN_OUTCOMES = (
    "reach_1",
    "reach_2",
    "reach_3",
    "human_reads",
    "human_reads_per_message",
    "parents_mean",
    "merged_share",
    "generation_max",
    "llm_calls_per_round",
)
"""The per-run numbers of `Transmission.totals()` a study compares across conditions."""


@dataclass
class _Counts:
    model: int = 0
    llm_calls: int = 0
    parents: int = 0
    merged: int = 0
    human_reads: int = 0
    generation_max: int = 0
    within: dict[int, int] = field(default_factory=lambda: dict.fromkeys(REACH_WITHIN, 0))

    def add(self, record: dict[str, Any]) -> None:
        parents = len(record["parents"])
        self.model += 1
        self.llm_calls += int(record.get("attempts") or 0)
        self.parents += parents
        self.merged += parents >= 2
        self.human_reads += round((record.get("human_input_share") or 0.0) * parents)
        self.generation_max = max(self.generation_max, record["generation"])
        for k in REACH_WITHIN:
            self.within[k] += record["min_generation"] <= k

    def row(self) -> dict[str, Any]:
        n = self.model
        return {
            "model": n,
            "llm_calls": self.llm_calls,
            "parents_mean": self.parents / n if n else None,
            "merged_share": self.merged / n if n else None,
            "human_reads": self.human_reads,
            **{f"reach_{k}": self.within[k] / n if n else None for k in REACH_WITHIN},
            "generation_max": self.generation_max,
        }


class Transmission:
    """The transmission view of one run that ran `rounds` rounds."""

    def __init__(self, rounds: int = 0) -> None:
        self.rounds = rounds
        self._rounds: dict[int, _Counts] = defaultdict(_Counts)
        self._total = _Counts()

    def add(self, record: dict[str, Any]) -> None:
        """Count one record (human records are not model messages and count nothing)."""
        if record["origin"] != "model":
            return
        self._rounds[record["round"]].add(record)
        self._total.add(record)

    def by_round(self) -> list[dict[str, Any]]:
        """One row per round (a round without model messages has model 0)."""
        last = max(self.rounds, max(self._rounds, default=-1) + 1)
        return [{"round": r, **self._rounds.get(r, _Counts()).row()} for r in range(last)]

    def totals(self) -> dict[str, Any]:
        """The whole run: RUN_OUTCOMES and the model message count."""
        row = self._total.row()
        rounds = max(self.rounds, max(self._rounds, default=-1) + 1)
        row["human_reads_per_message"] = row["human_reads"] / row["model"] if row["model"] else None
        row["llm_calls_per_round"] = row["llm_calls"] / rounds if rounds else None
        return row
