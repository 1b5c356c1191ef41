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
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import duckdb
from sqlalchemy.engine import Dialect

from project_architect_db.core._callbacks import UnitCallbacks, shielded
from project_architect_db.core.locks import IntegrityLocks, next_sequence
from project_architect_db.core.readers import NativeReaders

__all__ = ["NativeWrite", "NativeWrites"]

T = TypeVar("T")

_NO_TRANSACTION = "no transaction is active"


def _rollback_quietly(duck: duckdb.DuckDBPyConnection) -> None:
    try:
        duck.rollback()
    except duckdb.TransactionException as error:  # DuckDB already ended it
        if _NO_TRANSACTION not in str(error).lower():
            raise


class NativeWrite(UnitCallbacks):
    """A unit of work of a few native hops on one kept connection (see the module text)."""

    __slots__ = ("_connection", "_open", "sequence")

    def __init__(self, connection: Any) -> None:
        super().__init__()
        self._connection = connection
        self._open = False  # a BEGIN was sent and not yet ended
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
        async with self._readers().holding() as held:
            unit = NativeWrite(held.connection)
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
