"""What a study on the synthetic backend assumes: the channel parameters in force, and for
each difference between conditions, which of them it can depend on (a section of summary.md).

On the synthetic backend an effect is made by the channel's rules, so it restates an
assumption: the `label` policy, for one, changes nothing when every persona's label trust is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.channel import Channel
from service.experiment.experiment import Experiment

LABEL_PARAMETERS = ("label_trust", "doubt_drop", "trust_keep", "doubt_trim")
LEVELLING_PARAMETERS = (
    "drop_rate x drop_scale",
    "length_pressure",
    "settled_change",
    "target_words x target_scale",
    "salience_*",
    "invent x invent_scale",
    "substitute x substitute_scale",
    "attraction x attraction_scale",
)
"""How far a text drifts per retelling: what any difference in who reads what rests on."""
PERSONA_COLUMNS = ("label_trust", "drop_rate", "target_words", "invent", "substitute")


def depends_on(axis: str, values: Sequence[Any]) -> str:
    """The channel parameters a difference along `axis` (a dotted spec path) can rest on."""
    if axis.startswith("channel."):
        return f"`{axis.removeprefix('channel.')}` itself (varied directly)"
    levelling = ", ".join(f"`{p}`" for p in LEVELLING_PARAMETERS)
    if axis in ("policy", "policy.kind") and any(_kind(v) == "label" for v in values):
        label = ", ".join(f"`{p}`" for p in LABEL_PARAMETERS)
        return (
            f"`label`: {label} (zero when every persona's label trust is 0), and "
            "`settled_change` (a text passed on unchanged is not steered by its labels); "
            f"the other policies: {levelling}"
        )
    if axis.startswith("provenance"):
        label = ", ".join(f"`{p}`" for p in LABEL_PARAMETERS)
        return f"under `label`: {label}; under filtering policies: {levelling}"
    if axis == "task":
        return f"the task multipliers (agents/reading.py, not in the channel block), {levelling}"
    if axis in ("personas", "persona_map", "assignment"):
        return "each persona's style (`channel.personas`), " + levelling
    return levelling


def _kind(value: Any) -> str | None:
    return value.get("kind") if isinstance(value, dict) else value


def channel_section(
    experiments: Sequence[tuple[str, Experiment]], axes: dict[str, dict[str, Any]]
) -> list[str]:
    """Markdown lines of the section, or none when no condition ran on the synthetic backend.
    `experiments` are (condition, experiment) pairs; `axes` the grid's values by axis."""
    synthetic = [(c, e) for c, e in experiments if e.backend == "synthetic"]
    if not synthetic:
        return []
    channels = dict.fromkeys(_rules(e.spec.channel) for _, e in synthetic)
    lines = [
        "## Channel assumptions (synthetic backend)",
        "",
        f"{len({c for c, _ in synthetic})} condition(s) ran on the synthetic channel: their "
        "differences are made by the channel's rules below (docs/synthetic.md), so they show "
        "what those assumptions imply, not what a language model does.",
        "",
        "| difference (grid axis) | can depend on |",
        "|---|---|",
    ]
    for axis, labelled in axes.items():
        lines.append(f"| `{axis}` | {depends_on(axis, list(labelled.values()))} |")
    lines += ["", "Channel rules in force:", ""]
    lines += [f"- {rules}" for rules in channels]
    first = synthetic[0][1]
    personas = list(dict.fromkeys(first.persona_of.values()))
    resolved = first.spec.channel.in_force(personas)["personas"]
    lines += [
        "",
        "Persona styles in force (first synthetic condition): "
        + "; ".join(
            f"{name}: " + ", ".join(f"{col} {style[col]}" for col in PERSONA_COLUMNS)
            for name, style in resolved.items()
        ),
    ]
    return lines


def _rules(channel: Channel) -> str:
    """The channel's global rules, and its persona overrides when it has any."""
    rules = channel.model_dump(exclude={"personas"})
    text = ", ".join(f"{name}={value}" for name, value in rules.items())
    if channel.personas:
        text += f"; persona overrides {channel.personas}"
    return text
