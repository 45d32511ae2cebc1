"""The null backend, for benchmarks and tests: the same fixed text at once, for any request.

It measures everything around a model call (tags, metrics, storage) with the call itself
taking no time."""

from __future__ import annotations

import asyncio

from agents.backend import ChatRequest, Completion, Usage

NULL_TEXT = "The null backend answers every request with this same sentence."


NULL_COMPLETION = Completion(text=NULL_TEXT, model="null", usage=Usage(), finish_reason="stop")


class NullBackend:
    name = "null"

    async def complete(self, request: ChatRequest) -> Completion:
        await asyncio.sleep(0)  # let the event loop run, as a backend that waits would
        return self.complete_now(request)

    def complete_now(self, request: ChatRequest) -> Completion:
        """The one (frozen) completion, shared by every answer."""
        return NULL_COMPLETION

    async def aclose(self) -> None:
        return None
