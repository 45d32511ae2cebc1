"""Process-wide settings, from DRIFTLAB_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EVENTS_MAXLEN = 10_000


class Settings(BaseSettings):
    """Where Redis is, what to use when a spec names no backend or embedder, and the limits
    every spec is checked against (see docs/spec.md, "Limits")."""

    model_config = SettingsConfigDict(env_prefix="DRIFTLAB_", extra="ignore")

    redis_url: str | None = Field(
        None, description="Redis to use; when unset, 127.0.0.1:6379 or an embedded server"
    )
    redis_max_connections: int = Field(
        1000,
        ge=1,
        description="connections a process opens to Redis at most (an API server's event "
        "streams each hold one while they wait)",
    )
    redis_pool_timeout_s: float = Field(
        20.0, gt=0, description="seconds a command waits for a free connection when all are busy"
    )
    backend: str | None = Field(None, description="backend when neither spec nor CLI names one")
    embedder: str | None = Field(None, description="embedder when neither spec nor CLI names one")
    data_dir: Path = Field(
        Path.home() / ".local" / "share" / "driftlab",
        description="where the embedded Redis keeps its data between commands",
    )
    max_nodes: int = Field(1_000_000, ge=1, description="nodes of a topology, sources included")
    max_edges: int = Field(10_000_000, ge=1, description="edges of a topology")
    max_rounds: int = Field(10_000, ge=1, description="rounds of a run")
    max_text_bytes: int = Field(
        1_000_000, ge=1, description="UTF-8 bytes of one text (source, corpus, system prompt)"
    )
    max_spec_bytes: int = Field(10_000_000, ge=1, description="bytes of a spec file")
    max_spec_depth: int = Field(50, ge=1, description="nesting depth of a spec file")
    max_spec_values: int = Field(
        5_000_000, ge=1, description="values in a spec file, every alias counted at its full size"
    )
    lease_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="seconds a run's lease lasts without a heartbeat (renewed every third)",
    )
    max_run_id_length: int = Field(100, ge=30, description="characters of a run id")
    events_maxlen: int = Field(
        EVENTS_MAXLEN,
        ge=1,
        description="progress events kept per run (about: the Redis stream is trimmed "
        "approximately); a client resuming an event stream gets every event still kept",
    )


def limit_hint(field: str) -> str:
    """Where a limit comes from, for messages: its environment variable."""
    return f"DRIFTLAB_{field.upper()}"
