"""The base of every spec model: strict validation, the same for YAML, CLI and HTTP."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """No unknown fields, no coercion (a string or a bool is not a number), no NaN or inf."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
