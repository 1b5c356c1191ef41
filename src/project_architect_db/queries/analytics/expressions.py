"""The vocabulary of the analytics builder: fields, time buckets, JSON paths, aggregates, windows.

Every piece is a small frozen dataclass with a hashable :meth:`shape` (its structure without
values: the compiled-SQL cache key is made of these) and a ``build`` method returning the
SQLAlchemy expression. Names coming from users are checked when the query is built; values are
bound parameters. Three things are rendered into the SQL text instead, each validated against a
closed set first, because they are structure, not data: a bucket's unit (``'week'``), a JSON path
(identifier keys only) and a percentile's fraction (a float in (0, 1)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from sqlalchemy import ClauseElement, ColumnElement, Double, and_, cast, func, literal_column
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.sqltypes import JSON, DateTime
from sqlalchemy.types import TypeDecorator

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

__all__ = [
    "BUCKETS",
    "Aggregate",
    "Bucket",
    "Duration",
    "Expr",
    "Field",
    "JsonField",
    "Ratio",
    "Resolver",
    "Window",
    "as_expr",
    "avg",
    "bucket",
    "count",
    "count_distinct",
    "duration",
    "filter_shape",
    "filter_values",
    "json",
    "lag_change",
    "max_",
    "median",
    "min_",
    "percentile",
    "rank",
    "rate",
    "ratio",
    "running_total",
    "sum_",
]

BUCKETS = ("hour", "day", "week", "month")
"""Units :func:`bucket` accepts: ``date_trunc`` on the naive-UTC ``TIMESTAMP`` columns."""


class Resolver(Protocol):
    """What an expression needs from the query: columns by (possibly qualified) name."""

    def column(self, name: str) -> InstrumentedAttribute[Any]:
        """The column for ``"field"`` or ``"relation.field"``, or ``InvalidQueryError``."""
        ...

    def filter_clause(self, item: Filter, on: str | None) -> ColumnElement[bool]:
        """A repository filter's condition on the base model (or the joined ``on``)."""
        ...

    def check_filter(self, item: Filter, on: str | None) -> None:
        """Validate a filter's field and value kind without building SQL (when possible)."""
        ...


class Expr:
    """A value per row (a group key, a selected column, an aggregate's argument)."""

    def shape(self) -> Hashable:
        """The structure of this expression without values."""
        raise NotImplementedError

    def build(self, ctx: Resolver) -> ColumnElement[Any]:
        """The SQLAlchemy expression."""
        raise NotImplementedError

    def default_name(self) -> str:
        """The output column name when no alias is given."""
        raise NotImplementedError

    def check(self, ctx: Resolver) -> None:
        """Validate names now, without building SQL (builds by default)."""
        self.build(ctx)


@dataclass(frozen=True, slots=True)
class Field(Expr):
    """A column: ``"status"``, or ``"messages.role"`` for a joined relationship's column."""

    name: str

    def shape(self) -> Hashable:
        """``("field", name)``."""
        return ("field", self.name)

    def build(self, ctx: Resolver) -> ColumnElement[Any]:
        """The column."""
        column: ColumnElement[Any] = ctx.column(self.name).expression
        return column

    def check(self, ctx: Resolver) -> None:
        """The field exists."""
        ctx.column(self.name)

    def default_name(self) -> str:
        """The field name (``messages.role`` -> ``messages_role``)."""
        return self.name.replace(".", "_")


@dataclass(frozen=True, slots=True)
class Bucket(Expr):
    """``date_trunc(unit, field)``: the start of the hour/day/week/month holding the instant."""

    field: str
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in BUCKETS:
            raise InvalidQueryError(
                f"Unknown bucket {str(self.unit)[:20]!r}; use one of {', '.join(BUCKETS)}."
            )

    def shape(self) -> Hashable:
        """``("bucket", field, unit)``."""
        return ("bucket", self.field, self.unit)

    def check(self, ctx: Resolver) -> None:
        """The field is an instant."""
        if not _is_instant(ctx.column(self.field)):
            raise InvalidQueryError(f"{self.field} is not a timestamp; only instants bucket.")

    def build(self, ctx: Resolver) -> ColumnElement[Any]:
        """``date_trunc('week', created_at)``; the unit is one of :data:`BUCKETS`."""
        self.check(ctx)
        column = ctx.column(self.field)
        # naive TIMESTAMP: plain date arithmetic, ~40x faster than time_bucket on TIMESTAMPTZ
        return func.date_trunc(literal_column(f"'{self.unit}'"), column)

    def default_name(self) -> str:
        """The unit (``week``)."""
        return self.unit


