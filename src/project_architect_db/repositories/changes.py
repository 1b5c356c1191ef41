"""The change feed: committed changes, in commit order, for real-time features.

Repositories record a :class:`Change` per created, updated or deleted row inside the unit of
work; the records are published only after the transaction commits (never for rolled-back work),
one committing transaction at a time, so subscribers see changes in commit order.

A subscriber owns a bounded queue. Publishing never waits: when a slow subscriber's queue is
full, its backlog is dropped and replaced by one :class:`Gap` telling it to resynchronise (reload
what it shows), so a consumer that stops reading never slows the writers down.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

__all__ = ["Change", "ChangeHub", "ChangeKind", "Gap", "Subscription"]


class ChangeKind(StrEnum):
    """What happened to the row."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


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
    """

    aggregate: str
    id: uuid.UUID
    kind: ChangeKind
    version: int | None
    project_id: uuid.UUID | None
    sequence: int = 0
    committed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    type: Literal["change"] = "change"


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


class Subscription:
    """An async iterator of :class:`Change` and :class:`Gap`, filtered at the source."""

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
        self._waiter: asyncio.Future[None] | None = None
        self._last_sequence = 0
        self.closed = False

    def wants(self, change: Change) -> bool:
        """Whether this subscription's filters keep ``change``."""
        if self.aggregates is not None and change.aggregate not in self.aggregates:
            return False
        return self.project_id is None or change.project_id == self.project_id

    def _offer(self, change: Change) -> None:
        if len(self._queue) >= self.max_queue:
            # Drop the backlog: one Gap replaces it, and the newest change follows the gap.
            missed = sum(item.missed if isinstance(item, Gap) else 1 for item in self._queue)
            self._queue.clear()
            self._queue.append(Gap(missed, self._last_sequence))
        self._queue.append(change)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Change | Gap:
        while not self._queue:
            if self.closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._queue.popleft()
        if isinstance(item, Change):
            self._last_sequence = item.sequence
        return item

    def close(self) -> None:
        """Stop the subscription; iteration ends once the queue is drained."""
        if not self.closed:
            self.closed = True
            self._hub._subscriptions.discard(self)
            self._wake()

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

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscriptions)
