"""The unit of work: one SQLAlchemy ``AsyncSession`` on one DuckDB transaction.

DuckDB has no SAVEPOINT, so a transaction cannot nest. ``Database.transaction()`` opened while
the same task is already inside one **joins** it: the inner block shares the outer unit of work,
commits nothing on its own, and an exception leaving it propagates to the outer block (which then
rolls everything back). A transaction is bound to the task that opened it; other tasks (even those
started inside it, which inherit its context) open their own transaction instead of sharing a
session concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar, cast

from sqlalchemy import Executable, Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from project_architect_db.core._callbacks import UnitCallbacks, shielded
from project_architect_db.core.engine import run_native
from project_architect_db.core.locks import next_sequence
from project_architect_db.exceptions import TransactionError
from project_architect_db.exceptions._translate import translate, translating
from project_architect_db.exceptions._usage import sync_with

__all__ = ["Transaction", "current_transaction"]

T = TypeVar("T")

_CURRENT: ContextVar[Transaction | None] = ContextVar("padb_transaction", default=None)


def current_transaction() -> Transaction | None:
    """The transaction the current task is inside, if any."""
    tx = _CURRENT.get()
    if tx is None or tx.closed or tx.owner is not asyncio.current_task():
        return None
    return tx


class Transaction(UnitCallbacks):
    """One unit of work: statements through :attr:`session`, native work through :meth:`run_native`.

    After a successful commit, callbacks registered with :meth:`after_commit` run (the change
    feed uses this, so it never reports work that was rolled back). Transactions with such
    callbacks commit one at a time under ``commit_lock``, so the callbacks run in commit order.
    Callbacks registered with :meth:`on_end` run after commit *or* rollback (lock release).
    """

    def __init__(self, session: AsyncSession, *, commit_lock: asyncio.Lock | None = None) -> None:
        super().__init__()
        self.session = session
        self.owner = asyncio.current_task()
        self.closed = False
        self._commit_lock = commit_lock
        self._end_async: list[Callable[[bool], Awaitable[None]]] = []
        self._before_commit: list[Callable[[], Awaitable[None]]] = []
        #: Orders this transaction's start against commits (see ``core/locks.py``).
        self.sequence = next_sequence()

    async def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        """Execute a SQLAlchemy statement in this unit of work, errors translated.

        ``tx.session`` is the raw SQLAlchemy escape hatch and raises SQLAlchemy's errors;
        this method raises the library's.
        """
        self._check_open()
        with translating():
            return await self.session.execute(statement, parameters)

    async def connection(self) -> AsyncConnection:
        """The SQLAlchemy connection of this transaction (BEGIN is sent lazily)."""
        return await self.session.connection()

    async def run_native(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(duckdb_connection)`` off the loop inside this transaction, errors translated."""
        self._check_open()
        with translating():
            return await run_native(await self.connection(), fn)

    def snapshot_taken(self) -> bool:
        """Whether a statement already ran, so DuckDB has fixed this transaction's snapshot."""
        return self.session.in_transaction()

    def _check_open(self) -> None:
        if self.closed:
            raise TransactionError(
                "This transaction has ended; open a new one with `async with db.transaction()`."
            )

    def on_end_async(self, callback: Callable[[bool], Awaitable[None]]) -> None:
        """Await ``callback(committed)`` once the DuckDB transaction has ended (a lake's locks).

        It runs after the COMMIT (or rollback) and before the ``on_end`` callbacks; an error it
        raises after a commit reaches the caller (the commit stands).
        """
        self._end_async.append(callback)

    def before_commit_async(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Await ``callback()`` inside the transaction, just before its COMMIT (a lake's log).

        If it raises, the transaction is rolled back and the error reaches the caller.
        """
        self._before_commit.append(callback)

    async def commit(self) -> None:
        """Commit the unit of work and run the after-commit callbacks."""
        self._check_open()
        callbacks, self._before_commit = self._before_commit, []
        try:
            for callback in callbacks:
                await callback()
        except BaseException:
            await self.rollback()
            raise
        self.closed = True
        committed = False
        try:
            if self._after_commit and self._commit_lock is not None:
                async with self._commit_lock:
                    await self.session.commit()
                    committed = True
                    self._run_after_commit()
            else:
                await self.session.commit()
                committed = True
                self._run_after_commit()
        finally:
            self._after_commit.clear()
            try:
                await self.session.close()
            finally:
                await self._end(committed)

    async def rollback(self) -> None:
        """Discard the unit of work."""
        if self.closed:
            return
        self.closed = True
        self._after_commit.clear()
        try:
            await self.session.rollback()
        finally:
            try:
                await self.session.close()
            finally:
                await self._end(False)

    async def _end(self, committed: bool) -> None:
        callbacks, self._end_async = self._end_async, []
        try:
            for callback in callbacks:
                await callback(committed)
        finally:
            self._finish()


TxT = TypeVar("TxT", bound=Transaction)


class TransactionScope(Generic[TxT]):
    """``async with`` driver for :class:`Transaction`: commit on success, roll back on error."""

    def __init__(self, factory: Callable[[], TxT]) -> None:
        self._factory = factory
        self._tx: TxT | None = None
        self._joined = False
        self._token: Any = None

    async def __aenter__(self) -> TxT:
        outer = current_transaction()
        if outer is not None:
            self._joined = True
            self._tx = cast(TxT, outer)
            return self._tx
        self._tx = self._factory()
        self._token = _CURRENT.set(self._tx)
        return self._tx

    if not TYPE_CHECKING:  # pragma: no branch - type checkers still flag a plain `with`

        def __enter__(self) -> NoReturn:
            raise sync_with("async with db.transaction() as tx")

        def __exit__(self, *exc_info: object) -> NoReturn:
            raise sync_with("async with db.transaction() as tx")

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        tx = self._tx
        assert tx is not None
        if self._joined:
            return
        try:
            with translating():
                if exc_type is None:
                    await shielded(tx.commit())
                else:
                    await shielded(tx.rollback())
        finally:
            _CURRENT.reset(self._token)
        if exc is not None:
            mapped = translate(exc)
            if mapped is not exc:
                raise mapped from exc