@dataclass(frozen=True, slots=True)
class JsonField(Expr):
    """The text at a path of a JSON column: ``json("architecture", "database")``."""

    field: str
    path: tuple[str, ...]

    def shape(self) -> Hashable:
        """``("json", field, path)``."""
        return ("json", self.field, self.path)

    def check(self, ctx: Resolver) -> None:
        """The field is JSON and the path valid."""
        if not isinstance(ctx.column(self.field).type, JSON):
            raise InvalidQueryError(f"{self.field} is not a JSON field; it has no keys.")
        json_path_of(self.path)

    def build(self, ctx: Resolver) -> ColumnElement[Any]:
        """``json_extract_string(field, '$.a.b')``; keys are validated identifiers or indexes."""
        self.check(ctx)
        column = ctx.column(self.field)
        # Rendered, not bound: the same text in SELECT and GROUP BY lets DuckDB match them.
        path = json_path_of(self.path)
        return func.json_extract_string(column, literal_column(f"'{path}'"))

    def default_name(self) -> str:
        """The last key (``database``)."""
        return self.path[-1] if self.path else self.field


@dataclass(frozen=True, slots=True)
class Duration(Expr):
    """Seconds from ``start`` to ``end`` (two instants) as ``DOUBLE``."""

    start: str
    end: str

    def shape(self) -> Hashable:
        """``("duration", start, end)``."""
        return ("duration", self.start, self.end)

    def check(self, ctx: Resolver) -> None:
        """Both fields are instants."""
        for name in (self.start, self.end):
            if not _is_instant(ctx.column(name)):
                raise InvalidQueryError(f"{name} is not a timestamp; a duration needs two.")

    def build(self, ctx: Resolver) -> ColumnElement[Any]:
        """``epoch(end) - epoch(start)``."""
        self.check(ctx)
        start, end = ctx.column(self.start), ctx.column(self.end)
        result: ColumnElement[Any] = func.epoch(end) - func.epoch(start)
        return result

    def default_name(self) -> str:
        """``<start>_to_<end>_seconds``."""
        return f"{self.start}_to_{self.end}_seconds".replace(".", "_")


def _is_instant(column: InstrumentedAttribute[Any]) -> bool:
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    return isinstance(kind, DateTime)


def as_expr(value: str | Expr) -> Expr:
    """A field name becomes a :class:`Field`; expressions pass through."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, str):
        return Field(value)
    raise InvalidQueryError(
        f"Expected a field name or an expression (bucket, json, ...), not {type(value).__name__}."
    )


def bucket(field: str, unit: Literal["hour", "day", "week", "month"]) -> Bucket:
    """Group instants by ``unit``: ``bucket("created_at", "week")``.

    Raises:
        InvalidQueryError: ``unit`` is not hour, day, week or month.
    """
    return Bucket(field, unit)


def json(field: str, *path: str) -> JsonField:
    """A value inside a JSON column: ``json("architecture", "database")``."""
    return JsonField(field, tuple(path))


def duration(start: str, end: str) -> Duration:
    """Seconds between two instants of a row: ``duration("commit_at", "finished_at")``."""
    return Duration(start, end)


# -- aggregates ---------------------------------------------------------------------------------

_FUNCTIONS: Mapping[str, Callable[[ColumnElement[Any]], ColumnElement[Any]]] = {
    "count_distinct": lambda arg: func.count(arg.distinct()),
    "sum": func.sum,
    "avg": func.avg,
    "min": func.min,
    "max": func.max,
    "median": func.median,
}


@dataclass(frozen=True, slots=True)
class Aggregate:
    """An aggregate over each group, optionally over only the rows matching ``filters``."""

    function: str
    arg: Expr | None = None
    fraction: float | None = None
    alias: str | None = None
    filters: tuple[Filter, ...] = ()
    on: str | None = None

    def as_(self, alias: str) -> Aggregate:
        """The same aggregate under the output name ``alias``."""
        return replace(self, alias=alias)

    def where(self, *filters: Filter, on: str | None = None) -> Aggregate:
        """Aggregate only rows matching ``filters`` (``count(*) FILTER (WHERE ...)``)."""
        for item in filters:
            if not isinstance(item, Filter):
                raise InvalidQueryError(
                    f"where() takes Filter objects (Eq, In, ...), not {type(item).__name__}."
                )
        return replace(self, filters=self.filters + tuple(filters), on=on)

    def shape(self) -> Hashable:
        """Function, argument shape, fraction and the filters' shapes."""
        return (
            "agg",
            self.function,
            None if self.arg is None else self.arg.shape(),
            self.fraction,
            self.on,
            tuple(filter_shape(item) for item in self.filters),
        )

    def name(self) -> str:
        """The alias, or ``count`` / ``avg_<field>`` / ``p95_<field>``."""
        if self.alias is not None:
            return self.alias
        if self.arg is None:
            return self.function
        base = self.arg.default_name()
        if self.function == "quantile":
            assert self.fraction is not None
            return f"p{round(self.fraction * 100, 2):g}_{base}".replace(".", "_")
        return f"{self.function}_{base}"

    def check(self, ctx: Resolver) -> None:
        """Validate the fields now (at build time), without building SQL."""
        if self.arg is not None:
            self.arg.check(ctx)
        for item in self.filters:
            ctx.check_filter(item, self.on)

    def values(self) -> list[list[Any]] | None:
        """The bound values of each filter (one list per condition), in order."""
        out: list[list[Any]] = []
        for item in self.filters:
            values = filter_values(item)
            if values is None:
                return None
            out.append(values)
        return out

    def build(self, ctx: Resolver) -> tuple[ColumnElement[Any], list[ColumnElement[bool]]]:
        """The aggregate expression, and the value-bearing conditions in it."""
        conditions = [ctx.filter_clause(item, self.on) for item in self.filters]
        if self.function == "count":
            expression: Any = func.count()
        else:
            assert self.arg is not None
            arg = self.arg.build(ctx)
            if self.function == "quantile":
                expression = func.quantile_cont(arg, literal_column(repr(self.fraction)))
            else:
                expression = _FUNCTIONS[self.function](arg)
        if conditions:
            expression = expression.filter(and_(*conditions))
        result: ColumnElement[Any] = expression
        return result, conditions


