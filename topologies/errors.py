"""The one exception raised for a bad topology argument."""

from __future__ import annotations

__all__ = ["TopologyError"]


class TopologyError(ValueError):
    """A topology argument was invalid.

    ``field`` names the offending argument (e.g. ``"n_agents"``); the message
    names the bad value.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[type[TopologyError], tuple[str, str]]:
        # Default exception pickling would call cls(message) and lose ``field``.
        return (type(self), (self.field, str(self)))
