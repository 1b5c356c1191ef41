"""A session's point selects by primary key, without SQLAlchemy's execute path.

``await session.execute(select(table).where(table.c.id == x))`` spent ~400 us of the loop's
CPU in SQLAlchemy (its cache key, execution context, result set-up, three greenlet switches)
and ~0.5-1 ms in the hop to the connection's worker thread, around a DuckDB index lookup that
costs ~0.5 ms (docs/performance.md, "Reads at the floor"). For that one statement shape, a
Core ``SELECT`` of one table's own columns whose only condition is ``primary key = value``
(:func:`~project_architect_db.core._sqlalchemy.point_select_parts` says exactly which), and
only when the session is plain (:func:`~project_architect_db.core._sqlalchemy.session_connection`:
no events, no options, nothing to flush), :class:`PointSelects` runs the compiled SQL on the
session's own DuckDB connection, inside the session's transaction, and returns the rows with
the row layout SQLAlchemy built for that statement the first time it ran it (same keys, same
result processors: the first run of every shape takes SQLAlchemy's path and is learned from).

Where it runs: on the calling (loop) thread when the connection's worker is idle, because an
index lookup is short (a shape whose last run held its thread past ``INLINE_BUDGET`` runs on
the worker until a run there is short again), and on the worker otherwise. No watchdog
interrupts it: inside a transaction an interrupt would abort the whole transaction
(``core/_inline.py``).

Errors are SQLAlchemy's, worded as its own execute path words them (a ``DBAPIError``
subclass wrapping DuckDB's); a value its bind processor refuses takes SQLAlchemy's path, so
the error is the one SQLAlchemy raises.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import duckdb
from sqlalchemy.engine import Dialect, Result
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.compiler import SQLCompiler

from project_architect_db.core._inline import INLINE_BUDGET, InlineCost, must_yield, yield_if_held
from project_architect_db.core._sqlalchemy import (
    bind_processors,
    point_select_parts,
    result_columns,
    result_metadata,
    rows_result,
    session_began,
    session_connection,
    with_processors,
)
from project_architect_db.core.statements import StatementCache

if TYPE_CHECKING:
    from sqlalchemy.engine.result import ResultMetaData
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.types import TypeEngine

    from project_architect_db.core._adapter import AsyncAdaptedConnection

__all__ = ["Learner", "PointSelects", "ProcessorFactory", "without_uuid_cast"]

#: Called with the result of SQLAlchemy's first run of a point-select shape.
Learner = Callable[[Result[Any]], None]
#: The function turning DuckDB's value of a column type into the row's value, or ``None`` when
#: the value is the row's as it is: ``processor(sql_type, dialect)``. It must return exactly
#: what SQLAlchemy's own result processor of that type returns.
ProcessorFactory = Callable[["TypeEngine[Any]", Dialect], Callable[[Any], Any] | None]

_KIND = "session-point"
#: How the dialect casts a ``Uuid`` bind parameter (``WHERE t.id = $1::UUID``).
_UUID_CAST = "::UUID"


def without_uuid_cast(sql: str, bind: Callable[[Any], Any] | None) -> str | None:
    """``sql`` without its key's trailing ``::UUID`` cast, for a Python ``UUID`` passed as it is.

    ``None`` when there is no such cast or the key has a bind processor. DuckDB binds a Python
    ``UUID`` as a UUID already; the cast was ~1.3 % of its instructions per lookup (callgrind).
    Other values (a string id) must keep the cast, so DuckDB parses and refuses them as
    SQLAlchemy's path does.
    """
    return sql.removesuffix(_UUID_CAST) if bind is None and sql.endswith(_UUID_CAST) else None


class _Shape:
    """One point-select shape compiled for DuckDB, and the row layout SQLAlchemy gave it."""

    __slots__ = ("bind", "cost", "metadata", "processors", "sql", "uncast")

    def __init__(
        self, statement: Any, dialect: Dialect, processor: ProcessorFactory | None = None
    ) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        names = compiled.positiontup or []  # point_select_parts allows one bind only
        bind = bind_processors(compiled).get(names[0])
        self.sql = str(compiled)
        self.bind: Callable[[Any], Any] | None = bind if callable(bind) else None
        #: the SQL for a ``UUID`` key passed as it is (``None``: keep :attr:`sql`)
        self.uncast = without_uuid_cast(self.sql, self.bind)
        #: the rows' result processors to use instead of SQLAlchemy's (``None``: its own)
        self.processors = (
            None
            if processor is None
            else [processor(sql_type, dialect) for _, sql_type in result_columns(compiled)]
        )
        #: learned from SQLAlchemy's own first run of the shape (``None`` until then)
        self.metadata: ResultMetaData | None = None
        #: where its runs go (``core/_inline.py``); ``None`` until a first run is timed
        self.cost: InlineCost | None = None

    def learn(self, result: Result[Any]) -> None:
        """Keep the row layout of ``result``, SQLAlchemy's run of this shape."""
        if self.metadata is None:
            metadata = result_metadata(result)
            if metadata is not None and self.processors is not None:
                metadata = with_processors(metadata, self.processors)
            self.metadata = metadata

    @property
    def inline(self) -> bool | None:
        """Whether it may run on the loop thread (``None``: not timed yet)."""
        cost = self.cost
        return None if cost is None else cost.inline

    def timed(self, seconds: float, budget: float) -> None:
        """Note how long a run took (``InlineCost``: where the next runs go).

        On the loop, wall time: an upper bound of the thread's CPU time at a tenth of the price
        of reading its CPU clock (two reads were ~1 % of a point select); on the worker, CPU
        time of the thread, so a busy machine that preempts the worker does not keep an index
        lookup off the loop. A run over the budget sends the shape to the worker,
        where its runs are timed, for a cool-down that grows while it stays over: what makes a
        lookup slow is mostly a hot row, whose versions DuckDB walks in one go while an older
        transaction is open (``core/_inline.py``, "Hot rows"). A first, cold run (the index
        loaded from the file) costs a cool-down of hops, not the loop.
        """
        cost = self.cost
        if cost is None:
            cost = self.cost = InlineCost()
        cost.settle(seconds, budget)


