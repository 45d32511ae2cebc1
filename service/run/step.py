"""One node's work in one round: the step both the in-process engine and a worker run.

A step is a pure function of the run context, the round, the node and its inbox: every draw
comes from generators derived from (seed, replicate, round, node), so its result does not
depend on which process runs it or in what order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple, cast

from agents.agent import Agent, Reply
from agents.backend import Completion, ImmediateBackend, Usage
from agents.retrying import CallFailed
from agents.tasks import InputText
from service.experiment.experiment import Experiment
from service.experiment.rng import Purpose, backend_seed, rng_for
from service.measure.metrics import TextMeter
from service.provenance.message import (
    MAX_ROOTS_LISTED,
    FailedStep,
    Message,
    Observed,
    TextMetrics,
    complete_message,
    message_id,
)
from service.provenance.observation import label, observe, observed_tags
from service.provenance.policies import Delivery, draws, select
from service.provenance.tags import Carried, Tags, human_tags, model_tags, root_bits
from service.run.budget import BudgetExceeded
from service.run.clock import now_iso

BUDGET_EXCEEDED = "budget_exceeded"
NO_DRAWS = random.Random(0)  # passed where the policy draws nothing (`draws` is False)


@dataclass(frozen=True)
class RunContext:
    """What every step of one run shares."""

    run_id: str
    replicate: int
    experiment: Experiment
    agents: dict[str, Agent]
    backend_of: dict[str, str]
    successors: dict[str, list[str]]
    human_ids: list[str]

    @cached_property
    def immediate(self) -> bool:
        """Whether every agent's backend answers at once (ImmediateBackend, with no budget,
        cache or call slots around it): its steps can run without an await."""
        backends = {id(agent.backend): agent.backend for agent in self.agents.values()}
        return all(isinstance(backend, ImmediateBackend) for backend in backends.values())

    @cached_property
    def meter(self) -> TextMeter:
        source = self.experiment.spec.source
        return TextMeter(source.facts, source.text)


class Emitted(NamedTuple):
    """A new message: the record to store and what receivers carry of it."""

    message: Message
    carried: Carried


class Settled(NamedTuple):
    """What the engine keeps of a stored message until the round ends: enough to deliver and
    count it, without its prompt and the rest of the record."""

    node: str
    carried: Carried
    observed: dict[str, Observed]
    usage: Usage
    drift: TextMetrics
    attempts: int
    faults: tuple[str, ...]  # the kind of each error survived, and "truncated" if cut
    latency_ms: float
    parents: tuple[str, ...] = ()

    @classmethod
    def of(cls, emitted: Emitted) -> Settled:
        message = emitted.message
        faults = tuple(fault_kind(e) for e in message.errors) if message.errors else ()
        return cls(
            message.node,
            emitted.carried,
            message.observed,
            message.usage,
            message.drift,
            message.attempts,
            (*faults, "truncated") if message.truncated else faults,
            message.latency_ms,
            tuple(message.parents),
        )


def fault_kind(error: str) -> str:
    """The kind an `errors` entry starts with (`rate_limited: HTTP 429 ...`)."""
    return error.split(":", 1)[0]


class Skipped(NamedTuple):
    """An agent with something new that its policy left nothing to read."""

    node: str
    round: int
    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    """An agent whose backend calls all failed, or that the run's budget refused: it
    forwards nothing this round."""

    record: FailedStep

    @property
    def node(self) -> str:
        return self.record.node

    @property
    def unfunded(self) -> bool:
        return self.record.kind == BUDGET_EXCEEDED


def human_step(
    ctx: RunContext, round_: int, node: str, text: str, receivers: list[str] | None = None
) -> Emitted:
    """A human source emits `text` to its out-neighbours (or to `receivers`, all of them
    even in matched mode); it becomes the next root of the run."""
    mid = message_id(ctx.run_id, ctx.replicate, round_, node)
    ctx.human_ids.append(mid)
    tags = human_tags(len(ctx.human_ids) - 1)
    shared = _shared_fields(ctx, round_, node, mid, tags, text, receivers)
    return _emitted(_human_message(shared), tags)


async def agent_step(
    ctx: RunContext,
    round_: int,
    node: str,
    inbox: list[Delivery],
    anchor: Delivery | None,
    stored: Completion | None = None,
) -> Emitted | Skipped | Failed:
    """An agent reads through its policy, asks its backend, and emits one message (or
    reports the step failed when its backend calls did). A `stored` completion (a resumed
    run replaying this step) stands in for the call."""
    read = _read(ctx, round_, node, inbox, anchor)
    if isinstance(read, Skipped):
        return read
    chosen, inputs, seed = read
    agent = ctx.agents[node]
    if stored is not None:
        request = agent.request(inputs, seed=seed)
        reply = Reply(stored, request.system, request.user)
    else:
        try:
            reply = await agent.respond(inputs, seed=seed)
        except CallFailed as exc:
            return _failed(ctx, round_, node, agent, str(exc), exc.kind, exc.attempts, exc.errors)
        except BudgetExceeded as exc:
            return _failed(ctx, round_, node, agent, str(exc), BUDGET_EXCEEDED, 0, ())
    return _written(ctx, round_, node, chosen, agent, reply, seed)


def agent_step_now(
    ctx: RunContext,
    round_: int,
    node: str,
    inbox: list[Delivery],
    anchor: Delivery | None,
    stored: Completion | None = None,
) -> Emitted | Skipped:
    """`agent_step` for a run whose agents all speak through immediate backends
    (`RunContext.immediate`): the same result, computed without an await."""
    read = _read(ctx, round_, node, inbox, anchor)
    if isinstance(read, Skipped):
        return read
    chosen, inputs, seed = read
    agent = ctx.agents[node]
    request = agent.request(inputs, seed=seed)
    backend = cast(ImmediateBackend, agent.backend)
    completion = stored if stored is not None else backend.complete_now(request)
    reply = Reply(completion, request.system, request.user)
    return _written(ctx, round_, node, chosen, agent, reply, seed)


def _read(
    ctx: RunContext, round_: int, node: str, inbox: list[Delivery], anchor: Delivery | None
) -> tuple[list[Delivery], list[InputText], int] | Skipped:
    """What the agent reads (the deliveries its policy chose, as input texts) and the seed
    of its backend call; Skipped when the policy left nothing."""
    spec = ctx.experiment.spec
    if draws(spec.policy, inbox, spec.max_inputs):
        policy_rng = rng_for(spec.seed, ctx.replicate, round_, node, Purpose.POLICY)
    else:
        policy_rng = NO_DRAWS  # seeding a generator costs more than the rest of the choice
    chosen = select(spec.policy, inbox, anchor, spec.max_inputs, policy_rng)
    if not chosen:
        return Skipped(node, round_, f"policy {spec.policy.kind} left nothing to read")
    if spec.policy.kind == "label":
        inputs = [InputText(d.message.text, label(d.observed)) for d in chosen]
    else:
        inputs = [InputText(d.message.text) for d in chosen]
    return chosen, inputs, backend_seed(spec.seed, ctx.replicate, round_, node)


def _written(
    ctx: RunContext,
    round_: int,
    node: str,
    chosen: list[Delivery],
    agent: Agent,
    reply: Reply,
    seed: int,
) -> Emitted:
    """The model message the agent writes from `chosen` with `reply`."""
    mid = message_id(ctx.run_id, ctx.replicate, round_, node)
    tags = model_tags([d.message for d in chosen])
    shared = _shared_fields(ctx, round_, node, mid, tags, reply.completion.text)
    return _emitted(_model_message(ctx, node, shared, agent, reply, seed), tags)


KEPT_COMPLETION_FIELDS = (
    "usage", "latency_ms", "finish_reason", "system_fingerprint", "attempts", "truncated", "cached",
)  # fmt: skip
"""A completion's fields a model message keeps as they are (besides text, model and errors)."""


