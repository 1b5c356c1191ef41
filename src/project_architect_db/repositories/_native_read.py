"""Point reads by id without SQLAlchemy's execute path: one compiled SQL string, one thread hop.

``AsyncRepository.get_or_none`` outside a transaction spent most of its time in SQLAlchemy
(execution context, result metadata, ~110 us per statement on the loop thread) and in checking
out an auto-commit connection (isolation-level switch). :class:`NativePointRead` compiles the
repository's ``SELECT ... WHERE id = $1`` once, runs it with ``duckdb.execute(...).fetchall()``
in a single :meth:`~project_architect_db.core._adapter.AsyncAdaptedConnection.run` hop, and turns
the tuple into the same mapping SQLAlchemy would build, applying each column type's own result
processor (``UtcDateTime`` attaches UTC, JSON text becomes dicts, ...). A lone ``SELECT`` with no
BEGIN pending is auto-committed by DuckDB, so no isolation switch is needed.

Inside a transaction the repository keeps the SQLAlchemy path (it must see the transaction's
own uncommitted writes, on the transaction's connection).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["NativePointRead"]

_Processor = Callable[[Any], Any] | None


class NativePointRead:
    """``statement`` (one ``row_id`` bind parameter) compiled for DuckDB's own ``execute``.

    Attributes:
        sql: The statement with a ``$1`` placeholder.
        keys: The result keys, as ``Row._mapping`` has them.
    """

    __slots__ = ("_bind", "_processors", "keys", "sql")

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        names = compiled.positiontup or []
        if list(names) != ["row_id"]:  # pragma: no cover - misuse
            raise TypeError("NativePointRead needs a statement with one 'row_id' parameter")
        self.sql = str(compiled)
        bind = compiled._bind_processors.get("row_id")
        self._bind: _Processor = bind if callable(bind) else None
        columns = compiled._result_columns
        self.keys: tuple[str, ...] = tuple(column.keyname for column in columns)
        self._processors: tuple[_Processor, ...] = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )

    def parameters(self, row_id: uuid.UUID) -> list[Any]:
        """The DuckDB parameters for ``row_id`` (bind processor applied, as SQLAlchemy does)."""
        bind = self._bind
        return [row_id if bind is None else bind(row_id)]

    def fetcher(self, row_id: uuid.UUID) -> Callable[[Any], tuple[Any, ...] | None]:
        """``fn(duckdb_connection)`` that runs the statement and returns the row or ``None``."""
        sql = self.sql
        parameters = self.parameters(row_id)

        def fetch(duck: Any) -> tuple[Any, ...] | None:
            # fetchall, not fetchone: a result left unread keeps its auto-commit transaction
            # (and snapshot) open on the pooled connection, which makes CHECKPOINT, and so
            # Database.close(), fail once another connection has committed a write
            rows: list[tuple[Any, ...]] = duck.execute(sql, parameters).fetchall()
            return rows[0] if rows else None

        return fetch

    def mapping(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """``row`` as ``Row._mapping`` would present it (result processors applied)."""
        return {
            key: value if processor is None else processor(value)
            for key, processor, value in zip(self.keys, self._processors, row, strict=True)
        }
