"""Validating the parts of an analytics query once per shape.

Every builder step checks its parts at once, so a bad field name fails where it is written.
The checks go through SQLAlchemy's mapped attributes (``column.type``, comparison operators),
which costs ~0.1-0.3 ms for an answer with a few filtered aggregates: more than compiling it
from the cache. The prebuilt answers rebuild the same query on every call, so a part whose
validity depends on its shape alone (field names, functions, filter kinds) is checked once per
(model, joins, shape) and remembered; parts whose validity depends on values (``contains``
text, custom filters and expressions) are checked every time.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.queries.analytics.expressions import (
    Aggregate,
    AggregateLike,
    Bucket,
    Duration,
    Expr,
    Field,
    JsonField,
    Ratio,
)
from project_architect_db.queries.analytics.expressions._aggregates import _constant
from project_architect_db.queries.filters import Eq, Filter, In, IsNull, NotEq, Range, column_of

__all__ = ["Resolver", "validate"]

#: Filters whose check needs only a column lookup.
_CHEAP_CHECK = (In, Range, IsNull)
#: Filters and expressions whose validity their shape decides (no value is inspected).
_SHAPE_FILTERS = (Eq, NotEq, In, Range, IsNull)
_SHAPE_EXPRS = (Field, Bucket, JsonField, Duration)
#: (model, joins, shape) of the parts already found valid; bounded (cleared when full).
_VALID: set[Hashable] = set()
_VALID_MAX = 4096


class Resolver:
    """Columns of the base model and of the joined relationships, by (qualified) name."""

    __slots__ = ("models", "root")

    def __init__(self, root: type[Any], models: dict[str, type[Any]]) -> None:
        self.root = root
        self.models = models

    def model(self, on: str | None) -> type[Any]:
        if on is None:
            return self.root
        try:
            return self.models[on]
        except KeyError:
            joined = ", ".join(self.models) or "none"
            raise InvalidQueryError(
                f"{on[:60]!r} is not a joined relationship (joined: {joined}); join it first."
            ) from None

    def column(self, name: str) -> InstrumentedAttribute[Any]:
        if not isinstance(name, str):
            raise InvalidQueryError(f"A field name must be a string, not {type(name).__name__}.")
        relation, dot, field_name = name.rpartition(".")
        if not dot:
            return column_of(self.root, name)
        return column_of(self.model(relation), field_name)

    def filter_clause(self, item: Filter, on: str | None) -> ColumnElement[bool]:
        return item.clause(self.model(on))

    def check_filter(self, item: Filter, on: str | None) -> None:
        model = self.model(on)
        if type(item) in _CHEAP_CHECK:
            column_of(model, item.field)  # type: ignore[attr-defined]
        else:
            item.clause(model)  # type-dependent errors (JSON/list misuse) surface now


def validate(resolver: Resolver, item: AggregateLike | Expr) -> None:
    """Check ``item`` against ``resolver``'s models, once per shape when its shape decides."""
    if not _shape_decides(item):
        item.check(resolver)
        return
    key = (resolver.root, tuple(resolver.models.items()), item.shape())
    try:
        known = key in _VALID
    except TypeError:  # an unhashable part (a list where a tuple belongs): no memory
        item.check(resolver)
        return
    if known:
        if isinstance(item, Ratio) and not isinstance(item.denominator, Aggregate):
            _constant(item.denominator)  # a value: checked every time
        return
    item.check(resolver)
    if len(_VALID) >= _VALID_MAX:
        _VALID.clear()
    _VALID.add(key)


def _shape_decides(item: Any) -> bool:
    if isinstance(item, Ratio):
        denominator = item.denominator
        return _shape_decides(item.numerator) and (
            not isinstance(denominator, Aggregate) or _shape_decides(denominator)
        )
    if isinstance(item, Aggregate):
        return (item.arg is None or type(item.arg) in _SHAPE_EXPRS) and all(
            type(part) in _SHAPE_FILTERS for part in item.filters
        )
    return type(item) in _SHAPE_EXPRS
