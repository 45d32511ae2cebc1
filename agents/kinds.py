"""The kinds of chat backend and embedder and their default models, named once: the spec,
personas, the CLI and the factories all read these."""

from __future__ import annotations

from typing import Literal, get_args

BackendKind = Literal["synthetic", "openai", "local", "null"]
EmbedderKind = Literal["none", "openai", "local"]
BACKEND_KINDS: tuple[str, ...] = get_args(BackendKind)
EMBEDDER_KINDS: tuple[str, ...] = get_args(EmbedderKind)

DEFAULT_OPENAI_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_CHAT_MODELS: dict[str, str | None] = {
    "synthetic": "synthetic",
    "openai": DEFAULT_OPENAI_CHAT_MODEL,
    "local": None,  # the bundled model
    "null": "null",
}
DEFAULT_OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"  # local: the bundled model
