"""Secrets hidden in anything shown or logged: the user and password of a URL
(`redis://user:pw@host`) and secret query parameters (`?password=...`, `&token=...`)."""

from __future__ import annotations

import logging
import re

HIDDEN = "***"
USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/?#]*@")
SECRET_QUERY = re.compile(
    r"(?P<name>[?&;](?:[\w.-]*(?:password|passwd|pwd|token|secret|api[_-]?key|auth)[\w.-]*)=)"
    r"[^&;#\s'\"]*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with every URL's credentials and secret query values replaced by ***."""
    text = USERINFO.sub(lambda m: f"{m['scheme']}{HIDDEN}@", text)
    return SECRET_QUERY.sub(lambda m: f"{m['name']}{HIDDEN}", text)


class RedactingFilter(logging.Filter):
    """Redacts each record's message (with its arguments merged in) before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def redact_logs() -> None:
    """Log warnings to stderr (unless logging is configured already), every record
    redacted."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
