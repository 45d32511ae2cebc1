"""Resuming a run: what its earlier process stored, so replaying the run from round 0 calls
no backend for a step already done. Every draw is derived from (seed, replicate, round,
node), so the replay rebuilds the same inboxes, and a deterministic backend gives the same
results as an uninterrupted run."""

from __future__ import annotations

from dataclasses import dataclass

from agents.backend import Completion
from service.errors import BadInput
from service.provenance.message import FailedStep, Message, message_id
from service.provenance.store import ProvenanceStore
from service.run.step import KEPT_COMPLETION_FIELDS
from service.status import RunStatus


@dataclass
class Replay:
    """The stored progress of one run: the last round with a stored message or failed
    step, the last round whose event was sent, and the failed steps."""

    store: ProvenanceStore
    run_id: str
    replicate: int
    last_stored_round: int
    last_event_round: int
    failed: dict[str, FailedStep]

    @classmethod
    async def load(cls, store: ProvenanceStore, run_id: str, replicate: int) -> Replay:
        """The progress of a run that may be resumed; BadInput for any other."""
        record = await store.get_run(run_id)
        status = RunStatus(record["status"])
        if not status.resumable:
            raise BadInput(
                f"run {run_id!r} is {status.value}; only an interrupted or cancelled run "
                "can be resumed"
            )
        prefix = f"{run_id}:{replicate}:"
        rounds = [
            int(mid.removeprefix(prefix).split(":", 1)[0])
            for mid in await store.message_ids(run_id)
            if mid.startswith(prefix)
        ]
        events = [e for _, e in await store.events(run_id) if e.get("type") == "round"]
        failed = {f"{f.replicate}:{f.round}:{f.node}": f for f in await store.failed_steps(run_id)}
        return cls(
            store,
            run_id,
            replicate,
            max([*rounds, *(f.round for f in failed.values())], default=-1),
            max((e["round"] for e in events), default=-1),
            failed,
        )

    async def stored_steps(
        self, round_: int, nodes: list[str]
    ) -> tuple[dict[str, Completion], dict[str, FailedStep]]:
        """For the steps of `nodes` in `round_` done before: the completion each message
        was built from, and the steps that failed."""
        if round_ > self.last_stored_round:
            return {}, {}
        ids = [message_id(self.run_id, self.replicate, round_, node) for node in nodes]
        completions = {}
        for node, raw in zip(nodes, await self.store.raw_messages(self.run_id, ids), strict=True):
            if raw is not None:
                completions[node] = completion_of(Message.model_validate_json(raw))
        failed = {
            node: self.failed[key]
            for node in nodes
            if (key := f"{self.replicate}:{round_}:{node}") in self.failed
        }
        return completions, failed


def completion_of(message: Message) -> Completion:
    """The completion a stored model message was built from."""
    kept = {name: getattr(message, name) for name in KEPT_COMPLETION_FIELDS}
    return Completion(
        text=message.text, model=message.model or "", errors=tuple(message.errors), **kept
    )
