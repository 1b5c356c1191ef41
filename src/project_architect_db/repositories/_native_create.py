"""``create`` and ``upsert`` outside a transaction: one native unit, one worker hop.

Through the session, a ``create`` cost a hop per parent lookup, one for the ``INSERT ...
RETURNING`` and one for the COMMIT. Here the statements are compiled once per shape (the set
of columns given) and the unit runs them all, with BEGIN and COMMIT, in one
:meth:`~project_architect_db.core.native_write.NativeWrite.commit_with` hop:

1. the parents' ancestors come from :class:`~._ancestry.Ancestry` (a lookup hop on first
   sight of a parent: one hop with a warm cache, two on first sight of a parent);
2. the integrity locks are taken, as ``resolve_parents`` takes them: shared on each parent,
   then on each ancestor copied from it, each checked against tombstones;
3. column defaults (id, timestamps, ...) are made, so the unit's work is re-runnable;
4. the hop re-reads each parent in the unit's own snapshot (taken after the locks, so a
   concurrent delete either committed before and the parent is missing, or waits for this
   unit), then inserts. A missing parent raises the same ``IntegrityError`` as the session
   path; a parent with other ancestors than remembered rolls back, forgets it and retries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Insert, Table, bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as upsert_insert

from project_architect_db.core.native_write import NativeWrites
from project_architect_db.exceptions import ConflictError, ValidationError
from project_architect_db.models.base import Base, singular
from project_architect_db.models.graph import Reference
from project_architect_db.repositories._ancestry import ancestor_columns
from project_architect_db.repositories._integrity import (
    copied_from,
    direct_parents,
    missing_parent,
    required_parent,
)
from project_architect_db.repositories._native_read import (
    NativePointRead,
    NativeRow,
    NativeSelects,
    NativeStatement,
    compiled_shape,
)
from project_architect_db.repositories.changes import ChangeKind

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

    from project_architect_db.repositories.base import AsyncRepository

__all__ = ["create_natively"]


class _StaleAncestry(Exception):
    """A parent read in the unit has other ancestors than the ones locked (retry afresh)."""


class _Parent:
    """A direct parent reference of a model, with the point read of its ancestors compiled."""

    __slots__ = ("ancestors", "copied", "read", "ref")

    def __init__(self, model: type[Base], ref: Reference, dialect: Dialect) -> None:
        self.ref = ref
        self.copied = copied_from(model, ref)
        self.ancestors = ancestor_columns(ref.parent)
        table: Table = ref.parent.__table__  # type: ignore[assignment]
        statement = select(table.c.id, *(table.c[name] for name in self.ancestors)).where(
            table.c.id == bindparam("row_id")
        )
        self.read = NativePointRead(statement, dialect)

    def ancestors_of(self, row: tuple[Any, ...]) -> dict[str, Any]:
        mapping = self.read.mapping(row)
        return {name: mapping[name] for name in self.ancestors}


class _Cell:
    """The row a unit stored, for its after-commit callbacks (overwritten by a re-run)."""

    __slots__ = ("row",)

    def __init__(self) -> None:
        self.row: NativeRow | None = None


def _parents(repository: AsyncRepository[Any, Any, Any, Any], dialect: Dialect) -> list[_Parent]:
    parents = repository._native_parents
    if parents is None:
        model = repository.model
        parents = repository._native_parents = [
            _Parent(model, ref, dialect) for ref in direct_parents(model)
        ]
    return parents


class _Defaults:
    """The execution context SQLAlchemy hands to callable column defaults."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def get_current_parameters(self) -> dict[str, Any]:
        return self._values


