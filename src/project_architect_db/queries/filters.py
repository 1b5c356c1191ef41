"""Filter objects shared by the repositories and the analytics builders.

Each filter is a small frozen dataclass whose :meth:`Filter.clause` turns it into a SQLAlchemy
boolean expression for a model, so filters compose (``list(filters=[...])``, ``AND`` of all).
Field names are checked against the model's columns before any SQL is built; values are always
bound parameters.

The keyword shorthand of ``repo.list(...)`` maps onto them::

    status="active"                 Eq          tags__has="api"            ListContains
    status__in=["draft", "active"]  In          name__contains="atlas"     Contains
    stars__gte=10, stars__lt=100    Range       description__isnull=True   IsNull
    status__ne="archived"           NotEq       architecture__database="postgresql"  JsonPathEq
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Double, and_, false, func, literal, or_, try_cast
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.sqltypes import ARRAY, JSON, String

from project_architect_db.exceptions import InvalidQueryError

__all__ = [
    "Contains",
    "Eq",
    "Filter",
    "In",
    "IsNull",
    "JsonPathEq",
    "ListContains",
    "NotEq",
    "Range",
    "column_of",
    "field_names",
    "parse_filters",
]

_JSON_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$|^\d{1,6}$")
#: The most values one ``__in`` filter binds (each is a parameter).
MAX_IN_VALUES = 10_000


def field_names(model: type[Any]) -> dict[str, InstrumentedAttribute[Any]]:
    """Every filterable/sortable field of ``model``: attribute names and column names."""
    cached = _FIELDS.get(model)
    if cached is not None:
        return cached
    fields: dict[str, InstrumentedAttribute[Any]] = {}
    for attribute in model.__mapper__.column_attrs:
        instrumented = getattr(model, attribute.key)
        fields[attribute.key] = instrumented
        for column in attribute.columns:
            fields.setdefault(str(column.name), instrumented)
    _FIELDS[model] = fields
    return fields


_FIELDS: dict[type[Any], dict[str, InstrumentedAttribute[Any]]] = {}


def column_of(model: type[Any], name: str) -> InstrumentedAttribute[Any]:
    """The column attribute for a user-given field name, or ``InvalidQueryError``."""
    if not isinstance(name, str):
        raise InvalidQueryError(f"A field name must be a string, not {type(name).__name__}.")
    fields = field_names(model)
    try:
        return fields[name]
    except KeyError:
        valid = ", ".join(sorted({attr.key for attr in fields.values()} - {"metadata_"}))
        raise InvalidQueryError(
            f"{model.__name__} has no field {name[:80]!r}. Valid fields: {valid}, metadata."
        ) from None


def _is_json(attr: InstrumentedAttribute[Any]) -> bool:
    return isinstance(attr.type, JSON)


def _is_list(attr: InstrumentedAttribute[Any]) -> bool:
    return isinstance(attr.type, ARRAY)


class Filter:
    """Base of every filter: ``clause(model)`` is the boolean SQL expression."""

    def clause(self, model: type[Any]) -> ColumnElement[bool]:
        """The condition this filter adds for ``model``."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Eq(Filter):
    """``field = value`` (``value=None`` means ``IS NULL``)."""

    field: str
    value: Any

    def clause(self, model: type[Any]) -> ColumnElement[bool]:
        """``field = value``."""
        column = column_of(model, self.field)
        if self.value is None:
            return column.is_(None)
        if _is_json(column) or _is_list(column):
            raise InvalidQueryError(
                f"{self.field} holds {'JSON' if _is_json(column) else 'a list'}: filter it with "
                f"{self.field}__<key>=... or {self.field}__has=... instead of equality."
            )
        equal: ColumnElement[bool] = column == self.value
        return equal


