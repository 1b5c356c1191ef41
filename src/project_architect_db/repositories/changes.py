"""The change feed: committed changes, in commit order, for real-time features.

Repositories record a :class:`Change` per created, updated or deleted row inside the unit of
work; the records are published only after the transaction commits (never for rolled-back work),
one committing transaction at a time, so subscribers see changes in commit order.

A subscriber owns a bounded queue. Publishing never waits: when a slow subscriber's queue is
full, its backlog is dropped and replaced by one :class:`Gap` telling it to resynchronise (reload
what it shows), so a consumer that stops reading never slows the writers down.

A delete that cascades publishes one change, the deleted row's, carrying what went with it
(:attr:`Change.cascaded` counts and :attr:`Change.cascaded_ids`): one event per delete, however
many rows it removed, so deleting a big project never floods the feed into a :class:`Gap`.

Closing the hub (``Database.close()`` does) ends every subscription: each delivers what was
already queued, then its ``async for`` finishes. Subscribers may iterate on other event loops
or threads: wake-ups go through the subscriber's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

__all__ = ["MAX_CASCADED_IDS", "Change", "ChangeHub", "ChangeKind", "Gap", "Subscription"]

#: The most ids of one table a cascading delete's :class:`Change` lists; above it, only the count.
MAX_CASCADED_IDS = 1_000


class ChangeKind(StrEnum):
    """What happened to the row."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


def _no_cascade() -> dict[str, int]:
    return {}


def _no_cascaded_ids() -> dict[str, tuple[uuid.UUID, ...]]:
    return {}


@dataclass(frozen=True, slots=True)
class Change:
    """One committed change of one row.

    Attributes:
        aggregate: The table's name (``"projects"``, ``"messages"``, ...).
        id: The row's id.
        kind: Created, updated or deleted.
        version: The row's version after the change (``None`` for rows without one).
        project_id: The project the row belongs to (its own id for a project).
        sequence: Increasing across the feed, in commit order.
        committed_at: When the publishing transaction committed (UTC).
        cascaded: For a delete, the rows deleted with it, counted per table (only tables that
            lost rows): deleting a conversation gives ``{"messages": 12, "attachments": 2}``.
            The children get no events of their own.
        cascaded_ids: The ids of those rows, per table, for each table with at most
            ``MAX_CASCADED_IDS`` of them. A table in ``cascaded`` but not here lost too many
            rows to list: drop what you show of it under the deleted row, or reload it.
    """

    aggregate: str
    id: uuid.UUID
    kind: ChangeKind
    version: int | None
    project_id: uuid.UUID | None
    sequence: int = 0
    committed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # plain dicts (typed read-only) so dataclasses.asdict and JSON encoders take them
    cascaded: Mapping[str, int] = field(default_factory=_no_cascade, hash=False)
    cascaded_ids: Mapping[str, tuple[uuid.UUID, ...]] = field(
        default_factory=_no_cascaded_ids, hash=False
    )
    type: Literal["change"] = "change"

    def removed(self, aggregate: str) -> frozenset[uuid.UUID] | None:
        """The ids of ``aggregate`` rows this change deleted; ``None`` if too many to list.

        Empty for a change that deleted none (a create, an update, another table's delete
        that cascaded to nothing of ``aggregate``).

        Examples:
            >>> import uuid
            >>> gone = Change("conversations", uuid.UUID(int=1), ChangeKind.DELETED, None, None,
            ...               cascaded={"messages": 1},
            ...               cascaded_ids={"messages": (uuid.UUID(int=2),)})
            >>> sorted(i.int for i in gone.removed("messages")), gone.removed("documents")
            ([2], frozenset())
        """
        if self.kind is not ChangeKind.DELETED:
            return frozenset()
        if aggregate == self.aggregate:
            return frozenset((self.id,))
        if aggregate not in self.cascaded:
            return frozenset()
        ids = self.cascaded_ids.get(aggregate)
        return None if ids is None else frozenset(ids)


