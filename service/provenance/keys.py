"""Every Redis key driftlab uses, under one prefix. A run's keys share one hash slot."""

from __future__ import annotations

PREFIX = "driftlab"
RUNS = f"{PREFIX}:runs"


def run(run_id: str) -> str:
    """Hash: the run record (spec, status, counts, timings)."""
    return f"{PREFIX}:run:{{{run_id}}}"


def messages(run_id: str) -> str:
    """Hash: message id -> message record (JSON)."""
    return f"{PREFIX}:run:{{{run_id}}}:messages"


def embeddings(run_id: str) -> str:
    """Hash: message id -> embedding distances to the original (JSON)."""
    return f"{PREFIX}:run:{{{run_id}}}:embeddings"


def judgements(run_id: str) -> str:
    """Hash: message id -> the fact judge's verdict (JSON)."""
    return f"{PREFIX}:run:{{{run_id}}}:judgements"


def humans(run_id: str) -> str:
    """List: ids of the run's human messages in emission order (bit i of a root set)."""
    return f"{PREFIX}:run:{{{run_id}}}:humans"


def skips(run_id: str) -> str:
    """Hash: "replicate:round:node" -> why an agent stayed silent."""
    return f"{PREFIX}:run:{{{run_id}}}:skips"


def events(run_id: str) -> str:
    """Stream: progress events of a run."""
    return f"{PREFIX}:run:{{{run_id}}}:events"


def all_for_run(run_id: str) -> list[str]:
    """Every key that belongs to one run."""
    return [
        run(run_id),
        messages(run_id),
        embeddings(run_id),
        judgements(run_id),
        humans(run_id),
        skips(run_id),
        events(run_id),
    ]
