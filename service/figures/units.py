"""What each plotted metric is: its axis label with unit and the range its values live in."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    """A metric's panel title, y-axis label (with unit) and valid range."""

    title: str
    unit: str
    low: float = 0.0
    high: float = math.inf


METRIC_INFO: dict[str, MetricInfo] = {
    "fact_retention": MetricInfo("facts retained", "share of the source's facts", 0.0, 1.0),
    "judged_fact_retention": MetricInfo(
        "facts retained (judged)", "share of the source's facts", 0.0, 1.0
    ),
    "rare_word_retention": MetricInfo(
        "rare words kept", "share of the source's rare words", 0.0, 1.0
    ),
    "type_token_ratio": MetricInfo("type-token ratio", "unique / total words", 0.0, 1.0),
    "length_words": MetricInfo("length", "words"),
    "unique_words": MetricInfo("unique words", "words"),
    "length_chars": MetricInfo("length", "characters"),
    "entropy_ratio": MetricInfo("word entropy", "ratio to the source's"),
    "euclidean": MetricInfo("distance to the source", "Euclidean, unit embeddings", 0.0, 2.0),
    "cosine": MetricInfo("distance to the source", "cosine distance", 0.0, 2.0),
    "invented_claims": MetricInfo("invented claims", "claims per message"),
}
POPULATION = "population_"
X_LABELS = {
    "generation": "generation (model steps from the human text)",
    "round": "round (simulation step)",
}


def info(metric: str) -> MetricInfo:
    """The metric's description; `population_X` is X over every agent's latest text."""
    if metric.startswith(POPULATION):
        base = METRIC_INFO[metric.removeprefix(POPULATION)]
        return MetricInfo(f"{base.title}, whole population", base.unit, base.low, base.high)
    return METRIC_INFO[metric]


def plottable(metric: str) -> bool:
    """Whether `metric` has a description (and so may be plotted)."""
    return metric.removeprefix(POPULATION) in METRIC_INFO