@dataclass(frozen=True, slots=True)
class NotEq(Filter):
    """``field <> value`` (``value=None`` means ``IS NOT NULL``)."""

    field: str
    value: Any

    def clause(self, model: type[Any]) -> ColumnElement[bool]:
        """``field <> value``."""
        column = column_of(model, self.field)
        if self.value is None:
            return column.is_not(None)
        different: ColumnElement[bool] = column != self.value
        return or_(different, column.is_(None))


@dataclass(frozen=True, slots=True)
class In(Filter):
    """``field IN (values)``; an empty collection matches nothing."""

    field: str
    values: Sequence[Any]

    def checked_values(self) -> list[Any]:
        """The values as a list, if they are a collection of at most ``MAX_IN_VALUES``."""
        if isinstance(self.values, str | bytes) or not isinstance(self.values, Iterable):
            raise InvalidQueryError(f"{self.field}__in needs a list of values.")
        values = list(self.values)
        if len(values) > MAX_IN_VALUES:
            raise InvalidQueryError(
                f"{self.field}__in got {len(values)} values; at most {MAX_IN_VALUES} are allowed."
            )
        return values

    def clause(self, model: type[Any]) -> ColumnElement[bool]:
        """``field IN (...)``."""
        column = column_of(model, self.field)
        values = self.checked_values()
        if not values:
            return false()
        return column.in_(values)


@dataclass(frozen=True, slots=True)
class Range(Filter):
    """``field`` within bounds: any of ``gt``, ``gte``, ``lt``, ``lte``."""

    field: str
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None

    def clause(self, model: type[Any]) -> ColumnElement[bool]:
        """``field >= gte AND field < lt ...``."""
        return self.bounds(column_of(model, self.field))

    def bounds(self, target: Any) -> ColumnElement[bool]:
        """The bounds applied to ``target`` (a column, or an aggregate for ``having``)."""
        parts = []
        if self.gt is not None:
            parts.append(target > self.gt)
        if self.gte is not None:
            parts.append(target >= self.gte)
        if self.lt is not None:
            parts.append(target < self.lt)
        if self.lte is not None:
            parts.append(target <= self.lte)
        if not parts:
            raise InvalidQueryError(f"A range on {self.field} needs at least one bound.")
        return and_(*parts)


@dataclass(frozen=True, slots=True)
class IsNull(Filter):
    """``field IS NULL`` (or ``IS NOT NULL`` with ``is_null=False``)."""

    field: str
    is_null: bool = True

    def checked(self) -> bool:
        """``is_null``, if it is a bool."""
        if not isinstance(self.is_null, bool):
            raise InvalidQueryError(f"{self.field}__isnull takes True or False.")
        return self.is_null

    def clause(self, model: type[Any]) -> ColumnElement[bool]:
        """``field IS [NOT] NULL``."""
        is_null = self.checked()
        column = column_of(model, self.field)
        return column.is_(None) if is_null else column.is_not(None)


@dataclass(frozen=True, slots=True)
class Contains(Filter):
    """Substring search in a text field (case-insensitive unless ``case_sensitive``).

    On a list field (``tags``, ``tech_stack``) it means "the list holds ``text``", as ``__has``.
    """

    field: str
    text: str
    case_sensitive: bool = False

    def clause(self, model: type[Any]) -> ColumnElement[bool]:
        """``contains(field, text)``: no LIKE wildcards, so ``%`` and ``_`` match literally."""
        column = column_of(model, self.field)
        if not isinstance(self.text, str):
            raise InvalidQueryError(f"{self.field}__contains takes a string.")
        if _is_list(column):
            return ListContains(self.field, self.text).clause(model)
        if not isinstance(column.type, String):
            raise InvalidQueryError(
                f"{self.field} is not a text field: __contains searches text (or list) fields."
            )
        if self.case_sensitive:
            return func.contains(column, literal(self.text)).is_(True)
        return func.contains(func.lower(column), func.lower(literal(self.text))).is_(True)


