"""summary.md and summary.json: per-condition means over runs with 95% intervals, paired
comparisons with the baseline (raw and Holm-adjusted p, effect sizes, replicates needed),
the speaking shares beside every effect, and the attractor table."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.measure.stats import Summary
from service.study.attractor_section import attractor_section
from service.study.comparisons import COMPARED, MIN_RELIABLE_REPLICATES, Comparison, StudyStats
from service.study.tables import AttractorRow

NOTE = (
    "Conditions share the base spec's number of agents and rounds unless the grid varies "
    "them, so topology comparisons are at a matched number of agents and rounds; other "
    "differences between topologies (who acts in a round, how often a text is merged, "
    "whether the source stays readable) remain and are part of what is compared."
)
MEASURE_NAMES = {
    "final": "final round",
    "speakers": "agents that spoke",
    "population": "whole population",
    "spoke_share": "agents ever spoken",
    "final_spoke_share": "agents speaking in the final round",
    "turns_spoken": "turns with input spoken",
}
NOT_DETECTABLE = "not detectable in any feasible n"
UNRELIABLE = (
    "**Warning: fewer than {n} replicates per condition ({fewest}); the intervals and p "
    "values below are unreliable.**"
)


def _mean(m: Summary, share: bool = False) -> str:
    if m.mean is None:
        return "-"
    value = f"{m.mean:.1%}" if share else f"{m.mean:.3f}"
    if m.ci_low is None or m.ci_high is None:
        return value
    if share:
        return f"{value} [{m.ci_low:.1%}, {m.ci_high:.1%}]"
    return f"{value} [{m.ci_low:.3f}, {m.ci_high:.3f}]"


def _share(m: Summary) -> str:
    return "-" if m.mean is None else f"{m.mean:.0%}"


def _p(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _comparison(c: Comparison, spoke: str) -> str:
    test = c.test
    if test is None:
        cells = [c.condition, c.baseline, MEASURE_NAMES[c.measure], "<2", "-", "-", "-", "-"]
        return "| " + " | ".join([*cells, "no", "-", spoke]) + " |"
    d_z = "inf" if not math.isfinite(test.d_z) else f"{test.d_z:+.2f}"
    needed = str(c.replicates_needed) if c.replicates_needed else NOT_DETECTABLE
    return (
        f"| {c.condition} | {c.baseline} | {MEASURE_NAMES[c.measure]} | {test.n} "
        f"| {test.difference:+.3f} [{test.ci_low:+.3f}, {test.ci_high:+.3f}] | {d_z} "
        f"| {_p(test.p)} | {_p(c.p_holm)} | {'yes' if c.supported else 'no'} | {needed} "
        f"| {spoke} |"
    )


def write_summary(
    path: Path,
    *,
    name: str,
    stats: StudyStats,
    attractors: list[AttractorRow],
    replicates: int,
    run_count: int,
    assumptions: Sequence[str] = (),
) -> Path:
    lines = [
        f"# Study {name}",
        "",
        f"{len(stats.conditions)} conditions x {replicates} replicates = {run_count} runs. "
        f"Outcome: `{stats.outcome}` at the end of each run; baseline: `{stats.baseline}`. "
        "The run is the unit: every mean, interval and test below is over one number per "
        "run (n = runs), never over pooled messages. Intervals are 95% t intervals "
        "(kept inside [0, 1] for proportions, on the logit scale).",
        "",
    ]
    if stats.unreliable:
        lines += [
            UNRELIABLE.format(n=MIN_RELIABLE_REPLICATES, fewest=stats.fewest_replicates),
            "",
        ]
    lines += [
        "## Conditions (mean over runs)",
        "",
        "| condition | runs | final round | agents that spoke | whole population "
        "| agents ever spoken | agents speaking in the final round | turns with input spoken |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in stats.conditions:
        m = s.means
        lines.append(
            f"| {s.condition} | {s.runs} | {_mean(m['final'])} | {_mean(m['speakers'])} "
            f"| {_mean(m['population'])} | {_mean(m['spoke_share'], True)} "
            f"| {_mean(m['final_spoke_share'], True)} | {_mean(m['turns_spoken'], True)} |"
        )
    lines += [
        "",
        "*Final round*: mean over the messages written in the last round. *Agents that "
        "spoke*: mean over the agents that ever spoke, each agent's latest text. *Whole "
        "population*: every agent's latest text, an agent that never spoke scored as the "
        "empty text (no facts, no rare words, no words; no embedding distance, so `-` for "
        "`euclidean` when an agent is silent). A condition that does well on the final round "
        "but not on the population, or that leaves agents silent, wins by silencing agents.",
        "",
        "## Comparisons with the baseline (vs baseline, paired by replicate)",
        "",
    ]
    if not stats.comparisons:
        lines.append("The study has one condition per source text: nothing to compare.")
    else:
        lines += [
            "| condition | baseline | measure | pairs | difference [95% CI] | d_z | p | p (Holm) "
            "| supported | replicates for 80% power | agents ever spoken (condition vs "
            "baseline) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        shares = {s.condition: s.means["spoke_share"] for s in stats.conditions}
        for c in stats.comparisons:
            spoke = f"{_share(shares[c.condition])} vs {_share(shares[c.baseline])}"
            lines.append(_comparison(c, spoke))
        lines += [
            "",
            "Replicate i of every condition shares its seeds (see manifest.json), so each "
            "difference is a mean of per-replicate differences with its t interval. Holm's "
            f"correction runs over the comparisons of one measure ({', '.join(COMPARED)}: one "
            "family each); *supported* means Holm-adjusted p < 0.05, anything else is a null "
            "result at this number of replicates. d_z = mean difference / sd of the "
            "differences. *Replicates for 80% power*: paired replicates for the observed d_z "
            "to reach 80% power at 0.05 / (comparisons in the family), Holm's strictest step.",
        ]
    lines += ["", NOTE, "", *attractor_section(attractors)]
    if assumptions:
        lines += ["", *assumptions]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_summary_json(path: Path, *, name: str, stats: StudyStats, replicates: int) -> Path:
    body: dict[str, Any] = {"name": name, "replicates": replicates, **stats.to_json()}
    path.write_text(json.dumps(body, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return path
