"""An async client of the HTTP API for notebooks and scripts. It answers with the server's
own pydantic models; `records` gives plain rows for pandas.

    async with Client("http://127.0.0.1:8080", token) as api:
        run = await api.start_run(spec)
        view = await api.wait(run.id)
        frame = pandas.DataFrame(await api.records(run.id))
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import aiohttp

from service.api.models import (
    Drift,
    Lineage,
    MessagePage,
    Page,
    RunCreated,
    RunEvent,
    RunPage,
    RunView,
    StudyCreated,
    StudyView,
)
from service.experiment.spec import ExperimentSpec
from service.measure.export import flatten
from service.provenance.message import Message
from service.status import RunStatus

Item = TypeVar("Item")
Viewed = TypeVar("Viewed", RunView, StudyView)
Params = Mapping[str, str | int | bool | None]


class ApiError(Exception):
    """An error answer: its HTTP status and body (the server's JSON error, else its text)."""

    def __init__(self, status: int, body: dict[str, Any] | str) -> None:
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {_describe(body)}")

    @property
    def problems(self) -> list[dict[str, str]]:
        """The fields the server named as bad (`field`, `message`), if any."""
        return list(self.body.get("problems", [])) if isinstance(self.body, dict) else []


class Client:
    """The API at `base_url` (such as `http://127.0.0.1:8080`), with a bearer `token` if the
    server requires one. Use it as an async context manager, or call `aclose` when done."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout_s: float = 60) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def start_run(
        self, spec: Mapping[str, Any] | ExperimentSpec, idempotency_key: str | None = None
    ) -> RunCreated:
        """Start a run of `spec`; the same `idempotency_key` again returns the same run."""
        if isinstance(spec, ExperimentSpec):
            body = spec.model_dump(mode="json", exclude_unset=True)
        else:
            body = dict(spec)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        return RunCreated.model_validate(
            await self._json("POST", "/v1/runs", body=body, headers=headers)
        )

    async def run(self, run_id: str) -> RunView:
        return RunView.model_validate(await self._json("GET", _path("runs", run_id)))

    async def runs(
        self,
        status: RunStatus | str | None = None,
        page_size: int = 100,
        fields: str | None = None,
    ) -> AsyncIterator[RunView]:
        """Every run, newest first, page after page; only those with `status` when given. Each
        run's `record` is its summary, or the record fields `fields` names (`full,spec`: the
        whole record)."""
        params = {
            "status": None if status is None else RunStatus(status).value,
            "limit": page_size,
            "fields": fields,
        }
        async for item in self._pages("/v1/runs", params, RunPage):
            yield item

    async def wait(
        self, run_id: str, poll_s: float = 0.5, timeout_s: float | None = None
    ) -> RunView:
        """The run once its status is final (succeeded, failed, cancelled, ...); TimeoutError
        after `timeout_s` seconds, if given."""
        return await _until_finished(lambda: self.run(run_id), poll_s, timeout_s)

    async def cancel(self, run_id: str) -> RunView:
        return RunView.model_validate(await self._json("POST", _path("runs", run_id, "cancel")))

    async def delete(self, run_id: str, force: bool = False) -> None:
        """Remove the run's data; `force` cancels a live run first."""
        await self._json("DELETE", _path("runs", run_id), params={"force": force})

    async def events(
        self, run_id: str, last_event_id: str | None = None
    ) -> AsyncIterator[RunEvent]:
        """The run's progress events (server-sent events) from after `last_event_id`, until the
        server ends the stream after the final status."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        no_limit = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout.total)
        url = self.base_url + _path("runs", run_id, "events")
        async with self._http().get(url, headers=headers, timeout=no_limit) as response:
            await _check(response)
            async for event in _server_sent(response.content):
                yield event

    async def messages(
        self, run_id: str, page_size: int = 100, **filters: str | int | None
    ) -> AsyncIterator[Message]:
        """The run's messages in id order, page after page, filtered by `round`, `node`,
        `origin` or `generation`."""
        params = {**filters, "limit": page_size}
        async for item in self._pages(_path("runs", run_id, "messages"), params, MessagePage):
            yield item

    async def records(
        self, run_id: str, page_size: int = 100, **filters: str | int | None
    ) -> list[dict[str, Any]]:
        """The run's messages as flat rows (the columns of messages.csv), ready for
        `pandas.DataFrame`; filters as for `messages`."""
        messages = self.messages(run_id, page_size, **filters)
        return [flatten(message.model_dump(mode="json")) async for message in messages]

    async def message(self, run_id: str, message_id: str) -> Message:
        return Message.model_validate(
            await self._json("GET", _path("runs", run_id, "messages", message_id))
        )

    async def lineage(self, run_id: str, message_id: str) -> Lineage:
        """The message's ancestors up to the human roots and its descendants."""
        path = _path("runs", run_id, "messages", message_id, "lineage")
        return Lineage.model_validate(await self._json("GET", path))

    async def drift(self, run_id: str) -> Drift:
        return Drift.model_validate(await self._json("GET", _path("runs", run_id, "drift")))

    async def start_study(self, spec: Mapping[str, Any]) -> StudyCreated:
        """Start a study (its base spec inline); posting the same study again resumes it."""
        body = await self._json("POST", "/v1/studies", body=dict(spec))
        return StudyCreated.model_validate(body)

    async def study(self, study_id: str) -> StudyView:
        return StudyView.model_validate(await self._json("GET", _path("studies", study_id)))

    async def cancel_study(self, study_id: str) -> StudyView:
        """Stop a live study and its live runs; ApiError 409 when it is not live."""
        body = await self._json("POST", _path("studies", study_id, "cancel"))
        return StudyView.model_validate(body)

    async def delete_study(self, study_id: str, force: bool = False) -> None:
        """Remove the study and its runs' data; `force` cancels a live study first."""
        await self._json("DELETE", _path("studies", study_id), params={"force": force})

    async def wait_study(
        self, study_id: str, poll_s: float = 1.0, timeout_s: float | None = None
    ) -> StudyView:
        """The study once its status is final; TimeoutError after `timeout_s`, if given."""
        return await _until_finished(lambda: self.study(study_id), poll_s, timeout_s)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def _json(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Params | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """The JSON answer to one request (None for an empty one); ApiError for an error."""
        async with self._http().request(
            method,
            self.base_url + path,
            json=body,
            params=_query(params or {}),
            headers=headers,
        ) as response:
            await _check(response)
            return None if response.status == 204 else await response.json()

    async def _pages(
        self, path: str, params: Params, page: type[Page[Item]]
    ) -> AsyncIterator[Item]:
        """Every item of a list route, following `next_cursor`."""
        cursor: str | None = None
        while True:
            answer = await self._json("GET", path, params={**params, "cursor": cursor})
            current = page.model_validate(answer)
            for item in current.items:
                yield item
            if current.next_cursor is None:
                return
            cursor = current.next_cursor


async def _until_finished(
    fetch: Callable[[], Awaitable[Viewed]], poll_s: float, timeout_s: float | None
) -> Viewed:
    async with asyncio.timeout(timeout_s):
        while not (view := await fetch()).status.finished:
            await asyncio.sleep(poll_s)
    return view


async def _check(response: aiohttp.ClientResponse) -> None:
    """ApiError for a 4xx or 5xx answer, carrying the server's JSON error body."""
    if response.status < 400:
        return
    text = await response.text()
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        raise ApiError(response.status, text) from None
    raise ApiError(response.status, body if isinstance(body, dict) else text)


async def _server_sent(stream: aiohttp.StreamReader) -> AsyncIterator[RunEvent]:
    """Events of a text/event-stream: `id`, `event` and JSON `data` fields, an event ending at
    a blank line; comments (keep-alives) skipped."""
    last_id = ""
    kind = "message"
    data: list[str] = []
    async for raw in stream:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield RunEvent(id=last_id, type=kind, data=json.loads("\n".join(data)))
            kind, data = "message", []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            last_id = value
        elif name == "event":
            kind = value
        elif name == "data":
            data.append(value)


def _path(*segments: str) -> str:
    return "/v1/" + "/".join(quote(segment, safe="") for segment in segments)


def _query(params: Params) -> dict[str, str]:
    """Query values as the server reads them (booleans as true/false), unset ones left out."""
    return {
        name: (str(value).lower() if isinstance(value, bool) else str(value))
        for name, value in params.items()
        if value is not None
    }


def _describe(body: dict[str, Any] | str) -> str:
    if isinstance(body, str):
        return body[:500]
    problems = "; ".join(f"{p.get('field')}: {p.get('message')}" for p in body.get("problems", []))
    error = str(body.get("error", body))
    return f"{error} ({problems})" if problems else error
