"""summary.md: final outcome per condition with CIs over the messages and over the whole
population, the difference to the baseline with a bootstrap CI, speaking shares, attractors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from service.measure.report import format_value
from service.measure.stats import Summary, bootstrap_difference, summarize
from service.study.tables import AttractorRow, Final

NOTE = (
    "Conditions share the base spec's number of agents and rounds unless the grid varies "
    "them, so topology comparisons are at a matched number of agents and rounds; other "
    "differences between topologies (who acts in a round, how often a text is merged, "
    "whether the source stays readable) remain and are part of what is compared. CIs "
    "over messages treat the messages of a condition as independent; they are not (the "
    "messages of one run share ancestors), so read them as a lower bound on the "
    "uncertainty and compare them with the spread between replicates."
)


def _ci(s: Summary) -> str:
    if s.mean is None:
        return "- (n=0)"
    if s.ci_low is None:
        return f"{s.mean:.3f} (n={s.n})"
    return f"{s.mean:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}] (n={s.n})"


def _diff(values: list[float], baseline: list[float]) -> str:
    diff = bootstrap_difference(values, baseline)
    if diff is None:
        return "-"
    return f"{diff.estimate:+.3f} [{diff.ci_low:+.3f}, {diff.ci_high:+.3f}]"


def write_summary(
    path: Path,
    *,
    name: str,
    outcome: str,
    baseline: str,
    finals: dict[str, Final],
    attractors: list[AttractorRow],
    replicates: int,
    run_count: int,
    assumptions: Sequence[str] = (),
) -> Path:
    base = finals[baseline]
    lines = [
        f"# Study {name}",
        "",
        f"{len(finals)} conditions x {replicates} replicates = {run_count} runs. "
        f"Outcome: `{outcome}` at the end of each run; baseline: `{baseline}`. "
        "Intervals are 95% (t-based for means, bootstrap for differences).",
        "",
        "| condition | final round, messages | whole population | vs baseline (messages) "
        "| vs baseline (population) | agent-rounds spoken | turns with input spoken "
        "| agents ever spoken |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for condition, final in finals.items():
        lines.append(
            f"| {condition} | {_ci(summarize(final.messages))} "
            f"| {_ci(summarize(final.population))} "
            f"| {_diff(final.messages, base.messages)} "
            f"| {_diff(final.population, base.population)} "
            f"| {final.spoke_share:.1%} | {final.spoke_when_reading:.1%} "
            f"| {final.ever_spoke_share:.1%} |"
        )
    lines += [
        "",
        "*Final round, messages*: the messages written in the last round. *Whole population*: "
        "every agent's latest text at the end; for retention outcomes an agent that never "
        "spoke counts as retaining nothing, for other outcomes it is left out. *Agent-rounds "
        "spoken*: messages written over agents x rounds (an agent only acts when it has "
        "something unread, so in a chain this is about 1 / rounds). *Turns with input "
        "spoken*: of the turns in which an agent had something to read, the share in which "
        "its input policy let it write (the rest are silent turns). A condition that does "
        "well on messages but not on the population, or that leaves agents silent, wins by "
        "silencing agents.",
        "",
        NOTE,
        "",
        "## Attractors",
        "",
    ]
    fitted = [row for row in attractors if row.fit is not None]
    if not fitted:
        lines.append(
            "No attractor fit: it needs chains that start from different texts "
            "(`source_variants` in the study)."
        )
    else:
        lines += [
            "| group | metric | chains | slope | strength | position |",
            "|---|---|---|---|---|---|",
        ]
        for row in fitted:
            fit = row.fit
            assert fit is not None
            lines.append(
                f"| {row.group} | {row.metric} | {fit.n} | {fit.slope:.3f} "
                f"| {fit.strength:.3f} | {format_value(fit.position)} |"
            )
        lines += [
            "",
            "Final value regressed on the source text's value across chains (Perez et al. "
            "2024): strength = 1 - |slope| (1: every chain ends at the same value), position "
            "= intercept / (1 - slope).",
        ]
    if assumptions:
        lines += ["", *assumptions]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
