"""Streaming reads and Arrow exports for ``AsyncRepository`` (the writes are in ``_bulk.py``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic

import pyarrow as pa
from sqlalchemy import Table, func, select

from project_architect_db._typing import ReadT
from project_architect_db.exceptions import InvalidQueryError
from project_architect_db.queries.filters import Filter
from project_architect_db.queries.native import native_sql, utc_timestamps
from project_architect_db.queries.sorting import SortKey, after_row, parse_order
from project_architect_db.repositories._native_read import NativeSelects
from project_architect_db.repositories._read_records import record_maker
from project_architect_db.repositories._stream import Stream

if TYPE_CHECKING:
    from pydantic import BaseModel

    from project_architect_db.models.base import Base
    from project_architect_db.repositories._context import Reader, RepositoryContext
    from project_architect_db.repositories._processors import Processor

__all__ = ["STREAM_CHUNK", "ArrowReads"]

STREAM_CHUNK = 5000
"""Rows per keyset chunk of ``stream()``. DuckDB 1.5 plans ``ORDER BY ... LIMIT n`` as a Top-N
(a heap of ``n`` rows) for any ``n`` up to 5,000; above that, on a large table, it sorts every
matching row (measured: a 10,000-row chunk sorted all remaining rows).
"""


class ArrowReads(Generic[ReadT]):
    """Mixin: ``stream`` and ``to_arrow``."""

    model: ClassVar[type[Base]]
    read_schema: ClassVar[type[BaseModel]]
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
        """Yield matching rows in batches of ``batch_size``, in memory bounded by the batch.

        Rows come in the order of ``order_by`` (``id`` breaks ties; without ``order_by``, by
        ``id``: creation order for the library's time-ordered ids). They are read in keyset
        chunks of at most 5,000 rows (``WHERE (keys) > (last) ORDER BY keys LIMIT n``), each
        one a Top-N for DuckDB, so the stream holds a chunk and a batch, whatever the table's
        size (a plain ``ORDER BY`` would sort every matching row first). DuckDB's buffer pool
        still keeps the table blocks it read for later queries, up to the database's
        ``memory_limit``: set one where memory must stay bounded.

        Sorting on ``id`` is the fast order: row groups follow creation time, so each chunk
        reads only the row groups after the previous one, and only their ids until it knows
        which rows it takes; another order reads every matching row once per chunk (more
        time, the same memory).

        Consistency: every chunk is read in one transaction, so the stream sees one snapshot,
        the database as it was when the first batch was read: rows written, changed or deleted
        by others meanwhile are not seen, and no row is seen twice or skipped. On ``tx.<repo>``
        it reads in ``tx`` (and sees ``tx``'s own writes). Calls made between two batches
        never join the stream's transaction: they commit on their own. The transaction stays
        open until the stream ends: iterate to the end, or use ``async with
        db.projects.stream() as batches:`` (or ``aclose()``), which ends it however the block
        is left. A bare ``async for`` left early (``break``, an exception, a cancellation)
        keeps the read open until the stream is garbage collected.

        Raises:
            InvalidQueryError: ``batch_size`` is not an integer from 1 to 100000, or a filter
                or sort field is unknown (raised when iteration starts).

        Examples:
            >>> async def export(db):
            ...     async with db.projects.stream(status="active", batch_size=500) as batches:
            ...         async for batch in batches:
            ...             for project in batch:
            ...                 ...
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
        if (
            not isinstance(batch_size, int)
            or isinstance(batch_size, bool)
            or not 1 <= batch_size <= 100_000
        ):
            raise InvalidQueryError("batch_size must be an integer from 1 to 100000.")
        where = self._where(filters, conditions)
        keys = parse_order(self.model, order_by)
        pending: list[ReadT] = []
        async with self._context.snapshot() as reader:
            after: list[Any] | None = None
            while True:
                records, last = await self._chunk_records(reader, where, keys, after)
                pending.extend(records)
                while len(pending) >= batch_size:
                    batch, pending = pending[:batch_size], pending[batch_size:]
                    yield batch
                if len(records) < STREAM_CHUNK:
                    break
                after = last
                del records
            if pending:
                yield pending

    async def _chunk_records(
        self, reader: Reader, where: list[Any], keys: list[SortKey], after: list[Any] | None
    ) -> tuple[list[ReadT], list[Any]]:
        """The next chunk's records, and its last row's sort keys (``[]`` for no rows).

        DuckDB's tuples become records with ``get``'s record makers (``_read_records.py``):
        the same values and types as ``model_validate`` of SQLAlchemy's rows, at a fraction
        of the cost. A statement that has no native form (an ``IN`` list: SQLAlchemy expands
        it when it runs) takes SQLAlchemy's path.
        """
        statement = self._chunk(where, keys, after)
        executor = self._context.executor
        prepared = NativeSelects(executor.dialect, executor.statements).prepare(statement)
        if prepared is None:
            rows = await reader.rows(statement)
            records = [self._read(row) for row in rows]
            return records, [getattr(rows[-1], key.name) for key in keys] if rows else []
        shape, fetch = prepared
        make = record_maker(self.read_schema, shape.keys, shape.processors)

        def read(duck: Any) -> tuple[list[ReadT], tuple[Any, ...] | None]:
            # made in the read's own hop: off the event loop, and a value the schema refuses
            # is translated like any error of the read (a library ValidationError)
            tuples = fetch(duck)
            return list(map(make, tuples)), tuples[-1] if tuples else None

        records, last = await reader.run_native(read)
        self._records_read(records)
        if last is None:
            return records, []
        positions = {name: index for index, name in enumerate(shape.keys)}
        return records, [
            _processed(shape.processors[index], last[index])
            for index in (positions[key.name] for key in keys)
        ]

    def _records_read(self, records: list[ReadT]) -> None:
        """Called with the records a chunk of ``stream()`` made (what ``_read`` adds to each)."""

    def _chunk(self, where: list[Any], keys: list[SortKey], after: list[Any] | None) -> Any:
        """The next ``STREAM_CHUNK`` rows after ``after`` (the first ones for ``None``)."""
        if after is not None:
            where = [*where, after_row(keys, after)]
        order = [key.order().nulls_last() for key in keys]
        if len(keys) > 1:
            return select(self._table).where(*where).order_by(*order).limit(STREAM_CHUNK)
        # In id order (the default), the Top-N runs over the id column alone and the rows are
        # read for the ids it found: a Top-N of whole rows decompressed every column of the
        # row groups it scanned (3-5x the time on the 1M file, measured).
        (key,) = keys
        ids = select(key.column).where(*where).order_by(*order).limit(STREAM_CHUNK).subquery()
        edge = func.min(ids.c.id) if key.descending else func.max(ids.c.id)
        bound = select(edge).scalar_subquery()
        within = key.column >= bound if key.descending else key.column <= bound
        return select(self._table).where(*where, within).order_by(*order)

    async def to_arrow(
        self,
        *,
        filters: Iterable[Filter] = (),
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        **conditions: Any,
    ) -> pa.Table:
        """Matching rows as a pyarrow Table, straight from DuckDB (no Python row objects).

        Timestamps come back as ``timestamp[us, tz=UTC]``; JSON columns as JSON text. The
        whole result is in memory (about its Arrow size; with ``order_by`` DuckDB also sorts
        it whole): for more rows than fit, use :meth:`stream`, or ``limit``.
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


def _processed(processor: Processor, value: Any) -> Any:
    return value if processor is None else processor(value)