def count() -> Aggregate:
    """The number of rows in the group (output name ``count``)."""
    return Aggregate("count")


def count_distinct(field: str | Expr) -> Aggregate:
    """The number of distinct non-null values of ``field``."""
    return Aggregate("count_distinct", as_expr(field))


def sum_(field: str | Expr) -> Aggregate:
    """The sum of ``field``."""
    return Aggregate("sum", as_expr(field))


def avg(field: str | Expr) -> Aggregate:
    """The mean of ``field``."""
    return Aggregate("avg", as_expr(field))


def min_(field: str | Expr) -> Aggregate:
    """The smallest ``field``."""
    return Aggregate("min", as_expr(field))


def max_(field: str | Expr) -> Aggregate:
    """The largest ``field``."""
    return Aggregate("max", as_expr(field))


def median(field: str | Expr) -> Aggregate:
    """The median of ``field`` (interpolated)."""
    return Aggregate("median", as_expr(field))


def percentile(field: str | Expr, fraction: float) -> Aggregate:
    """The ``fraction`` quantile of ``field`` (interpolated): ``percentile("duration", 0.95)``.

    Raises:
        InvalidQueryError: ``fraction`` is not a number strictly between 0 and 1.
    """
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, int | float)
        or not math.isfinite(fraction)
        or not 0 < fraction < 1
    ):
        raise InvalidQueryError(
            f"A percentile is a fraction strictly between 0 and 1 (0.95), not {fraction!r}."
        )
    return Aggregate("quantile", as_expr(field), fraction=float(fraction))


@dataclass(frozen=True, slots=True)
class Ratio:
    """``numerator / denominator`` of two aggregates as ``DOUBLE``; ``NULL`` when dividing by 0."""

    numerator: Aggregate
    denominator: Aggregate | float
    alias: str | None = None

    def as_(self, alias: str) -> Ratio:
        """The same ratio under the output name ``alias``."""
        return replace(self, alias=alias)

    def shape(self) -> Hashable:
        """Both sides' shapes (a constant denominator is a bound value)."""
        denominator = (
            self.denominator.shape() if isinstance(self.denominator, Aggregate) else "const"
        )
        return ("ratio", self.numerator.shape(), denominator)

    def name(self) -> str:
        """The alias, or ``<numerator>_ratio``."""
        return self.alias or f"{self.numerator.name()}_ratio"

    def check(self, ctx: Resolver) -> None:
        """Validate both sides now."""
        self.numerator.check(ctx)
        if isinstance(self.denominator, Aggregate):
            self.denominator.check(ctx)
        else:
            _constant(self.denominator)

    def values(self) -> list[list[Any]] | None:
        """The bound values of both sides (one list per condition), in order."""
        values = self.numerator.values()
        if values is None:
            return None
        if isinstance(self.denominator, Aggregate):
            more = self.denominator.values()
            return None if more is None else values + more
        return [*values, [float(self.denominator)]]

    def build(self, ctx: Resolver) -> tuple[ColumnElement[Any], list[ColumnElement[bool]]]:
        """``CAST(num AS DOUBLE) / NULLIF(den, 0)``."""
        numerator, conditions = self.numerator.build(ctx)
        if isinstance(self.denominator, Aggregate):
            denominator, more = self.denominator.build(ctx)
            conditions = conditions + more
        else:
            # bound, and itself a value-bearing root (it is a parameter of the statement)
            denominator = cast(literal_column("1"), Double()) * _constant(self.denominator)
            conditions = [*conditions, denominator]
        result: ColumnElement[Any] = cast(numerator, Double()) / func.nullif(
            denominator, literal_column("0")
        )
        return result, conditions


