"""Point reads by id without SQLAlchemy's execute path: one compiled SQL string, one thread hop.

``AsyncRepository.get_or_none`` outside a transaction spent most of its time in SQLAlchemy
(execution context, result metadata, ~110 us per statement on the loop thread) and in checking
out an auto-commit connection (isolation-level switch). :class:`NativePointRead` compiles the
repository's ``SELECT ... WHERE id = $1`` once, runs it with ``duckdb.execute(...).fetchall()``
in a single :meth:`~project_architect_db.core._adapter.AsyncAdaptedConnection.run` hop, and turns
the tuple into the same mapping SQLAlchemy would build, applying each column type's own result
processor (``UtcDateTime`` attaches UTC, JSON text becomes dicts, ...). A lone ``SELECT`` with no
BEGIN pending is auto-committed by DuckDB, so no isolation switch is needed.

Inside a transaction the repository keeps the SQLAlchemy path (it must see the transaction's
own uncommitted writes, on the transaction's connection).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ClauseElement, Executable, Select, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from project_architect_db._records import row_maker
from project_architect_db.core._inline import InlineCost, ShortRead
from project_architect_db.core._sqlalchemy import (
    bind_processors,
    cache_key,
    construct_params,
    result_columns,
)
from project_architect_db.core.point_select import without_uuid_cast
from project_architect_db.core.statements import StatementCache
from project_architect_db.repositories._prepared import Prepared, worth_preparing
from project_architect_db.repositories._processors import Processor as _Processor
from project_architect_db.repositories._processors import result_processor
from project_architect_db.repositories._read_records import record_maker

__all__ = [
    "PREPARE",
    "NativeGet",
    "NativePointRead",
    "NativeRow",
    "NativeSelects",
    "NativeStatement",
    "compiled_shape",
]

#: Statement shapes a repository keeps compiled per kind of write; past it the cache starts over.
MAX_SHAPES = 256


def _result_layout(
    compiled: SQLCompiler, dialect: Dialect
) -> tuple[tuple[str, ...], tuple[_Processor, ...]]:
    """The result keys, as ``Row._mapping`` has them, and each column's result processor."""
    columns = result_columns(compiled)
    keys = tuple(key for key, _ in columns)
    processors = tuple(result_processor(sql_type, dialect) for _, sql_type in columns)
    return keys, processors


def _processed(
    keys: tuple[str, ...], processors: tuple[_Processor, ...], row: tuple[Any, ...]
) -> dict[str, Any]:
    """``row`` as ``Row._mapping`` would present it (result processors applied)."""
    return {
        key: value if processor is None else processor(value)
        for key, processor, value in zip(keys, processors, row, strict=True)
    }


