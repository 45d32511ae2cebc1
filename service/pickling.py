"""Fast pickling for the slotted dataclasses that cross to worker processes.

The default for a slotted dataclass walks `dataclasses.fields()` for every object, which made
pickling inboxes and results the step pool's main cost."""

from __future__ import annotations

from operator import attrgetter
from typing import Any


def by_slots(cls: type) -> type:
    """Class decorator (outermost, above @dataclass(slots=True)): pickle as the class and its
    fields in slot order, read by one C-level getter. __init__ must take them in that order;
    two fields at least, so that the getter returns a tuple."""
    slots: tuple[str, ...] = getattr(cls, "__slots__", ())
    if len(slots) < 2:
        raise TypeError(f"by_slots needs two or more fields; {cls.__name__} has fewer")
    fields = attrgetter(*slots)

    def reduce(self: Any) -> tuple[type, tuple[Any, ...]]:
        return cls, fields(self)

    cls.__reduce__ = reduce  # type: ignore[method-assign,assignment]
    return cls
