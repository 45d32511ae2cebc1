"""The time stamps records carry: UTC, ISO 8601 to the millisecond."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_last: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """The current time as `datetime.now(UTC).isoformat(timespec="milliseconds")` writes it,
    formatted once a millisecond: a round stamps thousands of records within a few."""
    global _last
    millis = time.time_ns() // 1_000_000
    if millis != _last[0]:
        stamp = datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds")
        _last = (millis, stamp)
    return _last[1]
