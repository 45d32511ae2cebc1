"""The server's Prometheus instruments, each app in a registry of its own, and the middleware
that times every request."""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from service.lifecycle import RoundReport
from service.status import RunStatus

ORIGINS = ("human", "model")
LLM_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class ApiMetrics:
    """Runs by status (read from Redis when scraped); messages, LLM calls, faults and call
    latencies of the runs this server executes (fed round by round); request latencies."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = Gauge(
            "driftlab_runs",
            "Runs stored in Redis, and runs queued in this server, by status",
            ["status"],
            registry=self.registry,
        )
        self.messages = Counter(
            "driftlab_messages_stored",
            "Messages stored by the runs this server executed, by origin",
            ["origin"],
            registry=self.registry,
        )
        for origin in ORIGINS:
            self.messages.labels(origin)
        self.llm_calls = Counter(
            "driftlab_llm_calls",
            "Chat backend calls made by the runs this server executed, retries included",
            registry=self.registry,
        )
        self.faults = Counter(
            "driftlab_faults",
            "Faults met by the runs this server executed (failed calls survived, failed "
            "steps, truncated answers), by kind",
            ["kind"],
            registry=self.registry,
        )
        self.llm_latency = Histogram(
            "driftlab_llm_call_seconds",
            "Answer time of the backend call behind each model message stored",
            buckets=LLM_BUCKETS_S,
            registry=self.registry,
        )
        self.requests = Histogram(
            "driftlab_http_request_seconds",
            "Time to answer an HTTP request (an event stream: how long it stayed open)",
            ["method", "route", "status"],
            registry=self.registry,
        )

    def observe_round(self, report: RoundReport) -> None:
        """Count what one round of a run of this server stored, called and met."""
        for origin in ORIGINS:
            self.messages.labels(origin).inc(report.counts.get(origin, 0))
        self.llm_calls.inc(report.counts.get("llm_calls", 0))
        for kind, count in report.faults.items():
            self.faults.labels(kind).inc(count)
        for latency_ms in report.latencies_ms:
            self.llm_latency.observe(latency_ms / 1000)

    def count_runs(self, statuses: Iterable[RunStatus]) -> None:
        """Set the runs gauge: how many runs have each status (zero for the others)."""
        tally = Tally(statuses)
        for status in RunStatus:
            self.runs.labels(status.value).set(tally[status])

    def exposition(self) -> bytes:
        """Every instrument in Prometheus' text format."""
        return generate_latest(self.registry)


def request_timer(metrics: ApiMetrics) -> Middleware:
    """Observe each request's answer time by method, route (its pattern, not the path) and
    status."""

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            elapsed = time.perf_counter() - started
            metrics.requests.labels(request.method, route, str(status)).observe(elapsed)

    return timed
