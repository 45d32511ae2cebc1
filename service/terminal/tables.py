"""Tables that fit the terminal: columns without data dropped, ids cut to their shortest
unique prefix, cells never wrapped (a long cell ends in an ellipsis); `--wide` shows ids and
times whole."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.table import Table

from service.measure.report import format_value
from service.provenance.run_lookup import shortest_unique_prefixes

RUN_COLUMNS = ("run", "status", "backend", "rounds", "messages", "finished")


def fitted_table(
    title: str,
    headers: Mapping[str, str],
    rows: Sequence[Mapping[str, Any]],
    digits: int = 3,
    width: int = 80,
) -> Table:
    """Numbers right-aligned, one line per row; a column no row has a value for is left out,
    and so are the last columns when they would not fit `width` (the caption names them)."""
    shown = {k: v for k, v in headers.items() if any(row.get(k) is not None for row in rows)}
    cells = {k: [format_value(row.get(k), digits) for row in rows] for k in shown}
    needed = {k: max(len(shown[k]), *map(len, cells[k])) + 3 for k in shown}
    left_out: list[str] = []
    while len(shown) > 1 and sum(needed[k] for k in shown) > width:
        left_out.insert(0, shown.pop(list(shown)[-1]))
    caption = f"left out at this width: {', '.join(left_out)}" if left_out else None
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False)
    for header in shown.values():
        table.add_column(header, justify="right", no_wrap=True, overflow="ellipsis")
    for index in range(len(rows)):
        table.add_row(*(cells[k][index] for k in shown))
    return table


def runs_table(runs: Sequence[Mapping[str, Any]], *, width: int = 80, wide: bool = False) -> Table:
    """Stored runs, oldest first, within `width` columns: ids as their shortest unique
    prefix (whole with `wide`), which every command taking a run id accepts; the columns
    that do not fit are left out, least useful first (finished, rounds, backend)."""
    ids = [str(run["id"]) for run in runs]
    shown_ids = ids if wide else shortest_unique_prefixes(ids)
    cells: dict[str, list[str]] = {
        "run": shown_ids,
        "status": [str(run.get("status", "?")) for run in runs],
        "messages": [str((run.get("counts") or {}).get("messages", "-")) for run in runs],
        "backend": [str(run.get("backend", "?")) for run in runs],
        "rounds": [str(run.get("rounds", "?")) for run in runs],
        "finished": [
            str(run.get("finished_at") or "-") if wide else _short_time(run.get("finished_at"))
            for run in runs
        ],
    }
    kept = list(cells)
    needed = {name: max(len(name), *(len(c) for c in cells[name])) + 2 for name in cells}
    while not wide and len(kept) > 2 and sum(needed[k] for k in kept) > width:
        kept.pop()
    table = Table(
        title="stored runs",
        title_justify="left",
        box=None,
        padding=(0, 1),
        header_style="bold",
    )
    for name in RUN_COLUMNS:
        if name in kept:
            right = name in {"rounds", "messages"}
            table.add_column(
                name,
                justify="right" if right else "left",
                no_wrap=True,
                min_width=needed[name] - 2,
            )
    for index in range(len(runs)):
        table.add_row(*(cells[name][index] for name in RUN_COLUMNS if name in kept))
    return table


def _short_time(iso: Any) -> str:
    """2026-12-03T08:14:39.123+00:00 as 12-03 08:14."""
    if not isinstance(iso, str) or len(iso) < 16 or iso[10] != "T":
        return "-" if iso is None else str(iso)
    return f"{iso[5:10]} {iso[11:16]}"
