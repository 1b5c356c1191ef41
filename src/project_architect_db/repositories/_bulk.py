"""Bulk writes through Arrow for ``AsyncRepository`` (the reads are in ``_bulk_reads.py``)."""

from __future__ import annotations

import asyncio
import functools
import itertools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic

import pyarrow as pa
from sqlalchemy import Table

from project_architect_db._typing import ReadT
from project_architect_db.exceptions import ValidationError
from project_architect_db.models.graph import PARENTS
from project_architect_db.queries.filters import Filter
from project_architect_db.repositories._arrow import (
    build_table,
    ids_of,
    new_id_array,
    new_ids,
    repeat_array,
)
from project_architect_db.repositories._arrow_feed import ArrowFeed, chunks, sliced
from project_architect_db.repositories._change_log import BulkChanges
from project_architect_db.repositories._integrity import (
    ParentFetch,
    native_parent_fetch,
    resolve_parents,
)
from project_architect_db.repositories.changes import Change
from project_architect_db.schemas.common import CreateSchema

if TYPE_CHECKING:
    from project_architect_db.core.locks import LockOwner
    from project_architect_db.core.native_write import NativeWrites
    from project_architect_db.core.transaction import Transaction
    from project_architect_db.models.base import Base
    from project_architect_db.repositories._context import RepositoryContext

__all__ = ["BulkOperations"]

_BULK_CHUNK = 100_000
_views = itertools.count(1)


class _Ids:
    """The ids of a bulk insert, made once, on first demand (see ``bulk_create``)."""

    __slots__ = ("_ids", "_make")

    def __init__(self, make: Callable[[], list[uuid.UUID]]) -> None:
        self._make = make
        self._ids: list[uuid.UUID] | None = None

    def get(self) -> list[uuid.UUID]:
        ids = self._ids
        if ids is None:
            ids = self._ids = self._make()
        return ids


