"""``update`` outside a transaction as a native unit of work (see ``core/native_write.py``).

The ``UPDATE ... RETURNING`` of each set of columns (``AsyncRepository._update_statement``,
shared with the transaction path) is compiled once per repository: building it with SQLAlchemy
and computing its cache key cost ~0.6 ms of event-loop time per call on the benchmark machine;
a call only binds its values.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from project_architect_db.core.native_write import NativeWrites
from project_architect_db.exceptions import NotFoundError
from project_architect_db.exceptions._translate import translating
from project_architect_db.repositories._native_read import (
    NativePointRead,
    NativeRow,
    NativeSelects,
    NativeStatement,
)
from project_architect_db.repositories.changes import ChangeKind

if TYPE_CHECKING:
    from project_architect_db.repositories.base import AsyncRepository

__all__ = ["update_natively"]

_MAX_SHAPES = 256


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
    shapes = repository._native_updates
    native = shapes.get((columns, versioned_where))
    if native is None:
        if len(shapes) >= _MAX_SHAPES:
            shapes.clear()
        statement = repository._update_statement(columns, versioned_where)
        native = shapes[columns, versioned_where] = NativeStatement(statement, dialect)
    try:
        parameters = native.parameters(given)
    except Exception:  # a value its column type refuses
        return None
    shape = native.shape
    sql = shape.sql
    point = repository._native_get
    if point is None:
        point = repository._native_get = NativePointRead(repository._select_by_id, dialect)
    current_row = point.fetcher(row_id)
    what = repository._table.name.removesuffix("s")

    def work(duck: Any) -> tuple[list[tuple[Any, ...]], tuple[Any, ...] | None]:
        rows: list[tuple[Any, ...]] = duck.execute(sql, parameters).fetchall()
        # nothing updated: missing, or at another version (read in the same snapshot)
        return rows, (None if rows else current_row(duck))

    with translating():
        async with writes.unit() as unit:
            locks = repository._context.locks
            await locks.shared(unit, row_id)
            locks.check_not_deleted(unit, row_id, what)
            rows, current = await unit.run(work)
            if not rows:
                if current is None:
                    raise NotFoundError(f"No {what} with id {row_id}.")
                raise repository._stale(row_id, expected, point.mapping(current)["version"])
            row = NativeSelects.rows(shape, rows)[0]
            repository._emit(unit, ChangeKind.UPDATED, [row])
    return row