@dataclass(frozen=True, slots=True)
class Gap:
    """Changes were dropped because the subscriber fell behind: reload, then keep reading.

    Attributes:
        missed: How many changes were dropped.
        after_sequence: The last sequence delivered before the gap.
    """

    missed: int
    after_sequence: int
    type: Literal["gap"] = "gap"


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Subscription:
    """An async iterator of :class:`Change` and :class:`Gap`, filtered at the source.

    Iteration ends (``StopAsyncIteration``) after :meth:`close` or ``Database.close()``, once
    the changes already queued are delivered. A subscription may be iterated on another event
    loop or thread than the one that writes.
    """

    def __init__(
        self,
        hub: ChangeHub,
        aggregates: frozenset[str] | None,
        project_id: uuid.UUID | None,
        max_queue: int,
    ) -> None:
        self._hub = hub
        self.aggregates = aggregates
        self.project_id = project_id
        self.max_queue = max_queue
        self._queue: deque[Change | Gap] = deque()
        # the waiting readers, each with its own loop; guarded by _lock with the queue, so a
        # change or a close from another thread cannot slip between "queue empty" and "wait"
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._lock = threading.Lock()
        self._last_sequence = 0
        self.closed = False

    def wants(self, change: Change) -> bool:
        """Whether this subscription's filters keep ``change``.

        A delete that cascaded into one of the wanted aggregates is kept: a subscriber to
        ``"messages"`` learns that deleting a conversation removed its messages.
        """
        if self.project_id is not None and change.project_id != self.project_id:
            return False
        aggregates = self.aggregates
        if aggregates is None or change.aggregate in aggregates:
            return True
        return bool(change.cascaded) and not aggregates.isdisjoint(change.cascaded)

    def _offer(self, change: Change) -> None:
        with self._lock:
            if self.closed:
                return
            if len(self._queue) >= self.max_queue:
                # Drop the backlog: one Gap replaces it, and the newest change follows the gap.
                missed = sum(item.missed if isinstance(item, Gap) else 1 for item in self._queue)
                self._queue.clear()
                self._queue.append(Gap(missed, self._last_sequence))
            self._queue.append(change)
            self._wake()

    def _wake(self) -> None:
        """Release every waiting reader (called with ``_lock`` held)."""
        if not self._waiters:
            return
        waiters, self._waiters = self._waiters, []
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for loop, waiter in waiters:
            if loop is here:
                _release(waiter)
                continue
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody to wake
                loop.call_soon_threadsafe(_release, waiter)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Change | Gap:
        while True:
            with self._lock:
                if self._queue:
                    item = self._queue.popleft()
                    if isinstance(item, Change):
                        self._last_sequence = item.sequence
                    return item
                if self.closed:
                    raise StopAsyncIteration
                loop = asyncio.get_running_loop()
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, waiter))
            try:
                await waiter
            finally:
                if waiter.cancelled():  # the reader's task was cancelled: forget it
                    with self._lock:
                        self._waiters = [pair for pair in self._waiters if pair[1] is not waiter]

    def close(self) -> None:
        """Stop the subscription; iteration ends once the queue is drained.

        Safe to call more than once, and from any thread.
        """
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._wake()
        self._hub._subscriptions.discard(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:  # a subscriber that forgot close() stops receiving
        self._hub._subscriptions.discard(self)


class ChangeHub:
    """Fans committed changes out to subscriptions without ever blocking the publisher."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._sequence = itertools.count(1)
        #: Called with a table's name after each commit that changed its rows, subscribers
        #: or not (one call per repository per commit: cheap). The semantic search queue
        #: wakes on it.
        self.on_commit: Callable[[str], None] | None = None

    def subscribe(
        self,
        *,
        aggregates: Iterable[str] | str | None = None,
        project_id: uuid.UUID | None = None,
        max_queue: int = 10_000,
    ) -> Subscription:
        """A new subscription; iterate it with ``async for``."""
        if isinstance(aggregates, str):
            aggregates = [aggregates]
        if max_queue < 1:
            from project_architect_db.exceptions import ConfigurationError

            raise ConfigurationError("max_queue must be at least 1.")
        subscription = Subscription(
            self,
            frozenset(aggregates) if aggregates is not None else None,
            project_id,
            max_queue,
        )
        self._subscriptions.add(subscription)
        return subscription

    def publish(self, changes: Iterable[Change]) -> list[Change]:
        """Number and deliver one committed transaction's changes (never waits)."""
        committed_at = datetime.now(UTC)
        numbered = [
            Change(
                c.aggregate,
                c.id,
                c.kind,
                c.version,
                c.project_id,
                next(self._sequence),
                committed_at,
                c.cascaded,
                c.cascaded_ids,
            )
            for c in changes
        ]
        if not self._subscriptions:
            return numbered
        for change in numbered:
            for subscription in list(self._subscriptions):
                if subscription.wants(change):
                    subscription._offer(change)
        return numbered

    def close(self) -> None:
        """End every open subscription: each delivers what it has queued, then stops."""
        for subscription in list(self._subscriptions):
            subscription.close()

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscriptions)
