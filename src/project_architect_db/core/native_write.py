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

A unit whose statements are all known up front uses :meth:`NativeWrite.commit_with`: the
whole unit (``BEGIN``, its statements, ``COMMIT``) is one call, handed to the database's
:class:`~project_architect_db.core.group_commit.GroupCommitter`, which commits units arriving
from concurrent tasks together. Such a unit never takes a connection of its own: the
connection is taken on the first :meth:`NativeWrite.run` only. A unit that ran statements
with :meth:`NativeWrite.run` first ends with ``commit_with`` in its own transaction: the rest
of its statements and its COMMIT in one hop, stopped by a cancellation or its statement
timeout exactly like a grouped unit (``core/_stopping.py``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import duckdb
from sqlalchemy.engine import Dialect

from project_architect_db.core._callbacks import UnitCallbacks, shielded
from project_architect_db.core._stopping import Stoppable, Stops
from project_architect_db.core.group_commit import GroupCommitter
from project_architect_db.core.group_commit import rollback_quietly as _rollback_quietly
from project_architect_db.core.locks import IntegrityLocks, next_sequence
from project_architect_db.core.readers import HeldConnection, NativeReaders
from project_architect_db.core.timeouts import StatementTimeouts
from project_architect_db.exceptions._translate import translate, translating

__all__ = ["NativeWrite", "NativeWrites", "Parents"]

T = TypeVar("T")


class NativeWrite(UnitCallbacks):
    """A unit of work of a few native hops on one kept connection (see the module text)."""

    __slots__ = (
        "_commit_lock",
        "_committer",
        "_done",
        "_held",
        "_holding",
        "_open",
        "_readers",
        "_timeouts",
        "sequence",
    )

    def __init__(
        self,
        readers: Callable[[], NativeReaders],
        committer: GroupCommitter,
        commit_lock: Callable[[], asyncio.Lock],
        timeouts: StatementTimeouts | None = None,
    ) -> None:
        super().__init__()
        self._readers = readers
        self._committer = committer
        self._commit_lock = commit_lock
        self._timeouts = timeouts
        self._holding: AbstractAsyncContextManager[HeldConnection] | None = None
        self._held: HeldConnection | None = None
        self._open = False  # a BEGIN was sent and not yet ended
        self._done = False  # commit_with committed this unit
        self.sequence = next_sequence()

    @property
    def _connection(self) -> Any:
        held = self._held
        assert held is not None  # taken by _take_connection
        return held.connection

    async def _take_connection(self) -> None:
        if self._held is None:
            holding = self._readers().holding()
            self._held = await holding.__aenter__()
            self._holding = holding

    async def _give_back(self) -> None:
        holding, self._holding = self._holding, None
        if holding is not None:
            held = self._held
            assert held is not None
            if self._open:  # a rollback that failed: never hand the connection on
                held.broken = True
            self._held = None
            await holding.__aexit__(None, None, None)

    # -- LockOwner -------------------------------------------------------------------------
    def snapshot_taken(self) -> bool:
        """Whether DuckDB has started this unit's transaction (and so fixed its snapshot)."""
        return self._open

    # -- work ------------------------------------------------------------------------------
    async def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn(duckdb_connection)`` in this unit's transaction, in one worker hop.

        If ``fn`` raises, the transaction is rolled back in the same hop.

        Raises:
            RuntimeError: :meth:`commit_with` already ended this unit.
        """
        self._check_not_done()
        await self._take_connection()

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

    async def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """:meth:`run` for a repository's reads inside the unit, raising the library's errors.

        Raises:
            ProjectArchitectDBError: ``fn`` failed (translated); the unit was rolled back.
        """
        with translating():
            return await self.run(fn)

    async def commit_with(
        self, work: Callable[[duckdb.DuckDBPyConnection], T], *, alone: bool = False
    ) -> T:
        """Run the whole unit: ``BEGIN``, ``work(duck)``, ``COMMIT``, in one worker hop.

        The contract:

        * ``work(duck)`` runs every statement of the unit on the raw DuckDB connection and
          returns the unit's result. It sends no BEGIN/COMMIT and must be re-runnable on a
          fresh transaction: ids and timestamps are made before it, and it changes nothing
          outside the database (see ``core/group_commit.py``).
        * Integrity locks are taken before, by the caller, and so are the after-commit
          callbacks (the change feed) registered: those registered so far run right after
          the COMMIT, in commit order.
        * Concurrent units commit together (the group committer); a unit that already ran
          statements with :meth:`run`, or is committed ``alone`` (a large unit, which would
          hold a group up, and which a neighbour's failure would make run twice), commits in
          its own transaction on its own connection, in one hop.
        * A cancellation or the statement timeout before the COMMIT started interrupts the
          unit's statements and writes nothing; once the COMMIT started, the unit commits,
          its callbacks run, and a cancelled caller still gets ``CancelledError``.
        * It ends the unit: :meth:`run` and :meth:`commit_with` refuse to run after it.

        Raises:
            StatementTimeoutError: The statement timeout ran out; nothing was written.
            ProjectArchitectDBError: This unit's own (translated) error; nothing was written.
            RuntimeError: This unit was already ended by ``commit_with``.
        """
        self._check_not_done()
        if self._open or alone:  # its own transaction (maybe begun already): end it
            await self._take_connection()
            if self._after_commit:
                async with self._commit_lock():
                    return await self._commit_joined(work)
            return await self._commit_joined(work)
        value: T = await self._committer.submit(self, work)
        self._done = True
        return value

    async def _commit_joined(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        stops, unit = Stops(), Stoppable()
        before_commit = self._committer.before_commit  # the one seam of every unit's COMMIT

        def hop(duck: duckdb.DuckDBPyConnection) -> T:
            if not self._open:  # committed alone: BEGIN travels with the work
                duck.begin()
                self._open = True
            try:
                value = stops.run(duck, (unit,), functools.partial(work, duck))
                if stops.may_commit((unit,)):
                    raise unit.stop_error()
                if before_commit is not None:
                    before_commit()
                duck.commit()
            except BaseException:
                _rollback_quietly(duck)  # if this raises, the unit stays open: see unit()
                self._open = False
                raise
            self._open = False
            self._done = True
            return value

        seconds = None if self._timeouts is None else self._timeouts.current()
        loop = asyncio.get_running_loop()
        timer = None if seconds is None else loop.call_later(seconds, stops.stop, unit, seconds)
        try:
            result: T = await self._connection.run(
                hop, timed=False, interrupt=functools.partial(stops.stop, unit)
            )
        except BaseException as error:
            if self._done:  # cancelled once the COMMIT had started: it stands
                self._run_after_commit()
            if unit.timeout is not None and isinstance(error, duckdb.InterruptException):
                error = unit.stop_error()  # its statement timeout stopped it
            mapped = translate(error)
            if mapped is error:
                raise
            raise mapped from error
        finally:
            if timer is not None:
                timer.cancel()
        self._run_after_commit()
        return result

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


class Parents:
    """A bounded map of row id -> its parent's id, for parents that never change.

    A unit that must lock a row's parent before its only hop (``add_message`` locks the
    conversation's project) reads the parent's id here instead of in an extra hop. The entries
    remembered longest ago go first once ``size`` is reached. Only immutable relations belong
    here; the unit still checks the value inside its hop.
    """

    __slots__ = ("_ids", "size")

    def __init__(self, size: int = 65_536) -> None:
        self.size = size
        self._ids: dict[Hashable, Any] = {}

    def get(self, key: Hashable) -> Any:
        """The remembered parent id of ``key``, or ``None``."""
        return self._ids.get(key)

    def remember(self, key: Hashable, parent: Any) -> None:
        """Note ``key``'s parent (dropping the oldest entry when full)."""
        ids = self._ids
        if ids.pop(key, None) is None and len(ids) >= self.size:
            del ids[next(iter(ids))]
        ids[key] = parent  # newest last

    def __len__(self) -> int:
        return len(self._ids)


class NativeWrites:
    """Opens :class:`NativeWrite` units for one database.

    Args:
        readers: The kept connections (a unit holds one for its whole life).
        locks: The database's integrity locks (each unit is registered as a transaction).
        commit_lock: Gives the lock that orders commits with after-commit callbacks.
        timeouts: The database's statement timeouts, applied to each unit's hop.
    """

    __slots__ = ("_commit_lock", "_locks", "_readers", "_timeouts", "committer", "parents")

    def __init__(
        self,
        readers: Callable[[], NativeReaders],
        locks: IntegrityLocks,
        commit_lock: Callable[[], asyncio.Lock],
        timeouts: StatementTimeouts | None = None,
    ) -> None:
        self._readers = readers
        self._locks = locks
        self._commit_lock = commit_lock
        #: Commits the units' ``commit_with`` work, grouping concurrent ones.
        self._timeouts = timeouts
        self.committer = GroupCommitter(readers, commit_lock, timeouts=timeouts)
        #: Parent ids of rows whose parent never changes (see :class:`Parents`).
        self.parents = Parents()

    @property
    def dialect(self) -> Dialect:
        """The dialect statements run by these units are compiled for."""
        return self._readers().dialect

    async def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run the read-only ``fn(duck)`` in one auto-committed hop, errors translated."""
        with translating():
            return await self._readers().run(fn)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[NativeWrite]:
        """A unit that commits when the block succeeds and rolls back when it raises.

        Raises:
            DatabaseNotOpenError: The database is not open (or was closed): nothing runs.
        """
        self._readers()  # refuses at once, before locks are taken for a unit that cannot run
        unit = NativeWrite(self._readers, self.committer, self._commit_lock, self._timeouts)
        self._locks.register(unit)
        try:
            try:
                yield unit
            except BaseException:
                await shielded(unit._rollback())
                raise
            await shielded(unit._commit(self._commit_lock()))
        finally:
            try:
                await shielded(unit._give_back())
            finally:
                unit._finish()
