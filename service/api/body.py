"""Reading a JSON request body safely: its media type, nesting depth and number of values
checked on the text before it is parsed; duplicate keys, huge numbers and non-JSON constants
refused while it is parsed. Every refusal is a BodyError naming where (422 or 415)."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from service.experiment.settings import Settings, limit_hint

JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
STRUCTURE = re.compile(r"[\[\]{},:]")
MAX_NUMBER_CHARS = 40


class BodyError(ValueError):
    """A request body refused before it reaches a model: its field (dotted, "" for the
    whole body), the reason and the status to answer."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        self.field = field
        self.status = status
        super().__init__(message)


def is_json(content_type: str) -> bool:
    """Whether a media type (without parameters) is JSON (`application/json`, `*+json`)."""
    return bool(JSON_TYPE.match(content_type.strip().lower()))


async def read_json(request: web.Request, settings: Settings) -> Any:
    """The body as JSON, within the settings' depth and value limits (BodyError if not);
    a body over the size limit raises aiohttp's 413 before any of it is kept."""
    if not is_json(request.content_type):
        given = request.content_type
        raise BodyError(
            "", f"the body must be JSON (Content-Type: application/json), got {given!r}", 415
        )
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError("", f"the body is not UTF-8 JSON: {exc}") from None
    check_shape(text, settings)
    return parse_json(text)


def check_shape(text: str, settings: Settings) -> None:
    """BodyError when `text` nests deeper than `max_spec_depth` or holds more values than
    `max_spec_values` (counted on its brackets and separators, strings left out)."""
    depth = values = 0
    for mark in STRUCTURE.findall(STRING.sub('""', text)):
        if mark in "[{":
            depth += 1
            if depth > settings.max_spec_depth:
                raise BodyError(
                    "",
                    f"the body nests more than {settings.max_spec_depth} levels deep "
                    f"({limit_hint('max_spec_depth')})",
                )
        elif mark in "]}":
            depth -= 1
        else:
            values += 1
            if values > settings.max_spec_values:
                raise BodyError(
                    "",
                    f"the body holds more than {settings.max_spec_values:,} values "
                    f"({limit_hint('max_spec_values')})",
                )


def parse_json(text: str) -> Any:
    """`text` parsed as strict JSON: no duplicate keys, no NaN or Infinity, no number
    longer than MAX_NUMBER_CHARS characters."""
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_int=_integer,
            parse_float=_real,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        raise BodyError("", f"the body is not UTF-8 JSON: {exc}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise BodyError(key, f"the key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def _integer(digits: str) -> int:
    if len(digits) > MAX_NUMBER_CHARS:
        raise BodyError("", f"a number has more than {MAX_NUMBER_CHARS} digits")
    return int(digits)


def _real(digits: str) -> float:
    if len(digits) > MAX_NUMBER_CHARS:
        raise BodyError("", f"a number has more than {MAX_NUMBER_CHARS} characters")
    number = float(digits)
    if number in (float("inf"), float("-inf")):
        raise BodyError("", f"the number {digits} is too large")
    return number


def _constant(name: str) -> Any:
    raise BodyError("", f"{name} is not JSON")
