"""The spec's `topology:` block: a line, a tree, a mixing graph or an explicit edge list,
each checked against the size limits before a graph is built."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from service.experiment.limits import HUGE, check_size, mixing_edges, settings_of, tree_agents
from service.experiment.strict import Strict

NodeId = str | int
Edge = Annotated[list[NodeId], Field(min_length=2, max_length=2)]


class LineTopology(Strict):
    kind: Literal["line"]
    n_agents: int
    sources: int = 1
    attach_at: list[int] = Field(default_factory=list)
    chains: int = 1  # parallel chains splitting n_agents, each fed by its own sources

    @model_validator(mode="after")
    def _within_limits(self, info: ValidationInfo) -> LineTopology:
        extra = self.sources * max(self.chains, 1) + len(self.attach_at)
        check_size("line", self.n_agents + extra, self.n_agents - 1 + extra, settings_of(info))
        return self


class TreeTopology(Strict):
    kind: Literal["tree"]
    branching: int
    depth: int
    trees: int = 1  # a forest: trees of the same shape, each fed by its own source

    @model_validator(mode="after")
    def _within_limits(self, info: ValidationInfo) -> TreeTopology:
        trees = max(self.trees, 1)
        agents = min(tree_agents(self.branching, self.depth) * trees, HUGE)
        check_size("tree", agents + trees, agents, settings_of(info))
        return self


class MixingTopology(Strict):
    kind: Literal["mixing"]
    graph: str = "small_world"
    n_agents: int
    k: int = 4
    p: float = 0.1
    m: int = 2
    human_sources: int = 1
    attach_to: list[str] | None = None

    @model_validator(mode="after")
    def _within_limits(self, info: ValidationInfo) -> MixingTopology:
        edges = mixing_edges(self.graph, self.n_agents, self.k, self.p, self.m)
        check_size(
            f"{self.graph} graph",
            self.n_agents + self.human_sources,
            edges + self.human_sources,
            settings_of(info),
        )
        return self


class EdgesTopology(Strict):
    """Node ids are strings; integers (`[0, 1]`) become strings once validated."""

    kind: Literal["edges"]
    edges: list[Edge] | None = None
    path: str | None = None
    human_sources: list[NodeId] = Field(default_factory=list)

    @field_validator("edges")
    @classmethod
    def _edges_as_strings(cls, edges: list[list[NodeId]] | None, info: ValidationInfo) -> object:
        if edges is None:
            return None
        check_size("edge list", 0, len(edges), settings_of(info))
        return [[str(u), str(v)] for u, v in edges]

    @field_validator("human_sources")
    @classmethod
    def _sources_as_strings(cls, names: list[NodeId]) -> list[str]:
        return [str(name) for name in names]


Topology = Annotated[
    LineTopology | TreeTopology | MixingTopology | EdgesTopology, Field(discriminator="kind")
]
