"""``LakeGuard``: integrity between OS processes that share only PostgreSQL and the data path.

DuckLake has no constraints and sees no race between a check and a write made by two
processes. The guard serialises the units that touch the same keys with PostgreSQL
transaction-scoped advisory locks, held on a connection of its own for the whole lake
transaction::

    async with guard.hold(exclusive=[f"slug:{slug}"], shared=[f"projects:{parent}"]):
        ...  # BEGIN the DuckDB transaction here, check, write, COMMIT

The DuckDB transaction must begin *inside* the hold: DuckLake takes a transaction's snapshot at
its first read, so a transaction that starts after the locks sees every commit made before
them. Locks die with the PostgreSQL session, so a process killed while holding them releases
them. See docs/architecture.md, "Integrity on a lake".
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import asyncpg

from project_architect_db.core.lake._conninfo import ConnInfo, parse_conninfo
from project_architect_db.core.lake._keys import LockPlan, plan_locks
from project_architect_db.core.lake._pgerrors import catalog_error, lock_timeout_error
from project_architect_db.exceptions import (
    ConfigurationError,
    ConflictError,
    DatabaseNotOpenError,
    TransactionError,
)

__all__ = ["CHANNEL", "Hold", "LakeGuard"]


CHANNEL = "padb_lake_commits"
"""The PostgreSQL channel of lake commits (``core/lake/_feed.py`` listens on it)."""


class Hold:
    """What ``async with guard.hold(...) as held`` gives: announce the unit's commit."""

    __slots__ = ("snapshot_id",)

    def __init__(self) -> None:
        self.snapshot_id: int | None = None

    def announce(self, snapshot_id: int) -> None:
        """Notify subscribers of this lake commit when the hold ends (no extra round trip)."""
        self.snapshot_id = int(snapshot_id)


async def _no_reset(connection: Any) -> None:
    """The guard ends its own transaction; asyncpg's reset query would cost a round trip."""


