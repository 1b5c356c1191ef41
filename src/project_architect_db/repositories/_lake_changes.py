"""``db.changes()`` on a lake: what every process commits, in commit order, exactly once.

**The log.** A lake unit of work writes its :class:`Change` records into the lake table
``padb_lake_changes`` inside its own transaction, just before its COMMIT
(``Transaction.before_commit_async``): the records commit, or vanish, with the rows they
describe, so a process killed mid-commit leaves no change unlogged and no log of a change
that did not happen. Concurrent inserts into one lake table do not conflict in DuckLake
(measured: 2 processes x 100 units, 0 refused), so the log adds no conflict between units.
The records are the ones a file publishes (cascade counts and ids of a delete included):
``ducklake_table_changes()`` of the data tables could not say which deletes cascaded, and
would report a conversation's counter update an append already reports.

**The pump.** The first subscription starts one task per database: a
:class:`~project_architect_db.core.lake.LakeFeed` (LISTEN on the catalog, woken by the NOTIFY
each lake unit sends when its locks end, polling every second otherwise) lists the new
snapshots in commit order; one ``ducklake_table_changes('padb_lake_changes', first, last)``
per batch reads their log rows, and each commit's changes are published to the subscriptions
as on a file. This process's own commits come back the same way, never from the in-process
path, so they arrive once and in the lake's commit order among the other processes'.

**Gaps and outages.** A feed too far behind (``max_behind`` snapshots) or finding snapshots
expired gives every subscription one :class:`Gap`. The catalog session ending (server
restarted, connection killed) or a read failing makes the pump open the feed again from the
last snapshot it delivered: nothing is lost. If the catalog stays unreachable for ``outage``
seconds, every subscription ends with :class:`CatalogUnavailableError` after what it queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy.ext.asyncio import AsyncEngine

from project_architect_db.core.lake._feed import LakeCommit, LakeFeed, LakeGap
from project_architect_db.core.lake._open import LAKE_ALIAS
from project_architect_db.core.locks import LockOwner
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import (
    CatalogUnavailableError,
    ProjectArchitectDBError,
    TransactionError,
)
from project_architect_db.repositories.changes import Change, ChangeHub, ChangeKind, Subscription

__all__ = ["LOG", "LakeChangeHub", "create_log"]

LOG = "padb_lake_changes"
"""The lake table of committed changes, one row per :class:`Change`."""

_FEW = 16
_COLUMNS = "aggregate, id, kind, version, project_id, committed_at, cascaded"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {LAKE_ALIAS}.main.{LOG} (aggregate VARCHAR, id UUID, "
    "kind VARCHAR, version BIGINT, project_id UUID, committed_at TIMESTAMPTZ, cascaded VARCHAR)"
)


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
        makes = self._pending.pop(id(tx), [])
        changes = [change for make in makes for change in make()]
        if not changes:
            return
        # a pump starting now must not begin after this commit: its subscribers wait for it
        await self._listening.wait()
        rows = [_row(change) for change in changes]
        now = datetime.now(UTC)
        await tx.run_native(lambda duck: _insert(duck, rows, now))

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
                after = await self._deliver(feed, await feed.batch(), after)
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

    async def _deliver(self, feed: LakeFeed, batch: list[LakeCommit | LakeGap], after: int) -> int:
        """Publish a batch's commits (one log read per run of commits); the last one done."""
        for gap, run in groupby(batch, key=lambda item: isinstance(item, LakeGap)):
            items = list(run)
            if gap:
                for item in items:
                    assert isinstance(item, LakeGap)
                    self.gap(item.missed)
                    after = item.resume_at
                continue
            last = items[-1]
            assert isinstance(last, LakeCommit)
            rows = await feed.read(_read_log, after + 1, last.snapshot_id)
            for _, group in groupby(rows, key=lambda row: row[0]):
                changes = [_change(row) for row in group]
                self.publish(changes, changes[0].committed_at)
            after = last.snapshot_id
        return after


async def create_log(engine: AsyncEngine) -> None:
    """``CREATE TABLE IF NOT EXISTS`` the log; a process racing another one tries again."""
    for attempt in range(5):
        try:
            async with engine.begin() as connection:
                await connection.exec_driver_sql(_CREATE)
            return
        except Exception:
            if attempt == 4:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


def _row(change: Change) -> tuple[Any, ...]:
    project_id = change.project_id
    return (
        change.aggregate,
        str(change.id),
        str(change.kind),
        change.version,
        None if project_id is None else str(project_id),
        _cascade_text(change),
    )


def _cascade_text(change: Change) -> str | None:
    if not change.cascaded:
        return None
    ids = {table: [str(i) for i in found] for table, found in change.cascaded_ids.items()}
    return json.dumps({"counts": dict(change.cascaded), "ids": ids})


def _insert(
    duck: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]], committed_at: datetime
) -> None:
    """The rows into the log: one ``VALUES`` statement for a few, an Arrow scan for many."""
    table = f"{LAKE_ALIAS}.main.{LOG}"
    if len(rows) <= _FEW:  # a unit's usual few rows
        values = ", ".join(["(?, ?::UUID, ?, ?, ?::UUID, ?, ?)"] * len(rows))
        duck.execute(
            f"INSERT INTO {table} VALUES {values}",
            [value for row in rows for value in (*row[:5], committed_at, row[5])],
        )
        return
    names = ["aggregate", "id", "kind", "version", "project_id", "cascaded"]
    batch = pa.Table.from_arrays(
        [pa.array(column) for column in zip(*rows, strict=True)], names=names
    )
    duck.register("padb_change_batch", batch)
    try:
        duck.execute(
            f"INSERT INTO {table} SELECT aggregate, id::UUID, kind, version, "
            "project_id::UUID, ?, cascaded FROM padb_change_batch",
            [committed_at],
        )
    finally:
        duck.unregister("padb_change_batch")


def _read_log(duck: duckdb.DuckDBPyConnection, first: int, last: int) -> list[tuple[Any, ...]]:
    """The log rows of snapshots ``first``..``last``, in commit order."""
    try:
        return duck.execute(
            f"SELECT snapshot_id, {_COLUMNS} FROM ducklake_table_changes("
            f"'{LAKE_ALIAS}', 'main', '{LOG}', ?, ?) WHERE change_type = 'insert' "
            "ORDER BY snapshot_id, rowid",
            [first, last],
        ).fetchall()
    except duckdb.CatalogException:  # no writer made the log yet (a read-only lake)
        return []


def _change(row: tuple[Any, ...]) -> Change:
    _, aggregate, row_id, kind, version, project_id, committed_at, cascaded = row
    counts: dict[str, int] = {}
    ids: dict[str, tuple[uuid.UUID, ...]] = {}
    if cascaded is not None:
        loaded = json.loads(cascaded)
        counts = loaded["counts"]
        ids = {table: tuple(uuid.UUID(i) for i in found) for table, found in loaded["ids"].items()}
    return Change(
        aggregate,
        row_id,
        ChangeKind(kind),
        version,
        project_id,
        committed_at=committed_at.astimezone(UTC),
        cascaded=counts,
        cascaded_ids=ids,
    )


def _unavailable(error: BaseException, outage: float) -> CatalogUnavailableError:
    return CatalogUnavailableError(
        f"The lake's change feed lost its catalog for more than {outage:g} s ({error}). "
        "Changes committed meanwhile were not delivered: reload what you show, then subscribe "
        "again once the catalog is back."
    )
