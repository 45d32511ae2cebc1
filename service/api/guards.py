"""Refusing spec fields that reach the server's files or environment."""

from __future__ import annotations

from typing import Any

from service.errors import Problem

SERVER_FIELDS = ("path", "base_url", "api_key_env")


def server_field_problems(raw: Any, where: str = "") -> list[Problem]:
    """Every field of `raw` (at any depth) that names a server path, URL or variable, and a
    local backend's model given as a path."""
    problems: list[Problem] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            field = f"{where}.{key}" if where else str(key)
            if key in SERVER_FIELDS and value is not None:
                problems.append(Problem(field, "not accepted over HTTP by this server"))
            elif key == "model" and isinstance(value, str) and _looks_like_path(value):
                problems.append(Problem(field, "a model path is not accepted over HTTP"))
            else:
                problems += server_field_problems(value, field)
    elif isinstance(raw, list):
        for index, value in enumerate(raw):
            problems += server_field_problems(value, f"{where}.{index}")
    return problems


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", ".", "~")) or model.endswith(".gguf")
