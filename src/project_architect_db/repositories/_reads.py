"""Reads of ``AsyncRepository``: by id, many ids, filtered pages, counts and existence.

Every read goes through ``self._context.reading()``, which yields one ``Reader``
(``_context.py``), or, by id, ``self._context.get_record()``: inside a transaction it takes
SQLAlchemy's path on the transaction's connection (it sees the transaction's own writes);
outside one it runs natively (``_native_read.py``): compiled once per shape into the
executor's statement cache, one hop to a kept reader connection (or none: inline).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic

from sqlalchemy import Select, Table, exists, func, select

from project_architect_db._typing import ReadT
from project_architect_db.exceptions import InvalidQueryError, NotFoundError, ValidationError
from project_architect_db.exceptions._translate import translating
from project_architect_db.models.base import singular
from project_architect_db.queries.filters import Filter, parse_filters
from project_architect_db.queries.sorting import (
    SortKey,
    decode_cursor,
    encode_cursor,
    keyset_condition,
    parse_order,
)
from project_architect_db.repositories._as_of import (
    AsOf,
    as_of_by_id,
    at_clause,
    count_as_of,
    page_as_of,
    refuse_on_file,
    snapshot_errors,
)
from project_architect_db.repositories._native_read import NativeGet
from project_architect_db.repositories._page_shapes import page_shape
from project_architect_db.repositories._pages import page_statement, page_window
from project_architect_db.repositories._read_records import records_of
from project_architect_db.schemas.common import Page, ReadSchema

if TYPE_CHECKING:
    from project_architect_db.models.base import Base
    from project_architect_db.repositories._context import Reader, RepositoryContext

__all__ = ["MAX_PAGE_SIZE", "ReadOperations"]

MAX_PAGE_SIZE = 1000


def _as_id(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise ValidationError(f"{str(value)[:60]!r} is not a valid id (a UUID).") from None


class ReadOperations(Generic[ReadT]):
    """Mixin: ``get``, ``get_or_none``, ``get_many``, ``list``, ``count`` and ``exists``."""

    model: ClassVar[type[Base]]
    read_schema: ClassVar[type[ReadSchema]]
    _context: RepositoryContext
    _table: Table
    _select_by_id: Select[Any]

    if TYPE_CHECKING:

        def _read(self, row: Any) -> ReadT: ...

    def _read_many(self, rows: Sequence[Any]) -> list[ReadT]:
        """``rows`` (processed, ``Row._mapping``) as Read records, made as ``get`` makes one."""
        return records_of(self.read_schema, rows)

    async def get(self, id: uuid.UUID | str, *, as_of: AsOf | None = None) -> ReadT:
        """The row with ``id``; on a lake, ``as_of=`` reads it as a past snapshot saw it.

        ``as_of`` is a snapshot id (``ducklake_snapshots()``) or an aware datetime.

        Raises:
            NotFoundError: No such row (then), or no snapshot at ``as_of``.
            ValidationError: ``id`` is not a UUID.
            InvalidQueryError: ``as_of`` on a DuckDB file, or not an int nor an aware datetime.
        """
        if as_of is not None:
            found = await self._get_as_of(_as_id(id), as_of)
        else:
            found = await self._context.get_record(self._get_by_id, _as_id(id))
        if found is None:
            raise NotFoundError(f"No {singular(self._table.name)} with id {id}.")
        return found

    async def _get_as_of(self, row_id: uuid.UUID, as_of: AsOf) -> ReadT | None:
        refuse_on_file(self._context.executor.settings.is_lake)
        statement = as_of_by_id(self._table, as_of, row_id)
        with snapshot_errors(as_of):
            async with self._context.reading() as reader:
                rows = (await reader.execute(statement, {"row_id": row_id})).all()
        return self._read_many(rows)[0] if rows else None

    async def get_or_none(self, id: uuid.UUID | str) -> ReadT | None:
        """The row with ``id``, or ``None``."""
        return await self._context.get_record(self._get_by_id, _as_id(id))  # type: ignore[no-any-return]

    @functools.cached_property
    def _get_by_id(self) -> NativeGet:
        return NativeGet(self._select_by_id, self.read_schema)

    def _by_id(self) -> Select[Any]:
        return self._select_by_id

    async def get_many(self, ids: Iterable[uuid.UUID | str]) -> list[ReadT]:
        """The rows with these ids, in the order given; missing ids are skipped."""
        wanted = [_as_id(value) for value in ids]
        if not wanted:
            return []
        if len(wanted) > 10 * MAX_PAGE_SIZE:
            raise InvalidQueryError(f"get_many takes at most {10 * MAX_PAGE_SIZE} ids at once.")
        async with self._context.reading() as reader:
            rows = (
                await reader.execute(select(self._table).where(self._table.c.id.in_(set(wanted))))
            ).all()
        by_id = {row.id: row for row in rows}
        return self._read_many([by_id[key] for key in wanted if key in by_id])

    def _where(self, filters: Iterable[Filter], conditions: Mapping[str, Any]) -> list[Any]:
        with translating():
            return parse_filters(self.model, conditions, filters)

    async def list(
        self,
        *,
        filters: Iterable[Filter] = (),
        order_by: str | Sequence[str] | None = None,
        limit: int = 50,
        offset: int = 0,
        cursor: str | None = None,
        with_total: bool = False,
        as_of: AsOf | None = None,
        **conditions: Any,
    ) -> Page[ReadT]:
        """One page of rows matching the filters.

        Page through many rows with ``cursor``, not ``offset``: DuckDB has no B-tree to jump
        to the n-th row, so ``offset=n`` sorts and discards ``n`` rows first and costs more
        the deeper it goes (measured at 1M projects: a page at offset 10,000 costs tens of
        times a first page; docs/performance.md, "Pages at 1M rows"). A cursor turns the
        position into a condition on the sort keys that lets DuckDB skip whole row groups.
        An equality on an indexed column (``conversation_id=...``, ``project_id=...``) is
        answered through its index (docs/architecture.md, "Pages at 1M rows").

        Args:
            filters: Filter objects (``Eq``, ``In``, ``Range``, ...), combined with AND.
            order_by: ``"-created_at"`` or a list of fields; ``id`` breaks ties. Sorting on
                ``created_at`` (or ``id``: time-ordered) is cheapest: rows are stored in
                that order, so DuckDB's zonemaps skip most of the table.
            limit: Page size, 0-1000.
            offset: Rows to skip (offset pagination); not combined with ``cursor``. Its cost
                grows with ``offset``: prefer ``cursor`` beyond the first few pages.
            cursor: ``next_cursor`` of the previous page (keyset pagination: stable while
                rows are inserted, and about as fast on page 1000 as on page 1).
            with_total: Also count every matching row (one more query).
            as_of: On a lake, the page as a past snapshot saw it: a snapshot id or an aware
                datetime, as for :meth:`get` (the table's rows then; a custom filter's
                subquery on another table reads that table as it is now).
            **conditions: Keyword filters, e.g. ``status="active"``, ``stars__gte=10``.

        Raises:
            InvalidQueryError: Unknown field or operator, bad page arguments, foreign cursor;
                ``as_of`` on a DuckDB file, or not an int nor an aware datetime.
            NotFoundError: The lake has no snapshot at ``as_of`` (before its first commit,
                after its latest, or expired by ``db-vacuum``).
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= MAX_PAGE_SIZE:
            raise InvalidQueryError(f"limit must be an integer from 0 to {MAX_PAGE_SIZE}.")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise InvalidQueryError("offset must be a non-negative integer.")
        if cursor is not None and offset:
            raise InvalidQueryError("Use either offset or cursor, not both.")
        where = self._where(filters, conditions)
        keys = parse_order(self.model, order_by)
        keyset_ok = not any(key.column.nullable for key in keys)
        after = None
        if cursor is not None:
            if not keyset_ok:
                keyset_condition(keys, [])  # raises the explanation
            after = decode_cursor(self.model, keys, cursor)
        if as_of is not None:
            refuse_on_file(self._context.executor.settings.is_lake)
            at_clause(as_of)  # checked before any read
        # one statement reads on its own; a page with its total reads from one snapshot
        async with self._context.reading(snapshot=with_total) as reader:
            # on a lake: the plain page at once (``page_statement(plain=True)``)
            window = self._context.lake is None and as_of is None
            rows = await self._page_rows(
                reader, where, keys, limit + 1, offset, after, window, as_of
            )
            if window and len(rows) <= limit:  # the window did not hold the page: the plain page
                rows = await self._page_rows(reader, where, keys, limit + 1, offset, after, False)
            total = None
            if with_total:
                count = count_as_of(self._table, where, as_of)
                total = int((await reader.execute(count)).scalar_one())
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            encode_cursor(self.model, keys, rows[-1]) if more and rows and keyset_ok else None
        )
        return Page[Any](
            items=rows,
            total=total,
            next_cursor=next_cursor,
            limit=limit,
            offset=offset,
        )

    async def _page_rows(
        self,
        reader: Reader,
        where: Sequence[Any],
        keys: Sequence[SortKey],
        limit: int,
        offset: int,
        after: Sequence[Any] | None,
        window: bool,
        as_of: AsOf | None = None,
    ) -> Sequence[Any]:
        """The page within its first key's window (``[]``: none applies), or the plain page.

        ``as_of`` (a lake): the plain page as of that snapshot (``_as_of.page_as_of``).

        Outside a transaction the page's statement is compiled once per shape of page
        (``_page_shapes.py``); otherwise, or for a shape that cannot be, it is built.
        """
        if as_of is not None:
            past = page_as_of(
                self._table, where, keys, as_of, limit=limit, offset=offset, after=after
            )
            with snapshot_errors(as_of):
                return await reader.records(past, self.read_schema)
        schema = self.read_schema
        if reader.native:
            executor = self._context.executor
            found = page_shape(
                executor.statements,
                executor.dialect,
                self._table,
                where,
                keys,
                limit=limit,
                offset=offset,
                after=after,
                window=window,
            )
            if found is not None:
                shape, parameters = found
                return await reader.compiled_records(shape.statement.shape, parameters, schema)
        lake = self._context.lake is not None
        build = page_window if window else functools.partial(page_statement, plain=lake)
        statement = build(self._table, where, keys, limit=limit, offset=offset, after=after)
        return [] if statement is None else await reader.records(statement, schema)

    async def count(self, *, filters: Iterable[Filter] = (), **conditions: Any) -> int:
        """How many rows match."""
        where = self._where(filters, conditions)
        statement = select(func.count()).select_from(self._table).where(*where)
        async with self._context.reading() as reader:
            return int((await reader.execute(statement)).scalar_one())

    async def exists(self, *, filters: Iterable[Filter] = (), **conditions: Any) -> bool:
        """Whether any row matches (an ``EXISTS``: stops at the first match)."""
        where = self._where(filters, conditions)
        statement = select(exists().where(*where).select_from(self._table))
        async with self._context.reading() as reader:
            return bool((await reader.execute(statement)).scalar_one())
