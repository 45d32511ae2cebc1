"""Content negotiation: which of the media types a route offers an `Accept` header prefers."""

from __future__ import annotations

from collections.abc import Sequence


def preferred(accept: str | None, offers: Sequence[str]) -> str:
    """The offer with the highest quality in `accept` (RFC 9110: the most specific matching
    range sets an offer's quality); ties, no header or nothing acceptable: the first offer."""
    if not accept:
        return offers[0]
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    best, best_quality = offers[0], 0.0
    for offer in offers:
        quality = _quality(offer, ranges)
        if quality > best_quality:
            best, best_quality = offer, quality
    return best


def _media_range(part: str) -> tuple[str, float]:
    media, *parameters = (piece.strip() for piece in part.split(";"))
    quality = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = min(max(float(value), 0.0), 1.0)
            except ValueError:
                quality = 0.0
    return media.lower(), quality


def _quality(offer: str, ranges: list[tuple[str, float]]) -> float:
    kind = offer.split("/")[0]
    for pattern in (offer, f"{kind}/*", "*/*"):
        matching = [quality for media, quality in ranges if media == pattern]
        if matching:
            return max(matching)
    return 0.0
