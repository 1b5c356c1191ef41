"""The model and dimension recorded for a database's vectors (a base of ``SemanticSearch``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from project_architect_db.exceptions import ReadOnlyError
from project_architect_db.search.semantic import _store
from project_architect_db.search.semantic._embedder import Embedder, mismatch
from project_architect_db.search.semantic._lake import held
from project_architect_db.search.semantic._queue import run_alone

__all__ = ["ModelRecord"]


class ModelRecord:
    """Reads, records and checks the model (state set by ``SemanticSearch.__init__``)."""

    _executor: Any
    _read_only: bool
    _lock: asyncio.Lock
    _guard: Any
    lock_wait: float
    #: ``(model, dimension)`` recorded in the database, once read (``None``: not yet).
    _recorded: tuple[str, int] | None
    _unused: bool

    async def _held(self, make: Callable[[], Awaitable[Any]]) -> Any:
        return await held(self._guard, self.lock_wait, make)

    async def _has_record(self) -> bool:
        state = await run_alone(self._in_transaction(_store.read_state))
        row = state.get(_store.MODEL_KEY)
        if row is not None and row[1] is not None:
            self._recorded = (str(row[1]), int(row[2]))
            return True
        return False

    async def _check_model(self, embedder: Embedder) -> None:
        """Refuse an embedder other than the recorded one; record it on first use."""
        given = (embedder.model, embedder.dimension)
        if self._recorded is None and not await self._has_record():
            if self._read_only:
                raise ReadOnlyError(
                    "No vector was ever stored in this database: open it writable once and "
                    "call `await db.search.embedded()`."
                )
            async with self._lock:
                if self._recorded is None and not await self._has_record():

                    def record(con: Any) -> tuple[str, int]:
                        row = _store.read_state(con).get(_store.MODEL_KEY)
                        if row is not None and row[1] is not None:  # another process's, first
                            return (str(row[1]), int(row[2]))
                        _store.record_model(con, *given)
                        return given

                    self._recorded = await run_alone(
                        self._held(lambda: self._in_transaction(record))
                    )
                    self._unused = False
        if self._recorded != given:
            raise mismatch(self._recorded, given)

    async def _in_transaction(self, fn: Any) -> Any:
        async with self._executor.transaction() as tx:
            return await tx.run_native(fn)
