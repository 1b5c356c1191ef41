"""The immutable, composable analytics builder.

Examples:
    >>> from project_architect_db.models import Message
    >>> from project_architect_db.queries.analytics import Analytics, bucket, count, sum_
    >>> q = (Analytics(Message)
    ...      .where(role__in=["user", "assistant"])
    ...      .group_by("role", bucket("created_at", "week"))
    ...      .aggregate(count(), sum_("token_count").as_("tokens"))
    ...      .order_by("week", "-count"))
    >>> print(q.sql().splitlines()[0][:56])
    SELECT messages.role AS role, date_trunc('week', message
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import ClauseElement, ColumnElement, Select, column, literal_column, select

from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.queries.analytics._arguments import (
    _aggregate,
    _checked_having,
    _having_clause,
    _output_name,
    _walk,
)
from project_architect_db.queries.analytics._compile import compile_cached
from project_architect_db.queries.analytics._execute import NativeRunner, Runnable, Source
from project_architect_db.queries.analytics._state import BuilderState
from project_architect_db.queries.analytics._validate import Resolver, validate
from project_architect_db.queries.analytics.expressions import (
    AggregateLike,
    Expr,
    Window,
    as_expr,
    filter_shape,
    filter_values,
)
from project_architect_db.queries.filters import (
    _OPERATORS,
    Eq,
    Filter,
    _keyword_filter,
)

__all__ = ["Analytics"]

_MAX_LIMIT = 1_000_000


class Analytics(Runnable):
    """A grouped/aggregated query over one model (and the relationships joined to it).

    Every method returns a new builder; a builder is cheap to copy and safe to share. The SQL of
    a query *shape* (everything but the values) is compiled once and cached.
    """

    __slots__ = ("_native", "_source", "_state")

    def __init__(
        self,
        model: type[Any],
        *,
        source: Source | None = None,
        native: NativeRunner | None = None,
    ) -> None:
        if not isinstance(model, type) or not hasattr(model, "__mapper__"):
            raise InvalidQueryError(
                f"Analytics needs a mapped model class such as Project, not {model!r}."
            )
        self._state = BuilderState(model)
        self._source = source
        self._native = native

    def _with(self, **changes: Any) -> Analytics:
        clone = object.__new__(Analytics)
        clone._state = self._state.copy(**changes)
        clone._source = self._source
        clone._native = self._native
        clone._as_of = self._as_of
        return clone

    def bind(self, source: Source) -> Analytics:
        """The same query, run in units of work opened by ``source`` (``db.transaction``)."""
        clone = self._with()
        clone._source = source
        return clone

    @property
    def model(self) -> type[Any]:
        """The model the query starts from."""
        return self._state.model

    # -- building ------------------------------------------------------------------------------
    def join(self, *path: str) -> Analytics:
        """Join relationships in a chain: ``Analytics(Project).join("repositories", "builds")``.

        Columns of a joined model are then named ``"<relationship>.<field>"`` (``"builds.status"``).
        """
        if not path:
            raise InvalidQueryError("join() needs at least one relationship name.")
        _walk(self._state.model, path)
        return self._with(joins=(*self._state.joins, tuple(path)))

    def where(self, *filters: Filter, on: str | None = None, **conditions: Any) -> Analytics:
        """Keep rows matching every filter: the repositories' filter objects and keywords.

        Args:
            *filters: ``Eq``, ``In``, ``Range``, ``JsonPathEq``, ...
            on: Apply them to this joined relationship instead of the base model.
            **conditions: ``status="active"``, ``created_at__gte=since``, ``architecture__db="pg"``.
        """
        model = self._resolver().model(on)
        items: list[tuple[str | None, Filter]] = []
        for item in filters:
            if not isinstance(item, Filter):
                raise InvalidQueryError(
                    f"where() takes Filter objects (Eq, In, Range, ...), not {type(item).__name__}."
                )
            items.append((on, item))
        for key, value in conditions.items():
            items.append((on, _keyword_filter(model, key, value)))
        resolver = self._resolver()
        for _, item in items:
            resolver.check_filter(item, on)  # unknown fields fail here, not at execution
        return self._with(where=self._state.where + tuple(items))

    def select(self, *exprs: str | Expr, **named: str | Expr) -> Analytics:
        """Plain output columns (for top-N lists); with aggregates, use :meth:`group_by`."""
        return self._with(selects=self._state.selects + self._named(exprs, named))

    def group_by(self, *exprs: str | Expr, **named: str | Expr) -> Analytics:
        """Group by fields, ``bucket(...)`` s or ``json(...)`` paths (``name=expr`` renames)."""
        return self._with(groups=self._state.groups + self._named(exprs, named))

    def aggregate(self, *aggregates: AggregateLike, **named: AggregateLike) -> Analytics:
        """Add aggregates (``count()``, ``median("x")``, ``rate(...)``); ``name=agg`` renames."""
        items: list[tuple[str, AggregateLike]] = []
        for agg in aggregates:
            items.append((_output_name(_aggregate(agg).name()), agg))
        for name, agg in named.items():
            items.append((_output_name(name), _aggregate(agg)))
        resolver = self._resolver()
        for _, agg in items:
            validate(resolver, agg)
        return self._with(aggregates=self._state.aggregates + tuple(items))

    def having(self, *filters: Filter, **conditions: Any) -> Analytics:
        """Keep groups whose aggregates match: ``having(count__gte=10)`` (output names)."""
        items = list(filters)
        for key, value in conditions.items():
            name, _, operator = key.partition("__")
            if not operator:
                items.append(Eq(name, value))
                continue
            builder = _OPERATORS.get(operator)
            if builder is None or operator in ("contains", "has"):
                raise InvalidQueryError(
                    f"Unknown having operator {operator[:30]!r} in {key[:60]!r}."
                )
            items.append(builder(name, value))  # type: ignore[no-untyped-call]
        checked = tuple(_checked_having(item) for item in items)
        return self._with(having=self._state.having + checked)

    def window(self, *windows: Window, **named: Window) -> Analytics:
        """Add window columns over the grouped rows: ``running_total``, ``rank``, ``lag_change``."""
        for item in (*windows, *named.values()):
            if not isinstance(item, Window):
                raise InvalidQueryError(
                    f"window() takes Window objects (running_total, rank, lag_change), "
                    f"not {type(item).__name__}."
                )
        items = [(_output_name(w.name()), w) for w in windows]
        items += [(_output_name(name), w) for name, w in named.items()]
        return self._with(windows=self._state.windows + tuple(items))

    def order_by(self, *keys: str) -> Analytics:
        """Sort by output names; ``"-count"`` is descending."""
        for key in keys:
            if not isinstance(key, str) or not key.lstrip("-"):
                raise InvalidQueryError(
                    f"order_by takes output names such as '-count', not {key!r}."
                )
        return self._with(order=self._state.order + tuple(keys))

    def limit(self, n: int) -> Analytics:
        """At most ``n`` rows."""
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= _MAX_LIMIT:
            raise InvalidQueryError(f"limit must be an integer in 0..{_MAX_LIMIT}, not {n!r}.")
        return self._with(limit=n)

    def _named(
        self, exprs: tuple[str | Expr, ...], named: dict[str, str | Expr]
    ) -> tuple[tuple[str, Expr], ...]:
        resolver = self._resolver()
        items = [(as_expr(e).default_name(), as_expr(e)) for e in exprs]
        items += [(_output_name(name), as_expr(e)) for name, e in named.items()]
        for _, expr in items:
            validate(resolver, expr)  # fields, buckets and JSON paths fail here
        return tuple(items)

    # -- compiling -----------------------------------------------------------------------------
    def _resolver(self) -> Resolver:
        state = self._state
        if state.resolver is None:
            models: dict[str, type[Any]] = {}
            for path in state.joins:
                for name, target in _walk(state.model, path):
                    models[name] = target
            state.resolver = Resolver(state.model, models)
        return state.resolver

    def shape(self) -> Hashable:
        """The query's structure without values: the compiled-SQL cache key."""
        state = self._state
        if state.shape is None:
            shape = (
                state.model,
                state.joins,
                tuple((on, filter_shape(item)) for on, item in state.where),
                tuple((name, expr.shape()) for name, expr in state.selects),
                tuple((name, expr.shape()) for name, expr in state.groups),
                tuple((name, agg.shape()) for name, agg in state.aggregates),
                tuple(filter_shape(item) for item in state.having),
                tuple((name, w.shape()) for name, w in state.windows),
                state.order,
                state.limit,
            )
            state.shape = shape
        return state.shape

    def values(self) -> list[list[Any]] | None:
        """The bound values, one list per root of :meth:`parts`, without building any SQL."""
        state = self._state
        out: list[list[Any]] = []
        for _, item in state.where:
            values = filter_values(item)
            if values is None:
                return None
            out.append(values)
        for _, agg in state.aggregates:
            groups = agg.values()
            if groups is None:
                return None
            out.extend(groups)
        for item in state.having:
            values = filter_values(item)
            if values is None:
                return None
            out.append(values)
        return out

    def _prepare(self) -> tuple[str, list[Any]]:
        return compile_cached(self.shape(), self.parts, self.values())

    def parts(self) -> tuple[Callable[[], Select[Any]], list[ClauseElement]]:
        """``(statement_factory, roots)``: the value-bearing conditions and the statement."""
        resolver = self._resolver()
        state = self._state
        where = [resolver.filter_clause(item, on) for on, item in state.where]
        built_aggregates: list[tuple[str, ColumnElement[Any]]] = []
        roots: list[ClauseElement] = list(where)
        for name, agg in state.aggregates:
            expression, conditions = agg.build(resolver)
            built_aggregates.append((name, expression))
            roots.extend(conditions)
        having = [
            _having_clause(item, dict(built_aggregates), self._output_names())
            for item in state.having
        ]
        roots.extend(having)
        return (lambda: self._statement(resolver, where, built_aggregates, having)), roots

    def statement(self) -> Select[Any]:
        """The SQLAlchemy ``Select`` this builder stands for (for composing with Core)."""
        return self.parts()[0]()

    def _output_names(self) -> list[str]:
        state = self._state
        return [name for name, _ in (*state.groups, *state.selects, *state.aggregates)]

    def _statement(
        self,
        resolver: Resolver,
        where: list[ColumnElement[bool]],
        aggregates: list[tuple[str, ColumnElement[Any]]],
        having: list[ColumnElement[bool]],
    ) -> Select[Any]:
        state = self._state
        names = self._output_names()
        every = names + [name for name, _ in state.windows]  # a window would replace its twin
        if len(set(every)) != len(every):
            raise InvalidQueryError(f"Output names must be unique: {', '.join(every)}.")
        groups = [(name, expr.build(resolver)) for name, expr in state.groups]
        selects = [(name, expr.build(resolver)) for name, expr in state.selects]
        columns = [e.label(n) for n, e in groups] + [e.label(n) for n, e in selects]
        columns += [e.label(n) for n, e in aggregates]
        if not columns:
            raise InvalidQueryError("Nothing to select: add group_by, select or aggregate.")
        statement: Select[Any] = select(*columns).select_from(state.model)
        for path in state.joins:
            parent = state.model
            for name, target in _walk(state.model, path):
                statement = statement.join(getattr(parent, name.rpartition(".")[2]))
                parent = target
        if where:
            statement = statement.where(*where)
        if groups and (aggregates or not selects):
            statement = statement.group_by(*[expression for _, expression in groups])
        if selects and aggregates and not groups:
            raise InvalidQueryError("Plain select() columns next to aggregates need group_by().")
        if selects and aggregates and groups:
            statement = statement.group_by(*[expression for _, expression in selects])
        if having:
            statement = statement.having(*having)
        outputs = list(names)
        if state.windows:
            inner = statement.subquery("grouped")
            refs = {name: inner.c[name] for name in names}
            window_columns = [w.build(refs).label(name) for name, w in state.windows]
            statement = select(inner, *window_columns)
            outputs += [name for name, _ in state.windows]
        if state.order:
            order = []
            for key in state.order:
                name = key.lstrip("-")
                if name not in outputs:
                    raise InvalidQueryError(
                        f"Cannot order by {name[:60]!r}: not an output. Outputs: "
                        f"{', '.join(outputs)}."
                    )
                ref: ColumnElement[Any] = column(name)
                order.append(ref.desc() if key.startswith("-") else ref.asc())
            statement = statement.order_by(*order)
        if state.limit is not None:
            # a validated int, rendered: part of the shape, and lets DuckDB plan a top-N
            statement = statement.limit(literal_column(str(int(state.limit))))
        return statement

    def __repr__(self) -> str:
        return f"<Analytics {self._state.model.__name__}: {self.sql()!r}>"
