"""What the `round` event adds for live views: each stored message's drift and parents, and
the round's means over its model messages, so a page can colour nodes and grow curves
without reading the messages back."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any

from service.run.step import Settled


def round_drift(run_id: str, replicate: int, items: Sequence[Settled]) -> dict[str, Any]:
    """`message_drift` (columns aligned with the event's `message_ids`), `message_parents`
    (the nodes each message was written from) and `drift` (this round's model-message means;
    a mean is None when no model message has the metric)."""
    prefix = f"{run_id}:{replicate}:"
    model = [item for item in items if item.carried.origin == "model"]
    retained = [r for item in model if (r := item.drift.fact_retention) is not None]
    return {
        "message_drift": {
            "generation": [item.carried.generation for item in items],
            "length_words": [item.drift.length_words for item in items],
            "fact_retention": [item.drift.fact_retention for item in items],
        },
        "message_parents": [
            [parent.removeprefix(prefix).split(":", 1)[-1] for parent in item.parents]
            for item in items
        ],
        "drift": {
            "model_messages": len(model),
            "generation": fmean(i.carried.generation for i in model) if model else None,
            "length_words": fmean(i.drift.length_words for i in model) if model else None,
            "fact_retention": fmean(retained) if retained else None,
        },
    }
