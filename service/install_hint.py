"""The exact command that installs a missing extra of driftlab, for the interpreter running
now: `-e <checkout>[extra]` for an editable install, `driftlab[extra]` otherwise."""

from __future__ import annotations

import json
import shlex
import sys
from importlib import metadata
from urllib.parse import unquote, urlparse


def _checkout() -> str | None:
    """The directory driftlab is installed from in editable mode, if it is."""
    try:
        raw = metadata.distribution("driftlab").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not raw:
        return None
    origin = json.loads(raw)
    if not origin.get("dir_info", {}).get("editable"):
        return None
    url = urlparse(origin.get("url", ""))
    return unquote(url.path) if url.scheme == "file" else None


def install_command(*extras: str) -> str:
    """`python -m pip install ...` giving this interpreter driftlab's `extras`."""
    wanted = f"[{','.join(extras)}]"
    checkout = _checkout()
    target = (
        f"-e {shlex.quote(checkout + wanted)}" if checkout else shlex.quote(f"driftlab{wanted}")
    )
    return f"{shlex.quote(sys.executable)} -m pip install {target}"
