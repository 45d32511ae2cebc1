"""A study's statistics from its run outcomes: per condition the mean of each measure over
its runs; per condition and measure the paired comparison with its baseline on the same
source text, with raw and Holm-adjusted p values, d_z and the replicates needed."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from service.measure.stats import Summary
from service.study.inference import (
    ALPHA,
    MAX_REPLICATES,
    Paired,
    holm,
    paired_test,
    replicate_mean,
    replicates_needed,
)
from service.study.outcomes import MEASURES, PROPORTIONS, SHARES, RunOutcome
from service.study.spec import SOURCE_AXIS

COMPARED = ("final", "population", "spoke_share")  # one Holm family each
MIN_RELIABLE_REPLICATES = 5


@dataclass(frozen=True)
class ConditionStats:
    condition: str
    runs: int
    means: dict[str, Summary]


@dataclass(frozen=True)
class Comparison:
    """condition - baseline on one measure, paired by replicate index."""

    measure: str
    condition: str
    baseline: str
    test: Paired | None
    p_holm: float | None
    supported: bool
    replicates_needed: int | None


@dataclass(frozen=True)
class StudyStats:
    outcome: str
    baseline: str
    conditions: list[ConditionStats]
    comparisons: list[Comparison]
    fewest_replicates: int

    @property
    def unreliable(self) -> bool:
        return self.fewest_replicates < MIN_RELIABLE_REPLICATES

    def widest_interval(self) -> float | None:
        """The widest 95% interval of a paired difference on `final` or `population` (of a
        condition mean when the study has no comparison); None when none is defined."""
        widths = [
            c.test.ci_high - c.test.ci_low
            for c in self.comparisons
            if c.test is not None and c.measure != "spoke_share"
        ]
        if not self.comparisons:
            widths = [
                m.ci_high - m.ci_low
                for s in self.conditions
                for name in ("final", "population")
                if (m := s.means[name]).ci_low is not None and m.ci_high is not None
            ]
        return max(widths) if widths else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (a non-finite d_z, from differences without spread, is null)."""
        body = asdict(self)
        for comparison in body["comparisons"]:
            test = comparison["test"]
            if test is not None and not math.isfinite(test["d_z"]):
                test["d_z"] = None
        body["unreliable"] = self.unreliable
        return body


def bounded(measure: str, outcome: str) -> bool:
    return measure in SHARES or outcome in PROPORTIONS


def baselines(runs: list[RunOutcome], baseline: str) -> dict[str, str]:
    """Each condition's baseline: the baseline condition's labels with the condition's own
    source text when the study has a source axis (never a baseline on another text)."""
    labels = {run.condition: run.labels for run in runs}
    if baseline not in labels:
        raise ValueError(f"baseline {baseline!r} has no runs")
    by_labels = {tuple(sorted(v.items())): name for name, v in labels.items()}
    result = {}
    for condition, own in labels.items():
        wanted = dict(labels[baseline])
        if SOURCE_AXIS in own:
            wanted[SOURCE_AXIS] = own[SOURCE_AXIS]
        match = by_labels.get(tuple(sorted(wanted.items())))
        if match is not None:
            result[condition] = match
    return result


def study_stats(runs: list[RunOutcome], *, outcome: str, baseline: str) -> StudyStats:
    """Per-condition means over runs and every condition's paired comparisons."""
    by_condition: dict[str, list[RunOutcome]] = defaultdict(list)
    for run in runs:
        by_condition[run.condition].append(run)
    conditions = [
        ConditionStats(
            condition,
            len(group),
            {
                name: replicate_mean(
                    [v for run in group if (v := run.measure(name)) is not None],
                    bounded=bounded(name, outcome),
                )
                for name in MEASURES
            },
        )
        for condition, group in by_condition.items()
    ]
    compared_with = baselines(runs, baseline)
    comparisons: list[Comparison] = []
    for measure in COMPARED:
        family = [
            (condition, base, _paired(by_condition[condition], by_condition[base], measure))
            for condition, base in compared_with.items()
            if condition != base
        ]
        tested = [test.p for _, _, test in family if test is not None]
        adjusted = iter(holm(tested))
        level = ALPHA / max(1, len(tested))  # Holm's strictest step
        for condition, base, test in family:
            p_holm = next(adjusted) if test is not None else None
            comparisons.append(
                Comparison(
                    measure,
                    condition,
                    base,
                    test,
                    p_holm,
                    p_holm is not None and p_holm < ALPHA,
                    replicates_needed(test.d_z, alpha=level, cap=MAX_REPLICATES)
                    if test is not None
                    else None,
                )
            )
    fewest = min((len(group) for group in by_condition.values()), default=0)
    return StudyStats(outcome, baseline, conditions, comparisons, fewest)


def _paired(treated: list[RunOutcome], base: list[RunOutcome], measure: str) -> Paired | None:
    """The paired test over the replicate indices both conditions have a value for."""
    values = {run.replicate: run.measure(measure) for run in base}
    pairs = [
        (v, b)
        for run in treated
        if (v := run.measure(measure)) is not None and (b := values.get(run.replicate)) is not None
    ]
    return paired_test([v for v, _ in pairs], [b for _, b in pairs])
