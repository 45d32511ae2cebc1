"""Events: a run's progress as server-sent events, resumable with `Last-Event-ID`.

Each SSE frame carries one entry of the run's Redis event stream: `id:` its stream id,
`event:` its type (`status`, `round_started`, `round`), `data:` the event as JSON."""

from __future__ import annotations

import contextlib
import json

from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response
from pydantic import BaseModel, Field, field_validator

from service.api.models import ErrorBody, RunEvent
from service.api.routing import Routes
from service.api.state import STORE, run_view
from service.errors import RunNotFound
from service.status import RunStatus

routes = Routes("events")
BLOCK_MS = 2000  # one XREAD waits this long for an event, then the run is looked at again
PING_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream
STREAM_ID_PART_MAX = 2**64 - 1
STREAMS = web.AppKey("event_streams", set[EventSourceResponse])


class ResumePoint(BaseModel):
    """The `Last-Event-ID` header of a reconnecting client: the last stream id it got."""

    last_event_id: str = Field("0", alias="Last-Event-ID", pattern=r"^\d{1,20}-\d{1,20}$")

    @field_validator("last_event_id")
    @classmethod
    def _in_range(cls, value: str) -> str:
        if any(int(part) > STREAM_ID_PART_MAX for part in value.split("-")):
            raise ValueError("each part of a stream id is at most 2**64 - 1")
        return value


def track_streams(app: web.Application) -> None:
    """Keep the app's open event streams, to stop them when the server shuts down."""
    app[STREAMS] = set()
    app.on_shutdown.append(_stop_streams)


async def _stop_streams(app: web.Application) -> None:
    for stream in app[STREAMS].copy():
        stream.stop_streaming()


@routes.get(
    "/v1/runs/{run}/events",
    responses={200: "text/event-stream", 204: "", 404: ErrorBody, 422: ErrorBody},
)
async def run_events(request: web.Request) -> web.StreamResponse:
    """A run's progress as server-sent events, after `Last-Event-ID` when given; 204 when the
    run has finished and no event is left to send."""
    run_id = request.match_info["run"]
    header = request.headers.get("Last-Event-ID")
    after = ResumePoint.model_validate({"Last-Event-ID": header} if header else {}).last_event_id
    finished = (await run_view(request, run_id)).status.finished
    if finished and not await request.app[STORE].read_events(run_id, after, count=1):
        return web.Response(status=204)
    async with sse_response(request, ping_interval=PING_S) as stream:
        request.app[STREAMS].add(stream)
        try:
            # the client left, or stalled (a send timed out and the connection was aborted)
            with contextlib.suppress(ConnectionResetError, TimeoutError):
                await _relay(request, stream, run_id, after)
        finally:
            request.app[STREAMS].discard(stream)
    return stream


async def _relay(
    request: web.Request, stream: EventSourceResponse, run_id: str, after: str
) -> None:
    """Send each event after `after` as it is added, until the run's final status event, the
    client leaves or the server stops streaming. A run found finished (or gone) at two waits
    in a row with nothing new (interrupted: it sends no final event) ends the stream too."""
    store = request.app[STORE]
    finished_before = False
    while _open(request, stream):
        entries = await store.read_events(run_id, after, block_ms=BLOCK_MS)
        for event_id, data in entries:
            event = RunEvent(id=event_id, type=str(data.get("type", "")), data=data)
            await stream.send(json.dumps(event.data), id=event.id, event=event.type)
            after = event_id
            if event.type == "status" and RunStatus(event.data["status"]).finished:
                return
        if entries:
            finished_before = False
            continue
        finished = await _finished_or_gone(request, run_id)
        if finished and finished_before:
            return
        finished_before = finished


def _open(request: web.Request, stream: EventSourceResponse) -> bool:
    """Whether the client is still there and the server still streams."""
    transport = request.transport
    return stream.is_connected() and transport is not None and not transport.is_closing()


async def _finished_or_gone(request: web.Request, run_id: str) -> bool:
    try:
        return (await run_view(request, run_id)).status.finished
    except RunNotFound:
        return True
