"""``update`` and ``delete`` outside a transaction as native units: one worker hop each.

The ``UPDATE`` of each set of columns (``AsyncRepository._update_statement``, shared with
the transaction path) is compiled once per repository: building it with SQLAlchemy
and computing its cache key cost ~0.6 ms of event-loop time per call on the benchmark machine;
a call only binds its values. The ``UPDATE`` has no ``RETURNING`` (DuckDB 1.5 can update a
row twice with it: docs/architecture.md, "DuckDB: UPDATE ... RETURNING can update a row
twice"); the unit reads the row back after it, in the same transaction and hop. A delete's
cascade (one statement per child table, then the row: ``_integrity.NativeCascade``) is
compiled once per repository too. Each unit takes its
integrity locks, then runs all its statements with BEGIN and COMMIT in one
:meth:`~project_architect_db.core.native_write.NativeWrite.commit_with` hop.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from project_architect_db.core.native_write import NativeWrites
from project_architect_db.exceptions import NotFoundError
from project_architect_db.models.base import singular
from project_architect_db.repositories._integrity import Cascade, NativeCascade
from project_architect_db.repositories._native_read import (
    NativePointRead,
    NativeRow,
    NativeStatement,
    compiled_shape,
)
from project_architect_db.repositories.changes import ChangeKind

if TYPE_CHECKING:
    from project_architect_db.repositories.base import AsyncRepository

__all__ = ["delete_natively", "update_natively"]


class _Outcome:
    """What a unit did, for its after-commit callbacks (overwritten if the work re-runs)."""

    __slots__ = ("cascade", "row")

    def __init__(self) -> None:
        self.row: Any = None
        self.cascade: Cascade | None = None


def _point(
    repository: AsyncRepository[Any, Any, Any, Any], writes: NativeWrites
) -> NativePointRead:
    point = repository._native_get
    if point is None:
        point = repository._native_get = NativePointRead(repository._select_by_id, writes.dialect)
    return point


async def update_natively(
    repository: AsyncRepository[Any, Any, Any, Any],
    writes: NativeWrites,
    row_id: uuid.UUID,
    values: dict[str, Any],
    expected: int | None,
) -> NativeRow | None:
    """Run ``repository.update``'s statement in a native unit; the updated row.

    ``None`` when a bind processor refuses a value: the caller then takes the transaction
    path, which words that error as SQLAlchemy's path always has.

    Raises:
        NotFoundError: No such row.
        ConflictError: The row is not at ``expected`` (or a concurrent write got there first).
    """
    dialect = writes.dialect
    columns, versioned_where, given = repository._update_parameters(row_id, values, expected)
    native = compiled_shape(
        repository._native_updates,
        (columns, versioned_where),
        lambda: NativeStatement(repository._update_statement(columns, versioned_where), dialect),
    )
    try:
        parameters = native.parameters(given)
    except Exception:  # a value its column type refuses
        return None
    sql = native.shape.sql
    point = _point(repository, writes)
    current_row = point.fetcher(row_id)
    what = singular(repository._table.name)
    outcome = _Outcome()

    def work(duck: Any) -> NativeRow:
        # DuckDB answers a plain UPDATE with one row: the count of rows it updated
        ((updated,),) = duck.execute(sql, parameters).fetchall()
        current = current_row(duck)  # the transaction sees its own write
        if current is None:
            raise NotFoundError(f"No {what} with id {row_id}.")
        mapping = point.mapping(current)
        if not updated:  # at another version (read in the same snapshot)
            raise repository._stale(row_id, expected, mapping["version"])
        outcome.row = row = NativeRow(mapping)
        return row

    async with writes.unit() as unit:
        locks = repository._context.locks
        await locks.shared(unit, row_id)
        locks.check_not_deleted(unit, row_id, what)
        unit.after_commit(lambda: repository._publisher(ChangeKind.UPDATED, [outcome.row])())
        return await unit.commit_with(work)


async def delete_natively(
    repository: AsyncRepository[Any, Any, Any, Any], writes: NativeWrites, row_id: uuid.UUID
) -> None:
    """Delete the row and everything below it (``cascade_delete``'s statements) in one hop.

    Raises:
        NotFoundError: No such row.
    """
    cascade = repository._native_cascade
    if cascade is None:
        cascade = repository._native_cascade = NativeCascade(repository.model, writes.dialect)
    current_row = _point(repository, writes).fetcher(row_id)
    deleting = cascade.work(row_id)
    what = singular(repository._table.name)
    outcome = _Outcome()

    def work(duck: Any) -> None:
        row = current_row(duck)
        if row is None:
            raise NotFoundError(f"No {what} with id {row_id}.")
        outcome.cascade = deleting(duck)
        outcome.row = row

    def publish() -> None:
        def rows() -> list[NativeRow]:
            return [NativeRow(_point(repository, writes).mapping(outcome.row))]

        repository._publisher(ChangeKind.DELETED, rows, outcome.cascade)()

    locks = repository._context.locks
    async with writes.unit() as unit:
        await locks.exclusive(unit, row_id)
        locks.mark_deleted(unit, [row_id])
        unit.after_commit(publish)
        await unit.commit_with(work)
    repository._context.ancestry.forget(row_id)
