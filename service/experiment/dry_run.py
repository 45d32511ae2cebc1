"""What a run would cost, without calling anything: graph size, LLM calls, tokens."""

from __future__ import annotations

from dataclasses import dataclass

from agents.backend import WORDS_PER_TOKEN
from service.experiment.experiment import Experiment
from service.experiment.schedule import Pending, source_emits, turn_rng

PROMPT_OVERHEAD_WORDS = 40


@dataclass(frozen=True)
class Estimate:
    nodes: int
    edges: int
    agents: int
    human_sources: int
    rounds: int
    llm_calls: int
    human_messages: int
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def estimate(experiment: Experiment, replicate: int = 0) -> Estimate:
    """Replays who would act each round (the engine's rule and injection draws); counts are an
    upper bound, since a policy can leave an agent silent. Tokens assume inputs as long as the
    source and replies as long as the source, capped by max_tokens."""
    spec = experiment.spec
    graph = experiment.graph
    pending = Pending(experiment.agents)
    calls = humans = prompt_tokens = completion_tokens = 0
    source_tokens = len(spec.source.text.split()) / WORDS_PER_TOKEN
    for round_ in range(spec.rounds):
        for source in experiment.sources:
            if source_emits(spec, replicate, round_, source):
                humans += 1
                for receiver in graph.successors(source):
                    pending.reached(receiver)
        acting = pending.take(spec.turns_per_round, turn_rng(spec, replicate, round_))
        for node in acting:
            persona = experiment.persona_of[node]
            inputs = min(spec.max_inputs, max(1, graph.in_degree(node)))
            system = len(persona.system.split()) + PROMPT_OVERHEAD_WORDS
            prompt_tokens += round(system / WORDS_PER_TOKEN + inputs * source_tokens)
            completion_tokens += round(min(spec.max_tokens or persona.max_tokens, source_tokens))
            for receiver in graph.successors(node):
                pending.reached(receiver)
        calls += len(acting)
    return Estimate(
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        agents=len(experiment.agents),
        human_sources=len(experiment.sources),
        rounds=spec.rounds,
        llm_calls=calls,
        human_messages=humans,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )
