"""The guard wired into the library: every integrity lock of a lake unit is also a catalog lock.

On a file, :class:`~project_architect_db.core.locks.IntegrityLocks` is complete: one process
writes. On a lake the same calls (``locks.shared`` / ``locks.exclusive``, which every write path
of the repositories already makes: parents of an insert, the row of an update or a delete, a
conversation's sequence, a claimed unique key) must hold in every process. :class:`GuardedLocks`
takes the in-process lock, then the key's PostgreSQL advisory lock on the unit's own catalog
connection (:class:`UnitHold`: one per transaction, opened at its first key, ended after its
DuckDB ``COMMIT`` or rollback), so the keys are held across the whole lake transaction.

**Keys taken after the snapshot.** DuckLake fixes a transaction's snapshot at its first read.
A key taken before it (a repository call's first lock, the usual case) needs nothing more: every
unit that held the key before committed before the snapshot. A key taken later (a unit of work
that read first, or an ancestor found by a read) could have been held and released by a unit
that committed after the snapshot, which this transaction cannot see. So a committing unit
stamps its keys with the lake's newest snapshot id (``padb_lake_key_commits``, one
``INSERT ... ON CONFLICT`` in the batch that ends its hold), and a late key whose stamp is newer
than the transaction's snapshot (``ducklake_current_snapshot``) refuses the unit with the
retryable ``ConflictError``: the cross-process form of the in-process tombstones. A shared key
compares with the stamps of exclusive holders only (a delete); an exclusive key with every
holder's (children added under a row about to be deleted).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable, Sequence
from typing import Any

import asyncpg

from project_architect_db.core.lake._guard import CHANNEL, LakeGuard
from project_architect_db.core.lake._keys import lock_id
from project_architect_db.core.lake._open import LAKE_ALIAS
from project_architect_db.core.lake._pgerrors import catalog_error, lock_timeout_error
from project_architect_db.core.locks import IntegrityLocks, LockOwner
from project_architect_db.core.settings import Settings
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import ConflictError, TransactionError

__all__ = ["STAMPS", "GuardedLocks", "UnitHold", "ensure_stamps", "lock_key", "open_guard"]

STAMPS = "padb_lake_key_commits"
"""The catalog table of key stamps: per lock, the newest snapshot a unit holding it committed."""

_CREATE_STAMPS = (
    f"CREATE TABLE IF NOT EXISTS {STAMPS} (lock bigint PRIMARY KEY, "
    "any_snapshot bigint NOT NULL DEFAULT 0, exclusive_snapshot bigint NOT NULL DEFAULT 0)"
)


def lock_key(key: Hashable) -> str:
    """The catalog key of an in-process lock key (a row id, a ``writes`` or claim tuple)."""
    return f"padb:{key!r}"


async def ensure_stamps(guard: LakeGuard) -> None:
    """Create the stamps table once per catalog (several processes may race to create it)."""
    try:
        await guard.pool.execute(_CREATE_STAMPS)
    except asyncpg.UniqueViolationError:  # another process created it at the same moment
        pass
    except Exception as error:
        raise catalog_error(error, guard.info) from error


class UnitHold:
    """The catalog locks of one lake transaction, taken as it goes, released after its end."""

    __slots__ = ("_connection", "_guard", "_held", "_lost", "_snapshot", "_wait")

    def __init__(self, guard: LakeGuard, wait: float) -> None:
        self._guard = guard
        self._wait = wait
        self._connection: Any = None
        self._held: dict[int, bool] = {}  # lock id -> exclusive
        self._snapshot: int | None = None
        self._lost = False

    async def take(self, tx: Transaction, keys: Sequence[tuple[Hashable, bool]]) -> None:
        """Hold ``keys`` (``(key, exclusive)`` pairs) until the unit ends: one round trip.

        A key whose stamp is past the transaction's snapshot refuses the unit.
        """
        wanted: dict[int, tuple[Hashable, bool]] = {}
        for key, exclusive in keys:
            ident = lock_id(lock_key(key))
            held = self._held.get(ident)
            if held or (held is not None and not exclusive):
                continue
            wanted[ident] = (key, exclusive or wanted.get(ident, (key, False))[1])
        if not wanted:
            return
        late = tx.snapshot_taken()
        wait = self._wait
        sql = "; ".join(
            f"SELECT pg_advisory_xact_lock{'' if exclusive else '_shared'}({ident})"
            for ident, (_, exclusive) in wanted.items()
        )
        first = self._connection is None
        if first:
            self._connection = await self._guard.acquire(wait)
            sql = f"BEGIN; SET LOCAL lock_timeout = '{max(1, round(wait * 1000))}ms'; {sql}"
        else:  # a refused lock must not abort the locks already held
            sql = f"SAVEPOINT padb_take; {sql}; RELEASE SAVEPOINT padb_take"
        named = ", ".join(str(key) for key, _ in wanted.values())
        await self._run(sql, named, wait, first=first)
        for ident, (_, exclusive) in wanted.items():
            self._held[ident] = exclusive or self._held.get(ident, False)
        if late:
            for ident, (key, exclusive) in wanted.items():
                await self._check_stamp(tx, ident, key, exclusive=exclusive)

    async def _run(self, sql: str, key: Hashable, wait: float, *, first: bool) -> None:
        try:
            await self._connection.execute(sql)
        except asyncpg.LockNotAvailableError as error:
            await self._recover(first)
            raise lock_timeout_error(f"another unit held {key}", wait) from error
        except asyncpg.DeadlockDetectedError as error:
            await self._recover(first)
            raise ConflictError(
                f"Two units waited on each other for {key} (PostgreSQL found the deadlock); "
                "nothing of this one was written. Run the unit of work again."
            ) from error
        except asyncio.CancelledError:
            self._lost = True
            raise
        except Exception as error:
            self._lost = True
            raise catalog_error(error, self._guard.info) from error

    async def _recover(self, first: bool) -> None:
        """After a refused lock: the lock transaction stays usable (or ends, if it held none)."""
        connection = self._connection
        try:
            if first:
                await connection.execute("ROLLBACK")
                self._connection = None
                await self._guard.release(connection)
            else:
                await connection.execute(
                    "ROLLBACK TO SAVEPOINT padb_take; RELEASE SAVEPOINT padb_take"
                )
        except Exception:  # the session is gone: the unit's end terminates it
            self._lost = True
            if first:
                self._connection = connection

    async def _check_stamp(
        self, tx: Transaction, ident: int, key: Hashable, *, exclusive: bool
    ) -> None:
        column = "any_snapshot" if exclusive else "exclusive_snapshot"
        try:
            stamp = await self._connection.fetchval(
                f"SELECT {column} FROM {STAMPS} WHERE lock = $1", ident
            )
        except Exception as error:
            self._lost = True
            raise catalog_error(error, self._guard.info) from error
        if stamp is None or stamp == 0:
            return
        if self._snapshot is None:
            sql = f"SELECT id FROM ducklake_current_snapshot('{LAKE_ALIAS}')"
            self._snapshot = int(await tx.run_native(lambda duck: duck.execute(sql).fetchone()[0]))
        if stamp > self._snapshot:
            raise ConflictError(
                f"A unit of work (of this or another process) holding {key} committed after "
                f"this transaction's snapshot (lake snapshot {stamp} > {self._snapshot}), so "
                "this one cannot see its writes. Nothing was written: run the unit of work "
                "again (take the keys first: write before reading in a unit of work)."
            )

    async def end(self, *, committed: bool) -> None:
        """Release every lock; after a commit, stamp the keys and wake the lake's feeds."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._lost:
            with contextlib.suppress(asyncpg.InterfaceError):
                connection.terminate()
            return
        end = "ROLLBACK"
        if committed:
            end = _stamp_sql(self._held) + f"; SELECT pg_notify('{CHANNEL}', '0'); COMMIT"
        try:
            await connection.execute(end)
        except asyncio.CancelledError:
            with contextlib.suppress(asyncpg.InterfaceError):
                connection.terminate()
            raise
        except Exception as error:
            with contextlib.suppress(asyncpg.InterfaceError):
                connection.terminate()
            if committed:
                raise catalog_error(error, self._guard.info, during_hold=True) from error
            return
        await self._guard.release(connection)


