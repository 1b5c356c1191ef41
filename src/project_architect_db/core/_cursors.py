"""The DBAPI cursors of the adapted DuckDB connection (``core/_adapter.py``).

A plain cursor is buffered: the statement's rows arrive with it, in the same worker hop. A
server-side cursor leaves them in DuckDB and fetches one batch per hop.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from project_architect_db.core._adapter import AsyncAdaptedConnection

__all__ = ["AsyncAdaptedCursor", "AsyncAdaptedServerSideCursor", "ExecuteResult", "is_dml_count"]

_DML = re.compile(r"\s*(?:INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_COUNT_ONLY_CACHE: dict[str, bool] = {}


def is_dml_count(statement: str, description: Sequence[Any]) -> bool:
    """Whether DuckDB's one-column ``Count`` result is a DML acknowledgement, not rows."""
    if len(description) != 1 or description[0][0] != "Count":
        return False
    known = _COUNT_ONLY_CACHE.get(statement)
    if known is None:
        known = bool(_DML.match(statement)) and not _RETURNING.search(statement)
        if len(_COUNT_ONLY_CACHE) > 4096:
            _COUNT_ONLY_CACHE.clear()
        _COUNT_ONLY_CACHE[statement] = known
    return known


class ExecuteResult:
    __slots__ = ("description", "rowcount", "rows")

    def __init__(self, description: Any, rows: list[Any], rowcount: int) -> None:
        self.description = description
        self.rows = rows
        self.rowcount = rowcount


class AsyncAdaptedCursor:
    """A buffered DBAPI cursor: rows arrive with the statement, in one hop."""

    server_side = False
    arraysize = 1
    lastrowid = None
    # duckdb-sqlalchemy's execution context reads these (see docs/dialect-evidence.md)
    _is_dml_count = False

    def __init__(self, connection: AsyncAdaptedConnection) -> None:
        self._adapt = connection
        self._buffered_rows: deque[Any] = deque()
        self.description: Any = None
        self._rowcount = -1
        self._dml_rowcount: int | None = None

    @property
    def connection(self) -> AsyncAdaptedConnection:
        """The adapted connection this cursor belongs to."""
        return self._adapt

    @property
    def rowcount(self) -> int:
        """Rows changed by the last DML statement, -1 when unknown."""
        return self._rowcount if self._dml_rowcount is None else self._dml_rowcount

    def _store(self, result: ExecuteResult) -> None:
        self.description = result.description
        self._buffered_rows = deque(result.rows)
        self._rowcount = result.rowcount
        self._dml_rowcount = None

    def execute(self, statement: str, parameters: Any = None) -> None:
        """Execute one statement and buffer its rows."""
        self._store(self._adapt._execute(statement, parameters))

    def executemany(self, statement: str, parameters: Sequence[Any]) -> None:
        """Execute a statement once per parameter set (slow in DuckDB: prefer Arrow)."""
        self._store(self._adapt._executemany(statement, parameters))

    # The execution context of duckdb-sqlalchemy calls these on RETURNING statements.
    def _buffer_result(self) -> None:
        return None

    def _result_consumed(self) -> None:
        return None

    def _store_buffered_result(self, rows: Any, description: Any, rowcount: int) -> None:
        self._store(ExecuteResult(description, list(rows), rowcount))

    def fetchone(self) -> Any:
        """Return the next row or None."""
        rows = self._buffered_rows
        return rows.popleft() if rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """Return up to ``size`` rows."""
        rows = self._buffered_rows
        count = self.arraysize if size is None else size
        return [rows.popleft() for _ in range(min(count, len(rows)))]

    def fetchall(self) -> list[Any]:
        """Return all remaining rows."""
        rows = list(self._buffered_rows)
        self._buffered_rows.clear()
        return rows

    def setinputsizes(self, *args: Any) -> None:
        """DBAPI no-op."""

    def setoutputsize(self, *args: Any) -> None:
        """DBAPI no-op."""

    def close(self) -> None:
        """Drop buffered rows."""
        self._buffered_rows.clear()

    async def _async_soft_close(self) -> None:
        """Called by SQLAlchemy's asyncio results; rows are already buffered."""

    def __iter__(self) -> Any:
        while self._buffered_rows:
            yield self._buffered_rows.popleft()


class AsyncAdaptedServerSideCursor(AsyncAdaptedCursor):
    """A streaming cursor: rows are fetched in batches, one hop per batch, bounded memory.

    DuckDB keeps one open result per connection, so the connection must not run another
    statement until the stream is consumed or closed.
    """

    server_side = True

    def execute(self, statement: str, parameters: Any = None) -> None:
        """Execute one statement, leaving its rows on the DuckDB side."""
        self._store(self._adapt._execute(statement, parameters, fetch=False))

    def fetchone(self) -> Any:
        """Return the next row or None."""
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """Fetch the next batch from DuckDB (one hop)."""
        count = self.arraysize if size is None else size
        duck = self._adapt._duck
        return self._adapt._run_sync(lambda: duck.fetchmany(count))

    def fetchall(self) -> list[Any]:
        """Fetch every remaining row."""
        duck = self._adapt._duck
        return self._adapt._run_sync(duck.fetchall)

    def __iter__(self) -> Any:
        while True:
            batch = self.fetchmany(max(self.arraysize, 1000))
            if not batch:
                return
            yield from batch
