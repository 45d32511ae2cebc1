"""report.md: the drift table and the first and last texts side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.measure.drift_table import SHOWN_COLUMNS
from service.measure.transmission import TRANSMISSION_COLUMNS

SHOWN = 3
TRANSMISSION_SHOWN = tuple(c for c in TRANSMISSION_COLUMNS if c != "reach_2")


def format_value(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


ROUND_SHOWN = {
    "round": "round",
    "spoke_share": "spoke",
    "ever_spoke_share": "ever spoke",
    "fact_retention": "facts (written)",
    "population_fact_retention": "facts (population)",
    "length_words": "words (written)",
    "population_length_words": "words (population)",
    "euclidean": "euclid (written)",
    "population_euclidean": "euclid (population)",
}


def drift_markdown(
    rows: list[dict[str, Any]], columns: tuple[str, ...] = SHOWN_COLUMNS, headers: Any = None
) -> str:
    headers = headers or columns
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(format_value(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_report(
    run: dict[str, Any],
    first: list[dict[str, Any]],
    last: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    path: Path,
    views: dict[str, list[dict[str, Any]]] | None = None,
    plot: str | None = "drift.png",
) -> Path:
    """The drift tables (by generation; by round over the messages written and over the whole
    population), and the `first` and `last` texts of the run side by side."""
    spec = run.get("spec", {})
    parts = [
        f"# {spec.get('name', 'run')}: {run['id']}",
        "",
        f"Backend `{run.get('backend')}`, embedder `{run.get('embedder')}`, task "
        f"`{spec.get('task')}`, {spec.get('rounds')} rounds, seed {spec.get('seed')}, "
        f"status `{run.get('status')}`.",
        "",
    ]
    if plot:
        parts += [f"![drift by generation]({plot})", ""]
    parts += [
        "## Drift by generation",
        "",
        drift_markdown(rows, _generation_columns(rows)),
        "",
    ]
    if views and views.get("drift_by_round"):
        parts += [
            "## Drift by round: messages written and whole population",
            "",
            "`spoke`: share of agents that wrote in the round; `ever spoke`: share that have "
            "written by its end. *Written*: means over the round's messages. *Population*: "
            "each agent's latest text; an agent that never spoke retains no fact, the other "
            "population means are over the agents that have spoken.",
            "",
            drift_markdown(
                views["drift_by_round"], tuple(ROUND_SHOWN), tuple(ROUND_SHOWN.values())
            ),
            "",
        ]
    totals = run.get("transmission")
    if views and views.get("transmission_by_round") and totals:
        parts += [
            "## Transmission: merges and human-text exposure",
            "",
            f"{totals['model']} model messages: {format_value(totals['parents_mean'], 2)} "
            f"parents each on average, {format_value(totals['merged_share'])} merged (2 or "
            f"more parents), {totals['human_reads']} human texts read; reach "
            f"{format_value(totals['reach_1'])} directly, {format_value(totals['reach_3'])} "
            f"within 3 retellings; generation {totals['generation_max']} reached.",
            "",
            drift_markdown(views["transmission_by_round"], TRANSMISSION_SHOWN),
            "",
        ]
    parts += [
        "## First and last texts",
        "",
        "| first | last |",
        "|---|---|",
    ]
    for index in range(max(len(first), len(last))):
        left = _cell(first[index]) if index < len(first) else ""
        right = _cell(last[index]) if index < len(last) else ""
        parts.append(f"| {left} | {right} |")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def _generation_columns(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """The shown columns, with the fact judge's beside them when it judged anything."""
    if any(row.get("n_judged") for row in rows):
        return (*SHOWN_COLUMNS, "judged_fact_retention", "invented_claims", "n_judged")
    return SHOWN_COLUMNS


def _cell(record: dict[str, Any]) -> str:
    head = (
        f"**{record['node']}**, round {record['round']}, {record['origin']} generation "
        f"{record['generation']}, {record['drift']['length_words']} words"
    )
    text = " ".join(record["text"].split()).replace("|", "\\|")
    return f"{head}<br><br>{text}"