@dataclass(frozen=True, slots=True)
class ListContains(Filter):
    """A list field (``tags``, ``tech_stack``) holds ``value``."""

    field: str
    value: str

    def clause(self, model: type[Any]) -> ColumnElement[bool]:
        """``list_contains(field, value)``."""
        column = column_of(model, self.field)
        if not _is_list(column):
            raise InvalidQueryError(f"{self.field} is not a list field; __has needs one.")
        return func.list_contains(column, literal(self.value)).is_(True)


@dataclass(frozen=True, slots=True)
class JsonPathEq(Filter):
    """A JSON field's value at ``path`` (keys, or list indexes) equals ``value``."""

    field: str
    path: tuple[str, ...]
    value: Any

    def clause(self, model: type[Any]) -> ColumnElement[bool]:
        """``json_extract_string(field, '$.a.b') = value``, the path bound as a parameter."""
        column = column_of(model, self.field)
        if not _is_json(column):
            raise InvalidQueryError(f"{self.field} is not a JSON field; it has no keys.")
        json_path = json_path_of(self.path)
        extracted = func.json_extract_string(column, literal(json_path))
        if self.value is None:
            return extracted.is_(None)
        if isinstance(self.value, bool):
            return extracted == literal("true" if self.value else "false")
        if isinstance(self.value, int | float):
            return try_cast(extracted, Double()) == literal(float(self.value))
        if isinstance(self.value, str):
            return extracted == literal(self.value)
        raise InvalidQueryError(
            f"{self.field}__{'__'.join(self.path)} compares with a string, number, bool or None."
        )


def json_path_of(path: Sequence[str]) -> str:
    """``('services', '0', 'name')`` -> ``'$.services[0].name'``, validating every key."""
    if not path:
        raise InvalidQueryError("A JSON path needs at least one key.")
    parts = ["$"]
    for key in path:
        if not isinstance(key, str) or not _JSON_KEY.match(key):
            raise InvalidQueryError(
                f"JSON keys in filters are identifiers or list indexes; got {str(key)[:40]!r}."
            )
        parts.append(f"[{key}]" if key.isdigit() else f".{key}")
    return "".join(parts)


_OPERATORS = {
    "in": lambda field, value: In(field, value),
    "ne": lambda field, value: NotEq(field, value),
    "gt": lambda field, value: Range(field, gt=value),
    "gte": lambda field, value: Range(field, gte=value),
    "lt": lambda field, value: Range(field, lt=value),
    "lte": lambda field, value: Range(field, lte=value),
    "isnull": lambda field, value: IsNull(field, value),
    "contains": lambda field, value: Contains(field, value),
    "has": lambda field, value: ListContains(field, value),
}


def parse_filters(
    model: type[Any], conditions: Mapping[str, Any], filters: Iterable[Filter] = ()
) -> list[ColumnElement[bool]]:
    """Turn ``list(**conditions)`` keywords and ``Filter`` objects into SQL conditions."""
    clauses: list[ColumnElement[bool]] = []
    for item in filters:
        if not isinstance(item, Filter):
            raise InvalidQueryError(
                f"filters takes Filter objects (Eq, In, Range, ...), not {type(item).__name__}."
            )
        clauses.append(item.clause(model))
    for key, value in conditions.items():
        clauses.append(_keyword_filter(model, key, value).clause(model))
    return clauses


def _keyword_filter(model: type[Any], key: str, value: Any) -> Filter:
    field, _, rest = key.partition("__")
    column = column_of(model, field)
    if not rest:
        return Eq(field, value)
    if _is_json(column) and rest not in ("isnull",):
        return JsonPathEq(field, tuple(rest.split("__")), value)
    builder = _OPERATORS.get(rest)
    if builder is None:
        raise InvalidQueryError(
            f"Unknown operator {rest[:40]!r} in {key[:80]!r}; use one of "
            f"{', '.join(sorted(_OPERATORS))}."
        )
    return builder(field, value)  # type: ignore[no-untyped-call]
