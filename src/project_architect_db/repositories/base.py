"""``AsyncRepository``: typed CRUD, filters, pagination and optimistic locking for one model.

Repositories take ``*Create`` / ``*Update`` schemas (or plain dicts, validated) and return frozen
``*Read`` records: detached, safe to share between tasks, JSON-ready. Statements are SQLAlchemy
Core (compiled once per shape and cached); bulk paths go through Arrow (see ``_bulk.py``).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, cast

from sqlalchemy import Select, Table, Update, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert_insert

from project_architect_db._typing import CreateT, ModelT, ReadT, UpdateT
from project_architect_db.core.locks import LockOwner
from project_architect_db.core.transaction import Transaction
from project_architect_db.exceptions import (
    ConflictError,
    InvalidQueryError,
    NotFoundError,
    ValidationError,
)
from project_architect_db.exceptions._translate import translating
from project_architect_db.models.base import Base, singular
from project_architect_db.models.graph import PARENTS
from project_architect_db.repositories._bulk import BulkOperations
from project_architect_db.repositories._bulk_reads import ArrowReads
from project_architect_db.repositories._context import RepositoryContext
from project_architect_db.repositories._integrity import (
    Cascade,
    NativeCascade,
    cascade_delete,
    resolve_parents,
)
from project_architect_db.repositories._lake_writes import (
    claim_natural_keys,
    create_on_lake,
    upsert_on_lake,
)
from project_architect_db.repositories._native_create import create_natively
from project_architect_db.repositories._native_read import (
    NativePointRead,
    NativeStatement,
)
from project_architect_db.repositories._native_write import delete_natively, update_natively
from project_architect_db.repositories._reads import MAX_PAGE_SIZE, ReadOperations, _as_id
from project_architect_db.repositories.changes import Change, ChangeKind
from project_architect_db.schemas.common import CreateSchema, ReadSchema, UpdateSchema

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

__all__ = ["MAX_PAGE_SIZE", "AsyncRepository"]

#: Distinct column sets whose UPDATE a repository keeps built (a bound on memory).
_MAX_UPDATE_SHAPES = 256


class AsyncRepository(
    ReadOperations[ReadT],
    BulkOperations[ReadT],
    ArrowReads[ReadT],
    Generic[ModelT, CreateT, UpdateT, ReadT],
):
    """Generic async repository over one model.

    Subclasses set ``model``, ``create_schema``, ``update_schema``, ``read_schema`` and,
    for ``upsert``, ``natural_key``.

    Examples:
        >>> # async with Database.open() as db:
        >>> #     project = await db.projects.create({"name": "Atlas"})
        >>> #     page = await db.projects.list(status="draft", order_by="-created_at")
    """

    model: ClassVar[type[Base]]
    create_schema: ClassVar[type[CreateSchema]]
    update_schema: ClassVar[type[UpdateSchema]]
    read_schema: ClassVar[type[ReadSchema]]
    natural_key: ClassVar[tuple[str, ...]] = ()
    #: Whether a project id identifies the row's project (used by the change feed).
    project_column: ClassVar[str | None] = "project_id"

    def __init__(self, context: RepositoryContext) -> None:
        self._context = context
        self._table: Table = self.model.__table__  # type: ignore[assignment]
        mapper = self.model.__mapper__
        self._attributes = {
            prop.key: prop.columns[0] for prop in mapper.column_attrs if len(prop.columns) == 1
        }
        self._versioned = "version" in self._table.c
        self._has_updated_at = "updated_at" in self._table.c
        self._parent_columns = {ref.column for ref in PARENTS.get(self.model, ())}
        # built once: the statement cache keys on the statement's structure anyway, but
        # building and hashing a new Select on every get costs ~0.1 ms
        self._select_by_id: Select[Any] = select(self._table).where(
            self._table.c.id == bindparam("row_id")
        )
        self._native_get: NativePointRead | None = None
        self._update_statements: dict[tuple[Any, ...], Update] = {}
        self._native_updates: dict[tuple[Any, ...], NativeStatement] = {}
        # native units outside a transaction (_native_create.py, _native_write.py)
        self._native_inserts: dict[tuple[Any, ...], NativeStatement] = {}
        self._native_parents: list[Any] | None = None
        self._native_cascade: NativeCascade | None = None

    # -- conversions -------------------------------------------------------------------------
    def _read(self, row: Any) -> ReadT:
        return self.read_schema.model_validate(row._mapping)  # type: ignore[return-value]

    def _coerce(self, data: Any, schema: type[Any]) -> Any:
        if isinstance(data, schema):
            return data
        if isinstance(data, Mapping):
            with translating():
                return schema.model_validate(data)
        raise ValidationError(f"Expected a {schema.__name__} or a dict, got {type(data).__name__}.")

    def _row_values(self, record: CreateSchema) -> dict[str, Any]:
        """The record's values keyed by column name, for the columns the model has."""
        dumped = record.model_dump()
        return {
            self._attributes[key].key: value
            for key, value in dumped.items()
            if key in self._attributes and value is not None
        }

    def _emit(
        self,
        tx: LockOwner,
        kind: ChangeKind,
        rows: Sequence[Any] | Callable[[], Sequence[Any]],
        cascade: Cascade | None = None,
    ) -> None:
        """Publish one change per row once ``tx`` commits (rows built lazily if callable).

        ``cascade`` (for a delete of one row) is what went with the row. On a lake the hub
        logs them in the transaction instead, for every process (``_lake_changes.py``).
        """
        self._hand_over(tx, self._changes_of(kind, rows, cascade))

    def _hand_over(self, tx: LockOwner, make: Callable[[], Iterable[Change]]) -> None:
        """Give ``make`` (the unit's changes, built on demand) to the change hub."""
        changes = self._context.changes
        changes.emit(tx, make)
        if changes.on_commit is not None:  # the semantic queue wakes (file or lake)
            tx.after_commit(functools.partial(changes.on_commit, self._table.name))

    def _publisher(
        self,
        kind: ChangeKind,
        rows: Sequence[Any] | Callable[[], Sequence[Any]],
        cascade: Cascade | None = None,
    ) -> Callable[[], None]:
        """What a native unit runs after its commit (a file's one-hop writes)."""
        changes = self._context.changes
        make = self._changes_of(kind, rows, cascade)

        aggregate = self._table.name

        def publish() -> None:
            if changes.on_commit is not None:
                changes.on_commit(aggregate)
            if changes.subscribers:
                changes.publish(make())

        return publish

    def _changes_of(
        self,
        kind: ChangeKind,
        rows: Sequence[Any] | Callable[[], Sequence[Any]],
        cascade: Cascade | None = None,
    ) -> Callable[[], list[Change]]:
        """The rows' changes, built when called (only if someone will read them)."""
        aggregate = self._table.name
        project_column = self.project_column
        cascaded = cascade.counts if cascade is not None else {}
        cascaded_ids = cascade.ids if cascade is not None else {}

        def make() -> list[Change]:
            items = rows() if callable(rows) else rows
            return [
                Change(
                    aggregate,
                    row.id,
                    kind,
                    getattr(row, "version", None),
                    getattr(row, project_column, None) if project_column else row.id,
                    cascaded=cascaded,
                    cascaded_ids=cascaded_ids,
                )
                for row in items
            ]

        return make

    # -- create ------------------------------------------------------------------------------
    async def create(self, data: CreateT | Mapping[str, Any]) -> ReadT:
        """Insert one row and return it as stored.

        Raises:
            ValidationError: The data does not fit the schema.
            IntegrityError: A parent it refers to does not exist.
            AlreadyExistsError: A unique field (slug, path, url...) is taken.
        """
        record = self._coerce(data, self.create_schema)
        values = self._row_values(record)
        writes = self._context.native_writes()
        if writes is not None:  # one hop (see _native_create.py)
            return self._read(await create_natively(self, writes, dict(values)))
        async with self._context.transaction() as tx:
            await resolve_parents(tx, self._context.locks, self.model, [values])
            if self._context.lake is not None:  # no RETURNING, no UNIQUE index
                row = await create_on_lake(self, tx, values)
            else:
                statement = insert(self._table).values(values).returning(self._table)
                row = (await tx.execute(statement)).one()
            self._emit(tx, ChangeKind.CREATED, [row])
        return self._read(row)

    # -- update ------------------------------------------------------------------------------
    async def update(
        self,
        id: uuid.UUID | str,
        data: UpdateT | Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> ReadT:
        """Apply the fields given in ``data``; bump ``version`` and ``updated_at``.

        Args:
            id: The row.
            data: The fields to change (unset fields are left alone).
            expected_version: Fail with ``ConflictError`` unless the row is at this version.

        Raises:
            NotFoundError: No such row (or it was deleted concurrently).
            ConflictError: The row is not at ``expected_version`` (retryable after a reload).
            ValidationError: Invalid data.
        """
        row_id = _as_id(id)
        changes_schema = self._coerce(data, self.update_schema)
        changes = changes_schema.changes()
        if expected_version is None:
            expected_version = getattr(changes_schema, "expected_version", None)
        changes.pop("expected_version", None)
        values = {
            self._attributes[key].key: value
            for key, value in changes.items()
            if key in self._attributes
        }
        writes = self._context.native_writes() if values else None
        if writes is not None:
            native = await update_natively(self, writes, row_id, values, expected_version)
            if native is not None:
                return self._read(native)
        async with self._context.transaction() as tx:
            locks = self._context.locks
            await locks.shared(tx, row_id)
            locks.check_not_deleted(tx, row_id, singular(self._table.name))
            await claim_natural_keys(self, tx, [values], own_id=row_id)
            row = await self._apply_update(tx, row_id, values, expected_version)
            if values:
                self._emit(tx, ChangeKind.UPDATED, [row])
        return self._read(row)

    async def _apply_update(
        self, tx: Transaction, row_id: uuid.UUID, values: dict[str, Any], expected: int | None
    ) -> Any:
        table = self._table
        if not values:
            row = (await tx.execute(self._by_id(), {"row_id": row_id})).one_or_none()
            if row is None:
                raise NotFoundError(f"No {singular(table.name)} with id {row_id}.")
            if expected is not None and self._versioned and row.version != expected:
                raise self._stale(row_id, expected, row.version)
            return row
        columns, versioned_where, given = self._update_parameters(row_id, values, expected)
        statement = self._update_statement(columns, versioned_where)
        # no RETURNING (see _update_statement): the count says whether it applied, and the
        # row is read back by this transaction, which sees its own write
        result = await tx.execute(statement, given)
        updated = cast("CursorResult[Any]", result).rowcount
        row = (await tx.execute(self._by_id(), {"row_id": row_id})).one_or_none()
        if row is None:
            raise NotFoundError(f"No {singular(table.name)} with id {row_id}.")
        if not updated:
            raise self._stale(row_id, expected, row.version)
        return row

    def _update_statement(self, columns: tuple[str, ...], versioned_where: bool) -> Update:
        """``UPDATE`` of ``columns``, bumping ``version`` and ``updated_at``; no ``RETURNING``.

        Values are bound by name (``v0``, ``v1``... for ``columns``, ``row_id``, ``stamp``,
        ``expected``: see :meth:`_update_parameters`), so one statement per set of columns
        serves every call, on the transaction path and compiled once on the native one.

        Callers read the row back in the same transaction. DuckDB 1.5 runs ``UPDATE ...
        RETURNING`` on an indexed table as a delete + insert whose parallel scan, on a table
        of more than one row group, can meet the moved row again and update it twice
        (docs/architecture.md, "DuckDB: UPDATE ... RETURNING can update a row twice"). A
        plain ``UPDATE`` never did, and updates non-indexed columns in place.
        """
        key = (columns, versioned_where)
        statement = self._update_statements.get(key)
        if statement is not None:
            return statement
        table = self._table
        by_key = {column.key: column for column in table.columns}
        values: dict[str, Any] = {
            key: bindparam(f"v{index}", type_=by_key[key].type) for index, key in enumerate(columns)
        }
        if self._has_updated_at:
            values["updated_at"] = bindparam("stamp", type_=table.c.updated_at.type)
        statement = update(table).where(table.c.id == bindparam("row_id", type_=table.c.id.type))
        if self._versioned:
            values["version"] = table.c.version + 1
            if versioned_where:
                statement = statement.where(
                    table.c.version == bindparam("expected", type_=table.c.version.type)
                )
        statement = statement.values(values)
        if len(self._update_statements) >= _MAX_UPDATE_SHAPES:
            self._update_statements.clear()
        self._update_statements[key] = statement
        return statement

    def _update_parameters(
        self, row_id: uuid.UUID, values: dict[str, Any], expected: int | None
    ) -> tuple[tuple[str, ...], bool, dict[str, Any]]:
        """The statement shape of an update (columns, version check) and its bound values."""
        versioned_where = expected is not None and self._versioned
        given = {f"v{index}": value for index, value in enumerate(values.values())}
        given["row_id"] = row_id
        if self._has_updated_at:
            given["stamp"] = datetime.now(UTC)
        if versioned_where:
            given["expected"] = expected
        return tuple(values), versioned_where, given

    def _stale(self, row_id: uuid.UUID, expected: int | None, actual: int) -> ConflictError:
        return ConflictError(
            f"{singular(self._table.name).capitalize()} {row_id} is at version {actual}, "
            f"not {expected}: someone changed it since you read it. Reload it and apply your "
            "change again."
        )

    # -- delete ------------------------------------------------------------------------------
    async def delete(self, id: uuid.UUID | str) -> None:
        """Delete the row and, in the same transaction, every row that belongs to it.

        The change feed gets one ``deleted`` change for the row, whose ``cascaded`` and
        ``cascaded_ids`` say which rows went with it.

        Raises:
            NotFoundError: No such row.
        """
        row_id = _as_id(id)
        writes = self._context.native_writes()
        if writes is not None:  # one hop, cascade included (see _native_write.py)
            await delete_natively(self, writes, row_id)
            return
        async with self._context.transaction() as tx:
            locks = self._context.locks
            await locks.exclusive(tx, row_id)
            row = (await tx.execute(self._by_id(), {"row_id": row_id})).one_or_none()
            if row is None:
                raise NotFoundError(f"No {singular(self._table.name)} with id {row_id}.")
            cascade = await cascade_delete(tx, locks, self.model, [row_id])
            self._emit(tx, ChangeKind.DELETED, [row], cascade)

    # -- upsert ------------------------------------------------------------------------------
    async def upsert(
        self, data: CreateT | Mapping[str, Any], *, on: Sequence[str] | None = None
    ) -> ReadT:
        """Insert, or update the row with the same natural key, atomically (``ON CONFLICT``).

        Raises:
            InvalidQueryError: The repository has no natural key and ``on`` is not given.
        """
        key = self._conflict_target(on)
        record = self._coerce(data, self.create_schema)
        values = self._row_values(record)
        writes = self._context.native_writes()
        if writes is not None:  # one hop (see _native_create.py)
            return self._read(await create_natively(self, writes, dict(values), key))
        if self._context.lake is not None:
            return self._read(await upsert_on_lake(self, values, key))
        table = self._table
        statement = upsert_insert(table).values(values)
        keep = {"id", "created_at", "version", *key}
        assignments: dict[str, Any] = {
            name: statement.excluded[name] for name in values if name not in keep
        }
        if self._versioned:
            assignments["version"] = table.c.version + 1
        if self._has_updated_at:
            assignments["updated_at"] = datetime.now(UTC)
        statement_ = statement.on_conflict_do_update(
            index_elements=[table.c[name] for name in key], set_=assignments
        ).returning(table)
        async with self._context.transaction() as tx:
            await resolve_parents(tx, self._context.locks, self.model, [values])
            row = (await tx.execute(statement_)).one()
            created = not self._versioned or row.version == 1
            self._emit(tx, ChangeKind.CREATED if created else ChangeKind.UPDATED, [row])
        return self._read(row)

    def _conflict_target(self, on: Sequence[str] | None) -> tuple[str, ...]:
        key = tuple(on) if on is not None else self.natural_key
        if not key:
            raise InvalidQueryError(
                f"{type(self).__name__} has no natural key: pass on=[...] naming unique fields."
            )
        for name in key:
            if name not in self._table.c:
                raise InvalidQueryError(f"{self._table.name} has no column {name!r} to upsert on.")
        return key
