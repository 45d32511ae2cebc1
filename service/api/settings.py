"""Settings of the HTTP API, from DRIFTLAB_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from pydantic import Field, SecretStr

from agents.kinds import BackendKind, EmbedderKind
from service.experiment.settings import Settings


class ApiSettings(Settings):
    """The process settings plus what only the server needs."""

    api_token: SecretStr | None = Field(
        None, description="bearer token every route but health requires, when set"
    )
    max_concurrent_runs: int = Field(2, ge=1, description="runs executing at once; more queue")
    max_body_bytes: int = Field(1_000_000, ge=1, description="bytes of a request body (413)")
    allow_server_paths: bool = Field(
        False,
        description="accept spec fields reaching the server's files or environment "
        "(topology.path, local model paths, base_url, api_key_env)",
    )
    runs_dir: Path = Field(Path("runs"), description="where runs started over HTTP export")
    allowed_backends: frozenset[BackendKind] = Field(
        frozenset(get_args(BackendKind)),
        description="chat backends a spec started over HTTP may use (its own, its personas', "
        "its judge's)",
    )
    allowed_embedders: frozenset[EmbedderKind] = Field(
        frozenset(get_args(EmbedderKind)), description="embedders a spec started over HTTP may use"
    )
    max_workers: int = Field(64, ge=1, description="step processes a spec over HTTP may ask for")
    max_runs_per_token: int | None = Field(
        None,
        ge=1,
        description="runs one caller (bearer token, or anonymous) may have queued or running; "
        "beyond it a start answers 429",
    )
    log_content: bool = Field(
        False, description="let prompts and message texts reach the server's logs"
    )
