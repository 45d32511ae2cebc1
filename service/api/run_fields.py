"""`GET /v1/runs?fields=`: which fields of each run record a listing carries. `summary` is a
small fixed set; `spec` is there only when asked for; without `fields`, the whole record
without its spec, as before."""

from __future__ import annotations

from typing import Any

from service.api.models import RunView
from service.api.state import record_view

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
    "comma-separated run record fields to return in each item's `record`: `summary` for "
    f"{', '.join(SUMMARY_FIELDS)}; `spec` for the experiment spec; any other record field by "
    "name (e.g. `drift`). Without it: the whole record but the spec"
)


def requested(fields: str | None) -> tuple[str, ...] | None:
    """The record fields `fields` names (`summary` expanded), or None for the default."""
    if fields is None:
        return None
    names: list[str] = []
    for name in (part.strip() for part in fields.split(",")):
        if name == "summary":
            names += SUMMARY_FIELDS
        elif name:
            names.append(name)
    return tuple(dict.fromkeys(names))


def listed_view(record: dict[str, Any], fields: tuple[str, ...] | None) -> RunView:
    """The run as a listing shows it: `fields` of its record (the spec's `name` included
    under `name`), or the default view."""
    if fields is None:
        return record_view(record)
    spec = record.get("spec") or {}
    source = {**record, "name": spec.get("name") if isinstance(spec, dict) else None}
    view = record_view(dict(record))
    view.record = {name: source[name] for name in fields if source.get(name) is not None}
    return view
