"""Embedders: texts in, one vector per text out, behind one small async protocol."""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np

from agents.backend import BackendError
from agents.kinds import DEFAULT_OPENAI_EMBEDDING_MODEL, EMBEDDER_KINDS


@runtime_checkable
class Embedder(Protocol):
    """Anything that embeds a batch of texts into a (n, d) array."""

    name: str
    model: str

    async def embed(self, texts: list[str]) -> np.ndarray: ...

    async def aclose(self) -> None: ...


class OpenAIEmbedder:
    """Any OpenAI-compatible /embeddings endpoint, batched."""

    name = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 256,
    ) -> None:
        import openai

        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise BackendError("the openai embedder needs OPENAI_API_KEY (or --embedder none)")
        self.model = model or DEFAULT_OPENAI_EMBEDDING_MODEL
        self.batch_size = batch_size
        self._openai = openai
        self._client = openai.AsyncOpenAI(
            base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None, api_key=key
        )

    async def embed(self, texts: list[str]) -> np.ndarray:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            try:
                response = await self._client.embeddings.create(model=self.model, input=batch)
            except self._openai.OpenAIError as exc:
                raise BackendError(f"openai embedder, model {self.model!r}: {exc}") from exc
            vectors.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        return np.asarray(vectors, dtype=np.float32)

    async def aclose(self) -> None:
        await self._client.close()


def make_embedder(kind: str, model: str | None = None) -> Embedder | None:
    """The embedder of `kind`, or None for "none"."""
    if kind == "none":
        return None
    if kind == "openai":
        return OpenAIEmbedder(model)
    if kind == "local":
        from agents.local_embedding import LocalEmbedder

        return LocalEmbedder(model)
    raise BackendError(f"unknown embedder {kind!r}; expected one of {list(EMBEDDER_KINDS)}")
