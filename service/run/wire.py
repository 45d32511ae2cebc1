"""The wire format of distributed steps and their outcomes: versioned JSON, never pickle, so
a worker of another version refuses what it cannot read instead of misreading it (and no
payload can run code).

A document is a JSON object with `v` (WIRE_VERSION) and its fields; the roots bit set of a
carried message travels as hex (a decimal string of a many-thousand-bit number is refused by
Python's int-to-str limit)."""

from __future__ import annotations

import json
from typing import Any

from agents.backend import Completion, Usage
from service.errors import UnknownWireVersion
from service.provenance.message import FailedStep, Observed, TextMetrics
from service.provenance.policies import Delivery
from service.provenance.tags import Carried
from service.run.step import Failed, Settled, Skipped
from service.run.step_batch import StepInput

WIRE_VERSION = 1
Outcome = Settled | Skipped | Failed


def encode_step(item: StepInput) -> bytes:
    return _dump(
        {
            "node": item.node,
            "inbox": [_delivery(d) for d in item.inbox],
            "anchor": None if item.anchor is None else _delivery(item.anchor),
            "stored": None if item.stored is None else item.stored.model_dump(mode="json"),
        }
    )


def decode_step(raw: bytes | str) -> StepInput:
    """The step in `raw`; UnknownWireVersion when another version wrote it."""
    doc = _load(raw)
    anchor, stored = doc["anchor"], doc["stored"]
    return StepInput(
        doc["node"],
        [_read_delivery(d) for d in doc["inbox"]],
        None if anchor is None else _read_delivery(anchor),
        None if stored is None else Completion.model_validate(stored),
    )


def encode_outcome(outcome: Outcome) -> bytes:
    if isinstance(outcome, Skipped):
        return _dump(
            {
                "kind": "skipped",
                "node": outcome.node,
                "round": outcome.round,
                "reason": outcome.reason,
            }
        )
    if isinstance(outcome, Failed):
        return _dump({"kind": "failed", "record": outcome.record.model_dump(mode="json")})
    return _dump(
        {
            "kind": "settled",
            "node": outcome.node,
            "carried": _carried(outcome.carried),
            "observed": {k: v.model_dump(mode="json") for k, v in outcome.observed.items()},
            "usage": outcome.usage.model_dump(mode="json"),
            "drift": outcome.drift.model_dump(mode="json"),
            "attempts": outcome.attempts,
            "faults": list(outcome.faults),
            "latency_ms": outcome.latency_ms,
        }
    )


def decode_outcome(raw: bytes | str) -> Outcome:
    """The outcome in `raw`; UnknownWireVersion when another version wrote it."""
    doc = _load(raw)
    kind = doc["kind"]
    if kind == "skipped":
        return Skipped(doc["node"], doc["round"], doc["reason"])
    if kind == "failed":
        return Failed(FailedStep.model_validate(doc["record"]))
    return Settled(
        doc["node"],
        _read_carried(doc["carried"]),
        {k: Observed.model_validate(v) for k, v in doc["observed"].items()},
        Usage.model_validate(doc["usage"]),
        TextMetrics.model_validate(doc["drift"]),
        doc["attempts"],
        tuple(doc["faults"]),
        doc["latency_ms"],
    )


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


def _carried(carried: Carried) -> dict[str, Any]:
    return {
        "id": carried.id,
        "text": carried.text,
        "origin": carried.origin,
        "generation": carried.generation,
        "min_generation": carried.min_generation,
        "roots": format(carried.roots, "x"),
        "round": carried.round,
    }


def _read_carried(doc: dict[str, Any]) -> Carried:
    return Carried(
        doc["id"],
        doc["text"],
        doc["origin"],
        doc["generation"],
        doc["min_generation"],
        int(doc["roots"], 16),
        doc["round"],
    )


def _delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "sender": delivery.sender,
        "message": _carried(delivery.message),
        "observed": delivery.observed.model_dump(mode="json"),
        "received_round": delivery.received_round,
    }


def _read_delivery(doc: dict[str, Any]) -> Delivery:
    return Delivery(
        doc["sender"],
        _read_carried(doc["message"]),
        Observed.model_validate(doc["observed"]),
        doc["received_round"],
    )