def _with_defaults(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` and every Python-side column default SQLAlchemy would add on INSERT."""
    context = _Defaults(values)
    for column in table.columns:
        default = column.default
        if column.key in values or default is None:
            continue
        if default.is_scalar:
            values[column.key] = default.arg  # type: ignore[attr-defined]
        else:  # every default in the schema is a scalar or a callable (id, timestamps, {})
            values[column.key] = default.arg(context)  # type: ignore[attr-defined]
    return values


def _statement(
    repository: AsyncRepository[Any, Any, Any, Any],
    columns: tuple[str, ...],
    conflict: tuple[str, ...] | None,
    updated: tuple[str, ...],
) -> Insert:
    table = repository._table
    binds = {key: bindparam(f"v{i}", type_=table.c[key].type) for i, key in enumerate(columns)}
    if conflict is None:
        return insert(table).values(binds).returning(table)
    statement = upsert_insert(table).values(binds)
    assignments: dict[str, Any] = {name: statement.excluded[name] for name in updated}
    if repository._versioned:
        assignments["version"] = table.c.version + 1
    if repository._has_updated_at:
        assignments["updated_at"] = bindparam("stamp", type_=table.c.updated_at.type)
    return statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in conflict], set_=assignments
    ).returning(table)


async def _known_ancestors(
    repository: AsyncRepository[Any, Any, Any, Any],
    parents: list[_Parent],
    values: dict[str, Any],
    fresh: bool,
) -> list[tuple[_Parent, uuid.UUID, dict[str, Any]]]:
    """Each given parent with its ancestors: remembered, or read (one hop) on first sight."""
    ancestry = repository._context.ancestry
    found: list[tuple[_Parent, uuid.UUID, dict[str, Any]]] = []
    for parent in parents:
        ref = parent.ref
        parent_id = values.get(ref.column)
        if parent_id is None:
            if not repository._table.c[ref.column].nullable:
                raise required_parent(repository.model, ref)
            continue
        ancestors = None if fresh else ancestry.get(parent_id)
        if ancestors is None:
            row = await repository._context.writes.read(parent.read.fetcher(parent_id))
            if row is None:
                raise missing_parent(ref, [parent_id])
            ancestors = parent.ancestors_of(row)
            ancestry.remember(parent_id, ancestors)
        found.append((parent, parent_id, ancestors))
    return found


async def create_natively(
    repository: AsyncRepository[Any, Any, Any, Any],
    writes: NativeWrites,
    values: dict[str, Any],
    conflict: tuple[str, ...] | None = None,
) -> NativeRow:
    """Insert (or, with ``conflict``, upsert on those columns) one row in one native hop.

    Raises:
        ValidationError: A column type refuses a value (worded as on the session path).
        IntegrityError: A parent is missing (or was deleted concurrently).
        AlreadyExistsError: A unique field is taken.
        ConflictError: A parent's ancestors changed twice while creating (run it again).
    """
    dialect = writes.dialect
    parents = _parents(repository, dialect)
    table = repository._table
    # the upsert's SET covers the fields given, never the defaults made below
    updated = tuple(
        name for name in values if name not in {"id", "created_at", "version", *(conflict or ())}
    )
    for fresh in (False, True):
        known = await _known_ancestors(repository, parents, values, fresh)
        row_values = dict(values)
        for parent, _, ancestors in known:
            for column in parent.copied:
                row_values[column] = ancestors[column]
        _with_defaults(table, row_values)
        columns = tuple(row_values)
        given = {f"v{index}": value for index, value in enumerate(row_values.values())}
        if conflict is not None and repository._has_updated_at:
            given["stamp"] = datetime.now(UTC)
        native = compiled_shape(
            repository._native_inserts,
            (columns, conflict, updated),
            lambda: NativeStatement(  # called at once, in this iteration
                _statement(repository, columns, conflict, updated),  # noqa: B023
                dialect,
            ),
        )
        try:
            parameters = native.parameters(given)
        except Exception as error:  # a value its column type refuses, worded as the session's
            raise ValidationError(f"A value could not be stored: {error}") from error
        try:
            row = await _insert_unit(repository, writes, known, native, parameters, conflict)
        except _StaleAncestry:
            for _, parent_id, _ in known:
                repository._context.ancestry.forget(parent_id)
            continue
        repository._context.ancestry.remember(
            row.id, {name: getattr(row, name) for name in ancestor_columns(repository.model)}
        )
        return row
    raise ConflictError(
        f"The parents of this {singular(table.name)} changed while it was being "
        "created; nothing was written. Run it again."
    )


async def _insert_unit(
    repository: AsyncRepository[Any, Any, Any, Any],
    writes: NativeWrites,
    known: Sequence[tuple[_Parent, uuid.UUID, dict[str, Any]]],
    native: NativeStatement,
    parameters: list[Any],
    conflict: tuple[str, ...] | None,
) -> NativeRow:
    shape = native.shape
    sql = shape.sql
    checks = [
        (parent.read.fetcher(parent_id), parent, parent_id, ancestors)
        for parent, parent_id, ancestors in known
    ]
    cell = _Cell()

    def work(duck: Any) -> NativeRow:
        for fetch, parent, parent_id, ancestors in checks:
            current = fetch(duck)
            if current is None:  # deleted since it was first seen
                raise missing_parent(parent.ref, [parent_id])
            if parent.ancestors_of(current) != ancestors:
                raise _StaleAncestry
        cell.row = row = NativeSelects.rows(shape, duck.execute(sql, parameters).fetchall())[0]
        return row

    locks = repository._context.locks
    async with writes.unit() as unit:
        for parent, parent_id, ancestors in known:
            await locks.shared(unit, parent_id)
            locks.check_not_deleted(unit, parent_id, singular(str(parent.ref.parent.__tablename__)))
            for column in parent.copied:
                await locks.shared(unit, ancestors[column])
                locks.check_not_deleted(unit, ancestors[column], column.removesuffix("_id"))
        unit.after_commit(_publisher(repository, cell, conflict))
        return await unit.commit_with(work)


def _publisher(
    repository: AsyncRepository[Any, Any, Any, Any], cell: _Cell, conflict: tuple[str, ...] | None
) -> Callable[[], None]:
    def publish() -> None:
        row: Any = cell.row
        created = conflict is None or not repository._versioned or row.version == 1
        kind = ChangeKind.CREATED if created else ChangeKind.UPDATED
        repository._publisher(kind, [row])()

    return publish
