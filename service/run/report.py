"""What a run reports: each finished round, and the outcome of the whole run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from service.status import RunStatus

MESSAGE_COUNTS = (
    "messages",
    "human",
    "model",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
)


@dataclass(frozen=True, slots=True)
class RoundReport:
    """What one round did, for progress displays, metrics and the event stream: the ids of
    the messages it stored, the nodes whose step failed, the round's own counts and faults,
    and how long each model call it stored took to answer."""

    round: int
    rounds: int
    messages: int
    human: int
    skips: int
    failed: int
    seconds: float
    message_ids: tuple[str, ...]
    failed_nodes: tuple[str, ...]
    counts: dict[str, int]
    faults: dict[str, int]
    latencies_ms: tuple[float, ...]
    live_view: dict[str, Any] = field(default_factory=dict)  # round_drift: for live pages

    def event(self) -> dict[str, Any]:
        """The `round` event: all but the call latencies, with the drift fields."""
        shown = {name: getattr(self, name) for name in EVENT_FIELDS}
        return {"type": "round", **shown, **self.live_view}


EVENT_FIELDS = tuple(
    f.name for f in dataclasses.fields(RoundReport) if f.name not in ("latencies_ms", "live_view")
)
"""The report's fields the `round` event shows as they are (shallow: no copy of the ids)."""


@dataclass
class RunResult:
    """The outcome of one run."""

    run_id: str
    status: RunStatus
    counts: dict[str, int]
    faults: dict[str, int]
    drift: list[dict[str, Any]]
    notices: list[str]
    started_at: str
    finished_at: str
    round_seconds: list[float] = field(default_factory=list)