class BulkOperations(Generic[ReadT]):
    """Mixin: ``bulk_create`` and ``bulk_upsert`` (``stream``/``to_arrow``: ``ArrowReads``)."""

    model: ClassVar[type[Base]]
    create_schema: ClassVar[type[CreateSchema]]
    project_column: ClassVar[str | None]
    _context: RepositoryContext
    _table: Table
    _attributes: dict[str, Any]
    _versioned: bool
    natural_key: ClassVar[tuple[str, ...]]

    if TYPE_CHECKING:

        def _read(self, row: Any) -> ReadT: ...
        def _coerce(self, data: Any, schema: type[Any]) -> Any: ...
        def _where(self, filters: Iterable[Filter], conditions: Mapping[str, Any]) -> list[Any]: ...
        def _hand_over(self, tx: LockOwner, make: Callable[[], Iterable[Change]]) -> None: ...
        def _conflict_target(self, on: Sequence[str] | None) -> tuple[str, ...]: ...

    # -- writes ------------------------------------------------------------------------------
    def _records(self, data: Iterable[Any]) -> list[CreateSchema]:
        if isinstance(data, Mapping | str | bytes) or not isinstance(data, Iterable):
            raise ValidationError("bulk operations take a list of records.")
        schema = self.create_schema
        return [item if isinstance(item, schema) else self._coerce(item, schema) for item in data]

    def _arrow_rows(
        self,
        records: Sequence[CreateSchema],
        parents: Mapping[str, Sequence[Any]],
        now: datetime | None = None,
    ) -> tuple[pa.Table, Callable[[], list[uuid.UUID]]]:
        """The records as an Arrow table, and a function giving their ids in order.

        New ids are made as an Arrow column; their Python ``UUID`` objects (~0.6 us each) are
        made only when the returned function is called (``bulk_upsert`` never needs them).
        ``now`` (naive UTC) stamps the rows; by default the current time.
        """
        if now is None:
            now = datetime.now(UTC).replace(tzinfo=None)
        schema = self.create_schema  # computed fields (a document's content_hash) count too
        fields = schema.model_fields.keys() | schema.model_computed_fields.keys()
        ids: list[uuid.UUID] = []
        halves: list[Any] = []

        def make_ids(n: int) -> Any:
            given = [getattr(record, "id", None) for record in records] if "id" in fields else []
            if any(value is not None for value in given):
                fresh = iter(new_ids(sum(value is None for value in given)))
                ids.extend(value if value is not None else next(fresh) for value in given)
                return ids
            column, raw = new_id_array(n)
            halves.append(raw)
            return column

        defaults: dict[str, Callable[[int], Any]] = {"id": make_ids}
        for key, column in self._attributes.items():
            if key in parents:
                defaults[key] = _given(parents[key])
            elif key in ("created_at", "updated_at") and key not in fields:
                defaults[key] = _repeat(column, now)
            elif key == "version":
                defaults[key] = _repeat(column, 1)
            elif key not in fields and key != "id":
                default = column.default
                defaults[key] = _repeat(
                    column, default.arg if default is not None and default.is_scalar else None
                )
        columns = list(self._attributes.items())
        table = build_table(columns, records, defaults=defaults)
        if halves:
            return table, functools.partial(ids_of, halves[0])
        return table, lambda: ids

    def _arrow_insert(
        self,
        source: pa.Table | ArrowFeed,
        conflict: str = "",
        then: Callable[[], Any] | None = None,
        *,
        merge: str | None = None,
    ) -> Callable[[Any], None]:
        """The native work inserting ``source``: re-runnable, ``then()`` once it inserted.

        ``merge`` (a lake's upsert, :meth:`_merge_statement`) replaces the ``INSERT``; its
        ``{source}`` is the registered Arrow table.
        """
        name = f"padb_bulk_{next(_views)}"
        if merge is not None:
            sql = merge.format(source=name)
        else:
            sql = f'INSERT INTO "{self._table.name}" BY NAME SELECT * FROM "{name}"{conflict}'

        def insert(duck: Any) -> None:
            for table in source.tables() if isinstance(source, ArrowFeed) else (source,):
                duck.register(name, table)
                try:
                    duck.execute(sql)
                finally:
                    duck.unregister(name)
            if then is not None:
                then()

        return insert

    async def _insert_arrow(self, tx: Transaction, table: pa.Table, conflict: str = "") -> None:
        """Insert ``table`` inside ``tx`` (one hop)."""
        await tx.run_native(self._arrow_insert(table, conflict))

    async def _resolve_bulk_parents(
        self,
        tx: LockOwner,
        records: Sequence[CreateSchema],
        fetch: ParentFetch | None = None,
    ) -> dict[str, list[Any]]:
        """Parent checks for a batch; returns the denormalised columns' values per row."""
        references = PARENTS.get(self.model, ())
        if not references:
            return {}
        direct = [ref.column for ref in references if not ref.denormalised]
        holders = [
            {column: getattr(record, column, None) for column in direct} for record in records
        ]
        await resolve_parents(tx, self._context.locks, self.model, holders, fetch)
        return {
            ref.column: [holder.get(ref.column) for holder in holders]
            for ref in references
            if ref.denormalised
        }

    async def _bulk_natively(
        self, writes: NativeWrites, rows: Sequence[CreateSchema], conflict: str = ""
    ) -> _Ids | None:
        """Outside a transaction: the batch as one native unit (``core/native_write.py``).

        The parents' locks are taken on the unit, and the parents read in its transaction
        (one hop, only for models that have parents); then the INSERTs and the COMMIT run in
        one hop. A create's rows are built in chunks while DuckDB inserts the chunk before
        (``_arrow_feed.py``), and their ``UUID`` objects made on the loop while DuckDB
        commits (the last INSERT's last act asks the loop to make them; the COMMIT releases
        the GIL). Returns the ids of a create (``None`` for an upsert).
        """
        async with writes.unit() as unit:
            parents = await self._resolve_bulk_parents(
                unit, rows, native_parent_fetch(unit, writes.dialect)
            )
            if conflict:
                table, _ = self._arrow_rows(rows, parents)  # no UUID objects needed
                await unit.commit_with(self._arrow_insert(table, conflict), alone=True)
                return None
            feed, ids = self._arrow_feed(rows, parents)
            self._emit_bulk(unit, feed.table, ids.get)
            loop = asyncio.get_running_loop()
            work = self._arrow_insert(feed, then=lambda: loop.call_soon_threadsafe(ids.get))
            try:
                await unit.commit_with(work, alone=True)  # never grouped: see commit_with
            except Exception as error:
                if feed.error is not None:  # the build failed: that is the caller's error
                    raise feed.error from error
                raise
        return ids

    def _arrow_feed(
        self, rows: Sequence[CreateSchema], parents: dict[str, list[Any]]
    ) -> tuple[ArrowFeed, _Ids]:
        """The rows' first chunk built now, the rest as the INSERT asks (``_arrow_feed.py``)."""
        now = datetime.now(UTC).replace(tzinfo=None)  # one stamp for the whole batch
        bounds = chunks(len(rows))
        (start, stop), rest = bounds[0], bounds[1:]
        first, make_first = self._arrow_rows(rows[start:stop], sliced(parents, start, stop), now)
        makers = [make_first]

        def build_rest(feed: ArrowFeed) -> None:
            for start, stop in rest:
                table, make = self._arrow_rows(rows[start:stop], sliced(parents, start, stop), now)
                makers.append(make)
                feed.add(table)

        def make_ids() -> list[uuid.UUID]:
            if len(makers) == 1:
                return makers[0]()
            return [key for make in makers for key in make()]

        feed = ArrowFeed(first, build_rest if rest else None, asyncio.get_running_loop())
        return feed, _Ids(make_ids)

    async def bulk_create(self, records: Iterable[Any]) -> list[uuid.UUID]:
        """Insert many records in one statement (Arrow scan); return their ids in order.

        Records are ``*Create`` instances (used as they are) or dicts (validated). Parents are
        checked once per distinct id. All or nothing: one bad record inserts none.

        Raises:
            ValidationError: A record is invalid (nothing is written).
            IntegrityError: A parent does not exist.
            AlreadyExistsError: A unique field is taken (by a row or within the batch).
        """
        rows = self._records(records)
        if not rows:
            return []
        writes = self._context.native_writes()
        if writes is not None:  # outside a transaction: BEGIN, INSERT, COMMIT in one hop
            made = await self._bulk_natively(writes, rows)
            assert made is not None
            return made.get()
        async with self._context.transaction() as tx:  # joins the caller's transaction
            parents = await self._resolve_bulk_parents(tx, rows)
            table, make_ids = self._arrow_rows(rows, parents)
            await self._claim_on_lake(tx, table)
            if "id" in self.create_schema.model_fields and any(
                getattr(row, "id", None) is not None for row in rows
            ):
                await self._claim_on_lake(tx, table, ("id",))  # given ids: no primary key
            await self._insert_arrow(tx, table)
            ids = _Ids(make_ids)
            self._emit_bulk(tx, lambda: table, ids.get)
        return ids.get()

    def _emit_bulk(
        self,
        tx: LockOwner,
        table_of_rows: Callable[[], pa.Table],
        ids_of_rows: Callable[[], list[uuid.UUID]],
    ) -> None:
        version = 1 if self._versioned else None
        table, project_column = self._table.name, self.project_column
        self._hand_over(tx, BulkChanges(table, version, table_of_rows, ids_of_rows, project_column))

    async def bulk_upsert(self, records: Iterable[Any], *, on: Sequence[str] | None = None) -> int:
        """Insert or update many records by natural key in one statement; return the count.

        Within the batch the last record for a key wins.
        """
        key = self._conflict_target(on)
        rows = self._records(records)
        if not rows:
            return 0
        attribute_of = {column.name: attr for attr, column in self._attributes.items()}
        latest: dict[tuple[Any, ...], CreateSchema] = {}
        for record in rows:
            latest[tuple(getattr(record, attribute_of[name]) for name in key)] = record
        unique_rows = list(latest.values())
        keep = {"id", "created_at", "version", *key}
        updates = [
            f'"{column.name}" = excluded."{column.name}"'
            for attr, column in self._attributes.items()
            if column.name not in keep and attr in self.create_schema.model_fields
        ]
        if self._versioned:
            updates.append(f'"version" = "{self._table.name}"."version" + 1')
        if "updated_at" in self._table.c:
            updates.append('"updated_at" = excluded."updated_at"')
        target = ", ".join(f'"{name}"' for name in key)
        conflict = f" ON CONFLICT ({target}) DO UPDATE SET {', '.join(updates)}"
        writes = self._context.native_writes()
        if writes is not None:  # outside a transaction: BEGIN, INSERT, COMMIT in one hop
            await self._bulk_natively(writes, unique_rows, conflict)
            return len(unique_rows)
        lake = self._context.lake is not None
        async with self._context.transaction() as tx:  # joins the caller's transaction
            parents = await self._resolve_bulk_parents(tx, unique_rows)
            table, _ = self._arrow_rows(unique_rows, parents)  # no UUID objects needed
            if lake:  # no ON CONFLICT on a lake: the keys are claimed, then one MERGE INTO
                await self._claim_on_lake(tx, table, key, refuse_taken=False)
                merge = self._merge_statement(key, updates)
                await tx.run_native(self._arrow_insert(table, merge=merge))
            else:
                await self._insert_arrow(tx, table, conflict)
        return len(unique_rows)

    def _merge_statement(self, key: Sequence[str], updates: list[str]) -> str:
        """``bulk_upsert``'s ``ON CONFLICT`` as a ``MERGE INTO`` (a lake has no UNIQUE index)."""
        name = self._table.name
        match = " AND ".join(f'"{name}"."{column}" = excluded."{column}"' for column in key)
        return (
            f'MERGE INTO "{name}" USING "{{source}}" AS excluded ON ({match}) '
            f"WHEN MATCHED THEN UPDATE SET {', '.join(updates)} "
            "WHEN NOT MATCHED THEN INSERT BY NAME"
        )

    async def _claim_on_lake(
        self,
        tx: Transaction,
        table: pa.Table,
        key: Sequence[str] | None = None,
        *,
        refuse_taken: bool = True,
    ) -> None:
        """On a lake, claim the natural keys of the rows in ``table`` (``repositories/_lake``)."""
        lake = self._context.lake
        names = tuple(key if key is not None else self.natural_key)
        if lake is None or not names:
            return
        if not set(names) <= set(table.column_names):  # a key column absent: no row has it
            return
        # the keys stay Arrow columns (10k rows as dicts took ~40 ms, as tuples ~4 ms)
        await lake.claim_columns(
            tx, self._table, names, table.select(list(names)), refuse_taken=refuse_taken
        )


def _given(values: Sequence[Any]) -> Callable[[int], Sequence[Any]]:
    return lambda count: values


def _repeat(column: Any, value: Any) -> Callable[[int], pa.Array]:
    # one Arrow column made in C (pa.repeat / pa.nulls), not a Python list converted per value
    return lambda count: repeat_array(column, value, count)
