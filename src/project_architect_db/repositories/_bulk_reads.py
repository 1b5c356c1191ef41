"""Streaming reads and Arrow exports for ``AsyncRepository`` (the writes are in ``_bulk.py``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic

import pyarrow as pa
from sqlalchemy import Table, select

from project_architect_db._typing import ReadT
from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.queries.filters import Filter
from project_architect_db.queries.native import native_sql, utc_timestamps
from project_architect_db.queries.sorting import parse_order
from project_architect_db.repositories._stream import Stream

if TYPE_CHECKING:
    from project_architect_db.models.base import Base
    from project_architect_db.repositories._context import RepositoryContext

__all__ = ["ArrowReads"]


class ArrowReads(Generic[ReadT]):
    """Mixin: ``stream`` and ``to_arrow``."""

    model: ClassVar[type[Base]]
    _context: RepositoryContext
    _table: Table

    if TYPE_CHECKING:

        def _read(self, row: Any) -> ReadT: ...
        def _where(self, filters: Iterable[Filter], conditions: Mapping[str, Any]) -> list[Any]: ...

    def stream(
        self,
        *,
        filters: Iterable[Filter] = (),
        order_by: str | Sequence[str] | None = None,
        batch_size: int = 1000,
        **conditions: Any,
    ) -> Stream[list[ReadT]]:
        """Yield matching rows in batches of ``batch_size``, holding one batch in memory.

        The rows are read from one snapshot (one transaction held open while iterating). Use
        it with ``async for``; ``aclose()`` ends an early stop at once.
        """
        batches = self._stream(filters, order_by, batch_size, conditions)
        return Stream(batches, f"db.{self._table.name}.stream(...)")

    async def _stream(
        self,
        filters: Iterable[Filter],
        order_by: str | Sequence[str] | None,
        batch_size: int,
        conditions: dict[str, Any],
    ) -> AsyncGenerator[list[ReadT], None]:
        if not isinstance(batch_size, int) or not 1 <= batch_size <= 100_000:
            raise InvalidQueryError("batch_size must be an integer from 1 to 100000.")
        where = self._where(filters, conditions)
        keys = parse_order(self.model, order_by)
        statement = select(self._table).where(*where).order_by(*(key.order() for key in keys))
        async with self._context.transaction() as tx:
            result = await tx.session.stream(statement)
            try:
                async for partition in result.partitions(batch_size):
                    yield [self._read(row) for row in partition]
            finally:
                await result.close()

    async def to_arrow(
        self,
        *,
        filters: Iterable[Filter] = (),
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        **conditions: Any,
    ) -> pa.Table:
        """Matching rows as a pyarrow Table, straight from DuckDB (no Python row objects).

        Timestamps come back as ``timestamp[us, tz=UTC]``; JSON columns as JSON text.
        """
        where = self._where(filters, conditions)
        keys = parse_order(self.model, order_by)
        statement = select(self._table).where(*where).order_by(*(key.order() for key in keys))
        if limit is not None:
            if not isinstance(limit, int) or limit < 0:
                raise InvalidQueryError("limit must be a non-negative integer.")
            statement = statement.limit(limit)
        async with self._context.transaction() as tx:
            dialect = (await tx.connection()).dialect
            sql, params = native_sql(statement, dialect)
            table: pa.Table = await tx.run_native(
                lambda duck: duck.execute(sql, params).to_arrow_table()
            )
        return utc_timestamps(table)
