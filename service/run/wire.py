"""The wire format of agent steps and their outcomes between processes (the step pool's
workers, distributed workers on other machines): versioned JSON, never pickle, so a process
of another version refuses what it cannot read instead of misreading it, and no payload can
run code.

A document is a JSON object with `v` (WIRE_VERSION). A batch of steps lists each carried
message once (many inboxes hold the same message) and refers to it by id; observed tags
decode to the shared objects `observed_tags` interns. A roots bit set travels as hex (the
decimal string of a many-thousand-bit number is refused by Python's int-to-str limit)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from agents.backend import Completion, Usage
from service.errors import UnknownWireVersion
from service.provenance.message import FailedStep, Observed, TextMetrics
from service.provenance.observation import observed_tags
from service.provenance.policies import Delivery
from service.provenance.tags import Carried
from service.run.step import Failed, Settled, Skipped
from service.run.step_batch import Outcome, StepInput

WIRE_VERSION = 1
_CARRIED = attrgetter("id", "text", "origin", "generation", "min_generation", "round")
_OBSERVED = attrgetter("tagged", "origin", "generation", "min_generation", "human_input_share")


def encode_steps(items: Sequence[StepInput]) -> bytes:
    carried: dict[str, list[Any]] = {}

    def delivery(d: Delivery) -> list[Any]:
        if d.message.id not in carried:
            carried[d.message.id] = _carried(d.message)
        return [d.sender, d.message.id, _observed(d.observed), d.received_round]

    steps = [
        {
            "node": item.node,
            "inbox": [delivery(d) for d in item.inbox],
            "anchor": None if item.anchor is None else delivery(item.anchor),
            "stored": None if item.stored is None else item.stored.model_dump(mode="json"),
        }
        for item in items
    ]
    return _dump({"messages": list(carried.values()), "steps": steps})


def decode_steps(raw: bytes | str) -> list[StepInput]:
    """The steps in `raw`; UnknownWireVersion when another version wrote it."""
    doc = _load(raw)
    carried = {fields[0]: _read_carried(fields) for fields in doc["messages"]}

    def delivery(fields: list[Any]) -> Delivery:
        sender, mid, observed, received = fields
        return Delivery(sender, carried[mid], _read_observed(observed), received)

    return [
        StepInput(
            step["node"],
            [delivery(d) for d in step["inbox"]],
            None if step["anchor"] is None else delivery(step["anchor"]),
            None if step["stored"] is None else Completion.model_validate(step["stored"]),
        )
        for step in doc["steps"]
    ]


def encode_outcomes(outcomes: Sequence[Outcome]) -> bytes:
    return _dump({"outcomes": [[index, _outcome(o)] for index, o in outcomes]})


def decode_outcomes(raw: bytes | str) -> list[Outcome]:
    """The (index, outcome) pairs in `raw`; UnknownWireVersion when another version wrote it."""
    return [(index, _read_outcome(doc)) for index, doc in _load(raw)["outcomes"]]


def _outcome(outcome: Settled | Skipped | Failed) -> dict[str, Any]:
    if isinstance(outcome, Skipped):
        return {
            "kind": "skipped",
            "node": outcome.node,
            "round": outcome.round,
            "why": outcome.reason,
        }
    if isinstance(outcome, Failed):
        return {"kind": "failed", "record": outcome.record.model_dump(mode="json")}
    return {
        "kind": "settled",
        "node": outcome.node,
        "carried": _carried(outcome.carried),
        "observed": {k: _observed(v) for k, v in outcome.observed.items()},
        "usage": outcome.usage.model_dump(mode="json"),
        "drift": outcome.drift.model_dump(mode="json"),
        "attempts": outcome.attempts,
        "faults": list(outcome.faults),
        "latency_ms": outcome.latency_ms,
    }


def _read_outcome(doc: dict[str, Any]) -> Settled | Skipped | Failed:
    kind = doc["kind"]
    if kind == "skipped":
        return Skipped(doc["node"], doc["round"], doc["why"])
    if kind == "failed":
        return Failed(FailedStep.model_validate(doc["record"]))
    return Settled(
        doc["node"],
        _read_carried(doc["carried"]),
        {k: _read_observed(v) for k, v in doc["observed"].items()},
        Usage.model_validate(doc["usage"]),
        TextMetrics.model_validate(doc["drift"]),
        doc["attempts"],
        tuple(doc["faults"]),
        doc["latency_ms"],
    )


def _carried(message: Carried) -> list[Any]:
    return [*_CARRIED(message), format(message.roots, "x")]


def _read_carried(fields: list[Any]) -> Carried:
    mid, text, origin, generation, min_generation, round_, roots = fields
    return Carried(mid, text, origin, generation, min_generation, int(roots, 16), round_)


def _observed(observed: Observed) -> list[Any]:
    return list(_OBSERVED(observed))


def _read_observed(fields: list[Any]) -> Observed:
    return observed_tags(*fields)


def _dump(fields: dict[str, Any]) -> bytes:
    return json.dumps({"v": WIRE_VERSION, **fields}, ensure_ascii=False).encode()


def _load(raw: bytes | str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise UnknownWireVersion(f"not a driftlab wire document ({exc})") from None
    version = doc.get("v") if isinstance(doc, dict) else None
    if version != WIRE_VERSION:
        raise UnknownWireVersion(
            f"wire format version {version!r}; this driftlab reads version {WIRE_VERSION} only"
        )
    return doc
