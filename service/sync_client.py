"""A synchronous client of the HTTP API, for scripts and notebooks without `await`: every
method of the async `Client`, called plainly; its streams (`runs`, `messages`, `events`) come
as ordinary iterators. The async client runs on an event loop in a thread of its own, so this
works where a loop is already running (Jupyter).

    with SyncClient("http://127.0.0.1:8080", token) as api:
        run = api.start_run(spec)
        view = api.wait(run.id)
        frame = pandas.DataFrame(api.records(run.id))
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar

from service.client import Client

T = TypeVar("T")


class SyncClient:
    """The API at `base_url`, as `Client` sees it, without async. Close it (or use it as a
    context manager) to stop its thread."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout_s: float = 60) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="driftlab-client", daemon=True
        )
        self._thread.start()
        self._client = Client(base_url, token, timeout_s=timeout_s)
        self.base_url = self._client.base_url

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._call(self._client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _iterate(self, stream: AsyncIterator[T]) -> Iterator[T]:
        while True:
            try:
                yield self._call(anext(stream))  # type: ignore[arg-type]
            except StopAsyncIteration:
                return

    def __getattr__(self, name: str) -> Any:
        """`Client.name`, made synchronous."""
        if name.startswith("_"):
            raise AttributeError(name)
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if isinstance(result, AsyncIterator):
                return self._iterate(result)
            if asyncio.iscoroutine(result):
                return self._call(result)
            return result

        call.__doc__ = method.__doc__
        call.__name__ = name
        return call