def _human_message(shared: dict[str, Any]) -> Message:
    return complete_message(
        shared
        | dict(
            agent=None,
            persona=None,
            backend="human",
            model=None,
            temperature=None,
            seed=None,
            system=None,
            prompt=None,
            usage=Usage(),
            latency_ms=0.0,
            finish_reason=None,
            system_fingerprint=None,
            attempts=0,
            errors=[],
            truncated=False,
            cached=False,
        )
    )


def _model_message(
    ctx: RunContext, node: str, shared: dict[str, Any], agent: Agent, reply: Reply, seed: int
) -> Message:
    completion = reply.completion
    keep_prompt = ctx.experiment.spec.store_prompts
    persona = agent.persona
    shared.update(
        agent=f"{persona.name}-{node}",
        persona=persona.name,
        backend=ctx.backend_of[node],
        model=completion.model,
        temperature=persona.temperature,
        seed=seed,
        system=reply.system if keep_prompt else None,
        prompt=reply.prompt if keep_prompt else None,
        errors=list(completion.errors),
    )
    for name in KEPT_COMPLETION_FIELDS:
        shared[name] = getattr(completion, name)
    return complete_message(shared)


def _shared_fields(
    ctx: RunContext,
    round_: int,
    node: str,
    mid: str,
    tags: Tags,
    text: str,
    receivers: list[str] | None = None,
) -> dict[str, Any]:
    """The fields every message has, human or model: identity, tags, text and its metrics."""
    listed_roots, n_roots = root_bits(tags.roots, MAX_ROOTS_LISTED)
    return {
        "id": mid,
        "run": ctx.run_id,
        "replicate": ctx.replicate,
        "round": round_,
        "node": node,
        "origin": tags.origin,
        "generation": tags.generation,
        "min_generation": tags.min_generation,
        "parents": list(tags.parents),
        "roots": [ctx.human_ids[bit] for bit in listed_roots],
        "n_roots": n_roots,
        "human_input_share": tags.human_input_share,
        "observed": _observations(ctx, round_, node, tags, receivers),
        "text": text,
        "created_at": now_iso(),
        "drift": ctx.meter(text),
    }


