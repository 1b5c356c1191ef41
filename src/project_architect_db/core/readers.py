"""Native auto-committed reads on connections kept checked out: no pool round trip per call.

A lone read outside any transaction (``db.projects.get(id)``, ``await answer.rows()``) needs a
DuckDB connection for one worker hop. Checking one out of SQLAlchemy's pool and returning it
costs about 0.2 ms per call on the event loop (greenlet switch, pool bookkeeping, reset on
return; measured), more than the hop itself (~0.13 ms) and more than many point reads take in
DuckDB. :class:`NativeReaders` keeps a few connections checked out between calls and hands them
out with a list ``pop``; when they are all busy it checks one out of the pool as before, so
concurrency is never limited by it.

The connections kept hold no transaction: a statement run with no BEGIN pending is
auto-committed by DuckDB, so an idle reader sees every commit and never blocks ``CHECKPOINT``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import duckdb
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from project_architect_db.core._adapter import AsyncAdaptedConnection
from project_architect_db.core._callbacks import shielded
from project_architect_db.core._inline import INLINE_BUDGET, ShortRead
from project_architect_db.core._sqlalchemy import greenlet_spawn

__all__ = ["HeldConnection", "NativeReaders"]

T = TypeVar("T")


class HeldConnection:
    """A connection lent by :meth:`NativeReaders.holding`; set ``broken`` to have it dropped."""

    __slots__ = ("broken", "connection")

    def __init__(self, connection: AsyncAdaptedConnection) -> None:
        self.connection = connection
        self.broken = False


class NativeReaders:
    """Run ``fn(duckdb_connection)`` outside any transaction, on a kept or pooled connection.

    A :class:`~project_architect_db.core._inline.ShortRead` may run on the loop thread
    instead, unless its shape ran past the budget lately (see ``core/_inline.py``).

    Args:
        engine: The engine whose pool lends the connections.
        keep: How many idle connections to keep checked out (0 disables keeping).
        inline_budget: How long a short read may hold the event loop (0: never).
    """

    __slots__ = ("_closed", "_engine", "_idle", "_keep", "inline_budget")

    def __init__(
        self, engine: AsyncEngine, keep: int, inline_budget: float = INLINE_BUDGET
    ) -> None:
        self._engine = engine
        self._keep = keep
        self._idle: list[Any] = []
        self._closed = False
        #: how long a :class:`ShortRead` may run on the loop thread (0: always on the worker)
        self.inline_budget = inline_budget

    @property
    def dialect(self) -> Dialect:
        """The engine's dialect."""
        return self._engine.dialect

    @property
    def idle(self) -> int:
        """How many connections are kept checked out and idle right now."""
        return len(self._idle)

    async def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` in one worker hop; the connection is kept for the next call."""
        raw = self._take_idle() or await self._engine.raw_connection()
        adapted: Any = raw.dbapi_connection
        assert isinstance(adapted, AsyncAdaptedConnection)
        try:
            if type(fn) is ShortRead:
                cost = fn.cost
                if cost is None:
                    return await adapted.run_short(fn, self.inline_budget)
                budget = self.inline_budget
                try:  # a shape whose last run was over the budget stays off the loop
                    return await adapted.run_short(fn, budget if cost.inline else 0.0)
                finally:
                    cost.settle(fn.spent, budget)
            return await adapted.run(fn)
        finally:
            give_back = self._release(raw, adapted)
            if give_back is not None:  # kept for the next call: nothing to await
                await _give_back(give_back)

    @asynccontextmanager
    async def holding(self) -> AsyncIterator[HeldConnection]:
        """Lend one connection for several hops (a native write's BEGIN ... COMMIT).

        The borrower must leave it with no transaction open, or mark it ``broken``: it is
        then invalidated instead of being kept or pooled.
        """
        raw = self._take_idle() or await self._engine.raw_connection()
        adapted: Any = raw.dbapi_connection
        assert isinstance(adapted, AsyncAdaptedConnection)
        held = HeldConnection(adapted)
        try:
            yield held
        finally:
            await _give_back(raw.invalidate if held.broken else self._release(raw, adapted))

    def _take_idle(self) -> Any:
        idle = self._idle
        while idle:
            raw = idle.pop()
            if not raw.dbapi_connection.closed:
                return raw
            raw.invalidate()  # terminated while idle (SQLAlchemy invalidation, teardown)
        return None

    def _release(self, raw: Any, adapted: AsyncAdaptedConnection) -> Callable[[], None] | None:
        """Keep ``raw`` for the next call, or say how to give it back to the pool.

        Giving it back may run DuckDB work (a reset's ROLLBACK; closing a connection the pool
        has no room for; closing an invalidated one), so the caller runs it in a greenlet,
        where the adapter awaits its worker instead of blocking the event loop on it.
        """
        if adapted.closed:  # broken under us (terminated, interpreter teardown): drop it
            raw.invalidate()  # nothing left to close on the DuckDB side
            return None
        if self._closed or len(self._idle) >= self._keep or adapted.in_transaction:
            return raw.close  # type: ignore[no-any-return]  # back to the pool, which resets it
        self._idle.append(raw)
        return None

    async def close(self) -> None:
        """Return every kept connection to the pool (before the engine is disposed)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for raw in idle:
            await _give_back(raw.close)


async def _give_back(fn: Callable[[], None] | None) -> None:
    """Run the pool's ``fn`` (close, invalidate) in a greenlet: its DuckDB work is awaited."""
    if fn is not None:
        await shielded(greenlet_spawn(fn))
