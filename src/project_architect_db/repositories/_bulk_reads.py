"""Streaming reads and Arrow exports for ``AsyncRepository`` (the writes are in ``_bulk.py``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic

import pyarrow as pa
from sqlalchemy import Table, func, select

from project_architect_db._typing import ReadT
from project_architect_db.core.buffer_pool import CacheBudget
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

__all__ = ["STREAM_CACHE_BUDGET", "STREAM_CHUNK", "ArrowReads"]

STREAM_FETCH = 1000
"""Rows ``stream()`` turns into records at a time (or ``batch_size``, if larger): a chunk's rows
wait in DuckDB's result, compact, until the stream needs them (5,000 projects as records, with
their parsed JSON, took ~80 MB)."""

STREAM_CHUNK = 5000
"""Rows per keyset chunk of ``stream()``. DuckDB 1.5 plans ``ORDER BY ... LIMIT n`` as a Top-N
(a heap of ``n`` rows) for any ``n`` up to 5,000; above that, on a large table, it sorts every
matching row (measured: a 10,000-row chunk sorted all remaining rows).
"""

STREAM_CACHE_BUDGET = 64 * 1024**2
"""Bytes of table blocks a stream may add to DuckDB's buffer pool before it evicts what it
added (``core/buffer_pool.CacheBudget``): over 1M projects, RSS grew by 390 MB without it."""


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
        one a Top-N for DuckDB; a chunk waits in DuckDB's result and becomes records 1,000
        rows at a time (or ``batch_size``, if larger), so the stream holds one chunk in
        DuckDB and about one batch of records, whatever the table's size (a plain ``ORDER
        BY`` would sort every matching row first). Records are exactly ``get``'s (same
        values, same types). DuckDB's buffer pool would keep every table block the stream
        reads (~35 MB per 100k projects); past 64 MB of them, the stream evicts what it added
        between two chunks (the least recently used table blocks go; DuckDB's cache is back
        to its size at the stream's start; docs/architecture.md, "A stream's cache budget"):
        over 1M projects RSS grows by ~110 MB instead of ~400 MB.

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
        keeps the read open until the stream is garbage collected. ``db.close()`` ends the
        streams still open: their next read raises ``DatabaseNotOpenError``.

        Raises:
            InvalidQueryError: ``batch_size`` is not an integer from 1 to 100000, or a filter
                or sort field is unknown (raised when iteration starts).
            ValidationError: A stored value the ``Read`` schema refuses (written behind the
                library's back).
            DatabaseNotOpenError: The database is closed, or was closed during the stream.

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
        budget = self._cache_budget()
        async with self._context.snapshot() as reader:
            after: list[Any] | None = None
            while True:
                # built first: a database closed meanwhile says so here (DatabaseNotOpenError)
                chunk = self._read_chunk(reader, self._chunk(where, keys, after), keys)
                if budget is not None:
                    await reader.run_native(budget.check)
                while records := await chunk.part(max(STREAM_FETCH, batch_size - len(pending))):
                    pending.extend(records)
                    del records
                    while len(pending) >= batch_size:
                        batch, pending = pending[:batch_size], pending[batch_size:]
                        yield batch
                if chunk.rows < STREAM_CHUNK:
                    break
                after = chunk.last
            if pending:
                yield pending

    def _cache_budget(self) -> CacheBudget | None:
        """What keeps the stream's blocks out of DuckDB's cache; ``None`` in memory."""
        settings = self._context.executor.settings
        if settings.in_memory:  # the tables themselves live in the pool
            return None
        return CacheBudget(STREAM_CACHE_BUDGET, settings.memory_limit)

    def _read_chunk(self, reader: Reader, statement: Any, keys: list[SortKey]) -> _Chunk[ReadT]:
        executor = self._context.executor
        bound = NativeSelects(executor.dialect, executor.statements).bind(statement)
        return _Chunk(self, reader, statement, keys, bound)

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


class _Chunk(Generic[ReadT]):
    """One keyset chunk of a stream, made into records a part at a time.

    Natively, the chunk's query runs once and its result stays pending on the snapshot's
    connection; each :meth:`part` fetches the next rows and makes their records in one hop (off
    the event loop; a value the schema refuses is translated like any error of the read). A
    statement with no native form (an ``IN`` list: SQLAlchemy expands it when it runs) is read
    whole through SQLAlchemy.

    Attributes:
        rows: The rows read so far.
        last: The last row's sort keys, as the next chunk's bound.
    """

    def __init__(
        self,
        repository: ArrowReads[ReadT],
        reader: Reader,
        statement: Any,
        keys: list[SortKey],
        bound: tuple[Any, list[Any]] | None,
    ) -> None:
        self._repository = repository
        self._reader = reader
        self._statement = statement
        self._keys = keys
        self._bound = bound
        self._started = False
        self._done = False
        self.rows = 0
        self.last: list[Any] = []

    async def part(self, want: int) -> list[ReadT]:
        """The next (up to) ``want`` records; ``[]`` once the chunk is read."""
        if self._done:
            return []
        if self._bound is None:
            self._done = True
            return await self._whole()
        shape, parameters = self._bound
        make = record_maker(self._repository.read_schema, shape.keys, shape.processors)
        sql, started = shape.sql, self._started
        self._started = True

        def read(duck: Any) -> tuple[list[ReadT], tuple[Any, ...] | None]:
            if not started:
                duck.execute(sql, parameters)
            tuples = duck.fetchmany(want)
            return list(map(make, tuples)), tuples[-1] if tuples else None

        records, last = await self._reader.run_native(read)
        if len(records) < want:
            self._done = True
        if last is not None:
            self.rows += len(records)
            positions = {name: index for index, name in enumerate(shape.keys)}
            self.last = [
                _processed(shape.processors[index], last[index])
                for index in (positions[key.name] for key in self._keys)
            ]
        self._repository._records_read(records)
        return records

    async def _whole(self) -> list[ReadT]:
        rows = await self._reader.rows(self._statement)
        records = [self._repository._read(row) for row in rows]
        self.rows = len(rows)
        if rows:
            self.last = [getattr(rows[-1], key.name) for key in self._keys]
        return records