class NativePointRead:
    """``statement`` (one ``row_id`` bind parameter) compiled for DuckDB's own ``execute``.

    Attributes:
        sql: The statement with a ``$1`` placeholder.
        keys: The result keys, as ``Row._mapping`` has them.
    """

    __slots__ = ("_bind", "_processors", "cost", "keys", "sql")

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        names = compiled.positiontup or []
        if list(names) != ["row_id"]:  # pragma: no cover - misuse
            raise TypeError("NativePointRead needs a statement with one 'row_id' parameter")
        self.sql = str(compiled)
        bind = bind_processors(compiled).get("row_id")
        self._bind: _Processor = bind if callable(bind) else None
        self.keys, self._processors = _result_layout(compiled, dialect)
        #: whether its reads may run on the loop thread (``core/_inline.py``, hot rows)
        self.cost = InlineCost()

    def parameters(self, row_id: uuid.UUID) -> list[Any]:
        """The DuckDB parameters for ``row_id`` (bind processor applied, as SQLAlchemy does)."""
        bind = self._bind
        return [row_id if bind is None else bind(row_id)]

    def fetcher(self, row_id: uuid.UUID) -> Callable[[Any], tuple[Any, ...] | None]:
        """``fn(duckdb_connection)`` that runs the statement and returns the row or ``None``."""
        sql = self.sql
        parameters = self.parameters(row_id)

        def fetch(duck: Any) -> tuple[Any, ...] | None:
            # fetchall, not fetchone: a result left unread keeps its auto-commit transaction
            # (and snapshot) open on the pooled connection, which makes CHECKPOINT, and so
            # Database.close(), fail once another connection has committed a write
            rows: list[tuple[Any, ...]] = duck.execute(sql, parameters).fetchall()
            return rows[0] if rows else None

        # a point read: may run on the loop thread (core/_inline.py)
        return ShortRead(fetch, self.cost)

    def mapping(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """``row`` as ``Row._mapping`` would present it (result processors applied)."""
        return _processed(self.keys, self._processors, row)


class _CompiledGet:
    """:class:`NativeGet` compiled for one dialect: the SQL, its binding, the record maker.

    The SQL runs prepared (``_prepared.py``): a point read by an indexed key plans the same
    index scan whatever the key, and preparing it once per connection saves DuckDB parsing,
    binding and planning it on every ``get``.
    """

    __slots__ = ("make", "point", "prepared")

    def __init__(self, get: NativeGet, dialect: Dialect) -> None:
        self.point = point = NativePointRead(get.statement, dialect)
        # every key reaching here is a ``uuid.UUID`` (``_reads._as_id``) or, for a slug, a
        # string the statement does not cast: the id's ``::UUID`` cast is dropped
        sql = without_uuid_cast(point.sql, point._bind) or point.sql
        self.prepared = Prepared(sql, plain=not worth_preparing(dialect))
        self.make = record_maker(get.schema, point.keys, point._processors)

    @property
    def sql(self) -> str:
        """The SQL of the point read (``$1``: the key)."""
        return self.prepared.sql

    @sql.setter
    def sql(self, sql: str) -> None:
        self.prepared = Prepared(sql, plain=self.prepared.plain)


class NativeGet:
    """A repository's read by id: its statement and ``Read`` schema.

    Outside a transaction :meth:`fetcher` makes DuckDB's row into the record inside the read
    itself, so the executor's one translation boundary covers the result processors and the
    schema's validation too (``_read_records.py``).

    Attributes:
        statement: ``SELECT ... WHERE id = :row_id``, built once by the repository.
        schema: The ``Read`` schema of its records.
    """

    __slots__ = ("schema", "statement")

    def __init__(self, statement: Select[Any], schema: type[BaseModel]) -> None:
        self.statement = statement
        self.schema = schema

    def fetcher(self, cache: StatementCache, dialect: Dialect, row_id: uuid.UUID) -> ShortRead[Any]:
        """``fn(duckdb_connection)``: the record with ``row_id``, or ``None``.

        Compiled once per dialect into the executor's statement ``cache``.
        """
        compiled: _CompiledGet = cache.get_or_compile(
            "get", self, dialect, lambda: _CompiledGet(self, dialect)
        )
        make, point = compiled.make, compiled.point
        parameters = point.parameters(row_id)

        def fetch(duck: Any) -> Any:
            # fetchall (in rows): see NativePointRead.fetcher
            rows = compiled.prepared.rows(duck, parameters)
            return make(rows[0]) if rows else None

        return ShortRead(fetch, point.cost)


class NativeRow:
    """A result row as ``Row`` presents it to the repositories: ``_mapping`` and attributes."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


class _Shape:
    """One compiled form of a statement shape, ready for DuckDB's own ``execute``."""

    __slots__ = (
        "binds",
        "compiled",
        "keys",
        "make_row",
        "names",
        "prepared",
        "processed",
        "processors",
        "sql",
    )

    def __init__(self, compiled: SQLCompiler, dialect: Dialect, *, prepare: bool = False) -> None:
        self.compiled = compiled
        self.sql = str(compiled)
        #: how it runs when its statement asks to be prepared (:data:`PREPARE`)
        self.prepared = Prepared(self.sql) if prepare and worth_preparing(dialect) else None
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        processors = bind_processors(compiled)
        self.binds: tuple[_Processor, ...] = tuple(
            bind if callable(bind := processors.get(name)) else None for name in self.names
        )
        self.keys, self.processors = _result_layout(compiled, dialect)
        #: ``(column index, processor)`` of the columns whose values need converting
        self.processed = tuple(
            (index, processor)
            for index, processor in enumerate(self.processors)
            if processor is not None
        )
        self.make_row = row_maker(self.keys)


def compiled_shape(
    shapes: dict[Any, NativeStatement], key: Any, make: Callable[[], NativeStatement]
) -> NativeStatement:
    """``shapes[key]``, compiled by ``make()`` the first time (at most ``MAX_SHAPES`` kept)."""
    native = shapes.get(key)
    if native is None:
        if len(shapes) >= MAX_SHAPES:
            shapes.clear()
        native = shapes[key] = make()
    return native


class NativeStatement:
    """A statement with named bind parameters, compiled once for DuckDB's own ``execute``.

    For statements a repository builds once and runs with different values (an ``UPDATE`` of
    a given set of columns): no statement building and no cache key per call.
    """

    __slots__ = ("shape",)

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        options = statement.get_execution_options() if isinstance(statement, Executable) else {}
        self.shape = _Shape(compiled, dialect, prepare=bool(options.get(PREPARE)))

    def parameters(self, values: dict[str, Any]) -> list[Any]:
        """DuckDB's parameters for ``values`` (by bind name; literals keep their own values).

        Raises:
            Exception: A bind processor refuses a value (the caller translates it).
        """
        shape = self.shape
        given = construct_params(shape.compiled, values)
        return [
            value if bind is None else bind(value)
            for bind, value in zip(shape.binds, (given[name] for name in shape.names), strict=True)
        ]


#: The execution option marking a ``SELECT`` whose plan does not depend on its values (an
#: owner's rows through their index): it runs prepared (``_prepared.py``) outside transactions.
PREPARE = "padb_prepare"


class NativeSelects:
    """Run repository ``SELECT`` s outside a transaction in one hop, compiled once per shape.

    ``list()`` pages went through SQLAlchemy's execution context and ``Row`` objects (~1 ms per
    page of 50 on the loop, measured) around a query DuckDB answers as fast as a raw cursor.
    Each statement's cache key (SQLAlchemy's own) finds its compiled form in the executor's
    statement cache (``core/statements.py``); the call's values come from the key's extracted
    parameters, exactly as SQLAlchemy's execute does. A shape SQLAlchemy cannot cache, or one
    needing its post-compile step (expanding ``IN`` lists, literal-rendered values), returns
    ``None`` from :meth:`prepare` and keeps the usual path.
    """

    __slots__ = ("_cache", "_dialect")

    def __init__(self, dialect: Dialect, cache: StatementCache) -> None:
        self._dialect = dialect
        self._cache = cache

    def prepare(
        self, statement: Select[Any] | Update
    ) -> tuple[_Shape, Callable[[Any], list[tuple[Any, ...]]]] | None:
        """The statement's compiled shape and ``fn(duckdb_connection)`` fetching its rows."""
        bound = self.bind(statement)
        if bound is None:
            return None
        shape, parameters = bound
        sql, prepared = shape.sql, shape.prepared

        def fetch(duck: Any) -> list[tuple[Any, ...]]:
            if prepared is not None:
                return prepared.rows(duck, parameters)
            rows: list[tuple[Any, ...]] = duck.execute(sql, parameters).fetchall()
            return rows

        return shape, fetch

    def bind(self, statement: Select[Any] | Update) -> tuple[_Shape, list[Any]] | None:
        """The statement's compiled shape (``shape.sql``) and DuckDB's parameters for it."""
        key = cache_key(statement)
        if key is None:
            return None
        shape = self._cache.get_or_compile(
            "select", key.key, self._dialect, lambda: self._compile(statement, key)
        )
        if shape is None:
            return None
        try:
            values = construct_params(shape.compiled, extracted=key.bindparams)
            parameters = [
                value if bind is None else bind(value)
                for bind, value in zip(
                    shape.binds, (values[name] for name in shape.names), strict=True
                )
            ]
        except Exception:  # a value its type refuses: SQLAlchemy's path words the error
            return None
        return shape, parameters

    def _compile(self, statement: Select[Any] | Update, cache_key: Any) -> _Shape | None:
        # compiled against its cache key, so other calls' values can be laid into it
        compiled = statement.compile(dialect=self._dialect, cache_key=cache_key)
        assert isinstance(compiled, SQLCompiler)
        if compiled.literal_execute_params or compiled.post_compile_params:
            return None
        prepare = bool(statement.get_execution_options().get(PREPARE))
        return _Shape(compiled, self._dialect, prepare=prepare)

    @staticmethod
    def rows(shape: _Shape, tuples: list[tuple[Any, ...]]) -> list[NativeRow]:
        """The fetched tuples as rows, each column's result processor applied.

        Column by column: each processor runs over its column with ``map`` and one generated
        dict display builds each row (half the time of a dict comprehension per row).
        """
        if not tuples:
            return []
        columns: list[Any] = list(zip(*tuples, strict=True))
        for index, processor in shape.processed:
            columns[index] = map(processor, columns[index])
        return list(map(NativeRow, map(shape.make_row, *columns)))
