"""Group commit: auto-commit units that arrive while a commit is in flight commit together.

A native auto-commit unit of work (``NativeWrite.commit_with(work)``) is one synchronous
``work(duck)`` running every statement of the unit on the raw DuckDB connection. Run alone it
costs one worker hop: ``BEGIN; work; COMMIT``. When many tasks write at once, the
:class:`GroupCommitter` queues their units and one writer connection runs them in groups: the
next group is every unit queued while the previous group ran (at most :data:`MAX_GROUP`), in one
hop, ``BEGIN; work_1; ...; work_n; COMMIT``. DuckDB's COMMIT (~0.9 ms here) and the thread hop
are then paid once per group instead of once per unit. Works of the same kind may also merge
their statements (:class:`Coalescing`: concurrent chat appends become one ``UPDATE ... FROM
(VALUES ...)`` and one Arrow ``INSERT``).

Semantics, per unit (tested in ``tests/integration/core/test_group_commit.py``):

* **Its own answer.** Each caller gets its own result or its own typed error.
* **One failure fails only its unit.** DuckDB aborts the whole transaction when a statement
  fails, so the group is rolled back and re-run without the failing unit, in the same hop;
  then that unit runs alone, so the error it gets is its own (and a unit that failed only
  because of a neighbour succeeds). Past :data:`MAX_FAILURES` failures in one group the rest
  run one by one.
* **A COMMIT that DuckDB refuses** (a concurrent transaction committed the same unique key
  first) says nothing about which unit caused it: every unit of the group runs again alone,
  so each gets its own answer.
* **Commit order.** The group's hop runs under the database's commit lock, and after its
  COMMIT the after-commit callbacks (change feed, lock stamps) of its units run in unit order
  before the lock is released: the feed stays in commit order.
* **Locks.** Units take their integrity locks before they queue and keep them until their
  group has committed; a unit's snapshot is its group's ``BEGIN``, taken after every lock of
  every unit in it was granted (what ``IntegrityLocks._refresh`` assumes).
* **Cancellation and statement timeout** (``core/_stopping.py``). A caller cancelled while
  its unit waits in the queue takes it out of the queue: nothing of it is written. Cancelled
  while its group runs, before the group's COMMIT started, its unit is stopped: its statements
  are interrupted if they run (a neighbour's interrupted statements make that neighbour run
  alone, for its own answer), and the group is rolled back and re-run without it: nothing of it
  is written, and no other caller is failed. Once the COMMIT started, nothing stops it: the
  unit commits (its changes are published) and the caller's ``CancelledError`` propagates
  after, like a cancelled ``Transaction.commit``. A unit's statement timeout (taken when it is
  submitted) runs from its submission and does what a cancellation does, but its caller gets
  ``StatementTimeoutError``. The committer's own task cancelled fails every unit it holds.

``work`` must be re-runnable (it may run twice: in a group that was rolled back, then alone):
ids and timestamps are made before it, and it changes nothing outside the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol, TypeVar

import duckdb

from project_architect_db.core._adapter import rollback_quietly
from project_architect_db.core._callbacks import UnitCallbacks
from project_architect_db.core._stopping import Stoppable, Stops
from project_architect_db.core.readers import NativeReaders
from project_architect_db.core.timeouts import StatementTimeouts
from project_architect_db.exceptions._translate import translate

__all__ = [
    "MAX_FAILURES",
    "MAX_GROUP",
    "SETTLE_TURNS",
    "Coalescing",
    "GroupCommitter",
    "Outcome",
    "rollback_quietly",
]

T = TypeVar("T")

#: Most units committed by one group.
MAX_GROUP = 256
#: Failed units one group re-runs around before it runs the rest one by one.
MAX_FAILURES = 3
#: Loop turns the committer waits, after a group, for its callers' next units.
SETTLE_TURNS = 8


#: ``(True, value)`` or ``(False, error)``: what one unit's work gave.
Outcome = tuple[bool, Any]


class Coalescing(Protocol):
    """A work that can merge its statements with works of the same :attr:`coalesce_key`.

    The object is itself the unit's plain ``work(duck)`` (run when alone or when merging
    failed); :meth:`run_together` runs several of them at once inside the group's transaction.
    """

    coalesce_key: Hashable

    def __call__(self, duck: duckdb.DuckDBPyConnection) -> Any:
        """Run this unit's statements alone."""
        ...

    def run_together(
        self, duck: duckdb.DuckDBPyConnection, works: Sequence[Any]
    ) -> list[Outcome] | None:
        """Run ``works`` (this one among them) with merged statements; one outcome each.

        A unit refused without writing anything (a missing row) gets ``(False, error)``;
        raising means the transaction may be aborted, and the group falls back to running
        each work on its own. ``None``: these works cannot merge (run them one by one).
        """
        ...


