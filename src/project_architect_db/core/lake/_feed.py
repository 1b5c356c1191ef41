"""A change feed across processes: NOTIFY after a lake commit, LISTEN, read the snapshots.

A writer announces its commit (:meth:`LakeGuard.announce`, or ``hold.announce(snapshot)``
inside a hold, which costs no round trip: the notification rides on the lock transaction's
end). The payload only wakes subscribers up: commits of units on different keys may be
announced out of order, so a subscriber never trusts it. It reads every snapshot after the
last one it saw from ``ducklake_snapshots()``, in snapshot order, which is DuckLake's commit
order. A subscriber that falls more than ``max_behind`` snapshots behind, or finds snapshots
expired before it read them, receives one :class:`LakeGap` (reload what you show) and goes on
from the newest snapshot. A notification lost (the listening session restarting) delays a
commit until the next one or the next poll (``poll_interval``), never drops it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import duckdb

from project_architect_db.core.lake._conninfo import ConnInfo, parse_conninfo
from project_architect_db.core.lake._guard import CHANNEL
from project_architect_db.core.lake._pgerrors import catalog_error
from project_architect_db.exceptions import CatalogUnavailableError, ConfigurationError

__all__ = ["LakeCommit", "LakeFeed", "LakeGap"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LakeCommit:
    """One lake commit: its snapshot id and DuckLake's summary of what it changed.

    ``message`` and ``extra_info`` are what the committing transaction gave DuckLake's
    ``set_commit_message`` (``None`` if nothing); ``committed_at`` is the snapshot's time.
    """

    snapshot_id: int
    changes: dict[str, list[str]]
    message: str | None = None
    extra_info: str | None = None
    committed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LakeGap:
    """``missed`` commits will not be delivered: reload, then carry on from ``resume_at``."""

    missed: int
    resume_at: int


class LakeFeed:
    """Commits of every process on one lake, in commit order (``async for``).

    Args: see :meth:`open`.
    """

    def __init__(
        self,
        listener: Any,
        lake: duckdb.DuckDBPyConnection,
        catalog: str,
        *,
        last: int,
        max_behind: int,
        poll_interval: float,
    ) -> None:
        self._listener = listener
        self._lake = lake
        self._catalog = catalog
        self._last = last
        self._max_behind = max_behind
        self._poll_interval = poll_interval
        self._woken = asyncio.Event()
        self._ready: collections.deque[LakeCommit | LakeGap] = collections.deque()
        self._closed = False
        self._lost = False

    @classmethod
    async def open(
        cls,
        conninfo: str,
        lake: duckdb.DuckDBPyConnection,
        *,
        catalog: str = "lake",
        max_behind: int = 1000,
        poll_interval: float = 5.0,
        after: int | None = None,
    ) -> LakeFeed:
        """Listen on the catalog of ``conninfo``; deliver the commits after the newest one now.

        Args:
            conninfo: The lake's catalog (libpq conninfo or ``ducklake:postgres:...``).
            lake: A DuckDB connection with the lake attached as ``catalog`` (the feed reads
                snapshots through a cursor of it, in a worker thread).
            catalog: The lake's name in ``lake``.
            max_behind: Snapshots a subscriber may lag before they become one ``LakeGap``.
            poll_interval: Seconds between reads when no notification arrives.
            after: Deliver the commits after this snapshot instead (a feed resumed after its
                catalog session ended).

        Raises:
            ConfigurationError: A bad conninfo or setting, or no such lake in ``lake``.
            DatabaseError: The catalog cannot be reached.
        """
        info = parse_conninfo(conninfo)
        if max_behind < 1 or not poll_interval > 0:
            raise ConfigurationError("max_behind must be >= 1 and poll_interval positive.")
        cursor = lake.cursor()
        try:
            last = await asyncio.to_thread(_newest, cursor, catalog)
            listener = await _listen(info)
        except BaseException:
            cursor.close()
            raise
        if after is not None:
            last = min(after, last)
        feed = cls(
            listener, cursor, catalog, last=last, max_behind=max_behind, poll_interval=poll_interval
        )
        await listener.add_listener(CHANNEL, feed._wake)
        listener.add_termination_listener(feed._ended)
        return feed

    @property
    def last_seen(self) -> int:
        """The snapshot id of the last commit delivered (or skipped by a gap)."""
        return self._last

    def __aiter__(self) -> AsyncIterator[LakeCommit | LakeGap]:
        return self

    async def __anext__(self) -> LakeCommit | LakeGap:
        while not self._ready:
            if self._closed:
                raise StopAsyncIteration
            if self._lost:
                raise CatalogUnavailableError(
                    "The change feed's session with the lake catalog ended (server restarted "
                    "or connection killed): open the feed again with after=feed.last_seen to "
                    "go on without losing a commit."
                )
            self._woken.clear()
            await self._read()
            if not self._ready:
                await self._wait()
        return self._ready.popleft()

    async def batch(self) -> list[LakeCommit | LakeGap]:
        """The next commit (waiting for one), and every other one already read after it."""
        items = [await self.__anext__()]
        while self._ready:
            items.append(self._ready.popleft())
        return items

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(cursor, *args)`` on the feed's own connection to the lake, in a thread.

        Raises:
            CatalogUnavailableError: The read failed (the catalog is down or unreachable).
        """
        try:
            return await asyncio.to_thread(fn, self._lake, *args)
        except duckdb.Error as error:
            raise _unreadable(error) from error

    async def close(self) -> None:
        """Stop listening (idempotent); an ``async for`` over the feed then ends."""
        if self._closed:
            return
        self._closed = True
        self._woken.set()
        self._listener.terminate()
        await asyncio.to_thread(self._lake.close)

    async def _wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), self._poll_interval)

    async def _read(self) -> None:
        if self._closed:
            return
        rows = await self.read(_since, self._catalog, self._last)
        if not rows:
            return
        first, newest = rows[0][0], rows[-1][0]
        if first > self._last + 1 or newest - self._last > self._max_behind:
            self._ready.append(LakeGap(missed=newest - self._last, resume_at=newest))
            self._last = newest
            return
        for snapshot_id, changes, message, extra_info, at in rows:
            self._ready.append(
                LakeCommit(snapshot_id, dict(changes or {}), message, extra_info, at)
            )
        self._last = newest

    def _wake(self, *_: object) -> None:
        self._woken.set()

    def _ended(self, *_: object) -> None:
        if not self._closed:
            self._lost = True
            self._woken.set()


