"""Every Redis key driftlab uses, under one prefix. A run's keys share one hash slot."""

from __future__ import annotations

PREFIX = "driftlab"
RUNS = f"{PREFIX}:runs"
STEPS = f"{PREFIX}:steps"  # stream: agent steps queued for `driftlab worker` processes
STEP_WORKERS = "workers"  # the consumer group of STEPS
WORKERS = f"{PREFIX}:workers"  # sorted set: `driftlab worker` names by their last beat
STUDIES = f"{PREFIX}:studies"  # sorted set: ids of studies started over HTTP, by start time


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


def failed_steps(run_id: str) -> str:
    """Hash: "replicate:round:node" -> the failed step's record (JSON)."""
    return f"{PREFIX}:run:{{{run_id}}}:failed"


def idempotency(key: str) -> str:
    """String with an expiry: the run an HTTP `Idempotency-Key` started."""
    return f"{PREFIX}:api:idempotency:{key}"


def lease(run_id: str) -> str:
    """String with an expiry: who runs the run now (see service/run/lease.py)."""
    return f"{PREFIX}:run:{{{run_id}}}:lease"


def cancel(run_id: str) -> str:
    """String: present while someone asks the run's process to stop."""
    return f"{PREFIX}:run:{{{run_id}}}:cancel"


def done(run_id: str, round_: int) -> str:
    """Hash: index of a distributed step in its round -> its outcome (service/run/wire.py)."""
    return f"{PREFIX}:run:{{{run_id}}}:done:{round_}"


def done_order(run_id: str, round_: int) -> str:
    """List: indexes of a round's distributed steps, in the order they were done."""
    return f"{PREFIX}:run:{{{run_id}}}:done-order:{round_}"


def dead_letters(run_id: str) -> str:
    """List: distributed steps given up after too many deliveries (JSON)."""
    return f"{PREFIX}:run:{{{run_id}}}:dead"


def in_flight(run_id: str) -> str:
    """Sorted set: backend calls in flight across workers (token -> expiry time)."""
    return f"{PREFIX}:run:{{{run_id}}}:in-flight"


def budget(run_id: str) -> str:
    """Hash: LLM calls made and tokens used, for the run's budget."""
    return f"{PREFIX}:run:{{{run_id}}}:budget"


def cached_completion(digest: str) -> str:
    """String: a cached completion (JSON), by the digest of its request; shared by runs."""
    return f"{PREFIX}:cache:{digest}"


def events(run_id: str) -> str:
    """Stream: progress events of a run."""
    return f"{PREFIX}:run:{{{run_id}}}:events"


def study(study_id: str) -> str:
    """Hash: a study started over HTTP (status, spec, conditions, run ids, output dir)."""
    return f"{PREFIX}:study:{{{study_id}}}"


def study_lease(study_id: str) -> str:
    """String with an expiry: the server running the study now (renewed while it runs)."""
    return f"{PREFIX}:study:{{{study_id}}}:lease"


def study_cancel(study_id: str) -> str:
    """String: present while someone asks the server running the study to stop."""
    return f"{PREFIX}:study:{{{study_id}}}:cancel"


def out_dir(run_id: str) -> str:
    """String: the directory the CLI first exported the run to (`resume` reuses it)."""
    return f"{PREFIX}:run:{{{run_id}}}:out"


def topology(run_id: str) -> str:
    """String: the JSON of the graph the run's spec builds (`GET /v1/runs/{id}/topology`),
    computed at its first request; a run's topology never changes."""
    return f"{PREFIX}:run:{{{run_id}}}:topology"


def all_for_run(run_id: str) -> list[str]:
    """Every key that belongs to one run."""
    return [
        run(run_id),
        messages(run_id),
        embeddings(run_id),
        judgements(run_id),
        humans(run_id),
        skips(run_id),
        failed_steps(run_id),
        budget(run_id),
        lease(run_id),
        cancel(run_id),
        dead_letters(run_id),
        in_flight(run_id),
        events(run_id),
        out_dir(run_id),
        topology(run_id),
    ]
