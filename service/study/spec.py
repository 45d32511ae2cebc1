"""The study spec: a base experiment, fixed changes to it (`set`), a grid of variations over
spec fields (dotted paths), optional source variants and replicates; expanded into
conditions, each a raw experiment spec."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.errors import Problem, SpecError
from service.experiment.settings import Settings
from service.experiment.spec_file import read_spec_file

ExtraMetric = Literal["rouge_l", "chrf"]
Outcome = Literal[
    "fact_retention", "rare_word_retention", "length_words", "type_token_ratio", "euclidean"
]
AttractorMetric = Literal["length_words", "unique_words", "type_token_ratio", "length_chars"]
DEFAULT_ATTRACTOR_METRICS: tuple[AttractorMetric, ...] = ("length_words", "type_token_ratio")
SOURCE_AXIS = "source"
MAX_NAME_IN_RUN_ID = 60
AUTO_START = 5  # replicates a `replicates: auto` study starts with
AA_SEED_OFFSET = 1_000_003  # the A/A copy's seed: far from seeds a user picks by hand


class SourceVariant(BaseModel):
    """One starting text: replaces the base spec's `source` and `human_corpus`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(None, min_length=1)
    text: str = Field(min_length=1)
    facts: list[dict[str, Any]] = Field(default_factory=list)
    human_corpus: list[str] = Field(default_factory=list)