class LakeGuard:
    """Advisory locks on the lake's PostgreSQL catalog, over a small asyncpg pool.

    Open with :meth:`connect` (or ``async with await LakeGuard.connect(...)``), then wrap each
    lake unit of work in :meth:`hold`. One hold per unit: holds do not nest, so take every key
    the unit needs at once (they are then taken in one global order, which rules out deadlocks).

    Examples:
        The keys of "add a message" come from the policy (``core/lake/_policy.py``):

        >>> from project_architect_db.core.lake import insert_keys
        >>> keys = insert_keys(
        ...     "messages",
        ...     ancestors=[("conversations", "c1"), ("projects", "p1")],
        ...     numbered_under=("conversations", "c1"),
        ... )
        >>> keys.exclusive
        ('conversations:c1#sequence',)
        >>> async def add_message(conninfo: str) -> None:
        ...     async with await LakeGuard.connect(conninfo) as guard:
        ...         async with guard.hold(exclusive=keys.exclusive, shared=keys.shared):
        ...             ...  # BEGIN the lake transaction, max + 1, INSERT, COMMIT
    """

    def __init__(self, pool: Any, info: ConnInfo, *, lock_timeout: float) -> None:
        self._pool = pool
        self._info = info
        self._lock_timeout = lock_timeout
        self._closed = False
        # The task holding this guard's locks; tasks it starts inherit the context, yet are
        # units of their own.
        self._holder: contextvars.ContextVar[asyncio.Task[Any] | None] = contextvars.ContextVar(
            f"padb_lake_holder_{id(self)}", default=None
        )

    @classmethod
    async def connect(
        cls,
        conninfo: str,
        *,
        pool_size: int = 4,
        lock_timeout: float = 10.0,
        connect_timeout: float = 10.0,
    ) -> LakeGuard:
        """Connect to the catalog named by a libpq conninfo (or ``ducklake:postgres:...``).

        Args:
            conninfo: The string DuckLake's ATTACH takes, with or without ``ducklake:postgres:``.
            pool_size: Units of this process that can hold locks at once.
            lock_timeout: Seconds a unit waits for its locks before ``ConflictError``.
            connect_timeout: Seconds to wait for the catalog to answer.

        Raises:
            ConfigurationError: A bad conninfo, size or timeout, or a catalog refusing the
                user, password or database.
            DatabaseError: The catalog cannot be reached.
        """
        info = parse_conninfo(conninfo)
        if pool_size < 1:
            raise ConfigurationError(f"pool_size must be at least 1, not {pool_size}.")
        _check_timeout(lock_timeout, "lock_timeout")
        _check_timeout(connect_timeout, "connect_timeout")
        kwargs = {"timeout": connect_timeout, **info.connect_kwargs()}
        try:
            pool = await asyncpg.create_pool(
                min_size=1, max_size=pool_size, reset=_no_reset, **kwargs
            )
        except Exception as error:
            raise catalog_error(error, info) from error
        return cls(pool, info, lock_timeout=lock_timeout)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._closed

    @property
    def pool(self) -> Any:
        """The asyncpg pool (one-statement catalog work outside a hold)."""
        return self._pool

    @property
    def info(self) -> ConnInfo:
        """The catalog's connection info (for error messages)."""
        return self._info

    @property
    def lock_timeout(self) -> float:
        """Seconds a unit waits for its locks before ``ConflictError``."""
        return self._lock_timeout

    async def acquire(self, wait: float) -> Any:
        """A pool connection for a hold taken key by key (``core/lake/_unit.py``).

        Raises:
            ConflictError: Every connection stayed busy for ``wait`` seconds.
            DatabaseNotOpenError: The guard is closed.
            DatabaseError: The catalog cannot be reached.
        """
        return await self._acquire(wait)

    async def release(self, connection: Any) -> None:
        """Give back a connection from :meth:`acquire` whose transaction has ended."""
        if not self._closed:
            await self._pool.release(connection)

    @asynccontextmanager
    async def hold(
        self,
        *,
        exclusive: Iterable[str] = (),
        shared: Iterable[str] = (),
        lock_timeout: float | None = None,
    ) -> AsyncIterator[Hold]:
        """Hold ``exclusive`` and ``shared`` keys until the block ends, in every process.

        Args:
            exclusive: Keys no other unit may hold at the same time.
            shared: Keys other units may hold shared, but not exclusive.
            lock_timeout: Seconds to wait for the locks (default: the guard's).

        Raises:
            ConflictError: Another unit kept a key past the timeout (retryable).
            TransactionError: A hold inside a hold of the same task.
            DatabaseNotOpenError: The guard is closed.
            DatabaseError: The catalog went away: before the locks were granted (nothing ran),
                or while the block ran (its locks were lost with the session: see
                docs/architecture.md, "Integrity on a lake", for what that leaves).
        """
        plan = plan_locks(exclusive, shared)
        wait = (
            self._lock_timeout
            if lock_timeout is None
            else _check_timeout(lock_timeout, "lock_timeout")
        )
        task = asyncio.current_task()
        if task is not None and self._holder.get() is task:
            raise TransactionError(
                "guard.hold() does not nest: take every key the unit needs in one hold "
                "(one global lock order is what rules out deadlocks between processes)."
            )
        connection = await self._acquire(wait)
        broken = False
        completed = False
        held = Hold()
        try:
            try:
                await self._lock(connection, plan, wait)
            except ConflictError:
                raise  # a lock wait that ran out leaves a healthy connection
            except BaseException:
                broken = True  # cancelled mid-statement, or the catalog went away
                raise
            token = self._holder.set(task)
            try:
                yield held
                completed = True
            finally:
                self._holder.reset(token)
        finally:
            announce = held.snapshot_id if completed else None
            lost = await self._end(connection, broken=broken, announce=announce)
        if lost and completed:
            raise catalog_error(lost, self._info, during_hold=True)

    async def announce(self, snapshot_id: int) -> None:
        """Notify subscribers of a lake commit made outside a hold (one round trip).

        Raises:
            DatabaseNotOpenError: The guard is closed.
            DatabaseError: The catalog went away.
        """
        if self._closed:
            raise DatabaseNotOpenError("The lake guard is closed: connect a new LakeGuard.")
        try:
            await self._pool.execute("SELECT pg_notify($1, $2)", CHANNEL, str(int(snapshot_id)))
        except Exception as error:
            raise catalog_error(error, self._info) from error

    async def close(self) -> None:
        """Close the pool (idempotent); holds still running are ended by the server."""
        if self._closed:
            return
        self._closed = True
        self._pool.terminate()

    async def __aenter__(self) -> LakeGuard:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _acquire(self, wait: float) -> Any:
        if self._closed:
            raise DatabaseNotOpenError("The lake guard is closed: connect a new LakeGuard.")
        try:
            return await self._pool.acquire(timeout=wait)
        except TimeoutError as error:
            raise lock_timeout_error(
                f"all guard connections of this process stayed busy for {wait:g} s", wait
            ) from error
        except Exception as error:
            raise catalog_error(error, self._info) from error

    async def _lock(self, connection: Any, plan: LockPlan, wait: float) -> None:
        try:
            await connection.execute(plan.sql(max(1, math.ceil(wait * 1000))))
        except asyncpg.LockNotAvailableError as error:
            keys = ", ".join(plan.keys)
            raise lock_timeout_error(f"another unit held one of [{keys}]", wait) from error
        except Exception as error:
            raise catalog_error(error, self._info) from error

    async def _end(
        self, connection: Any, *, broken: bool, announce: int | None = None
    ) -> BaseException | None:
        """Roll back the lock transaction (its locks go with it) and return the connection.

        A broken or cancelled connection is terminated instead: the server then ends its
        session, and every lock the session held with it. Returns the error of a session found
        dead at the end: the block ran without its locks from some point on.
        """
        if self._closed:
            return None  # closing the pool ended every session, and their locks
        if broken:
            _discard(connection)
            return None
        end = "ROLLBACK"
        if announce is not None:  # delivered when the lock transaction commits, with its end
            end = f"SELECT pg_notify('{CHANNEL}', '{announce}'); COMMIT"
        try:
            await connection.execute(end)
        except asyncio.CancelledError:
            _discard(connection)
            raise
        except Exception as error:
            _discard(connection)
            return error
        await self._pool.release(connection)
        return None


def _discard(connection: Any) -> None:
    """Terminate a pool connection; one the server closed went back to the pool on its own."""
    with contextlib.suppress(asyncpg.InterfaceError):
        connection.terminate()


def _check_timeout(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{name} must be a positive number of seconds, not {value!r}.")
    return float(value)
