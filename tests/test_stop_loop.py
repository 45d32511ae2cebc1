"""SIGTERM and SIGINT stop a run with any number of step processes within a bounded time,
leaving no worker behind: a few tries at random moments here, 100 in `bench.stop_signals`
(docs/performance.md)."""

from __future__ import annotations

import random
import signal
import sys

import pytest

from bench.stop_signals import STOP_BOUND_S, stop_once
from tests.conftest import test_redis_url

TRIES = [(3, signal.SIGTERM), (4, signal.SIGINT)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_signals_stop_multi_worker_runs_in_bounded_time(openai_endpoint, redis):
    """Each try exits 143 (SIGTERM) or 130 (SIGINT) within the bound, no worker left."""
    stub = await openai_endpoint(latency_s=0.1, jitter_s=0.05)
    draw = random.Random(7)
    for workers, sent in TRIES:
        stop = await stop_once(
            workers, sent, draw.uniform(0.0, 1.5), str(stub.make_url("/v1")), test_redis_url()
        )
        assert stop.passed, stop
        assert stop.seconds <= STOP_BOUND_S
