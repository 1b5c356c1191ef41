"""The builder's argument checks, model walks and ``HAVING`` clauses (``builder.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.queries.analytics.expressions import (
    Aggregate,
    AggregateLike,
    Ratio,
)
from project_architect_db.queries.filters import (
    Eq,
    Filter,
    In,
    IsNull,
    NotEq,
    Range,
)


def _checked_having(item: Any) -> Filter:
    """``item`` if ``having()`` can apply it (an ``In`` with its values read once), else raise.

    The checks are ``where()``'s for a column: ``__isnull`` takes a bool, ``__in`` a collection
    of at most ``MAX_IN_VALUES`` values.
    """
    if not isinstance(item, Eq | NotEq | In | Range | IsNull):
        raise InvalidQueryError(
            f"having() takes Eq, NotEq, In, Range or IsNull, not {type(item).__name__}."
        )
    if isinstance(item, IsNull):
        item.checked()
    if isinstance(item, In):  # read once: a generator would be empty the second time
        return In(item.field, tuple(item.checked_values()))
    return item


def _output_name(name: str) -> str:
    """``name`` if it can name an output column as given (SQL would rename or reject others)."""
    if not isinstance(name, str) or not name.strip() or "\x00" in name or len(name) > 255:
        raise InvalidQueryError(
            f"Output names are 1-255 characters without NUL, not {str(name)[:60]!r}."
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQueryError(
            f"Output name {name[:60]!r} is not valid Unicode (a lone surrogate?)."
        ) from None
    return name


def _aggregate(agg: Any) -> AggregateLike:
    if not isinstance(agg, Aggregate | Ratio):
        raise InvalidQueryError(
            f"aggregate() takes count(), sum_(...), rate(...), ..., not {type(agg).__name__}."
        )
    return agg


def _walk(model: type[Any], path: tuple[str, ...]) -> list[tuple[str, type[Any]]]:
    """``[(relationship name, target model), ...]`` along ``path``, validated."""
    steps: list[tuple[str, type[Any]]] = []
    current = model
    for name in path:
        relationships = current.__mapper__.relationships
        if not isinstance(name, str) or name not in relationships:
            valid = ", ".join(sorted(relationships.keys()))
            raise InvalidQueryError(
                f"{current.__name__} has no relationship {str(name)[:60]!r}. Valid: {valid}."
            )
        current = relationships[name].mapper.class_
        steps.append((name, current))
    return steps


def _having_clause(
    item: Filter, aggregates: dict[str, ColumnElement[Any]], outputs: list[str]
) -> ColumnElement[bool]:
    name = getattr(item, "field", None)
    if not isinstance(name, str) or name not in aggregates:
        raise InvalidQueryError(
            f"having() refers to {str(name)[:60]!r}, which is not an aggregate. "
            f"Aggregates: {', '.join(aggregates) or 'none'} (outputs: {', '.join(outputs)})."
        )
    target = aggregates[name]
    result: ColumnElement[bool]
    if isinstance(item, Eq):
        result = target.is_(None) if item.value is None else target == item.value
    elif isinstance(item, NotEq):
        result = target.is_not(None) if item.value is None else target != item.value
    elif isinstance(item, In):
        result = target.in_(list(item.values))
    elif isinstance(item, IsNull):
        result = target.is_(None) if item.is_null else target.is_not(None)
    else:
        assert isinstance(item, Range)
        result = item.bounds(target)
    return result
