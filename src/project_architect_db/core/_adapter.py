"""DBAPI-shaped connection and cursor over DuckDB, driven from SQLAlchemy's asyncio layer.

SQLAlchemy's asyncio extension runs the synchronous engine inside a greenlet and expects the
DBAPI objects to ``await_()`` the real I/O. Here every DuckDB call runs on the connection's own
worker thread, so the event loop never blocks; one statement is one thread hop:

* ``BEGIN`` is not a hop of its own: it is remembered and sent with the first statement;
* a statement's rows are fetched in the same hop that executes it;
* ``COMMIT`` / ``ROLLBACK`` of a transaction that ran nothing cost no hop at all.

DuckDB rolls back a COMMIT of an aborted transaction silently. After any failed statement the
worker probes (in the same hop) whether the transaction is aborted; a later ``commit()`` then
rolls back and raises :class:`~project_architect_db.exceptions.TransactionAbortedError`
instead of reporting success.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import duckdb
from sqlalchemy.engine import AdaptedConnection

from project_architect_db.core._cursors import (
    AsyncAdaptedCursor,
    AsyncAdaptedServerSideCursor,
    ExecuteResult,
    is_dml_count,
)
from project_architect_db.core._inline import (
    INLINE_BUDGET,
    ShortRead,
    is_plain_select,
    run_inline,
    yield_if_held,
)
from project_architect_db.core._sqlalchemy import await_, in_greenlet
from project_architect_db.core._worker import ConnectionWorker, run_interruptible
from project_architect_db.core.timeouts import StatementTimeouts, run_timed
from project_architect_db.exceptions import TransactionAbortedError

T = TypeVar("T")

_NO_TRANSACTION = "no transaction is active"


def rollback_quietly(duck: duckdb.DuckDBPyConnection) -> None:
    """Roll back; a transaction DuckDB already ended (or never began) is not an error."""
    try:
        duck.rollback()
    except duckdb.TransactionException as error:  # ended already, or an interrupted BEGIN
        if _NO_TRANSACTION not in str(error).lower():
            raise


class AsyncAdaptedConnection(AdaptedConnection):
    """A DuckDB connection whose every call runs on a dedicated worker thread."""

    __slots__ = (
        "_abort_cause",
        "_aborted",
        "_before_commit",
        "_begin_pending",
        "_duck",
        "_in_transaction",
        "_timeouts",
        "_worker",
        "autocommit",
        "closed",
        "dbapi",
        "inline_budget",
        "notices",
    )

    def __init__(
        self,
        dbapi: Any,
        duck: duckdb.DuckDBPyConnection,
        worker: ConnectionWorker,
        timeouts: StatementTimeouts | None = None,
    ):
        self.dbapi = dbapi
        self._duck = duck
        self._connection = duck  # type: ignore[assignment]
        self._worker = worker
        self.autocommit = False
        self.closed = False
        self.notices: list[str] = []
        self._begin_pending = False
        self._in_transaction = False
        self._aborted = False
        self._abort_cause: BaseException | None = None
        self._before_commit: list[Callable[[duckdb.DuckDBPyConnection], object]] = []
        self._timeouts = timeouts
        #: How long a SQLAlchemy SELECT outside a transaction may hold the loop. 0 (the
        #: default): always on the worker. A SELECT may be any query, and DuckDB takes ~20-50 ms
        #: to honour the watchdog's interrupt in a long scan (measured), far past the 5 ms
        #: loop-lag bar; only repository point reads (``ShortRead``, an index lookup) run
        #: inline by default (``NativeReaders.inline_budget``).
        self.inline_budget = 0.0

    @classmethod
    async def create(
        cls,
        dbapi: Any,
        opener: Callable[[], duckdb.DuckDBPyConnection],
        name: str,
        timeouts: StatementTimeouts | None = None,
    ) -> AsyncAdaptedConnection:
        """Open a DuckDB connection on a new worker thread (``timeouts``: see ``core/timeouts``)."""
        worker = ConnectionWorker(name)
        try:
            duck = await worker.submit(opener)
        except BaseException:
            worker.stop()
            raise
        worker.interrupt = duck.interrupt
        return cls(dbapi, duck, worker, timeouts)

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open or pending (BEGIN not sent yet) on this connection."""
        return self._in_transaction or self._begin_pending

    @property
    def driver_connection(self) -> duckdb.DuckDBPyConnection:
        """The raw DuckDB connection: touch it only through :meth:`run`."""
        return self._duck

    # -- running work on the worker -------------------------------------------------------
    def _hop(
        self, fn: Callable[[], T], timed: bool, interrupt: Callable[[], None] | None = None
    ) -> Awaitable[T]:
        """Awaiting this runs ``fn`` on the worker, under the statement timeout if ``timed``."""
        timeouts = self._timeouts
        seconds = timeouts.current() if timed and timeouts is not None else None
        stop = self._duck.interrupt if interrupt is None else interrupt
        if seconds is None:
            return run_interruptible(self._worker, fn, stop)
        return run_timed(self._worker, fn, stop, seconds)

    def _run_sync(self, fn: Callable[[], T], *, timed: bool = True) -> T:
        """Run ``fn`` on the worker from SQLAlchemy's greenlet (one hop).

        ``timed=False`` for COMMIT and ROLLBACK: ending a transaction is never interrupted
        half-way by a statement timeout.
        """
        if in_greenlet():
            return await_(self._hop(fn, timed))
        return self._worker.call_blocking(fn)  # sync teardown (pool reset outside a greenlet)

    def _run_teardown(self, fn: Callable[[], None]) -> None:
        """Like :meth:`_run_sync` for closing: safe from the garbage collector on any thread."""
        if in_greenlet():
            await_(run_interruptible(self._worker, fn, self._duck.interrupt))
        else:
            self._worker.finish(fn)

    async def run(
        self,
        fn: Callable[[duckdb.DuckDBPyConnection], T],
        *,
        timed: bool = True,
        interrupt: Callable[[], None] | None = None,
    ) -> T:
        """Run ``fn(duckdb_connection)`` on the worker inside the current transaction.

        This is the door for native DuckDB work (Arrow scans, ``COPY``, ``fetch_record_batch``)
        that must share the SQLAlchemy transaction: a pending BEGIN is sent first, and a
        failure marks an aborted transaction exactly like a statement would. The statement
        timeout applies unless ``timed=False`` (a native unit's COMMIT or ROLLBACK).
        ``interrupt`` replaces ``duckdb.interrupt`` on cancellation or timeout (a native unit
        refuses to interrupt its own COMMIT).
        """
        if self.closed:  # its worker thread has ended: nothing would ever answer
            raise duckdb.ConnectionException("Connection already closed!")
        duck = self._duck
        return await self._hop(lambda: self._in_tx(lambda: fn(duck)), timed, interrupt)

    async def run_short(self, read: ShortRead[T], budget: float = INLINE_BUDGET) -> T:
        """Run an auto-committed ``read`` on the calling thread when that costs least.

        With no transaction open or pending, the worker idle and no statement timeout shorter
        than ``budget``, ``read`` runs right here (the loop thread) under the watchdog of
        ``core/_inline.py``; past ``budget`` it is interrupted and run again on the worker
        (with the full statement timeout and cancellation, as :meth:`run`). Otherwise it is
        simply :meth:`run`.
        """
        if budget > 0 and not self.closed and not self.in_transaction:
            timeouts = self._timeouts
            seconds = timeouts.current() if timeouts is not None else None
            if seconds is None or seconds > budget:
                await yield_if_held(budget)
                done, value = self._run_inline(read, budget)
                if done:
                    return value  # type: ignore[no-any-return]
        return await self.run(read)

    def _run_inline(self, read: ShortRead[Any], budget: float) -> tuple[bool, Any]:
        """``(True, result)``, or ``(False, None)`` when the read must go to the worker."""
        if self.closed:
            return False, None
        return run_inline(self._worker, self._duck, read, budget)

    def run_here(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> tuple[bool, T | None]:
        """Run ``fn(duck)`` on this thread, in the current transaction, if the worker is idle.

        ``(True, result)``, or ``(False, None)`` when the worker is busy. No watchdog: only for
        bounded work (an index lookup, ``core/point_select.py``), since an interrupt would
        abort the transaction.
        """
        if self.closed or not self._worker.claim():
            return False, None
        try:
            duck = self._duck
            return True, self._in_tx(lambda: fn(duck))
        finally:
            self._worker.release()

    def _in_tx(self, fn: Callable[[], T]) -> T:
        """Worker side: start the pending transaction, run ``fn``, track an abort."""
        if self._begin_pending:
            self._begin_pending = False
            self._duck.begin()
            self._in_transaction = True
        try:
            return fn()
        except BaseException as error:
            if self._in_transaction and not self._aborted and self._probe_aborted():
                self._aborted = True
                self._abort_cause = error
            raise

    def _probe_aborted(self) -> bool:
        # Binder/catalog errors leave a DuckDB transaction usable; execution errors abort it.
        try:
            self._duck.execute("SELECT 1")
        except duckdb.TransactionException:
            return True
        except duckdb.Error:  # pragma: no cover - the probe itself is trivial
            return True
        return False

    def _execute(self, statement: str, parameters: Any, *, fetch: bool = True) -> ExecuteResult:
        duck = self._duck

        def work() -> ExecuteResult:
            if parameters is None:
                duck.execute(statement)
            else:
                duck.execute(statement, parameters)
            description: Any = duck.description
            if description is None:
                return ExecuteResult(None, [], -1)
            if is_dml_count(statement, description):
                row = duck.fetchone()
                return ExecuteResult(None, [], row[0] if row else -1)
            if not fetch:
                return ExecuteResult(description, [], -1)
            return ExecuteResult(description, duck.fetchall(), -1)

        if (
            fetch
            and self.inline_budget > 0
            and not self._in_transaction
            and in_greenlet()
            and is_plain_select(statement)
        ):
            done, value = self._select_inline(work)
            if done:
                return value  # type: ignore[no-any-return]
        return self._run_sync(lambda: self._in_tx(work))

    def _select_inline(self, work: Callable[[], ExecuteResult]) -> tuple[bool, Any]:
        """A SELECT from SQLAlchemy, on the loop thread when that is safe (see ``_inline.py``).

        Safe: no transaction is open (auto-commit, or its BEGIN still pending: then BEGIN
        travels with the SELECT, and an interrupt, which aborts it, is undone by a ROLLBACK
        before the pair is sent to the worker), the worker is idle, and no statement timeout is
        shorter than the budget.
        """
        budget = self.inline_budget
        timeouts = self._timeouts
        seconds = timeouts.current() if timeouts is not None else None
        if seconds is not None and seconds <= budget:
            return False, None
        # one greenlet round trip even when nothing waits: SQLAlchemy's AsyncConnection
        # insists that a statement awaited something (AwaitRequired otherwise)
        await_(yield_if_held(budget))
        began = self._begin_pending
        done, value = self._run_inline(ShortRead(lambda _duck: self._in_tx(work)), budget)
        if not done and began:  # interrupted during or after its BEGIN: undo it, whole
            rollback_quietly(self._duck)  # "no transaction is active" if BEGIN itself was hit
            self._in_transaction = self._aborted = False
            self._abort_cause = None
            self._begin_pending = True
        return done, value

    def _executemany(self, statement: str, parameters: Sequence[Any]) -> ExecuteResult:
        duck = self._duck

        def work() -> ExecuteResult:
            duck.executemany(statement, list(parameters))
            return ExecuteResult(None, [], -1)

        return self._run_sync(lambda: self._in_tx(work))

    # -- DBAPI connection ------------------------------------------------------------------
    def cursor(self, server_side: bool = False) -> AsyncAdaptedCursor:
        """A new cursor (``server_side=True`` streams in batches)."""
        if server_side:
            return AsyncAdaptedServerSideCursor(self)
        return AsyncAdaptedCursor(self)

    def begin(self) -> None:
        """Start a transaction lazily: BEGIN travels with the first statement."""
        self._before_commit = []
        if not self.autocommit:
            self._begin_pending = True
            self._aborted = False
            self._abort_cause = None

    def before_commit(self, fn: Callable[[duckdb.DuckDBPyConnection], object]) -> None:
        """Run ``fn(duck)`` on the worker in the COMMIT's own hop, just before the COMMIT.

        For the last statement of a unit that needs no answer (a lake's commit message): one
        hop less. If it raises, the transaction is rolled back and the error goes up from
        ``commit()``. Forgotten by a rollback, and when the transaction ran nothing.
        """
        self._before_commit.append(fn)

    def commit(self) -> None:
        """Commit; raise instead of letting DuckDB silently roll back an aborted transaction."""
        self._begin_pending = False
        last, self._before_commit = self._before_commit, []
        if not self._in_transaction:
            return
        duck = self._duck

        def work() -> None:
            self._in_transaction = False
            if last and not self._aborted:
                try:
                    for fn in last:
                        fn(duck)
                except BaseException:
                    rollback_quietly(duck)
                    raise
            if self._aborted:
                try:
                    duck.rollback()
                except duckdb.TransactionException as error:  # pragma: no cover - defensive
                    if _NO_TRANSACTION not in str(error):
                        raise
                raise TransactionAbortedError(
                    "The transaction was not committed: a statement inside it failed "
                    f"({self._abort_cause!s}), which made DuckDB abort the whole transaction. "
                    "Nothing of it was written; fix the cause and run the unit of work again."
                ) from self._abort_cause
            duck.commit()

        try:
            self._run_sync(work, timed=False)
        finally:
            self._aborted = False
            self._abort_cause = None

    def rollback(self) -> None:
        """Roll back; free when nothing ran since BEGIN."""
        self._begin_pending = False
        self._before_commit = []
        self._aborted = False
        self._abort_cause = None
        if not self._in_transaction:
            return
        duck = self._duck

        def work() -> None:
            self._in_transaction = False
            try:
                duck.rollback()
            except duckdb.TransactionException as error:
                if _NO_TRANSACTION not in str(error):
                    raise

        self._run_sync(work, timed=False)

    def interrupt(self) -> None:
        """Interrupt the statement running on this connection (safe from any thread)."""
        self._duck.interrupt()

    def close(self) -> None:
        """Close the DuckDB connection and end its worker thread."""
        if self.closed:
            return
        self.closed = True
        try:
            self._run_teardown(self._duck.close)
        finally:
            self._worker.stop()

    def terminate(self) -> None:
        """Close without waiting for SQLAlchemy's bookkeeping (invalidated connections)."""
        if self.closed:
            return
        self.closed = True
        try:
            self._duck.interrupt()
            self._run_teardown(self._duck.close)
        finally:
            self._worker.stop()
