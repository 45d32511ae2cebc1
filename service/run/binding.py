"""Binding agent nodes to backends: which backend and model each agent calls."""

from __future__ import annotations

import os
from dataclasses import dataclass

from redis.asyncio import Redis

from agents.agent import Agent
from agents.backend import ChatBackend
from agents.channel import DEFAULT_CHANNEL
from agents.kinds import DEFAULT_CHAT_MODELS
from agents.persona import Persona
from agents.pool import DEFAULT_TIMEOUTS, BackendConfig, BackendPool
from agents.retrying import CallPolicy
from service.experiment.experiment import Experiment
from service.experiment.spec import Calls, ExperimentSpec
from service.run.budget import Budget, BudgetedBackend
from service.run.call_slots import SlottedBackend
from service.run.response_cache import CachingBackend
from service.run.step import RunContext


@dataclass(frozen=True)
class RunScope:
    """What the per-run wrappers (budget, response cache, and the call slots shared by the
    workers of a distributed run) need: the run's Redis and id."""

    redis: Redis
    run_id: str
    shared_limit: bool = False


def bound_context(
    experiment: Experiment,
    pool: BackendPool,
    scope: RunScope,
    replicate: int,
    successors: dict[str, list[str]] | None = None,
) -> RunContext:
    """What every step of the run shares: its agents bound to `pool` under `scope`, and each
    node's out-neighbours (read from the graph unless given: a step pool's workers hold the
    experiment without it)."""
    agents, backend_of = bind_agents(experiment, pool, scope)
    graph = experiment.graph
    if successors is None:
        successors = {node: sorted(graph.successors(node)) for node in graph.nodes}
    return RunContext(scope.run_id, replicate, experiment, agents, backend_of, successors, [])


def bind_agents(
    experiment: Experiment, pool: BackendPool, scope: RunScope | None = None
) -> tuple[dict[str, Agent], dict[str, str]]:
    """An Agent per agent node, with its shared backend (behind the run's budget and the
    response cache when the spec asks and a `scope` is given); and each node's backend kind."""
    spec = experiment.spec
    guarded: dict[BackendConfig, ChatBackend] = {}
    bound: dict[int, tuple[Agent, str]] = {}  # by persona object: agents sharing one share all
    agents: dict[str, Agent] = {}
    backend_of: dict[str, str] = {}
    for node in experiment.agents:
        persona = experiment.persona_of[node]
        if id(persona) not in bound:
            kind = persona.backend or experiment.backend
            model = spec.model if kind == experiment.backend else None
            config = BackendConfig(
                kind=kind,
                model=persona.model or model or DEFAULT_CHAT_MODELS[kind],
                base_url=persona.base_url or spec.base_url,
                api_key_env=persona.api_key_env,
                n_threads=spec.local.n_threads,
                n_ctx=spec.local.n_ctx,
                calls=call_policy(spec.calls, persona, kind),
                channel=spec.channel if kind == "synthetic" else DEFAULT_CHANNEL,
            )
            if config not in guarded:
                guarded[config] = _guard(pool.get(config), config, spec, scope)
            agent = Agent(
                persona, guarded[config], spec.task, model=config.model, max_tokens=spec.max_tokens
            )
            bound[id(persona)] = (agent, kind)
        agents[node], backend_of[node] = bound[id(persona)]
    return agents, backend_of


def call_policy(calls: Calls, persona: Persona, kind: str) -> CallPolicy:
    """The spec's call settings for one backend: the persona's timeout, else the spec's,
    else the backend kind's default."""
    return CallPolicy(
        timeout_s=persona.timeout_s or calls.timeout_s or DEFAULT_TIMEOUTS[kind],
        max_attempts=calls.max_attempts,
        backoff_s=calls.backoff_s,
        max_backoff_s=calls.max_backoff_s,
        max_reply_chars=calls.max_reply_chars,
    )


def _guard(
    backend: ChatBackend, config: BackendConfig, spec: ExperimentSpec, scope: RunScope | None
) -> ChatBackend:
    """The budget outside the retry layer (every attempt counts), the shared call slots
    outside that, the cache outside all (a cached answer costs nothing)."""
    if scope is None:
        return backend
    if spec.budget.max_calls is not None or spec.budget.max_tokens is not None:
        limits = Budget(spec.budget.max_calls, spec.budget.max_tokens)
        backend = BudgetedBackend(backend, limits, scope.redis, scope.run_id)
    if scope.shared_limit:
        calls = config.calls
        hold_s = calls.max_attempts * ((calls.timeout_s or 60.0) + calls.max_backoff_s)
        backend = SlottedBackend(backend, scope.redis, scope.run_id, spec.concurrency, hold_s)
    if spec.cache.enabled:
        backend = CachingBackend(backend, _endpoint(config), scope.redis, spec.cache.ttl_s)
    return backend


def _endpoint(config: BackendConfig) -> str:
    base_url = config.base_url
    if config.kind == "openai" and base_url is None:
        base_url = os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    return f"{config.kind}|{base_url or ''}|{config.model or ''}"
