"""Where the engine's CPU time goes: every function of a cProfile run put in one named bucket.

A function's own time goes to its bucket; a function no rule names (the standard library,
redis-py, pydantic's C calls, asyncio) passes its own time up to its callers, split as each
caller's calls took it, until a named function takes it. The buckets are disjoint and add up
to the profiled total; what reaches the top unnamed is the event loop and the benchmark.
"""

from __future__ import annotations

import pstats
from collections import defaultdict

Key = tuple[str, int, str]  # (file, line, function) as pstats names a function
IDLE = "waiting on Redis (idle, not CPU)"  # the profile's clock is the wall clock

# (bucket, file the function is in, function names; empty: every function of the file)
RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (IDLE, "~", ("<method 'poll' of 'select.epoll' objects>",)),
    ("event loop (asyncio)", "asyncio/base_events.py", ()),
    ("event loop (asyncio)", "asyncio/events.py", ()),
    ("event loop (asyncio)", "asyncio/selector_events.py", ()),
    ("event loop (asyncio)", "asyncio/tasks.py", ()),
    ("policy generator", "service/experiment/rng.py", ("rng_for",)),
    ("backend seed", "service/experiment/rng.py", ("backend_seed",)),
    ("policy selection", "service/provenance/policies.py", ()),
    ("prompt rendering", "agents/tasks.py", ()),
    ("request object", "agents/agent.py", ("request", "respond")),
    ("backend call", "agents/null_backend.py", ()),
    ("backend call", "agents/synthetic.py", ()),
    ("true tags", "service/provenance/tags.py", ()),
    ("observed tags", "service/run/step.py", ("_observations",)),
    ("observed tags", "service/provenance/observation.py", ()),
    ("text metrics", "service/measure/metrics.py", ()),
    ("time stamps", "service/run/clock.py", ()),
    ("serialisation", "service/provenance/message.py", ("record_json",)),
    ("serialisation", "pydantic/main.py", ("model_dump_json",)),
    ("record object", "service/provenance/message.py", ("complete_message", "message_id")),
    ("record fields", "service/run/step.py", ("_written", "_shared_fields", "_model_message")),
    ("record fields", "service/run/step.py", ("_emitted", "_human_message")),
    ("step dispatch", "service/run/step.py", ("agent_step_now", "agent_step", "_read")),
    ("step dispatch", "service/run/step_batch.py", ("_steps_now", "run_steps", "worker")),
    ("kept outcome", "service/run/step.py", ("of",)),
    ("kept outcome", "service/run/record_writer.py", ("keep", "add")),
    ("Redis writes", "service/provenance/store.py", ("write_messages",)),
    ("Redis writes", "service/run/record_writer.py", ("flush",)),
    ("deliveries", "service/run/inbox.py", ()),
    ("deliveries", "service/experiment/schedule.py", ("reached", "reached_all", "take")),
    ("deliveries", "service/run/engine.py", ("_account_and_deliver",)),
    ("counts and drift table", "service/run/engine.py", ("_account", "_count")),
    ("counts and drift table", "service/run/engine.py", ("_reserve_for_embedding",)),
    ("counts and drift table", "service/measure/drift_table.py", ()),
    ("human messages", "service/run/step.py", ("human_step",)),
    ("human messages", "service/run/engine.py", ("_human_emissions",)),
    ("human messages", "service/experiment/schedule.py", ("source_emits",)),
    ("human messages", "service/provenance/store.py", ("record_humans",)),
    ("round event and report", "service/run/report.py", ()),
    ("round event and report", "service/run/round_drift.py", ()),
    ("round event and report", "service/provenance/store.py", ("add_event", "record_skips")),
    ("round loop", "service/run/engine.py", ("_round", "_run_agents", "_hand_fresh_text")),
    ("round loop", "service/run/engine.py", ("_record_failures", "_apply_on_error")),
    ("round loop", "service/run/engine.py", ("_quiet_after", "_announces")),
    ("round loop", "service/run/step_batch.py", ("run_steps_stored",)),
    ("round loop", "service/run/runners.py", ()),
    ("run setup and wrap-up (once a run)", "service/run/engine.py", ()),
    ("run setup and wrap-up (once a run)", "service/run/binding.py", ()),
    ("run setup and wrap-up (once a run)", "service/run/lease.py", ()),
    ("run setup and wrap-up (once a run)", "service/provenance/store.py", ()),
    ("run setup and wrap-up (once a run)", "agents/pool.py", ()),
)
TOP = "benchmark driver"


def bucket_of(key: Key) -> str | None:
    """The bucket a rule names for this function, if any (the first rule that matches)."""
    file, _, name = key
    for bucket, suffix, names in RULES:
        if file.endswith(suffix) and (not names or name in names):
            return bucket
    return None


def breakdown(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of profiled time per bucket; they add up to the profile's total."""
    table = stats.stats  # type: ignore[attr-defined]
    shares: dict[Key, dict[str, float]] = {}

    def share_of(key: Key, seen: frozenset[Key]) -> dict[str, float]:
        """How a second of `key`'s own time divides among the buckets."""
        if key in shares:
            return shares[key]
        named = bucket_of(key)
        if named is not None:
            return {named: 1.0}
        callers = {c: v[2] for c, v in table[key][4].items() if c not in seen and c in table}
        total = sum(callers.values())
        if not total:
            return {TOP: 1.0}
        result: dict[str, float] = defaultdict(float)
        for caller, own in callers.items():
            for bucket, part in share_of(caller, seen | {key}).items():
                result[bucket] += part * own / total
        shares[key] = result
        return result

    seconds: dict[str, float] = defaultdict(float)
    for key, entry in table.items():
        for bucket, part in share_of(key, frozenset()).items():
            seconds[bucket] += part * entry[2]
    return dict(seconds)
