"""Where a repository's statements run: a bound unit of work, or one transaction per call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from project_architect_db.core.locks import IntegrityLocks
from project_architect_db.core.native_write import NativeWrites
from project_architect_db.core.transaction import Transaction, current_transaction
from project_architect_db.repositories._ancestry import Ancestry
from project_architect_db.repositories.changes import ChangeHub

__all__ = ["RepositoryContext"]


@dataclass(frozen=True, slots=True)
class RepositoryContext:
    """What every repository of one database shares.

    Attributes:
        begin: Opens a unit of work (``db.transaction()``: joins the caller's transaction in
            the same task, or starts one that commits when the call returns).
        locks: The database's integrity locks (see ``core/locks.py``).
        changes: The change feed hub, fed after each commit.
        bound: The transaction a ``tx.<repository>`` is bound to; ``None`` for ``db.<repo>``.
        read: Opens where single-statement reads run outside a transaction.
        writes: Opens native auto-committed write units (``core/native_write.py``).
        ancestry: The ancestors of rows seen, for native creates (``_ancestry.py``).
    """

    begin: Callable[[], AbstractAsyncContextManager[Transaction]]
    locks: IntegrityLocks
    changes: ChangeHub
    bound: Transaction | None = None
    read: Callable[[], AbstractAsyncContextManager[Any]] | None = None
    writes: NativeWrites | None = None
    ancestry: Ancestry = field(default_factory=Ancestry)

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """The unit of work a repository call runs in."""
        if self.bound is not None:
            return _reuse(self.bound)
        return self.begin()

    def reading(self) -> AbstractAsyncContextManager[Any]:
        """Where a single-statement read runs: the caller's transaction when there is one.

        Outside any transaction a lone ``SELECT`` needs no BEGIN/COMMIT (it is atomic on its
        own), so it runs on an auto-commit connection: one thread hop instead of two.
        """
        if self.bound is not None:
            return _reuse(self.bound)
        if self.read is None or current_transaction() is not None:
            return self.begin()
        return self.read()

    def native_writes(self) -> NativeWrites | None:
        """Where a one-statement write may run natively: only outside any transaction."""
        if self.bound is not None or current_transaction() is not None:
            return None
        return self.writes

    def bind(self, tx: Transaction) -> RepositoryContext:
        """The same context, bound to ``tx``."""
        return RepositoryContext(
            self.begin,
            self.locks,
            self.changes,
            bound=tx,
            read=self.read,
            writes=self.writes,
            ancestry=self.ancestry,
        )


@asynccontextmanager
async def _reuse(tx: Transaction) -> AsyncIterator[Transaction]:
    tx._check_open()
    yield tx
