"""Endpoint URLs of OpenAI-compatible servers: checked, and never holding a secret."""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("http", "https")


def check_base_url(url: str) -> str:
    """`url` if it can name an endpoint; ValueError otherwise. Credentials in it are refused
    (they would be stored with every run), and the message never repeats the URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "a URL with credentials (user:password@) is not allowed, since the spec is stored "
            "with the run; put the key in an environment variable and name that variable "
            "with api_key_env (default OPENAI_API_KEY)"
        )
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError(
            "expected an http:// or https:// URL with a host, such as http://127.0.0.1:8000/v1"
        )
    return url
