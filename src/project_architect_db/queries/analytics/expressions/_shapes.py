"""Filters as parts of a cached query: their structure (the cache key) and their bound values."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from sqlalchemy import ClauseElement

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.queries.filters import (
    Contains,
    Eq,
    Filter,
    In,
    IsNull,
    JsonPathEq,
    ListContains,
    NotEq,
    Range,
    json_path_of,
)


def filter_shape(item: Filter) -> Hashable:
    """A filter's structure without its values (what decides the SQL text)."""
    if isinstance(item, Eq | NotEq):
        value = item.value
        # SQLAlchemy renders booleans as the literals true/false: they are structure, not values.
        kind = value if value is None or isinstance(value, bool) else "value"
        if isinstance(value, ClauseElement):
            return ("opaque", type(item).__qualname__, id(type(item)), repr(item))
        return (type(item).__name__, item.field, kind)
    if isinstance(item, In):
        values = item.values
        size = len(values) if hasattr(values, "__len__") else -1
        return ("In", item.field, size)
    if isinstance(item, Range):
        bounds = (item.gt, item.gte, item.lt, item.lte)
        return ("Range", item.field, tuple(bound is None for bound in bounds))
    if isinstance(item, IsNull):
        return ("IsNull", item.field, item.is_null)
    if isinstance(item, Contains):
        return ("Contains", item.field, item.case_sensitive)
    if isinstance(item, ListContains):
        return ("ListContains", item.field)
    if isinstance(item, JsonPathEq):
        value = item.value
        kind = (
            "none"
            if value is None
            else "bool"
            if isinstance(value, bool)
            else "number"
            if isinstance(value, int | float)
            else type(value).__name__
        )
        return ("JsonPathEq", item.field, item.path, kind)
    # An unknown Filter subclass: its values may shape the SQL, so the whole object is the key
    # (a cache entry per value: correct, merely less shared).
    return ("opaque", type(item).__qualname__, id(type(item)), repr(item))


def filter_values(item: Filter) -> list[Any] | None:
    """The values ``item.clause()`` binds, in its order (a list for an ``IN``); ``None`` if unknown.

    Lets a cached query skip building its conditions; :mod:`._compile` checks the order against
    SQLAlchemy's own parameters before trusting it.
    """
    if isinstance(item, Eq | NotEq):
        return [] if item.value is None or isinstance(item.value, bool) else [item.value]
    if isinstance(item, In):
        if isinstance(item.values, str | bytes) or not isinstance(item.values, Iterable):
            raise InvalidQueryError(f"{item.field[:60]}__in needs a list of values.")
        values = list(item.values)
        return [values] if values else []
    if isinstance(item, Range):
        return [bound for bound in (item.gt, item.gte, item.lt, item.lte) if bound is not None]
    if isinstance(item, IsNull):
        return []
    if isinstance(item, Contains):
        return [item.text]
    if isinstance(item, ListContains):
        return [item.value]
    if isinstance(item, JsonPathEq):
        path = json_path_of(item.path)
        value = item.value
        if value is None:
            return [path]
        if isinstance(value, bool):
            return [path, "true" if value else "false"]
        if isinstance(value, int | float):
            return [path, float(value)]
        return [path, value]
    return None
