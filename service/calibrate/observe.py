"""The real side of calibration: chains of a chat model retelling each source, one persona per
chain, run by the engine like any experiment (stored in Redis, exported under the report)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.calibrate.curves import Chain
from service.experiment.experiment import load
from service.experiment.settings import Settings
from service.experiment.spec import Source
from service.measure.export import iter_records
from service.measure.metrics import words
from service.provenance.store import ProvenanceStore
from service.runs import RunHooks, run_spec

SOURCE_NODE = "source"


@dataclass(frozen=True)
class ModelChoice:
    """The chat model to calibrate against and how generations are measured."""

    backend: str
    model: str | None = None
    base_url: str | None = None
    embedder: str = "local"
    max_tokens: int = 320
    seed: int = 0
    n_threads: int | None = None  # the local backend's (default: every core)


def chain_spec(
    name: str, source: Source, personas: list[str], generations: int, choice: ModelChoice
) -> dict[str, Any]:
    """One run: the source feeds one chain of `generations` agents per persona."""
    edges: list[list[str]] = []
    persona_map: dict[str, str] = {}
    for persona in personas:
        previous = SOURCE_NODE
        for generation in range(1, generations + 1):
            node = f"{persona}-{generation}"
            edges.append([previous, node])
            persona_map[node] = persona
            previous = node
    spec: dict[str, Any] = {
        "name": f"calibrate-{name}",
        "seed": choice.seed,
        "backend": choice.backend,
        "embedder": choice.embedder,
        "embed_sample": "all",
        "task": "summarize",
        "personas": personas,
        "assignment": "explicit",
        "persona_map": persona_map,
        "topology": {"kind": "edges", "edges": edges, "human_sources": [SOURCE_NODE]},
        "rounds": generations,
        "max_inputs": 1,
        "max_tokens": choice.max_tokens,
        "source": source.model_dump(),
    }
    if choice.n_threads is not None:
        spec["local"] = {"n_threads": choice.n_threads}
    if choice.model is not None:
        spec["model"] = choice.model
    if choice.base_url is not None:
        spec["base_url"] = choice.base_url
    return spec


async def observe(
    store: ProvenanceStore,
    sources: dict[str, Source],
    personas: list[str],
    generations: int,
    choice: ModelChoice,
    settings: Settings,
    out_dir: Path,
    hooks: RunHooks | None = None,
) -> tuple[list[Chain], list[str]]:
    """Run every source's chains; the chains' curves and the notices the runs gave."""
    chains: list[Chain] = []
    notices: list[str] = []
    for name, source in sources.items():
        experiment = load(chain_spec(name, source, personas, generations, choice), settings)
        outcome = await run_spec(experiment, store, out_dir=out_dir / "runs" / name, hooks=hooks)
        if outcome.result.status != "succeeded":
            raise RuntimeError(f"calibration run {outcome.run_id} ended {outcome.result.status}")
        notices += outcome.result.notices
        records = [r async for r in iter_records(store, outcome.run_id)]
        chains += chains_of(name, source, records, personas, generations)
    return chains, notices


def chains_of(
    name: str,
    source: Source,
    records: list[dict[str, Any]],
    personas: list[str],
    generations: int,
) -> list[Chain]:
    """Each persona's chain as curves by generation, from a run's exported records."""
    source_words = len(words(source.text))
    by_persona: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    origin: dict[str, Any] | None = None
    for record in records:
        if record["origin"] == "human":
            origin = record["drift"]
        else:
            by_persona[record["persona"]][record["generation"]] = record["drift"]
    chains = []
    for persona in personas:
        drifts = [origin or {}] + [
            by_persona[persona].get(g, {}) for g in range(1, generations + 1)
        ]
        values = {
            "fact_retention": _series(d.get("fact_retention") for d in drifts),
            "length_ratio": _series(
                None if "length_words" not in d else d["length_words"] / source_words
                for d in drifts
            ),
            "cosine": _series(d.get("cosine") for d in drifts),
        }
        values["cosine"][0] = 0.0
        chains.append(Chain(name, persona, values))
    return chains


def _series(values: Any) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
