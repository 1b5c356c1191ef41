"""One auto-committed write outside any transaction, natively: no SQLAlchemy session.

``await db.projects.update(id, {...})`` outside ``db.transaction()`` is a unit of work of one
statement. Through an ``AsyncSession`` it cost ~3 ms of event-loop CPU on the 2-core benchmark
machine (session, connection checkout and reset, execution context, result objects: measured
with ``time.thread_time``) around ~5 ms of DuckDB work; run here, the same two hops cost
~0.3 ms. :class:`NativeWrite` keeps what the unit of work guarantees:

* it is a lock owner (``core/locks.py``): integrity locks are held until it ends, and it is
  registered like any transaction, so tombstones see it;
* ``BEGIN`` travels with the first statement; a statement that fails rolls back in the same
  hop, so DuckDB never silently rolls back an aborted ``COMMIT`` as if it had succeeded;
* ``COMMIT`` runs under the database's commit lock when callbacks wait for it, so change-feed
  events keep commit order, and is shielded from cancellation like ``Transaction.commit``;
* after-commit callbacks run only after a commit, on-end callbacks (lock release) always.

A repository's own units (``create``, ``update``, ``delete`` with its cascade, ``upsert``) go
further: :meth:`NativeWrite.commit_with` runs BEGIN, every statement of the unit and COMMIT in
**one** worker hop (see its docstring for the exact contract).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import duckdb
from sqlalchemy.engine import Dialect

from project_architect_db.core._callbacks import UnitCallbacks, shielded
from project_architect_db.core.locks import IntegrityLocks, next_sequence
from project_architect_db.core.readers import NativeReaders
from project_architect_db.exceptions._translate import translate, translating

__all__ = ["NativeWrite", "NativeWrites"]

T = TypeVar("T")

_NO_TRANSACTION = "no transaction is active"


def _rollback_quietly(duck: duckdb.DuckDBPyConnection) -> None:
    try:
        duck.rollback()
    except duckdb.TransactionException as error:  # DuckDB already ended it
        if _NO_TRANSACTION not in str(error).lower():
            raise


def _commit(duck: duckdb.DuckDBPyConnection) -> None:
    duck.commit()  # a seam of its own: tests hold a COMMIT here to cancel during it


class _CommitGuard:
    """What the event loop and the worker share during one :meth:`NativeWrite.commit_with` hop.

    A cancellation or a statement timeout interrupts the unit's statements, never its COMMIT:
    once the worker has started the COMMIT, the unit is committed (DuckDB's COMMIT is not
    something to cut half-way), and the loop runs its after-commit callbacks all the same.
    """

    __slots__ = ("committed", "committing", "duck", "lock", "stopped")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.duck: duckdb.DuckDBPyConnection | None = None
        self.stopped = False  # the loop asked the unit to stop
        self.committing = False  # the worker has started the COMMIT
        self.committed = False  # the COMMIT returned

    def interrupt(self) -> None:  # on the event loop
        with self.lock:
            self.stopped = True
            if self.duck is not None and not self.committing:
                self.duck.interrupt()

    def start(self, duck: duckdb.DuckDBPyConnection) -> None:  # on the worker
        with self.lock:
            if self.stopped:  # stopped while the hop waited in the worker's queue
                raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
            self.duck = duck

    def may_commit(self) -> None:  # on the worker, once the statements are done
        with self.lock:
            if self.stopped:
                raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
            self.committing = True


class NativeWrite(UnitCallbacks):
    """A unit of work of a few native hops on one kept connection (see the module text)."""

    __slots__ = ("_commit_lock", "_connection", "_done", "_open", "sequence")

    def __init__(
        self, connection: Any, commit_lock: Callable[[], asyncio.Lock] | None = None
    ) -> None:
        super().__init__()
        self._connection = connection
        self._commit_lock = commit_lock
        self._open = False  # a BEGIN was sent and not yet ended
        self._done = False  # commit_with committed this unit
        self.sequence = next_sequence()

    # -- LockOwner -------------------------------------------------------------------------
    def snapshot_taken(self) -> bool:
        """Whether DuckDB has started this unit's transaction (and so fixed its snapshot)."""
        return self._open

    # -- work ------------------------------------------------------------------------------
    async def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn(duckdb_connection)`` in this unit's transaction, in one worker hop.

        If ``fn`` raises, the transaction is rolled back in the same hop.
        """
        self._check_not_done()

        def work(duck: duckdb.DuckDBPyConnection) -> T:
            if not self._open:
                duck.begin()
                self._open = True
            try:
                return fn(duck)
            except BaseException:
                _rollback_quietly(duck)  # if this raises, the unit stays open: see unit()
                self._open = False
                raise

        result: T = await self._connection.run(work)
        return result

    async def commit_with(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``work`` and commit, in **one** worker hop; then the after-commit callbacks.

        The contract (the group committer keeps it too):

        * ``work(duck)`` runs every statement of the unit on the raw DuckDB connection and
          returns the unit's result. It sends no BEGIN/COMMIT and must be re-runnable on a
          fresh transaction: ids and timestamps are made before it, and it changes nothing
          outside the database (overwriting a result cell it owns is fine).
        * The worker sends BEGIN (unless :meth:`run` already opened the transaction), runs
          ``work``, then COMMIT. If ``work`` or the COMMIT raises, the transaction is rolled
          back in the same hop and the error is raised, translated into the library's tree
          (an error ``work`` raises from that tree, e.g. ``NotFoundError``, as it is).
        * Integrity locks are taken before, by the caller. When the unit has after-commit
          callbacks (lock stamps, the change feed), the hop runs under the database's commit
          lock and the callbacks run right after it, so they keep commit order.
        * Cancellation (or a statement timeout) interrupts the statements and rolls back:
          nothing is written. Once the COMMIT has started it is never interrupted: the unit
          commits, its callbacks run, and the caller still gets ``CancelledError``. A
          cancellation while waiting for the commit lock writes nothing.
        * It ends the unit: :meth:`run` and :meth:`commit_with` refuse to run after it.

        Raises:
            ProjectArchitectDBError: What ``work`` raised, or the translated DuckDB error.
        """
        self._check_not_done()
        if self._after_commit and self._commit_lock is not None:
            async with self._commit_lock():
                return await self._commit_hop(work)
        return await self._commit_hop(work)

    async def _commit_hop(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        guard = _CommitGuard()

        def hop(duck: duckdb.DuckDBPyConnection) -> T:
            guard.start(duck)
            if not self._open:
                duck.begin()
                self._open = True
            try:
                result = work(duck)
                guard.may_commit()
                _commit(duck)
            except BaseException:
                _rollback_quietly(duck)  # if this raises, the unit stays open: see unit()
                self._open = False
                raise
            self._open = False
            guard.committed = True
            return result

        try:
            result: T = await self._connection.run(hop, interrupt=guard.interrupt)
        except BaseException as error:
            if guard.committed:  # cancelled once the COMMIT had started: it stands
                self._committed()
            mapped = translate(error)
            if mapped is error:
                raise
            raise mapped from error
        self._committed()
        return result

    def _committed(self) -> None:
        self._done = True
        self._run_after_commit()

    def _check_not_done(self) -> None:
        if self._done:
            raise RuntimeError("this native unit was committed by commit_with; open a new one")

    async def _commit(self, lock: asyncio.Lock) -> None:
        if self._open:
            if self._after_commit:
                async with lock:
                    await self._connection.run(self._commit_work, timed=False)
                    self._run_after_commit()
                return
            await self._connection.run(self._commit_work, timed=False)
        self._run_after_commit()

    def _commit_work(self, duck: duckdb.DuckDBPyConnection) -> None:
        try:
            duck.commit()
        except BaseException:
            _rollback_quietly(duck)
            self._open = False
            raise
        self._open = False

    async def _rollback(self) -> None:
        self._after_commit.clear()
        if self._open:

            def work(duck: duckdb.DuckDBPyConnection) -> None:
                _rollback_quietly(duck)
                self._open = False

            await self._connection.run(work, timed=False)


class NativeWrites:
    """Opens :class:`NativeWrite` units for one database.

    Args:
        readers: The kept connections (a unit holds one for its whole life).
        locks: The database's integrity locks (each unit is registered as a transaction).
        commit_lock: Gives the lock that orders commits with after-commit callbacks.
    """

    __slots__ = ("_commit_lock", "_locks", "_readers")

    def __init__(
        self,
        readers: Callable[[], NativeReaders],
        locks: IntegrityLocks,
        commit_lock: Callable[[], asyncio.Lock],
    ) -> None:
        self._readers = readers
        self._locks = locks
        self._commit_lock = commit_lock

    @property
    def dialect(self) -> Dialect:
        """The dialect statements run by these units are compiled for."""
        return self._readers().dialect

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[NativeWrite]:
        """A unit that commits when the block succeeds and rolls back when it raises."""
        async with AsyncExitStack() as stack:
            with translating():  # a closed database, a pool timeout: the library's errors
                held = await stack.enter_async_context(self._readers().holding())
            unit = NativeWrite(held.connection, self._commit_lock)
            self._locks.register(unit)
            try:
                try:
                    yield unit
                except BaseException:
                    await shielded(unit._rollback())
                    raise
                await shielded(unit._commit(self._commit_lock()))
            except BaseException:
                if unit._open:  # a rollback that failed: never hand the connection on
                    held.broken = True
                raise
            finally:
                unit._finish()