def _emitted(message: Message, tags: Tags) -> Emitted:
    carried = Carried(
        message.id,
        message.text,
        tags.origin,
        tags.generation,
        tags.min_generation,
        tags.roots,
        message.round,
    )
    return Emitted(message, carried)


def _failed(
    ctx: RunContext,
    round_: int,
    node: str,
    agent: Agent,
    reason: str,
    kind: str,
    attempts: int,
    errors: tuple[str, ...],
) -> Failed:
    return Failed(
        FailedStep(
            run=ctx.run_id,
            replicate=ctx.replicate,
            round=round_,
            node=node,
            agent=f"{agent.persona.name}-{node}",
            backend=ctx.backend_of[node],
            reason=reason,
            kind=kind,
            attempts=attempts,
            errors=list(errors),
            created_at=now_iso(),
        )
    )


def _observations(
    ctx: RunContext, round_: int, node: str, tags: Tags, receivers: list[str] | None = None
) -> dict[str, Observed]:
    """The tags each receiver (by default each out-neighbour) will see, drawn in receiver
    order from one generator."""
    spec = ctx.experiment.spec
    provenance = spec.provenance
    if receivers is None:
        receivers = ctx.successors[node]
        if spec.matched and len(receivers) > 1:
            route = rng_for(spec.seed, ctx.replicate, round_, node, Purpose.ROUTE)
            receivers = [route.choice(receivers)]
    share = tags.human_input_share
    if provenance.tag_loss == 0:
        intact = observed_tags(True, tags.origin, tags.generation, tags.min_generation, share)
        return dict.fromkeys(receivers, intact)
    rng = rng_for(spec.seed, ctx.replicate, round_, node, Purpose.DELIVERY)
    return {
        r: observe(
            tags.origin,
            tags.generation,
            provenance,
            rng,
            min_generation=tags.min_generation,
            human_input_share=share,
        )
        for r in receivers
    }