def _constant(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value == 0
    ):
        raise InvalidQueryError(
            f"A ratio's constant denominator must be a non-zero number: {value!r}."
        )
    return float(value)


def ratio(numerator: Aggregate, denominator: Aggregate | float) -> Ratio:
    """One aggregate divided by another (or by a constant, e.g. days for a frequency)."""
    return Ratio(numerator, denominator)


def rate(*filters: Filter, among: tuple[Filter, ...] = ()) -> Ratio:
    """The share of rows (or of rows matching ``among``) that match ``filters``: 0.0-1.0."""
    base = count().where(*among) if among else count()
    return Ratio(count().where(*filters, *among), base)


AggregateLike = Aggregate | Ratio


# -- windows (computed over the grouped result) --------------------------------------------------

_WINDOW_KINDS = ("running_total", "rank", "lag_change")


@dataclass(frozen=True, slots=True)
class Window:
    """A window function over the grouped rows, referring to output names."""

    kind: str
    of: str
    order_by: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    alias: str | None = None

    def as_(self, alias: str) -> Window:
        """The same window under the output name ``alias``."""
        return replace(self, alias=alias)

    def shape(self) -> Hashable:
        """Everything: a window holds no values."""
        return ("window", self.kind, self.of, self.order_by, self.partition_by)

    def name(self) -> str:
        """The alias, or ``<kind>_<of>``."""
        return self.alias or f"{self.kind}_{self.of}"

    def build(self, columns: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
        """The window expression over the grouped subquery's ``columns``."""

        def ref(name: str) -> ColumnElement[Any]:
            try:
                return columns[name]
            except KeyError:
                raise InvalidQueryError(
                    f"Window refers to unknown output {name[:60]!r}. Outputs: {', '.join(columns)}."
                ) from None

        def ordering(key: str) -> ColumnElement[Any]:
            return ref(key[1:]).desc() if key.startswith("-") else ref(key).asc()

        target = ref(self.of)
        partition = [ref(name) for name in self.partition_by] or None
        if self.kind == "rank":
            return func.rank().over(partition_by=partition, order_by=target.desc())
        order = [ordering(key) for key in self.order_by]
        if not order:
            raise InvalidQueryError(f"{self.kind} needs order_by (e.g. the bucket).")
        if self.kind == "running_total":
            return func.sum(target).over(partition_by=partition, order_by=order, rows=(None, 0))
        previous = func.lag(target).over(partition_by=partition, order_by=order)
        change: ColumnElement[Any] = target - previous
        return change


def _window(kind: str, of: str, order_by: str | tuple[str, ...], partition_by: Any) -> Window:
    order = (order_by,) if isinstance(order_by, str) else tuple(order_by)
    partition = (partition_by,) if isinstance(partition_by, str) else tuple(partition_by or ())
    return Window(kind, of, order, partition)


def running_total(
    of: str, *, order_by: str | tuple[str, ...], partition_by: str | tuple[str, ...] = ()
) -> Window:
    """Cumulative sum of the output ``of`` in ``order_by`` order (per partition)."""
    return _window("running_total", of, order_by, partition_by)


def rank(of: str, *, partition_by: str | tuple[str, ...] = ()) -> Window:
    """Rank by the output ``of``, largest first, within each partition (``rank()``)."""
    return _window("rank", of, (), partition_by)


def lag_change(
    of: str, *, order_by: str | tuple[str, ...], partition_by: str | tuple[str, ...] = ()
) -> Window:
    """Period-over-period change: ``of - lag(of)`` (``NULL`` for the first period)."""
    return _window("lag_change", of, order_by, partition_by)


# -- filter shapes -------------------------------------------------------------------------------


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
