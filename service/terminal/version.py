"""`driftlab --version`: the installed distribution's version and the Python running it."""

from __future__ import annotations

import platform
from importlib import metadata


def version_text() -> str:
    try:
        version = metadata.version("driftlab")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed: run from a checkout)"
    return f"driftlab {version} (Python {platform.python_version()})"
