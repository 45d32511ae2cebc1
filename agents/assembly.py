"""Building a frozen pydantic model from values that are already of their types."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)


@cache
def _field_names(cls: type[BaseModel]) -> tuple[tuple[str, ...], frozenset[str]]:
    return tuple(cls.model_fields), frozenset(cls.model_fields)


def assemble(cls: type[Model], fields: dict[str, Any]) -> Model:
    """A `cls` from every one of its fields, each already of its type (the caller builds
    them): what `model_construct` does, without validation or its per-field default handling
    (which cost more than building the values on a step's path). Fields keep the model's
    order, as its JSON does. A missing or unknown field is a bug."""
    names, name_set = _field_names(cls)
    if fields.keys() != name_set:
        raise ValueError(f"{cls.__name__} fields differ: {sorted(fields.keys() ^ name_set)}")
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", {name: fields[name] for name in names})
    object.__setattr__(model, "__pydantic_fields_set__", set(name_set))
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model
