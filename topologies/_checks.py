"""Argument validation shared by the builders.

Each check returns the normalised value or raises :class:`TopologyError`
naming the field and the bad value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TypeGuard

from .errors import TopologyError

__all__ = [
    "check_int",
    "check_labels",
    "check_probability",
    "check_seed",
    "check_sequence",
    "is_int",
]


def is_int(value: object) -> TypeGuard[int]:
    """An integer of any integral type (numpy's too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(field: str, value: object, *, minimum: int, what: str) -> int:
    """Return ``value`` as int if it is an integer (not bool) ``>= minimum``.

    ``what`` completes the message, e.g. "a line needs at least one agent".
    """
    if not is_int(value):
        raise TopologyError(field, f"{field} must be an integer, got {field}={value!r}")
    if value < minimum:
        raise TopologyError(field, f"{what}, got {field}={value!r}")
    return int(value)


def check_probability(field: str, value: object) -> float:
    """Return ``value`` as float if it is a real number in [0, 1]."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or math.isnan(value)
        or not 0 <= float(value) <= 1
    ):
        raise TopologyError(
            field, f"{field} must be a probability in [0, 1], got {field}={value!r}"
        )
    return float(value)


def check_seed(value: object) -> int | None:
    """Return ``value`` if it is an integer seed or None."""
    if value is None:
        return None
    if not is_int(value):
        raise TopologyError("seed", f"seed must be an integer or None, got seed={value!r}")
    return int(value)


def check_sequence(field: str, value: object) -> Sequence[object]:
    """Return ``value`` if it is a list-like sequence (a str is refused)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TopologyError(field, f"{field} must be a list, got {field}={value!r}")
    return value


def check_labels(field: str, value: object) -> list[str]:
    """Return a sequence of str/int node names as a list of str."""
    names = []
    for item in check_sequence(field, value):
        if isinstance(item, str) or is_int(item):
            names.append(str(item))
        else:
            raise TopologyError(
                field, f"{field} entries must be node names (str or int), got {item!r}"
            )
    return names
