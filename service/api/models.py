"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from agents.persona import Persona
from service.provenance.message import Message
from service.status import RunStatus

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list route; pass `next_cursor` as `cursor` for the next (None: last)."""

    items: list[Item]
    next_cursor: str | None = None


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    problems: list[FieldError] = []


class Health(BaseModel):
    status: str
    redis: bool


class RunCreated(BaseModel):
    id: str
    status: RunStatus
    location: str


class RunView(BaseModel):
    """A run record as stored (status, counts, timings, drift...), with its id and status."""

    id: str
    status: RunStatus
    record: dict[str, Any] = Field(
        {},
        description="the stored record but its spec (GET /v1/runs/{run}); in GET /v1/runs, "
        "the fields its `fields` parameter names, the run's summary by default",
    )


class MessagePage(Page[Message]):
    pass


class RunPage(Page[RunView]):
    pass


class Drift(BaseModel):
    run: str
    drift: list[dict[str, Any]] = []
    drift_by_round: list[dict[str, Any]] = []
    drift_by_min_generation: list[dict[str, Any]] = []
    drift_by_ancestry: list[dict[str, Any]] = []
    transmission_by_round: list[dict[str, Any]] = []
    transmission: dict[str, Any] | None = None


class LineageEdge(BaseModel):
    """`source` is a parent of `target`."""

    source: str
    target: str


class Lineage(BaseModel):
    """A message's ancestors up to the human roots and its descendants, as a DAG."""

    message: str
    nodes: list[Message]
    edges: list[LineageEdge]


class RunEvent(BaseModel):
    """One progress event of a run; `id` is its Redis stream id (the SSE event id)."""

    id: str
    type: str
    data: dict[str, Any]


class StudyCreated(BaseModel):
    id: str
    status: RunStatus
    location: str


class StudyCondition(BaseModel):
    """One cell of the study's grid: its name and a label per axis."""

    name: str
    labels: dict[str, str]


class StudyRun(BaseModel):
    id: str
    condition: str
    replicate: int
    status: RunStatus


class StudyProgress(BaseModel):
    """Runs of the study by where they are; `fraction` is finished / total."""

    total: int
    finished: int
    succeeded: int
    fraction: float


class StudyView(BaseModel):
    """A study started over HTTP: its status, conditions, runs and the files it wrote."""

    id: str
    name: str
    outcome: str
    status: RunStatus
    error: str | None = None
    conditions: list[StudyCondition]
    runs: list[StudyRun]
    progress: StudyProgress
    outputs: list[str] = []
    started_at: str | None = None
    finished_at: str | None = None


class StudyPage(Page[StudyView]):
    pass


class MetricSummary(BaseModel):
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None


class ConditionFinal(BaseModel):
    """A condition's metrics at its last round: n runs, the mean and 95% interval over runs
    of each run's mean over its model messages of that round (from study.csv)."""

    condition: str
    round: int
    metrics: dict[str, MetricSummary]


class StudySummary(BaseModel):
    id: str
    outcome: str
    conditions: list[ConditionFinal]
    statistics: dict[str, Any] | None = None  # summary.json: per-run means, paired tests


class TopologyNode(BaseModel):
    """A node of the graph: `role` is `human_source` or `agent`; an agent has a persona."""

    id: str
    role: str
    persona: str | None = None


class TopologyPreview(BaseModel):
    """The graph a spec builds (`source` of an edge speaks to `target`), nothing run."""

    nodes: list[TopologyNode]
    edges: list[LineageEdge]
    agents: int
    human_sources: int


class PersonaPage(Page[Persona]):
    pass


class Example(BaseModel):
    """A bundled example: a run spec or a study (its base inline), as YAML."""

    name: str
    kind: Literal["run", "study"]
    yaml: str


class ExamplePage(Page[Example]):
    pass
