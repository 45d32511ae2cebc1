"""Garbage-collector settings for runs: a large network is millions of long-lived objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000

_active_runs = 0
_saved_threshold: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """While any run is active: what existed when the first one started is frozen (graph,
    spec, agents: never garbage), and the youngest generation is collected every 50,000
    allocations instead of 700. The last run to end restores both, so runs may overlap in
    one process.

    A run allocates and keeps objects in bulk, so the default thresholds trigger collections
    that scan the same live objects over and over."""
    global _active_runs, _saved_threshold
    if _active_runs == 0:
        _saved_threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, *_saved_threshold[1:])
    _active_runs += 1
    try:
        yield
    finally:
        _active_runs -= 1
        if _active_runs == 0:
            gc.set_threshold(*_saved_threshold)
            gc.unfreeze()
