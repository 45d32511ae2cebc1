"""Fast pickling for the slotted dataclasses that cross to worker processes.

The default for a slotted dataclass walks `dataclasses.fields()` for every object, which made
pickling inboxes and results the step pool's main cost."""

from __future__ import annotations

from typing import Any


def by_slots(self: Any) -> tuple[type, tuple[Any, ...]]:
    """`__reduce__` for a slotted dataclass whose __init__ takes its fields in slot order."""
    return type(self), tuple(getattr(self, name) for name in self.__slots__)
