"""Binding agent nodes to backends: which backend and model each agent calls."""

from __future__ import annotations

from agents.agent import Agent
from agents.kinds import DEFAULT_CHAT_MODELS
from agents.pool import BackendConfig, BackendPool
from service.experiment.experiment import Experiment


def bind_agents(
    experiment: Experiment, pool: BackendPool
) -> tuple[dict[str, Agent], dict[str, str]]:
    """An Agent per agent node, with its shared backend; and each node's backend kind."""
    spec = experiment.spec
    agents: dict[str, Agent] = {}
    backend_of: dict[str, str] = {}
    for node in experiment.agents:
        persona = experiment.persona_of[node]
        kind = persona.backend or experiment.backend
        model = spec.model if kind == experiment.backend else None
        config = BackendConfig(
            kind=kind,
            model=persona.model or model or DEFAULT_CHAT_MODELS[kind],
            base_url=persona.base_url or spec.base_url,
            api_key_env=persona.api_key_env,
            n_threads=spec.local.n_threads,
            n_ctx=spec.local.n_ctx,
        )
        agents[node] = Agent(
            persona, pool.get(config), spec.task, model=config.model, max_tokens=spec.max_tokens
        )
        backend_of[node] = kind
    return agents, backend_of