def _unreadable(error: duckdb.Error) -> CatalogUnavailableError:
    return CatalogUnavailableError(
        f"The change feed could not read the lake ({error}): the catalog is down or "
        "unreachable. Open the feed again with after=feed.last_seen once it is back: no commit "
        "is lost."
    )


async def _listen(info: ConnInfo) -> Any:
    try:
        return await asyncpg.connect(**info.connect_kwargs())
    except Exception as error:
        raise catalog_error(error, info) from error


def _newest(cursor: duckdb.DuckDBPyConnection, catalog: str) -> int:
    try:
        row = cursor.execute("SELECT id FROM ducklake_current_snapshot(?)", [catalog]).fetchone()
    except duckdb.Error as error:
        raise ConfigurationError(
            f"No DuckLake named {catalog!r} is attached to the feed's connection ({error}): "
            "ATTACH 'ducklake:postgres:...' AS <catalog> first."
        ) from error
    return int(row[0]) if row else 0


def _since(cursor: duckdb.DuckDBPyConnection, catalog: str, last: int) -> list[tuple[Any, ...]]:
    # a read of its own: a new transaction, so the newest commits of every process are seen
    return cursor.execute(
        "SELECT snapshot_id, changes, commit_message, commit_extra_info, snapshot_time "
        "FROM ducklake_snapshots(?) WHERE snapshot_id > ? "
        "ORDER BY snapshot_id",
        [catalog, last],
    ).fetchall()
