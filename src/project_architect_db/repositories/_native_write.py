"""``update`` outside a transaction as a native unit of work (see ``core/native_write.py``).

The ``UPDATE ... RETURNING`` of each set of columns is built and compiled once per repository
(building it with SQLAlchemy and computing its cache key cost ~0.6 ms of event-loop time per
call on the benchmark machine); a call only binds its values.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, update

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
    from sqlalchemy.engine import Dialect

    from project_architect_db.repositories.base import AsyncRepository

__all__ = ["update_natively"]

_MAX_SHAPES = 256


def _update_statement(
    repository: AsyncRepository[Any, Any, Any, Any],
    columns: tuple[str, ...],
    versioned_where: bool,
    dialect: Dialect,
) -> NativeStatement:
    """``UPDATE`` of ``columns`` (bound as ``v0``, ``v1``...) by ``row_id`` [and ``expected``]."""
    table = repository._table
    by_key = {column.key: column for column in table.columns}
    values: dict[str, Any] = {
        key: bindparam(f"v{index}", type_=by_key[key].type) for index, key in enumerate(columns)
    }
    if repository._has_updated_at:
        values["updated_at"] = bindparam("updated_at", type_=table.c.updated_at.type)
    statement = update(table).where(table.c.id == bindparam("row_id", type_=table.c.id.type))
    if repository._versioned:
        values["version"] = table.c.version + 1
        if versioned_where:
            statement = statement.where(
                table.c.version == bindparam("expected", type_=table.c.version.type)
            )
    return NativeStatement(statement.values(values).returning(table), dialect)


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
    columns = tuple(values)
    versioned_where = expected is not None and repository._versioned
    shapes = repository._native_updates
    native = shapes.get((columns, versioned_where))
    if native is None:
        if len(shapes) >= _MAX_SHAPES:
            shapes.clear()
        native = shapes[columns, versioned_where] = _update_statement(
            repository, columns, versioned_where, dialect
        )
    given = {f"v{index}": value for index, value in enumerate(values.values())}
    given["row_id"] = row_id
    given["updated_at"] = datetime.now(UTC)
    given["expected"] = expected
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
