"""``db.changes()`` on a lake: what every process commits, in commit order, exactly once.

**The log rides on the commit.** A lake unit of work hands its :class:`Change` records to
DuckLake's ``set_commit_message`` just before its COMMIT (``Transaction.before_commit_async``),
encoded as one compact text (``_change_log.py``: a bulk create's ids straight from its Arrow
column). DuckLake stores it in the catalog's row for the unit's snapshot, in the same catalog
transaction as the data: a process killed mid-commit leaves no change unlogged and no log of a
change that did not happen, and the commit writes no second lake table (session 12's log table
``padb_lake_changes`` cost a one-row unit ~+35% CPU). The records are the ones a file
publishes (cascade counts and ids of a delete included): ``ducklake_table_changes()`` of the
data tables could not say which deletes cascaded, and would report a conversation's counter
update an append already reports.

**The pump.** The first subscription starts one task per database: a
:class:`~project_architect_db.core.lake.LakeFeed` (LISTEN on the catalog, woken by the NOTIFY
each lake unit sends when its locks end, polling every second otherwise) lists the new
snapshots in commit order with their commit messages; the library's (``FORMAT``) are decoded and
each commit's changes published to the subscriptions as on a file, stamped with the snapshot's
time. This process's own commits come back the same way, never from the in-process path, so
they arrive once and in the lake's commit order among the other processes'.

**Gaps and outages.** A feed too far behind (``max_behind`` snapshots) or finding snapshots
expired gives every subscription one :class:`Gap`. The catalog session ending (server
restarted, connection killed) or a read failing makes the pump open the feed again from the
last snapshot it delivered: nothing is lost. If the catalog stays unreachable for ``outage``
seconds, every subscription ends with :class:`CatalogUnavailableError` after what it queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import duckdb
from sqlalchemy.ext.asyncio import AsyncEngine

from project_architect_db.core.engine import native_connection
from project_architect_db.core.lake._feed import LakeCommit, LakeFeed, LakeGap
from project_architect_db.core.lake._open import LAKE_ALIAS
from project_architect_db.core.locks import LockOwner
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import (
    CatalogUnavailableError,
    ProjectArchitectDBError,
    TransactionError,
)
from project_architect_db.repositories._change_log import AUTHOR, FORMAT, decode, encode
from project_architect_db.repositories.changes import Change, ChangeHub, Subscription

__all__ = ["LakeChangeHub"]

_MESSAGE = f"CALL {LAKE_ALIAS}.set_commit_message(?, ?, extra_info => ?)"


class LakeChangeHub(ChangeHub):
    """A :class:`ChangeHub` fed by the lake's log: the commits of every process."""

    def __init__(
        self,
        conninfo: str,
        engine: Callable[[], AsyncEngine],
        *,
        poll_interval: float = 1.0,
        max_behind: int = 10_000,
    ) -> None:
        super().__init__()
        self.conninfo = conninfo
        self._engine = engine
        self.poll_interval = poll_interval
        self.max_behind = max_behind
        #: Seconds the catalog may stay unreachable before subscriptions end with an error.
        self.outage = 30.0
        self._pending: dict[int, list[Callable[[], Iterable[Change]]]] = {}
        self._pump: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._listening.set()

    # -- writers -----------------------------------------------------------------------------
    def emit(self, tx: LockOwner, make: Callable[[], Iterable[Change]]) -> None:
        """Log ``make()`` inside ``tx``, just before its COMMIT."""
        key = id(tx)
        pending = self._pending.get(key)
        if pending is None:
            if not isinstance(tx, Transaction):
                raise TransactionError(
                    "A lake write must run in a transaction (native one-hop writes are off on "
                    "a lake); this is a bug in project-architect-db: please report it."
                )
            pending = self._pending[key] = []
            tx.before_commit_async(lambda: self._log(tx))
            tx.on_end(lambda: self._pending.pop(key, None))
        pending.append(make)

    async def _log(self, tx: Transaction) -> None:
        text = encode(self._pending.pop(id(tx), []))
        if text is None:
            return
        # a pump starting now must not begin after this commit: its subscribers wait for it
        await self._listening.wait()
        # sent in the COMMIT's own hop, just before it (one worker hop less per unit)
        adapted = await native_connection(await tx.connection())
        adapted.before_commit(lambda duck: duck.execute(_MESSAGE, [AUTHOR, FORMAT, text]))

    # -- subscribers -------------------------------------------------------------------------
    def _subscribed(self) -> None:
        """The first subscription starts listening to the lake."""
        if self._pump is None:
            self._listening = listening = asyncio.Event()
            self._pump = asyncio.get_running_loop().create_task(self._run(listening))

    def _left(self, subscription: Subscription) -> None:
        """The last subscription gone, stop listening (a new one starts again)."""
        super()._left(subscription)
        pump = self._pump
        if pump is not None and not self._subscriptions:
            with contextlib.suppress(RuntimeError):  # its loop is closed: nothing runs
                pump.get_loop().call_soon_threadsafe(self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        pump = self._pump
        if pump is not None and not self._subscriptions:
            self._pump = None
            pump.cancel()

    async def aclose(self) -> None:
        """End every subscription and stop listening."""
        self.close()
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _run(self, listening: asyncio.Event) -> None:
        after: int | None = None
        down_since: float | None = None
        try:
            while self._subscriptions:
                try:
                    after = await self._follow(after, listening)
                    return  # no subscriber left
                except ProjectArchitectDBError as error:
                    after = getattr(error, "after", after)
                    now = time.monotonic()
                    down_since = down_since or now
                    if now - down_since > self.outage:
                        self.fail(_unavailable(error, self.outage))
                        return
                    await asyncio.sleep(min(1.0, 0.1 + (now - down_since) / 4))
        finally:
            listening.set()
            if self._pump is asyncio.current_task():
                self._pump = None

    async def _follow(self, after: int | None, listening: asyncio.Event) -> int | None:
        """Deliver commits until no subscriber is left; the error carries where to resume."""
        feed = await self._open_feed(after)
        after = feed.last_seen
        listening.set()
        try:
            while self._subscriptions:
                after = self._deliver(await feed.batch(), after)
            return after
        except ProjectArchitectDBError as error:
            error.after = after  # type: ignore[attr-defined]
            raise
        finally:
            await feed.close()

    async def _open_feed(self, after: int | None) -> LakeFeed:
        async with self._engine().connect() as connection:
            raw = await connection.get_raw_connection()
            duck: duckdb.DuckDBPyConnection = raw.driver_connection  # type: ignore[assignment]
            return await LakeFeed.open(
                self.conninfo,
                duck,
                catalog=LAKE_ALIAS,
                max_behind=self.max_behind,
                poll_interval=self.poll_interval,
                after=after,
            )

    def _deliver(self, batch: list[LakeCommit | LakeGap], after: int) -> int:
        """Publish a batch's commits (the library's commit messages); the last one done."""
        for item in batch:
            if isinstance(item, LakeGap):
                self.gap(item.missed)
                after = item.resume_at
                continue
            if item.message == FORMAT and item.extra_info is not None:
                committed_at = (item.committed_at or datetime.now(UTC)).astimezone(UTC)
                try:
                    changes = decode(item.extra_info, committed_at)
                except (ValueError, TypeError, KeyError):  # not the library's text after all
                    changes = []
                if changes:
                    self.publish(changes, committed_at)
            after = item.snapshot_id
        return after


def _unavailable(error: BaseException, outage: float) -> CatalogUnavailableError:
    return CatalogUnavailableError(
        f"The lake's change feed lost its catalog for more than {outage:g} s ({error}). "
        "Changes committed meanwhile were not delivered: reload what you show, then subscribe "
        "again once the catalog is back."
    )
