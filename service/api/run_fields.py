"""`GET /v1/runs?fields=`: which fields of each run record a listing carries. By default the
summary, a small fixed set; `full` is the whole record but the spec (the listing before issue
22); `spec` is there only when asked for."""

from __future__ import annotations

from typing import Any

from service.api.models import RunView
from service.api.state import record_view

SUMMARY = "summary"
FULL = "full"
SUMMARY_FIELDS = (
    "name",
    "status",
    "replicate",
    "backend",
    "embedder",
    "rounds",
    "rounds_done",
    "agents",
    "counts",
    "faults",
    "created_at",
    "started_at",
    "finished_at",
    "error",
)
FIELDS_HELP = (
    "comma-separated run record fields to return in each item's `record`: `summary` (the "
    f"default) for {', '.join(SUMMARY_FIELDS)} (`name` is the spec's, `rounds_done` the "
    "rounds finished, a running run's read from its last event); `full` for every record "
    "field but the spec (the listing's default before issue 22); `spec` for the experiment "
    "spec; any other record field by name (e.g. `drift`). `full,spec` gives whole records"
)


def requested(fields: str | None) -> tuple[str, ...]:
    """The record fields `fields` names (`summary` expanded; the summary when it names none)."""
    parts = [part.strip() for part in (fields or "").split(",")]
    names: list[str] = []
    for name in [part for part in parts if part] or [SUMMARY]:
        names += SUMMARY_FIELDS if name == SUMMARY else [name]
    return tuple(dict.fromkeys(names))


def listed_view(
    record: dict[str, Any], fields: tuple[str, ...], rounds_done: int | None
) -> RunView:
    """The run as a listing shows it: the `fields` of its record (with `full`, every field but
    the spec, and the others named), `rounds_done` the store's count (None when not asked)."""
    spec = record.get("spec")
    source = {
        **record,
        "name": spec.get("name") if isinstance(spec, dict) else None,
        "rounds_done": rounds_done,
    }
    view = record_view(dict(record))
    named = {name: source[name] for name in fields if source.get(name) is not None}
    view.record = {**view.record, **named} if FULL in fields else named
    return view