class PointSelects:
    """The point-select path of every session of one database (see the module docstring).

    Args:
        statements: The executor's compiled-statement cache (entries of kind
            ``"session-point"``).
        budget: How long a run may hold the loop before its shape goes to the worker.
        processor: Result processors to make the rows with instead of SQLAlchemy's generic
            ones (the same values in fewer steps; the repositories' own, given by
            ``Database``). ``None``: SQLAlchemy's.
    """

    __slots__ = ("_budget", "_processor", "_statements", "runs")

    def __init__(
        self,
        statements: StatementCache,
        budget: float = INLINE_BUDGET,
        processor: ProcessorFactory | None = None,
    ) -> None:
        self._statements = statements
        self._budget = budget
        self._processor = processor
        #: how many selects took this path (for tests and benchmarks)
        self.runs = 0

    async def execute(
        self, session: AsyncSession, statement: Any, params: Any = None
    ) -> Result[Any] | Learner | None:
        """The statement's result, or what to do after ``session.execute`` runs it as usual.

        ``None``: nothing. A :class:`Learner` (the shape's first run): call it with the
        result of SQLAlchemy's run, whose row layout later runs reuse. ``params``: the values
        of ``session.execute``; only ``{name: value}`` of the key's ``bindparam`` is taken.
        """
        parts = point_select_parts(statement)
        if parts is None:
            return None
        shape, bind = parts
        value = bind.value
        if params is not None:
            if type(params) is not dict or len(params) != 1 or bind.key not in params:
                return None
            value = params[bind.key]
        if value is None:  # no value (SQLAlchemy's error), or `= NULL`: as usual
            return None
        sync = session.sync_session
        connection = session_connection(sync)
        if connection is None:
            if session_began(sync):  # not plain: as usual
                return None
            await session.connection()  # begin, as the usual path would
            connection = session_connection(sync)
            if connection is None:  # pragma: no cover - just began, with the same checks
                return None
        dialect = connection.dialect
        entry: _Shape = self._statements.get_or_compile(
            _KIND, shape, dialect, lambda: _Shape(statement, dialect, self._processor)
        )
        metadata = entry.metadata
        if metadata is None:  # the shape's first run: SQLAlchemy's path, whose layout we keep
            return entry.learn
        try:
            parameters = [value if entry.bind is None else entry.bind(value)]
        except Exception:  # a value its type refuses: SQLAlchemy's path words the error
            return None
        adapter: AsyncAdaptedConnection = connection.connection.dbapi_connection  # type: ignore[assignment]
        sql = entry.sql if entry.uncast is None or type(value) is not uuid.UUID else entry.uncast

        def fetch(duck: duckdb.DuckDBPyConnection) -> list[Any]:
            return duck.execute(sql, parameters).fetchall()

        try:
            done = False
            if entry.inline:  # on this thread, without a coroutine per step (each costs here)
                if must_yield(self._budget):
                    await yield_if_held(self._budget)
                started = time.perf_counter()
                done, rows = adapter.run_here(fetch)
                entry.timed(time.perf_counter() - started, self._budget)
            if not done:
                rows = await self._on_worker(entry, adapter, fetch)
        except duckdb.Error as error:
            raise _wrapped(sql, parameters, error, dialect, connection) from error
        self.runs += 1
        return rows_result(metadata, iter(rows))  # type: ignore[arg-type]

    async def _on_worker(
        self, entry: _Shape, adapter: AsyncAdaptedConnection, fetch: Callable[[Any], list[Any]]
    ) -> list[Any]:
        if not entry.inline:  # not known to be short (again): time it on the worker
            rows, elapsed = await adapter.run(lambda duck: _timed(fetch, duck))
            entry.timed(elapsed, self._budget)
            return rows
        return await adapter.run(fetch)


def _timed(fetch: Callable[[Any], list[Any]], duck: Any) -> tuple[list[Any], float]:
    """``fetch(duck)`` and the CPU seconds it took its thread (a busy machine's waits aside)."""
    started = time.thread_time()
    rows = fetch(duck)
    return rows, time.thread_time() - started


def _wrapped(
    sql: str, parameters: list[Any], error: duckdb.Error, dialect: Dialect, connection: Any
) -> StatementError:
    """DuckDB's ``error`` as SQLAlchemy's execute path raises it (a ``DBAPIError`` subclass)."""
    return DBAPIError.instance(
        sql,
        tuple(parameters),
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=connection.engine.hide_parameters,
        dialect=dialect,
        ismulti=False,
    )
