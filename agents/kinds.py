"""The kinds of chat backend and embedder, named once: the spec, personas, the CLI and the
factories all read these."""

from __future__ import annotations

from typing import Literal, get_args

BackendKind = Literal["synthetic", "openai", "local"]
EmbedderKind = Literal["none", "openai", "local"]
BACKEND_KINDS: tuple[str, ...] = get_args(BackendKind)
EMBEDDER_KINDS: tuple[str, ...] = get_args(EmbedderKind)
