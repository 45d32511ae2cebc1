"""The run manifest: what ran, with which versions, seeds and timings."""

from __future__ import annotations

import json
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from agents.channel import Channel
from agents.persona import Persona
from agents.personas import BUILTIN_PERSONAS

PACKAGES = (
    "driftlab",
    "numpy",
    "networkx",
    "redis",
    "openai",
    "pydantic",
    "aiohttp",
    "llama-cpp-python",
    "sentence-transformers",
    "torch",
)
RUN_FIELDS = (
    "id",
    "status",
    "replicate",
    "backend",
    "embedder",
    "created_at",
    "started_at",
    "finished_at",
    "error",
)


def versions() -> dict[str, str | None]:
    """Python and the installed versions of the packages that shape results (None if absent)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def build_manifest(
    run: dict[str, Any], views: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The manifest of a stored run record, with its drift views (by round, population-wide
    measures included; by min_generation; by fresh human ancestry; transmission by round)
    and its transmission totals (merges, reach, human-text reads)."""
    spec = run.get("spec", {})
    manifest: dict[str, Any] = {name: run.get(name) for name in RUN_FIELDS if name in run}
    manifest.update(
        seed=spec.get("seed"),
        graph_seed=spec.get("seed") if spec.get("graph_seed") is None else spec["graph_seed"],
        spec=spec,
        counts=run.get("counts"),
        transmission=run.get("transmission"),
        faults=run.get("faults", {}),
        notices=run.get("notices", []),
        timings={
            "created_at": run.get("created_at"),
            "started_at": run.get("started_at"),
            "finished_at": run.get("finished_at"),
            "round_seconds": run.get("round_seconds", []),
        },
        versions=run.get("versions") or versions(),
    )
    if run.get("backend") == "synthetic":
        manifest["channel"] = channel_in_force(spec)
    manifest.update(views or {})
    return manifest


def channel_in_force(spec: dict[str, Any]) -> dict[str, Any]:
    """The synthetic channel's rules and each persona's resolved style for a stored spec."""
    personas = {
        p["name"]: Persona.model_validate_json(json.dumps(p)) for p in spec.get("personas", [])
    }
    for name in spec.get("persona_map", {}).values():
        if name in BUILTIN_PERSONAS:
            personas.setdefault(name, BUILTIN_PERSONAS[name])
    channel = Channel.model_validate_json(json.dumps(spec.get("channel", {})))
    return channel.in_force(list(personas.values()))
