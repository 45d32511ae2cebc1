"""Per-generation drift: running means of every metric, fed one message at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from service.provenance.message import TextMetrics

SHOWN_COLUMNS = (
    "generation",
    "n",
    "euclidean",
    "cosine",
    "length_words",
    "unique_words",
    "type_token_ratio",
    "fact_retention",
)
TEXT_METRICS = ("length_words", "unique_words", "type_token_ratio", "fact_retention")
EMBEDDING_METRICS = ("euclidean", "cosine")
TAIL_METRICS = ("length_chars", "rare_word_retention", "entropy_ratio")
MEASURED_ON_TEXT = (*TEXT_METRICS, *TAIL_METRICS)
CORE_METRICS = (*TEXT_METRICS, *EMBEDDING_METRICS)
METRICS = (*CORE_METRICS, *TAIL_METRICS)
JUDGED = ("judged_fact_retention", "invented_claims")  # from the optional fact judge


@dataclass
class _Cell:
    total: float = 0.0
    count: int = 0


@dataclass
class DriftTable:
    """Mean of each metric and message count per true generation."""

    _messages: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    _cells: dict[tuple[int, str], _Cell] = field(default_factory=lambda: defaultdict(_Cell))

    def add(self, generation: int, values: Mapping[str, float | None]) -> None:
        """Count one message of `generation`; None values (metric not measured) are skipped."""
        self._messages[generation] += 1
        self.add_values(generation, values)

    def add_text_metrics(self, generation: int, drift: TextMetrics) -> None:
        """Count one message of `generation` with the metrics measured on its text."""
        self._messages[generation] += 1
        cells = self._cells
        for name in MEASURED_ON_TEXT:
            value = getattr(drift, name)
            if value is not None:
                cell = cells[generation, name]
                cell.total += value
                cell.count += 1

    def add_values(self, generation: int, values: Mapping[str, float | None]) -> None:
        """Add metrics measured later (embeddings) for an already counted message."""
        for name, value in values.items():
            if value is not None:
                cell = self._cells[generation, name]
                cell.total += value
                cell.count += 1

    def rows(self) -> list[dict[str, float | int | None]]:
        """One row per generation: generation, n, each metric's mean, n_embedded, the judge's
        means and n_judged."""
        rows = []
        for generation in sorted(self._messages):
            row: dict[str, float | int | None] = {
                "generation": generation,
                "n": self._messages[generation],
            }
            for name in METRICS:
                cell = self._cells.get((generation, name))
                row[name] = cell.total / cell.count if cell and cell.count else None
            embedded = self._cells.get((generation, "euclidean"))
            row["n_embedded"] = embedded.count if embedded else 0
            for name in JUDGED:
                cell = self._cells.get((generation, name))
                row[name] = cell.total / cell.count if cell and cell.count else None
            judged = self._cells.get((generation, JUDGED[1]))
            row["n_judged"] = judged.count if judged else 0
            rows.append(row)
        return rows
