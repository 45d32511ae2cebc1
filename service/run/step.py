"""One node's work in one round: the step both the in-process engine and a worker run.

A step is a pure function of the run context, the round, the node and its inbox: every draw
comes from generators derived from (seed, replicate, round, node), so its result does not
depend on which process runs it or in what order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from agents.agent import Agent
from agents.backend import Completion, Usage
from agents.tasks import InputText
from service.experiment.experiment import Experiment
from service.experiment.rng import Purpose, backend_seed, rng_for
from service.measure.metrics import text_metrics
from service.pickling import by_slots
from service.provenance.message import MAX_ROOTS_LISTED, Message, Observed, TextMetrics, message_id
from service.provenance.observation import label, observe, observed_tags
from service.provenance.policies import Delivery, select
from service.provenance.tags import Carried, Tags, human_tags, model_tags, root_bits


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


@dataclass(frozen=True, slots=True)
class Emitted:
    """A new message: the record to store and what receivers carry of it."""

    message: Message
    carried: Carried


@by_slots
@dataclass(frozen=True, slots=True)
class Settled:
    """What the engine keeps of a stored message until the round ends: enough to deliver and
    count it, without its prompt and the rest of the record."""

    node: str
    carried: Carried
    observed: dict[str, Observed]
    usage: Usage
    drift: TextMetrics

    @classmethod
    def of(cls, emitted: Emitted) -> Settled:
        message = emitted.message
        return cls(message.node, emitted.carried, message.observed, message.usage, message.drift)


@by_slots
@dataclass(frozen=True, slots=True)
class Skipped:
    """An agent with something new that its policy left nothing to read."""

    node: str
    round: int
    reason: str


def human_step(ctx: RunContext, round_: int, node: str, text: str) -> Emitted:
    """A human source emits `text`; it becomes the next root of the run."""
    mid = message_id(ctx.run_id, ctx.replicate, round_, node)
    ctx.human_ids.append(mid)
    return _emit(
        ctx,
        round_,
        node,
        mid,
        human_tags(len(ctx.human_ids) - 1),
        text,
        completion=None,
        system=None,
        prompt=None,
        agent=None,
    )


async def agent_step(
    ctx: RunContext, round_: int, node: str, inbox: list[Delivery], anchor: Delivery | None
) -> Emitted | Skipped:
    """An agent reads through its policy, asks its backend, and emits one message."""
    spec = ctx.experiment.spec
    policy_rng = rng_for(spec.seed, ctx.replicate, round_, node, Purpose.POLICY)
    chosen = select(spec.policy, inbox, anchor, spec.max_inputs, policy_rng)
    if not chosen:
        return Skipped(node, round_, f"policy {spec.policy.kind} left nothing to read")
    show_labels = spec.policy.kind == "label"
    inputs = [InputText(d.message.text, label(d.observed) if show_labels else None) for d in chosen]
    agent = ctx.agents[node]
    reply = await agent.respond(inputs, seed=backend_seed(spec.seed, ctx.replicate, round_, node))
    mid = message_id(ctx.run_id, ctx.replicate, round_, node)
    tags = model_tags([d.message for d in chosen])
    return _emit(
        ctx,
        round_,
        node,
        mid,
        tags,
        reply.completion.text,
        completion=reply.completion,
        system=reply.system,
        prompt=reply.prompt,
        agent=agent,
    )


def _emit(
    ctx: RunContext,
    round_: int,
    node: str,
    mid: str,
    tags: Tags,
    text: str,
    *,
    completion: Completion | None,
    system: str | None,
    prompt: str | None,
    agent: Agent | None,
) -> Emitted:
    spec = ctx.experiment.spec
    keep_prompt = spec.store_prompts
    listed_roots, n_roots = root_bits(tags.roots, MAX_ROOTS_LISTED)
    message = Message.model_construct(  # every field built here: no need to re-validate
        id=mid,
        run=ctx.run_id,
        replicate=ctx.replicate,
        round=round_,
        node=node,
        agent=f"{agent.persona.name}-{node}" if agent else None,
        persona=agent.persona.name if agent else None,
        backend=ctx.backend_of[node] if agent else "human",
        model=completion.model if completion else None,
        temperature=agent.persona.temperature if agent else None,
        seed=backend_seed(spec.seed, ctx.replicate, round_, node) if agent else None,
        origin=tags.origin,  # type: ignore[arg-type]
        generation=tags.generation,
        min_generation=tags.min_generation,
        parents=list(tags.parents),
        roots=[ctx.human_ids[bit] for bit in listed_roots],
        n_roots=n_roots,
        human_input_share=tags.human_input_share,
        observed=_observations(ctx, round_, node, tags),
        text=text,
        system=system if keep_prompt else None,
        prompt=prompt if keep_prompt else None,
        usage=completion.usage if completion else Usage(),
        latency_ms=completion.latency_ms if completion else 0.0,
        finish_reason=completion.finish_reason if completion else None,
        system_fingerprint=completion.system_fingerprint if completion else None,
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        drift=text_metrics(text, spec.source.facts),
    )
    carried = Carried(
        mid, text, tags.origin, tags.generation, tags.min_generation, tags.roots, round_
    )
    return Emitted(message, carried)


def _observations(ctx: RunContext, round_: int, node: str, tags: Tags) -> dict[str, Observed]:
    """The tags each out-neighbour will see, drawn in receiver order from one generator."""
    provenance = ctx.experiment.spec.provenance
    receivers = ctx.successors[node]
    share = tags.human_input_share
    if provenance.tag_loss == 0:
        intact = observed_tags(True, tags.origin, tags.generation, tags.min_generation, share)
        return dict.fromkeys(receivers, intact)
    rng = rng_for(ctx.experiment.spec.seed, ctx.replicate, round_, node, Purpose.DELIVERY)
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


def deliveries(settled: Settled, round_: int) -> list[tuple[str, Delivery]]:
    """(receiver, delivery) for every out-neighbour of the sender."""
    return [
        (receiver, Delivery(settled.node, settled.carried, observed, round_))
        for receiver, observed in settled.observed.items()
    ]