def _stamp_sql(held: dict[int, bool]) -> str:
    """One statement stamping every held lock with the lake's newest snapshot (ids inline)."""
    ids = ",".join(str(ident) for ident in held)
    modes = ",".join("true" if exclusive else "false" for exclusive in held.values())
    return (
        f"INSERT INTO {STAMPS} AS k (lock, any_snapshot, exclusive_snapshot) "
        "SELECT u.lock, s.id, CASE WHEN u.exclusive THEN s.id ELSE 0 END "
        f"FROM unnest(ARRAY[{ids}]::bigint[], ARRAY[{modes}]::boolean[]) AS u(lock, exclusive), "
        "(SELECT coalesce(max(snapshot_id), 0) AS id FROM ducklake_snapshot) AS s "
        "ON CONFLICT (lock) DO UPDATE SET "
        "any_snapshot = greatest(k.any_snapshot, excluded.any_snapshot), "
        "exclusive_snapshot = greatest(k.exclusive_snapshot, excluded.exclusive_snapshot)"
    )


class GuardedLocks(IntegrityLocks):
    """:class:`IntegrityLocks` whose every key is also held in the catalog, for every process.

    The guard is attached when the database opens (:meth:`attach`); before that, and on a
    read-only lake, the locks are the in-process ones. ``timeout`` bounds the wait for a
    catalog lock too (then ``ConflictError``, retryable).
    """

    def __init__(self, timeout: float = 30.0) -> None:
        super().__init__(timeout)
        self.guard: LakeGuard | None = None
        self._units: dict[int, UnitHold] = {}

    def attach(self, guard: LakeGuard | None) -> None:
        """Hold keys through ``guard`` from now on (``None``: in-process only)."""
        self.guard = guard

    async def shared(self, owner: LockOwner, key: Hashable) -> None:
        """The in-process shared lock, then the key's shared catalog lock."""
        await super().shared(owner, key)
        await self._take(owner, [(key, False)])

    async def exclusive(self, owner: LockOwner, key: Hashable) -> None:
        """The in-process exclusive lock, then the key's exclusive catalog lock."""
        await super().exclusive(owner, key)
        await self._take(owner, [(key, True)])

    async def many(self, owner: LockOwner, keys: Sequence[tuple[Hashable, bool]]) -> None:
        """The in-process locks one by one, then every catalog lock in one round trip."""
        for key, exclusive in keys:
            if exclusive:
                await IntegrityLocks.exclusive(self, owner, key)
            else:
                await IntegrityLocks.shared(self, owner, key)
        await self._take(owner, keys)

    async def _take(self, owner: LockOwner, keys: Sequence[tuple[Hashable, bool]]) -> None:
        guard = self.guard
        if guard is None:
            return
        if not isinstance(owner, Transaction):
            raise TransactionError(
                "A lake write must run in a transaction (native one-hop writes are off on a "
                "lake); this is a bug in project-architect-db: please report it."
            )
        unit = self._units.get(id(owner))
        if unit is None:
            unit = self._units[id(owner)] = UnitHold(guard, self.timeout)
            owner.on_end_async(lambda committed: self._end(owner, committed))
        await unit.take(owner, keys)

    async def _end(self, owner: Transaction, committed: bool) -> None:
        unit = self._units.pop(id(owner), None)
        if unit is not None:
            await unit.end(committed=committed)


async def open_guard(settings: Settings, locks: IntegrityLocks) -> LakeGuard:
    """The database's one :class:`LakeGuard`, attached to its ``locks`` (a :class:`GuardedLocks`).

    Opened after the lake itself (``Database.connect``); the stamps table is made if missing.
    A guard that cannot be made ready is closed again before the error goes up.
    """
    assert isinstance(locks, GuardedLocks)
    guard = await LakeGuard.connect(str(settings.database), pool_size=settings.pool_size + 2)
    try:
        await ensure_stamps(guard)
    except BaseException:
        await guard.close()
        raise
    locks.attach(guard)
    return guard
