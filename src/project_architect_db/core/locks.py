"""In-process integrity locks: what DuckDB's concurrency control does not see.

DuckDB detects two transactions updating one row, but not an update or an insert racing the
delete of the row it depends on (both commit: a lost update, or an orphan child). Only one
process can write a DuckDB file, so coordinating the writers of this process is complete, not
partial. Repositories take, per row id:

* a **shared** lock on every ancestor before inserting a child, and on a row before updating it;
* an **exclusive** lock on a row before deleting it (and, by the cascade, its descendants).

Locks are held until the transaction ends (commit or rollback). A child insert whose transaction
began before a concurrent delete committed could still see the deleted parent in its snapshot, so
a committed delete leaves a **tombstone**; :meth:`IntegrityLocks.check_not_deleted` refuses a
parent deleted after the checking transaction began. Tombstones are dropped once no transaction
older than them is still open.

Deadlocks cannot form between deletes and inserts (a delete locks one key, inserts only share);
any other wait longer than ``timeout`` becomes a retryable ``ConflictError``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, Protocol

from project_architect_db.exceptions import ConflictError, IntegrityError

__all__ = ["IntegrityLocks", "LockOwner", "next_sequence"]

_SEQUENCE = itertools.count(1)


def next_sequence() -> int:
    """A process-wide increasing number ordering transaction starts and commits."""
    return next(_SEQUENCE)


class LockOwner(Protocol):
    """What the locks need from a transaction."""

    sequence: int

    def snapshot_taken(self) -> bool:
        """Whether a statement already ran (DuckDB took the transaction's snapshot)."""
        ...

    def on_end(self, callback: Callable[[], Any]) -> None:
        """Register a callback run when the transaction ends."""
        ...

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Register a callback run after the transaction commits."""
        ...


class _KeyLock:
    __slots__ = ("condition", "readers", "waiters", "waiting_writers", "writer")

    def __init__(self) -> None:
        self.condition = asyncio.Condition()
        self.readers: dict[int, int] = {}  # owner id -> times acquired
        self.writer: int | None = None
        self.waiting_writers = 0
        self.waiters = 0  # tasks inside _wait, readers and writers

    @property
    def idle(self) -> bool:
        return not self.readers and self.writer is None and self.waiters == 0


class IntegrityLocks:
    """Shared/exclusive locks keyed by row id, released when the owning transaction ends."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._locks: dict[Hashable, _KeyLock] = {}
        self._tombstones: dict[Hashable, int] = {}  # deleted row -> commit stamp
        self._touched: dict[Hashable, int] = {}  # row a child was added under -> commit stamp
        self._open: dict[int, int] = {}  # id(owner) -> owner.sequence

    # -- transaction bookkeeping -----------------------------------------------------------
    def register(self, owner: LockOwner) -> None:
        """Track an open transaction (its start bounds which tombstones must be kept)."""
        key = id(owner)
        self._open[key] = owner.sequence
        owner.on_end(lambda: self._unregister(key))

    def _unregister(self, key: int) -> None:
        self._open.pop(key, None)
        oldest = min(self._open.values(), default=None)
        for stamps in (self._tombstones, self._touched):
            if not stamps:
                continue
            if oldest is None:
                stamps.clear()
            else:
                for old in [k for k, seq in stamps.items() if seq < oldest]:
                    del stamps[old]

    def _refresh(self, owner: LockOwner) -> None:
        """A transaction that has not run a statement yet gets its snapshot after the wait."""
        if not owner.snapshot_taken():
            owner.sequence = next_sequence()
            if id(owner) in self._open:
                self._open[id(owner)] = owner.sequence

    # -- locking ---------------------------------------------------------------------------
    async def shared(self, owner: LockOwner, key: Hashable) -> None:
        """Hold ``key`` shared until ``owner`` ends (no concurrent delete of that row)."""
        lock = self._locks.setdefault(key, _KeyLock())
        me = id(owner)
        if lock.writer == me or me in lock.readers:
            lock.readers[me] = lock.readers.get(me, 0) + 1
            owner.on_end(lambda: self._release_shared(key, me))
            return
        async with lock.condition:
            await self._wait(
                lock, lambda: lock.writer is None and lock.waiting_writers == 0, key, "read"
            )
            lock.readers[me] = 1
        owner.on_end(lambda: self._release_shared(key, me))
        owner.after_commit(lambda: self._stamp(self._touched, key))
        self._refresh(owner)

    async def exclusive(self, owner: LockOwner, key: Hashable) -> None:
        """Hold ``key`` exclusively until ``owner`` ends (the row is being deleted)."""
        lock = self._locks.setdefault(key, _KeyLock())
        me = id(owner)
        if lock.writer == me:
            return
        async with lock.condition:
            lock.waiting_writers += 1
            try:
                await self._wait(
                    lock,
                    lambda: lock.writer is None and set(lock.readers) <= {me},
                    key,
                    "delete",
                )
            finally:
                lock.waiting_writers -= 1
            lock.writer = me
        owner.on_end(lambda: self._release_exclusive(key, me))
        self._refresh(owner)
        stamp = self._touched.get(key)
        if stamp is not None and stamp > owner.sequence:
            raise ConflictError(
                f"Rows were added under {key} by a transaction that committed after this one "
                "began, so this transaction cannot see them to delete them. Nothing was "
                "written; run the unit of work again."
            )

    async def many(self, owner: LockOwner, keys: Sequence[tuple[Hashable, bool]]) -> None:
        """Take ``keys`` (``(key, exclusive)`` pairs) in the order given, as one call each.

        On a lake (:class:`~project_architect_db.core.lake.GuardedLocks`) the catalog locks of
        all of them are taken in one PostgreSQL round trip.
        """
        for key, exclusive in keys:
            if exclusive:
                await self.exclusive(owner, key)
            else:
                await self.shared(owner, key)

    def _stamp(self, stamps: dict[Hashable, int], key: Hashable) -> None:
        if self._open:
            stamps[key] = next_sequence()

    async def _wait(self, lock: _KeyLock, ready: object, key: Hashable, what: str) -> None:
        lock.waiters += 1
        try:
            await asyncio.wait_for(lock.condition.wait_for(ready), self.timeout)  # type: ignore[arg-type]
        except TimeoutError:
            lock.waiters -= 1
            if lock.idle:
                self._locks.pop(key, None)
            raise ConflictError(
                f"Waited {self.timeout:g} s to {what} row {key} while another transaction "
                "held it; nothing was written. Run the unit of work again (keep transactions "
                "short)."
            ) from None
        except BaseException:  # cancelled while waiting
            lock.waiters -= 1
            if lock.idle:
                self._locks.pop(key, None)
            raise
        lock.waiters -= 1  # the caller takes the lock at once, so it stays registered

    def _release_shared(self, key: Hashable, me: int) -> None:
        lock = self._locks.get(key)
        if lock is None or me not in lock.readers:
            return
        lock.readers[me] -= 1
        if lock.readers[me] <= 0:
            del lock.readers[me]
        self._wake(key, lock)

    def _release_exclusive(self, key: Hashable, me: int) -> None:
        lock = self._locks.get(key)
        if lock is None or lock.writer != me:
            return
        lock.writer = None
        self._wake(key, lock)

    def _wake(self, key: Hashable, lock: _KeyLock) -> None:
        if lock.idle:
            self._locks.pop(key, None)
            return

        async def notify() -> None:
            async with lock.condition:
                lock.condition.notify_all()

        task = asyncio.get_running_loop().create_task(notify())
        _PENDING.add(task)
        task.add_done_callback(_PENDING.discard)

    # -- deletes seen by older snapshots ---------------------------------------------------
    def mark_deleted(self, owner: LockOwner, keys: list[Hashable]) -> None:
        """Leave tombstones for ``keys`` once ``owner`` commits."""
        self.mark_deleted_lazily(owner, lambda: keys)

    def mark_deleted_lazily(self, owner: LockOwner, keys: Callable[[], Iterable[Hashable]]) -> None:
        """:meth:`mark_deleted` with the keys made only if a tombstone is needed.

        A tombstone only matters to a transaction open when ``owner`` commits (one that begins
        later has a newer sequence): with no other transaction open, ``keys()`` is never
        called (a bulk claim's 10k keys are not made).
        """
        me = id(owner)

        def bury() -> None:  # one commit: one stamp for all of them (a bulk write has 10k)
            if any(key != me for key in self._open):
                self._tombstones.update(dict.fromkeys(keys(), next_sequence()))

        owner.after_commit(bury)

    def may_refuse(self, owner: LockOwner) -> bool:
        """Whether :meth:`check_not_deleted` could refuse any key for ``owner`` right now."""
        sequence = owner.sequence
        return any(stamp > sequence for stamp in self._tombstones.values())

    def check_not_deleted(self, owner: LockOwner, key: Hashable, what: str) -> None:
        """Refuse ``key`` if its row was deleted after ``owner`` began (its snapshot is stale)."""
        stamp = self._tombstones.get(key)
        if stamp is not None and stamp > owner.sequence:
            raise IntegrityError(
                f"The {what} {key} was deleted by a concurrent transaction; nothing was "
                "written. Reload and decide again."
            )

    @property
    def held(self) -> int:
        """How many keys are locked or awaited right now (for tests and diagnostics)."""
        return len(self._locks)


_PENDING: set[asyncio.Task[None]] = set()
