"""Process-wide settings, from DRIFTLAB_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where Redis is, and what to use when a spec names no backend or embedder."""

    model_config = SettingsConfigDict(env_prefix="DRIFTLAB_", extra="ignore")

    redis_url: str | None = Field(
        None, description="Redis to use; when unset, 127.0.0.1:6379 or an embedded server"
    )
    backend: str | None = Field(None, description="backend when neither spec nor CLI names one")
    embedder: str | None = Field(None, description="embedder when neither spec nor CLI names one")
    data_dir: Path = Field(
        Path.home() / ".local" / "share" / "driftlab",
        description="where the embedded Redis keeps its data between commands",
    )
