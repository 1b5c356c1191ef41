"""Reads outside a transaction.

SQLAlchemy statements run on one auto-commit connection; native work runs on the kept
connections of :mod:`project_architect_db.core.readers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
from sqlalchemy import Executable, Result
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from project_architect_db.core.readers import NativeReaders
from project_architect_db.core.settings import Settings
from project_architect_db.core.statements import StatementCache

__all__ = ["AutocommitReader", "kept_readers"]

T = TypeVar("T")


def kept_readers(settings: Settings) -> int:
    """Connections kept for native reads: two, but never the whole pool (writers need one)."""
    return max(0, min(2, settings.pool_size + settings.max_overflow - 1))


class AutocommitReader:
    """Repository reads outside a transaction, lent by ``Executor.reading()``.

    ``Executor.reading()`` translates their errors.
    SQLAlchemy statements run on an auto-commit connection checked out on first use; native
    work (:meth:`run_native`) runs on a plain pooled DuckDB connection, with no isolation-level
    switch: with no BEGIN pending, DuckDB auto-commits a lone statement anyway.

    Attributes:
        statements: The executor's compiled-statement cache (for native statements).
    """

    __slots__ = ("_autocommit", "_connection", "_engine", "_readers", "statements")

    def __init__(
        self,
        engine: AsyncEngine,
        autocommit: AsyncEngine,
        readers: NativeReaders,
        statements: StatementCache,
    ) -> None:
        self._engine = engine
        self._autocommit = autocommit
        self._readers = readers
        self._connection: AsyncConnection | None = None
        self.statements = statements

    @property
    def dialect(self) -> Dialect:
        """The engine's dialect (to compile statements for :meth:`run_native`)."""
        return self._engine.dialect

    async def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        """Run a SQLAlchemy statement on the auto-commit connection (checked out on first use)."""
        connection = self._connection
        if connection is None:
            connection = self._connection = await self._autocommit.connect()
        return await connection.execute(statement, parameters)

    async def run_native(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn(duckdb_connection)`` in one worker hop on a kept connection."""
        return await self._readers.run(fn)

    async def close(self) -> None:
        """Give the auto-commit connection back to the pool."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
