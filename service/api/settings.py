"""Settings of the HTTP API, from DRIFTLAB_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from pydantic import Field, SecretStr, field_validator

from agents.kinds import BackendKind, EmbedderKind
from service.experiment.settings import Settings

MIN_TOKEN_CHARS = 16


class ApiSettings(Settings):
    """The process settings plus what only the server needs."""

    api_token: SecretStr | None = Field(
        None,
        description=f"bearer token every route but health requires, when set (at least "
        f"{MIN_TOKEN_CHARS} characters; compared in constant time)",
    )
    allowed_origins: frozenset[str] = Field(
        frozenset(),
        description="browser origins (scheme://host:port) besides the server's own whose "
        "requests are served when no token is set",
    )
    allowed_hosts: frozenset[str] = Field(
        frozenset(),
        description="Host header names besides loopback and the bind address served when no "
        "token is set (a proxy's public name)",
    )
    allow_distributed: bool = Field(
        True, description="accept specs with `distributed: true` (steps for `driftlab worker`)"
    )
    worker_wait_s: float = Field(
        5.0,
        gt=0,
        description="seconds a distributed run started over HTTP waits for a worker to have "
        "announced itself (409 otherwise); a started run whose workers all went silent this "
        "long fails",
    )
    max_study_runs: int = Field(
        1000, ge=1, description="runs one study over HTTP may start (cells x variants x replicates)"
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

    @field_validator("api_token")
    @classmethod
    def _long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value().strip()) < MIN_TOKEN_CHARS:
            raise ValueError(
                f"the token must have at least {MIN_TOKEN_CHARS} characters (an empty one is "
                "no token: unset the variable to serve without one, on loopback only)"
            )
        return token