class _Entry(Stoppable):
    """One queued unit: its work, its caller's future, and where it stands."""

    __slots__ = ("future", "outcome", "running", "unit", "work")

    def __init__(
        self, unit: UnitCallbacks, work: Callable[[Any], Any], future: asyncio.Future[Any]
    ) -> None:
        super().__init__()
        self.unit = unit
        self.work = work
        self.future = future
        self.running = False
        self.outcome: Outcome = (False, None)


class _Failed(Exception):
    def __init__(self, entry: _Entry | None, error: BaseException) -> None:
        super().__init__()
        self.entry = entry
        self.error = error


class GroupCommitter:
    """Commits native auto-commit units in groups on one writer connection (see module text).

    Args:
        readers: Lends the writer connection (held while groups keep coming).
        commit_lock: Gives the lock that orders commits with after-commit callbacks.
        max_group: Most units per group.
        timeouts: The database's statement timeouts (``None``: units are never timed out).
    """

    def __init__(
        self,
        readers: Callable[[], NativeReaders],
        commit_lock: Callable[[], asyncio.Lock],
        max_group: int = MAX_GROUP,
        timeouts: StatementTimeouts | None = None,
    ) -> None:
        self._readers = readers
        self._commit_lock = commit_lock
        self.max_group = max_group
        self._timeouts = timeouts
        self._queue: deque[_Entry] = deque()
        self._drainer: asyncio.Task[None] | None = None
        self._stops = Stops()
        #: Test seam: called on the worker thread right before every COMMIT, once it is
        #: decided (from then on neither a cancellation nor a timeout stops the units in it).
        self.before_commit: Callable[[], None] | None = None
        #: How many groups and units were committed (diagnostics, tests).
        self.groups = 0
        self.units = 0

    @property
    def queued(self) -> int:
        """How many units wait for the next group."""
        return len(self._queue)

    async def finish(self) -> None:
        """Wait until the committer has answered every queued unit and given its connection back.

        ``Database.close`` calls it first: after a unit is answered the committer keeps its
        writer connection for a few loop turns (for the caller's next unit); a close that did
        not wait would dispose of the engine under that connection, leaving it (and the file)
        open until the garbage collector found it.
        """
        drainer = self._drainer
        if drainer is not None:
            await asyncio.shield(drainer)

    async def submit(
        self, unit: UnitCallbacks, work: Callable[[duckdb.DuckDBPyConnection], T]
    ) -> T:
        """Commit ``work`` as ``unit``'s whole transaction; its result or its translated error.

        Raises:
            StatementTimeoutError: The statement timeout ran out before the COMMIT started:
                nothing of this unit was written.
            ProjectArchitectDBError: This unit's own error (the others are not affected).
            asyncio.CancelledError: The caller was cancelled: before its COMMIT started
                nothing was written; after, the unit committed first.
        """
        loop = asyncio.get_running_loop()
        entry = _Entry(unit, work, loop.create_future())
        self._queue.append(entry)
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        seconds = None if self._timeouts is None else self._timeouts.current()
        timer = (
            None if seconds is None else loop.call_later(seconds, self._time_out, entry, seconds)
        )
        future = entry.future
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            if not entry.running:  # still queued: leave the queue, nothing is written
                with contextlib.suppress(ValueError):  # its timeout took it out just before
                    self._queue.remove(entry)
                raise
            self._stops.stop(entry)  # unless its COMMIT started, nothing of it is written
            while not future.done():  # its group answers every unit it took
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait((future,))
            future.exception()  # retrieved (its futures are never cancelled): the cancel wins
            raise
        finally:
            if timer is not None:
                timer.cancel()
        result: T = future.result()
        return result

    def _time_out(self, entry: _Entry, seconds: float) -> None:
        """``entry``'s statement timeout ran out: what a cancellation does, with its error."""
        if entry.future.done():  # answered; its caller has not resumed yet
            return
        if entry.running:
            self._stops.stop(entry, seconds)
            return
        self._queue.remove(entry)
        entry.timeout = seconds
        entry.future.set_exception(translate(entry.stop_error()))

    async def _drain(self) -> None:
        try:
            # the outer loop: units may queue while the connection is given back
            while self._queue:
                async with self._readers().holding() as held:
                    while self._queue:
                        group = self._take()
                        try:
                            await self._commit_group(held.connection, group)
                        except BaseException as error:
                            held.broken = True
                            self._fail(group, error)
                            raise
                        await self._settle(len(group))
        except BaseException as error:  # no connection, or a hop failed, or cancelled
            self._fail(list(self._queue), error)
            self._queue.clear()
            if not isinstance(error, Exception):
                raise
        finally:
            self._drainer = None

    async def _settle(self, previous: int) -> None:
        """Give the callers just answered a few loop turns to queue their next units.

        Answered callers need several turns (wake-up, lock release, their next call's locks)
        before they queue again; taking the queue at once would commit their first few units
        as a small group and leave the rest for the next. A lone sequential caller costs
        nothing here: its answer was already delivered.
        """
        for _ in range(SETTLE_TURNS):
            if len(self._queue) >= previous:
                return
            await asyncio.sleep(0)

    def _take(self) -> list[_Entry]:
        group: list[_Entry] = []
        queue = self._queue
        while queue and len(group) < self.max_group:
            entry = queue.popleft()
            entry.running = True
            group.append(entry)
        return group

    async def _commit_group(self, connection: Any, group: list[_Entry]) -> None:
        async with self._commit_lock():
            await connection.run(lambda duck: self._run_group(duck, group), timed=False)
            self.groups += 1
            for entry in group:  # unit order: the change feed keeps commit order
                ok, _ = entry.outcome
                if ok and not entry.stopped:
                    self.units += 1
                    entry.unit._run_after_commit()
                else:
                    entry.unit._after_commit.clear()
        for entry in group:
            ok, value = entry.outcome
            if entry.stopped:  # never committed (a committing unit cannot be stopped)
                entry.future.set_exception(translate(entry.stop_error()))
            elif ok:
                entry.future.set_result(value)
            else:
                entry.future.set_exception(translate(value))

    @staticmethod
    def _fail(entries: list[_Entry], error: BaseException) -> None:
        for entry in entries:  # their futures are still pending: only the drainer sets them
            entry.future.set_exception(translate(error))

    # -- worker side -------------------------------------------------------------------------
    def _run_group(self, duck: duckdb.DuckDBPyConnection, group: list[_Entry]) -> None:
        """Commit ``group`` in as few transactions as its failures allow (see module text)."""
        if len(group) == 1:
            self._run_alone(duck, group[0])
            return
        pending = group
        alone: list[_Entry] = []
        merge = True
        while pending:
            if len(alone) >= MAX_FAILURES:
                alone.extend(pending)
                break
            duck.begin()
            try:
                self._run_works(duck, pending, merge=merge)
            except _Failed as failed:
                rollback_quietly(duck)
                if failed.entry is None:  # merged statements failed: run each on its own
                    merge = False
                    continue
                if not failed.entry.stopped:  # its own error, or interrupted beside a stopped one
                    alone.append(failed.entry)
                pending = [entry for entry in pending if entry is not failed.entry]
                continue
            if self._stops.may_commit(pending):  # stopped meanwhile: re-run without them
                rollback_quietly(duck)
                pending = [entry for entry in pending if not entry.stopped]
                continue
            try:
                if self.before_commit is not None:
                    self.before_commit()
                duck.commit()
            except Exception:
                with contextlib.suppress(Exception):
                    rollback_quietly(duck)
                alone.extend(pending)  # DuckDB refused the COMMIT: each gets its own answer
            break
        for entry in alone:
            self._run_alone(duck, entry)

    def _run_alone(self, duck: duckdb.DuckDBPyConnection, entry: _Entry) -> None:
        """``BEGIN; work; COMMIT`` for one unit; its outcome either way."""
        try:
            duck.begin()
            value = self._stops.run(duck, (entry,), functools.partial(entry.work, duck))
            if self._stops.may_commit((entry,)):
                raise entry.stop_error()
            if self.before_commit is not None:
                self.before_commit()
            duck.commit()
        except Exception as error:
            with contextlib.suppress(Exception):
                rollback_quietly(duck)
            entry.outcome = (False, error)
        else:
            entry.outcome = (True, value)

    def _run_works(
        self, duck: duckdb.DuckDBPyConnection, pending: list[_Entry], *, merge: bool
    ) -> None:
        """Run every pending work in the open transaction; raise ``_Failed`` on a failure."""
        merged: dict[Hashable, list[_Entry]] = {}
        single: list[_Entry] = []
        for entry in pending:
            key = getattr(entry.work, "coalesce_key", None) if merge else None
            if key is None:
                single.append(entry)
            else:
                merged.setdefault(key, []).append(entry)
        for entries in merged.values():
            if len(entries) == 1:
                single.extend(entries)
                continue
            works = [entry.work for entry in entries]
            first: Coalescing = works[0]  # type: ignore[assignment]  # it has coalesce_key
            try:
                outcomes = self._stops.run(
                    duck, entries, functools.partial(first.run_together, duck, works)
                )
            except Exception as error:
                raise _Failed(None, error) from error
            if outcomes is None:
                single.extend(entries)
                continue
            for entry, outcome in zip(entries, outcomes, strict=True):
                entry.outcome = outcome
        for entry in single:
            try:
                entry.outcome = (
                    True,
                    self._stops.run(duck, (entry,), functools.partial(entry.work, duck)),
                )
            except Exception as error:
                raise _Failed(entry, error) from error