class StudySpec(BaseModel):
    """What `driftlab study` reads (docs/studies.md)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field("study", min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    base: str | dict[str, Any]
    set: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any] | dict[str, Any]]
    source_variants: list[SourceVariant] = Field(default_factory=list)
    replicates: Annotated[int, Field(ge=1, le=1000)] | Literal["auto"] = 1
    replicates_cap: int = Field(30, ge=AUTO_START, le=1000)
    target_ci_width: float = Field(0.1, gt=0)
    vary_graph: bool = False
    parallel: int = Field(2, ge=1, le=64)
    baseline: str | None = None
    metrics: list[ExtraMetric] = Field(default_factory=list)
    outcome: Outcome = "fact_retention"
    attractor_metrics: list[AttractorMetric] = Field(
        default_factory=lambda: list(DEFAULT_ATTRACTOR_METRICS)
    )

    @field_validator("replicates", mode="before")
    @classmethod
    def _replicates(cls, value: Any) -> Any:
        if value == "auto" or (type(value) is int and 1 <= value <= 1000):
            return value
        raise ValueError(f"replicates must be a whole number from 1 to 1000 or auto, got {value!r}")

    @field_validator("set")
    @classmethod
    def _dotted_paths(cls, fixed: dict[str, Any]) -> dict[str, Any]:
        for path in fixed:
            if not path or any(not part for part in path.split(".")):
                raise ValueError(f"set field {path!r} is not a dotted path of spec fields")
        return fixed

    @field_validator("grid")
    @classmethod
    def _axes_not_empty(
        cls, grid: dict[str, list[Any] | dict[str, Any]]
    ) -> dict[str, list[Any] | dict[str, Any]]:
        if not grid:
            raise ValueError("the grid is empty: give at least one field with a list of values")
        for path, values in grid.items():
            if not values:
                raise ValueError(f"grid.{path} has no values")
            if not path or any(not part for part in path.split(".")):
                raise ValueError(f"grid field {path!r} is not a dotted path of spec fields")
        return grid


@dataclass(frozen=True)
class Condition:
    """One cell of the grid: a label per axis and the raw experiment spec it runs."""

    index: int
    labels: dict[str, str]
    values: dict[str, Any]
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return ", ".join(f"{axis}={label}" for axis, label in self.labels.items())


@dataclass(frozen=True)
class Planned:
    """One run of a study: a condition, a replicate and its deterministic run id."""

    condition: Condition
    replicate: int
    run_id: str
    raw: dict[str, Any]


def read_study(path: Path, settings: Settings | None = None) -> tuple[StudySpec, dict[str, Any]]:
    """Validate a study file; returns the study and its base spec (read relative to it)."""
    return parse_study(read_spec_file(path, settings), path.parent, settings)


def parse_study(
    raw: Any, base_dir: Path, settings: Settings | None = None
) -> tuple[StudySpec, dict[str, Any]]:
    """Validate a raw study; returns the study and its base spec (a file read relative to
    `base_dir`, or the inline spec)."""
    try:
        study = StudySpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError([_problem(error) for error in exc.errors()]) from None
    if isinstance(study.base, str):
        base_path = (base_dir / study.base).resolve()
        if not base_path.is_file():
            raise SpecError([Problem("base", f"no spec file {study.base!r} next to the study")])
        base = read_spec_file(base_path, settings)
    else:
        base = study.base
    return study, base


def _problem(error: Any) -> Problem:
    field = ".".join(str(part) for part in error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown study field"
    if error["type"] == "literal_error":
        message = f"unknown name {error['input']!r}; expected {error['ctx']['expected']}"
    return Problem(field, message.removeprefix("Value error, "))


def conditions(study: StudySpec, base: dict[str, Any]) -> list[Condition]:
    """Every combination of the grid's values (and the source variants, as one more axis),
    in grid order, each applied to a copy of `base`."""
    axes: list[tuple[str, list[tuple[str, Any]]]] = [
        (path, _labelled(values)) for path, values in study.grid.items()
    ]
    if study.source_variants:
        variants = [
            (v.name or f"source{i}", v.model_dump(exclude={"name"}))
            for i, v in enumerate(study.source_variants)
        ]
        axes.append((SOURCE_AXIS, variants))
    fixed = copy.deepcopy(base)
    for path, value in study.set.items():
        _set(fixed, path, copy.deepcopy(value), "set")
    result = []
    for index, combination in enumerate(itertools.product(*(values for _, values in axes))):
        raw = copy.deepcopy(fixed)
        labels, values = {}, {}
        for (path, _), (label, value) in zip(axes, combination, strict=True):
            labels[path], values[path] = label, value
            if path == SOURCE_AXIS:
                raw["source"] = {"text": value["text"], "facts": value["facts"]}
                raw["human_corpus"] = value["human_corpus"]
            else:
                _set(raw, path, copy.deepcopy(value), "grid")
        result.append(Condition(index, labels, values, raw))
    return result


def _labelled(values: list[Any] | dict[str, Any]) -> list[tuple[str, Any]]:
    if isinstance(values, dict):
        return [(str(label), value) for label, value in values.items()]
    labels = [_label(value, i) for i, value in enumerate(values)]
    if len(set(labels)) < len(labels):
        labels = [f"{label}#{i}" for i, label in enumerate(labels)]
    return list(zip(labels, values, strict=True))


def _label(value: Any, index: int) -> str:
    if isinstance(value, dict):
        named = [str(value[k]) for k in ("kind", "graph", "name") if k in value]
        return "/".join(named) if named else f"#{index}"
    if isinstance(value, list):
        return f"#{index}"
    return json.dumps(value) if not isinstance(value, str) else value


def _set(raw: dict[str, Any], path: str, value: Any, where: str) -> None:
    """Set a dotted path in a raw spec, creating the mappings on the way (a missing or
    misspelt field then fails the experiment's own validation, which names it)."""
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        if node.get(part) is None:
            node[part] = {}
        if not isinstance(node[part], dict):
            problem = Problem(f"{where}.{path}", f"{part} is not a mapping in the base spec")
            raise SpecError([problem])
        node = node[part]
    node[last] = value


def plan(study: StudySpec, base: dict[str, Any], replicates: int | None = None) -> list[Planned]:
    """Every run of the study: conditions x replicates 0..N-1 (N: `replicates`, else the
    study's, AUTO_START for `auto`), each with a run id derived from the study name, the
    condition's full spec and the replicate (so a restarted study finds its runs again, and
    a changed condition does not reuse an old run). Replicate i of every condition runs with
    the same seeds: the seed, graph_seed and replicate index are not part of the grid."""
    if replicates is None:
        replicates = AUTO_START if study.replicates == "auto" else study.replicates
    runs = []
    cells = conditions(study, base)
    names = [c.name for c in cells]
    if study.baseline is not None and study.baseline not in names:
        raise SpecError(
            [Problem("baseline", f"{study.baseline!r} is not a condition; conditions: {names}")]
        )
    for condition in cells:
        for replicate in range(replicates):
            raw = copy.deepcopy(condition.raw)
            if study.vary_graph:
                graph_seed = raw.get("graph_seed")
                start = raw.get("seed", 0) if graph_seed is None else graph_seed
                raw["graph_seed"] = int(start) + replicate
            digest = hashlib.blake2b(
                json.dumps([raw, replicate], sort_keys=True, default=str).encode(), digest_size=4
            ).hexdigest()
            run_id = (
                f"{study.name[:MAX_NAME_IN_RUN_ID]}-c{condition.index:03d}-r{replicate}-{digest}"
            )
            runs.append(Planned(condition, replicate, run_id, raw))
    return runs


def aa_study(study: StudySpec, base: dict[str, Any]) -> StudySpec:
    """The A/A check of a study: its baseline condition against itself under two names, `A`
    and `A'`, whose runs differ only in their dynamics seed (the graph and persona draw are
    kept: graph_seed is pinned to the baseline's). Source variants stay an axis, so each text
    gets its own pair. Every comparison it reports is a false positive when supported."""
    cells = conditions(study, base)
    chosen = next((c for c in cells if c.name == study.baseline), cells[0])
    fixed = dict(study.set)
    for axis in chosen.labels:
        if axis != SOURCE_AXIS:
            fixed[axis] = chosen.values[axis]
    seed = int(chosen.raw.get("seed", 0))
    graph_seed = chosen.raw.get("graph_seed")
    fixed["graph_seed"] = seed if graph_seed is None else int(graph_seed)
    return study.model_copy(
        update={
            "name": f"{study.name}-aa",
            "set": fixed,
            "grid": {"seed": {"A": seed, "A'": seed + AA_SEED_OFFSET}},
            "baseline": None,
        }
    )
