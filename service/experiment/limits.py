"""Size limits a spec is held to before anything is built: a topology's nodes and edges are
counted from its parameters, texts by their UTF-8 bytes (the limits are in Settings)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationInfo

from service.experiment.settings import Settings, limit_hint

DEFAULT_SETTINGS = Settings.model_construct()
HUGE = 10**18


def settings_of(info: ValidationInfo) -> Settings:
    """The settings a validation runs under: its context's, else the defaults (no env)."""
    context = info.context if isinstance(info.context, dict) else {}
    settings = context.get("settings")
    return settings if isinstance(settings, Settings) else DEFAULT_SETTINGS


def tree_agents(branching: int, depth: int) -> int:
    """Agents of a balanced tree, counted exactly up to HUGE (so a huge tree costs nothing)."""
    if depth < 0 or branching < 1:
        return 1  # the builder refuses these, naming the bad value
    if branching == 1:
        return min(depth + 1, HUGE)
    total, level = 0, 1
    for _ in range(depth + 1):
        total += level
        if total >= HUGE:
            return HUGE
        level *= branching
    return total


def mixing_edges(graph: str, n: int, k: int, p: float, m: int) -> int:
    """Directed edges of a mixing graph of `n` agents (every link both ways); for `random`,
    the expected number."""
    if graph == "small_world":
        return n * max(k, 0)
    if graph == "scale_free":
        return 2 * max(m, 0) * max(n - m, 0)
    pairs = n * (n - 1)
    return round(p * pairs) if graph == "random" else pairs


def check_size(kind: str, nodes: int, edges: int, settings: Settings) -> None:
    """ValueError when a topology of `nodes` and `edges` is over the limits."""
    over = [
        f"{_count(count)} {what} (the limit is {limit:,}, set by {limit_hint(field)})"
        for count, what, limit, field in (
            (nodes, "nodes", settings.max_nodes, "max_nodes"),
            (edges, "edges", settings.max_edges, "max_edges"),
        )
        if count > limit
    ]
    if over:
        raise ValueError(f"this {kind} would have {' and '.join(over)}")


def check_text(text: str, settings: Settings, what: str = "a text") -> str:
    """`text`, or ValueError when its UTF-8 form is over the per-text limit."""
    limit = settings.max_text_bytes
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        raise ValueError(
            f"{what} may hold at most {limit:,} bytes of UTF-8 "
            f"(raise {limit_hint('max_text_bytes')} to allow more)"
        )
    return text


def check_at_most(value: Any, limit: int, field: str) -> Any:
    """`value`, or ValueError when it is over `limit` (the setting `field`)."""
    if value > limit:
        raise ValueError(
            f"at most {limit:,}, got {value:,} (raise {limit_hint(field)} to allow more)"
        )
    return value


def _count(value: int) -> str:
    return f"{value:,}" if value < HUGE else "more than 10^18"
